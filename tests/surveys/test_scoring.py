"""Readiness scores, intervals, gaps, bands, suppression and reliability, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from joinedup.framework import COMPONENTS
from joinedup.surveys import instrument, scoring

INST = instrument.load("readiness")


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _everyone_says(practice: str, ambition: str, partner: str = "A", level: str = "manager"
                   ) -> dict[str, str]:
    row = {"partner": partner, "level": level}
    for q in INST.scored_questions():
        row[q.key] = ambition if q.role == "ambition" else practice
    return row


def test_answers_map_to_0_to_100_and_dont_know_is_left_out() -> None:
    row = _everyone_says("4", "5")
    first = INST.scored_questions("practice")[0]
    row[first.key] = "dont_know"
    scores = scoring.item_scores(INST, _frame([row]))
    assert math.isnan(scores[first.key].iloc[0])
    assert scores[INST.scored_questions("practice")[1].key].iloc[0] == 75.0
    assert scores[INST.scored_questions("ambition")[0].key].iloc[0] == 100.0


def test_component_score_is_the_mean_of_answered_statements() -> None:
    row = _everyone_says("3", "5")
    insight = [q for q in INST.scored_questions("practice") if q.component == "insight"]
    row[insight[0].key], row[insight[1].key] = "5", "dont_know"
    per = scoring.respondent_scores(INST, _frame([row]), "practice")
    # (100 + 50 + 50) / 3 answered statements
    assert per["insight"].iloc[0] == pytest.approx(200 / 3)


def test_too_few_answers_gives_no_component_score() -> None:
    row = _everyone_says("3", "5")
    for q in [q for q in INST.scored_questions("practice") if q.component == "risk"][:3]:
        row[q.key] = "dont_know"
    per = scoring.respondent_scores(INST, _frame([row]), "practice")
    assert math.isnan(per["risk"].iloc[0])
    assert not math.isnan(per["alignment"].iloc[0])  # two of three components remain


def test_mean_ci_is_a_t_interval() -> None:
    values = [25.0, 50.0, 50.0, 75.0, 100.0, 0.0]
    est = scoring.mean_ci(values)
    sd = np.std(values, ddof=1)
    half = stats.t.ppf(0.975, 5) * sd / math.sqrt(6)
    assert est.mean == pytest.approx(50.0)
    assert est.lci == pytest.approx(max(0, 50 - half))
    assert est.uci == pytest.approx(min(100, 50 + half))
    assert est.n == 6


def test_small_groups_are_suppressed() -> None:
    est = scoring.mean_ci([50, 60, 70, 80], min_n=5)
    assert est.suppressed and est.mean is None and not est.shown
    assert scoring.mean_ci([50, 60, 70, 80, 90], min_n=5).shown


@pytest.mark.parametrize(("score", "band"), [
    (70.0, "strength"), (69.99, "developing"), (50.0, "developing"), (49.99, "concern"),
    (0.0, "concern"), (100.0, "strength"),
])
def test_bands(score: float, band: str) -> None:
    assert scoring.band(score) == band


def test_gap_is_ambition_minus_practice_per_respondent() -> None:
    rows = [_everyone_says("2", "5"), _everyone_says("3", "4"), _everyone_says("4", "4"),
            _everyone_says("2", "5"), _everyone_says("3", "5")]
    res = scoring.readiness_results(INST, _frame(rows), min_group_size=5)
    line = res.line("insight")
    # gaps: 75, 25, 0, 75, 50 -> mean 45
    assert line.gap.mean == pytest.approx(45.0)
    assert line.ambition.mean - line.practice.mean == pytest.approx(45.0)
    assert line.gap.lci < 45 < line.gap.uci


def test_results_by_partner_suppress_small_partners_and_flag_splits() -> None:
    rows = [_everyone_says("4", "5", partner="Council") for _ in range(5)]
    rows += [_everyone_says("2", "5", partner="Charity") for _ in range(5)]
    rows += [_everyone_says("3", "5", partner="Police") for _ in range(4)]
    res = scoring.readiness_results(INST, _frame(rows), min_group_size=5)
    bp = res.by_partner
    assert bp.scores["Council"]["insight"].mean == 75.0
    assert bp.scores["Charity"]["insight"].mean == 25.0
    assert bp.scores["Police"]["insight"].suppressed
    assert bp.split["insight"] is True and bp.ranges["insight"] == 50.0
    assert res.line("insight").practice.mean == pytest.approx((5 * 75 + 5 * 25 + 4 * 50) / 14)


def test_whole_round_below_minimum_shows_nothing() -> None:
    res = scoring.readiness_results(INST, _frame([_everyone_says("4", "5")] * 3), 5)
    assert all(not line.practice.shown for line in res.lines)
    assert res.notes


def test_cronbach_alpha_matches_the_formula() -> None:
    items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]},
                         dtype=float)
    k = 3
    expected = k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    assert scoring.cronbach_alpha(items) == pytest.approx(expected)
    identical = pd.DataFrame({"a": [1.0, 2, 3], "b": [1.0, 2, 3]})
    assert scoring.cronbach_alpha(identical) == pytest.approx(1.0)
    assert scoring.cronbach_alpha(items.iloc[:2]) is None


def test_change_since_previous_round_uses_welch() -> None:
    a = scoring.mean_ci([60, 70, 80, 90, 50, 60])
    b = scoring.mean_ci([40, 50, 60, 50, 40, 30, 50])
    diff = scoring.difference(a, b)
    t = stats.ttest_ind([60, 70, 80, 90, 50, 60], [40, 50, 60, 50, 40, 30, 50], equal_var=False)
    assert diff.mean == pytest.approx(a.mean - b.mean)
    assert diff.se == pytest.approx(math.sqrt(a.se**2 + b.se**2))
    # the interval excludes 0 exactly when Welch's test rejects at 5%
    assert (diff.lci > 0) == (t.pvalue < 0.05)


def test_overall_and_strands_cover_every_component() -> None:
    res = scoring.readiness_results(INST, _frame([_everyone_says("3", "4")] * 6), 5)
    assert [line.key for line in res.components] == [c.key for c in COMPONENTS]
    assert res.line("overall").practice.mean == 50.0
    assert len(res.strands) == 4


def test_item_reliability_finds_the_statement_that_does_not_belong() -> None:
    rng = np.random.default_rng(3)
    trait = rng.normal(50, 20, 200)
    items = pd.DataFrame({
        "a": trait + rng.normal(0, 8, 200),
        "b": trait + rng.normal(0, 8, 200),
        "c": trait + rng.normal(0, 8, 200),
        "odd": rng.normal(50, 20, 200),  # about something else
    })
    alpha = scoring.cronbach_alpha(items)
    by_key = {r.key: r for r in scoring.item_reliability(items, {"odd": "Odd one"})}
    assert by_key["odd"].alpha_if_deleted > alpha > by_key["a"].alpha_if_deleted
    assert abs(by_key["odd"].item_rest_correlation) < 0.2 < by_key["a"].item_rest_correlation
    assert by_key["odd"].text == "Odd one"
