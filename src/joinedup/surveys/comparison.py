"""The staff view beside the citizen view, where the two surveys speak of the same thing.

The pairs are editorial: they say which readiness components and which citizen measures
describe the same part of collaboration. Each citizen measure says whether a higher figure
is better, so that the page never implies a rise in "had to tell my story again" is good.
Each pair also names the place's linked data that bears witness to it (``witnesses``): the
figures themselves come from the insight area, through its disclosure control.

The lead chooses which rounds to compare. Without a choice the newest round with enough
answers to show is taken, never a newer one too small to show anything; a chosen round that
is too small is said to be so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.framework import component
from joinedup.surveys import results
from joinedup.surveys.models import SurveyRound


@dataclass(frozen=True)
class Pairing:
    title: str
    components: tuple[str, ...]
    measures: tuple[str, ...]
    # Keys of insight.witness figures: what the linked data say about the same thing.
    witnesses: tuple[str, ...] = ()


PAIRINGS: tuple[Pairing, ...] = (
    Pairing("Involving citizens in decisions", ("engagement",), ("involved",)),
    Pairing("Services that fit people's lives", ("design", "insight"), ("personalised",),
            ("ships_in_the_night",)),
    Pairing("Joined-up services", ("brokerage", "resources"), ("retold_story", "worked_together"),
            ("services_per_shared_person", "ships_in_the_night")),
)
#: Measures where a higher share is worse for citizens.
HIGHER_IS_WORSE = frozenset({"involved", "retold_story"})


def answered_rounds(session: Session, place_id: int, instrument_key: str) -> list[SurveyRound]:
    """The place-wide rounds of an instrument with submitted answers, newest first."""
    return [
        r for r in session.scalars(
            select(SurveyRound).where(SurveyRound.place_id == place_id,
                                      SurveyRound.instrument_key == instrument_key,
                                      SurveyRound.collaboration_id.is_(None))
            .order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc())
        ) if r.answers_version
    ]  # fmt: skip


def latest_round(session: Session, place_id: int, instrument_key: str) -> SurveyRound | None:
    """The latest round of an instrument in a place that has submitted answers."""
    rounds = answered_rounds(session, place_id, instrument_key)
    return rounds[0] if rounds else None


def _shows_results(body: dict[str, Any], instrument_key: str) -> bool:
    if instrument_key == "readiness":
        return any((line.get("practice") or {}).get("shown") for line in body.get("lines", []))
    return bool(body.get("measures"))


def _pick(session: Session, place_id: int, instrument_key: str,
          chosen: int | None) -> tuple[SurveyRound | None, dict[str, Any] | None, list[dict[str, Any]], str]:
    """The round to show (the chosen one, or the newest that shows results), its results,
    the choices, and a note when the round shown is not simply the newest."""
    rounds = answered_rounds(session, place_id, instrument_key)
    bodies: dict[int, dict[str, Any]] = {}

    def body_of(r: SurveyRound) -> dict[str, Any]:
        if r.id not in bodies:
            bodies[r.id] = results.results(session, r)
        return bodies[r.id]

    note = ""
    picked: SurveyRound | None = None
    if chosen is not None:
        picked = next((r for r in rounds if r.id == chosen), None)
        if picked is None:
            note = "The round chosen is not a round of this place with answers; the newest is shown."
    if picked is None:
        picked = next((r for r in rounds if _shows_results(body_of(r), instrument_key)), None)
        newest = rounds[0] if rounds else None
        if picked is not None and newest is not None and picked.id != newest.id and not note:
            note = (f"The newest round, {newest.title}, has too few answers to show, so "
                    f"{picked.title} is shown.")
        if picked is None and newest is not None:
            picked = newest
    body = body_of(picked) if picked is not None else None
    if picked is not None and body is not None and not _shows_results(body, instrument_key):
        note = (f"{picked.title} has {body.get('n', 0):,} answers: too few to show results "
                f"(at least {body.get('min_group_size', '')} are needed).")
    choices = [{"value": str(r.id), "text": f"{r.title} ({r.opens_on:%B %Y})",
                "selected": picked is not None and r.id == picked.id} for r in rounds]
    return picked, body, choices, note


def side_by_side(session: Session, place_id: int, *, staff_round_id: int | None = None,
                 voice_round_id: int | None = None) -> dict[str, Any]:
    staff_round, staff, staff_choices, staff_note = _pick(session, place_id, "readiness", staff_round_id)
    voice_round, voice, voice_choices, voice_note = _pick(
        session, place_id, "citizen_voice", voice_round_id)
    staff_n = int(staff["n"]) if staff else 0
    voice_n = int(voice["n"]) if voice else 0
    if staff is not None and not _shows_results(staff, "readiness"):
        staff = None
    if voice is not None and not _shows_results(voice, "citizen_voice"):
        voice = None
    rows = []
    for pairing in PAIRINGS:
        staff_lines = []
        if staff is not None:
            by_key = {line["key"]: line for line in staff["lines"]}
            staff_lines = [
                {"key": k, "name": component(k).name, "practice": by_key[k]["practice"],
                 "ambition": by_key[k]["ambition"], "gap": by_key[k]["gap"]}
                for k in pairing.components if k in by_key
            ]
        citizen = []
        if voice is not None:
            by_measure = {m["key"]: m for m in voice.get("measures", [])}
            citizen = [
                {**by_measure[k], "higher_is_worse": k in HIGHER_IS_WORSE}
                for k in pairing.measures if k in by_measure
            ]
        rows.append({"title": pairing.title, "staff": staff_lines, "citizen": citizen,
                     "witnesses": list(pairing.witnesses)})
    return {
        "staff_round": {"id": staff_round.id, "title": staff_round.title, "n": staff_n,
                        "shown": staff is not None} if staff_round else None,
        "voice_round": {"id": voice_round.id, "title": voice_round.title, "n": voice_n,
                        "shown": voice is not None} if voice_round else None,
        "staff_choices": staff_choices, "voice_choices": voice_choices,
        "staff_note": staff_note, "voice_note": voice_note,
        "rows": rows,
    }
