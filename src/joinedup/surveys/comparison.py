"""The staff view beside the citizen view, where the two surveys speak of the same thing.

The pairs are editorial: they say which readiness components and which citizen measures
describe the same part of collaboration. Each citizen measure says whether a higher figure
is better, so that the page never implies a rise in "had to tell my story again" is good.
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


PAIRINGS: tuple[Pairing, ...] = (
    Pairing("Involving citizens in decisions", ("engagement",), ("involved",)),
    Pairing("Services that fit people's lives", ("design", "insight"), ("personalised",)),
    Pairing("Joined-up services", ("brokerage", "resources"), ("retold_story", "worked_together")),
)
#: Measures where a higher share is worse for citizens.
HIGHER_IS_WORSE = frozenset({"involved", "retold_story"})


def latest_round(session: Session, place_id: int, instrument_key: str) -> SurveyRound | None:
    """The latest round of an instrument in a place that has submitted answers."""
    for round_ in session.scalars(
        select(SurveyRound).where(SurveyRound.place_id == place_id,
                                  SurveyRound.instrument_key == instrument_key,
                                  SurveyRound.collaboration_id.is_(None))
        .order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc())
    ):
        if round_.answers_version:
            return round_
    return None


def side_by_side(session: Session, place_id: int) -> dict[str, Any]:
    staff_round = latest_round(session, place_id, "readiness")
    voice_round = latest_round(session, place_id, "citizen_voice")
    staff = results.results(session, staff_round) if staff_round else None
    voice = results.results(session, voice_round) if voice_round else None
    rows = []
    for pairing in PAIRINGS:
        staff_lines = []
        if staff is not None:
            by_key = {line["key"]: line for line in staff["lines"]}
            staff_lines = [
                {"key": k, "name": component(k).name, "practice": by_key[k]["practice"],
                 "ambition": by_key[k]["ambition"], "gap": by_key[k]["gap"]}
                for k in pairing.components
            ]
        citizen = []
        if voice is not None:
            by_measure = {m["key"]: m for m in voice.get("measures", [])}
            citizen = [
                {**by_measure[k], "higher_is_worse": k in HIGHER_IS_WORSE}
                for k in pairing.measures if k in by_measure
            ]
        rows.append({"title": pairing.title, "staff": staff_lines, "citizen": citizen})
    return {
        "staff_round": {"id": staff_round.id, "title": staff_round.title,
                        "n": staff["n"] if staff else 0} if staff_round else None,
        "voice_round": {"id": voice_round.id, "title": voice_round.title,
                        "n": voice["n"] if voice else 0} if voice_round else None,
        "rows": rows,
    }
