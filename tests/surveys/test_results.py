"""Results of a round from the database: readiness by partner names, citizen voice weighted,
small groups suppressed, and the cache recomputed only when answers change."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.surveys import comparison, results
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.rounds import create_round
from joinedup.synth.surveys import _store, citizen_rows, readiness_rows


def test_readiness_results_name_partners_and_compare_rounds(session: Session,
                                                            place: Place) -> None:
    before = create_round(session, place, instrument_key="readiness", title="Before",
                          opens_on=date(2025, 1, 1), closes_on=date(2025, 2, 1))
    _store(session, before, readiness_rows(place, 30, seed=1, uplift=-10), datetime.now(UTC))
    now = create_round(session, place, instrument_key="readiness", title="Now",
                       opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
    _store(session, now, readiness_rows(place, 30, seed=2), datetime.now(UTC))
    body = results.results(session, now)
    assert body["n"] == 30
    assert set(body["by_partner"]["groups"]) <= {p.name for p in place.partners}
    assert body["previous_round"]["title"] == "Before"
    overall = next(line for line in body["lines"] if line["key"] == "overall")
    assert overall["change"]["mean"] > 0
    assert results.results(session, now) is body or results.results(session, now) == body


def test_cache_is_recomputed_when_answers_change(session: Session, place: Place,
                                                 voice_round: SurveyRound) -> None:
    rows, _ = citizen_rows(60, seed=3, areas=["North", "South"])
    _store(session, voice_round, rows, datetime.now(UTC))
    first = results.results(session, voice_round)
    assert first["n"] == 60
    more, _ = citizen_rows(10, seed=4, areas=["North", "South"])
    _store(session, voice_round, more, datetime.now(UTC))
    assert results.results(session, voice_round)["n"] == 70


def test_citizen_results_are_weighted_and_suppress_small_groups(
    session: Session, place: Place, voice_round: SurveyRound
) -> None:
    rows, _ = citizen_rows(400, seed=5, areas=["North", "South"])
    for row in rows[:3]:
        row["services_used"] = "drug_alcohol"
    for row in rows[3:]:
        row["services_used"] = row["services_used"].replace("drug_alcohol", "gp") or "gp"
    _store(session, voice_round, rows, datetime.now(UTC))
    body = results.results(session, voice_round)
    assert body["n_weighted"] + body["excluded"] == 400
    assert 1 < body["deff"] < 5
    personalised = next(m for m in body["measures"] if m["key"] == "personalised")
    assert personalised["national"]["value"] == 0.14
    assert personalised["weighted"]["shown"] and personalised["weighted"]["lci"] is not None
    drugs = next(s for s in personalised["by_service"] if s["service"] == "drug_alcohol")
    assert drugs["suppressed"] and drugs["est"] is None


def test_comparison_pairs_staff_and_citizen_views(session: Session, place: Place) -> None:
    ready = create_round(session, place, instrument_key="readiness", title="R",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
    _store(session, ready, readiness_rows(place, 20, seed=6), datetime.now(UTC))
    voice = create_round(session, place, instrument_key="citizen_voice", title="V",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1),
                         areas={"North": 1, "South": 1})
    rows, _ = citizen_rows(100, seed=7, areas=["North", "South"])
    _store(session, voice, rows, datetime.now(UTC))
    body = comparison.side_by_side(session, place.id)
    titles = [r["title"] for r in body["rows"]]
    assert titles == ["Involving citizens in decisions", "Services that fit people's lives",
                      "Joined-up services"]
    involving = body["rows"][0]
    assert involving["staff"][0]["name"] == "Engagement and democracy"
    assert involving["citizen"][0]["key"] == "involved" and involving["citizen"][0]["higher_is_worse"]


def test_changing_the_minimum_group_size_changes_what_is_hidden(
        session: Session, place: Place, readiness_round: SurveyRound) -> None:
    _store(session, readiness_round, readiness_rows(place, 30, seed=8), datetime.now(UTC))
    first = results.results(session, readiness_round)
    counts = first["by_partner"]["counts"]
    assert first["disclosure"]["min_group_size"] == 5
    biggest = max(n for n in counts.values() if n is not None)
    place.min_group_size = biggest + 1  # now every partner group is too small
    body = results.results(session, readiness_round)
    assert body["disclosure"]["min_group_size"] == biggest + 1
    assert set(body["by_partner"]["hidden"]) == set(body["by_partner"]["groups"])
    assert all(n is None for n in body["by_partner"]["counts"].values())


def test_citizen_services_used_by_too_few_hide_their_share_of_residents(
        session: Session, place: Place, voice_round: SurveyRound) -> None:
    rows, _ = citizen_rows(200, seed=9, areas=["North", "South"])
    for i, row in enumerate(rows):
        used = [s for s in row["services_used"].split("|") if s not in ("police", "none")]
        row["services_used"] = "|".join(used + (["police"] if i < 3 else [])) or "none"
    _store(session, voice_round, rows, datetime.now(UTC))
    body = results.results(session, voice_round)
    police = next(s for s in body["services"] if s["service"] == "police")
    assert police["suppressed"] and police["est"] is None
    for m in body["measures"]:
        cell = next(p for p in m["by_service"] if p["service"] == "police")
        assert cell["n"] is None and cell["est"] is None
    csv_rows = [r for r in results.to_csv(body, "citizen_voice").splitlines() if "Police" in r]
    # Blank cells are written quoted ("") by the CSV writer that neutralises formulas.
    assert csv_rows and all(',"",' in r and ",3," not in r for r in csv_rows)
