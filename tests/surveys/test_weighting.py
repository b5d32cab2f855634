"""Raking with svy: margins met, prefer-not-to-say handled, the cap, suppression."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from joinedup.surveys import representation, weighting

AREAS = {"North": 30_000.0, "South": 20_000.0}


def _sample(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = list(weighting.AGE_BANDS)
    frame = pd.DataFrame({
        "age_band": rng.choice(ages, n, p=[0.07, 0.1, 0.13, 0.17, 0.2, 0.18, 0.15]),
        "sex": rng.choice(["female", "male"], n, p=[0.62, 0.38]),
        "area": rng.choice(list(AREAS), n, p=[0.7, 0.3]),
    })
    answer = np.where(rng.random(n) < 0.4, "always", "never").astype(object)
    frame["ind"] = weighting.indicator_column(pd.Series(answer), ["always"], ["dont_know"])
    return frame


def test_ons_shares_cover_the_survey_bands_and_sum_to_one() -> None:
    shares = weighting.ons_age_sex_shares()
    assert len(shares) == 14
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["16-24 female"] < shares["35-44 female"]


def test_raked_weights_meet_every_margin() -> None:
    margins = weighting.Margins.default(50_000, AREAS)
    ws = weighting.rake(_sample(), margins, trim_median_multiple=None)
    data = ws.data.to_pandas()
    for var, totals in margins.totals.items():
        achieved = data.groupby(var)["weight"].sum()
        for level, total in totals.items():
            assert achieved[level] == pytest.approx(total, rel=1e-6)
    assert ws.weights.sum() == pytest.approx(50_000, rel=1e-6)


def test_effective_sample_size_and_design_effect_follow_kish() -> None:
    ws = weighting.rake(_sample(), weighting.Margins.default(50_000, AREAS),
                        trim_median_multiple=None)
    w = ws.weights
    assert ws.ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert ws.deff == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2)
    assert ws.deff > 1


def test_prefer_not_to_say_is_left_out_and_counted() -> None:
    frame = _sample()
    frame.loc[:9, "sex"] = "prefer_not"
    frame.loc[10:14, "area"] = None
    ws = weighting.rake(frame, weighting.Margins.default(50_000, AREAS))
    assert ws.excluded == 15 and ws.n_used == len(frame) - 15
    assert any("preferred not" in note for note in ws.notes)


def _margins_met(ws: weighting.WeightedSample, margins: weighting.Margins,
                 rel: float = 1e-8) -> None:
    """Every margin total met, among the levels somebody answered from (rescaled to the
    same grand total, as rake() does)."""
    data = ws.data.to_pandas()
    grand = sum(next(iter(margins.totals.values())).values())
    for var, totals in margins.totals.items():
        achieved = data.groupby(var)["weight"].sum()
        seen = {k: v for k, v in totals.items() if k in achieved.index}
        for level, total in seen.items():
            expected = total / sum(seen.values()) * grand
            assert achieved[level] == pytest.approx(expected, rel=rel), (var, level)


def test_a_tighter_cap_holds_every_weight_and_keeps_the_margins() -> None:
    margins = weighting.Margins.default(50_000, AREAS)
    unbounded = weighting.rake(_sample(), margins, trim_median_multiple=None).weights
    assert unbounded.max() > 3.0 * np.median(unbounded)  # so the cap has work to do
    ws = weighting.rake(_sample(), margins, trim_median_multiple=3.0)
    w = ws.weights
    assert ws.trimmed and ws.capping is not None
    assert w.max() <= 3.0 * np.median(w) * (1 + 1e-8)
    _margins_met(ws, margins)


def _representative(n: int, seed: int) -> pd.DataFrame:
    """Respondents drawn in the population's own proportions: raking barely moves them."""
    rng = np.random.default_rng(seed)
    shares = weighting.ons_age_sex_shares()
    cells = rng.choice(list(shares), n, p=np.array(list(shares.values())))
    return pd.DataFrame({
        "age_band": [c.rsplit(" ", 1)[0] for c in cells],
        "sex": [c.rsplit(" ", 1)[1] for c in cells],
        "area": rng.choice(list(AREAS), n, p=[0.6, 0.4]),
    })


def test_trimmed_is_said_only_when_a_weight_was_capped() -> None:
    margins = weighting.Margins.default(50_000, AREAS)
    ws = weighting.rake(_representative(800, 3), margins)
    assert ws.weights.max() < 8 * np.median(ws.weights)
    assert not ws.trimmed and ws.capping is None
    assert weighting.cap_summary(ws) == "none above 8 times the median weight, so none capped"


def _skewed(seed: int) -> tuple[pd.DataFrame, weighting.Margins]:
    """A survey whose plain raking breaks the cap, and on which svy's trim-and-rake cycle
    (svy 0.35, trimming at 8 × the median) fails to converge."""
    rng = np.random.default_rng(seed)
    areas = {"North": 30_000.0, "South": 20_000.0, "East": 10_000.0}
    n = int(rng.integers(150, 600))
    ages = list(weighting.AGE_BANDS)
    frame = pd.DataFrame({
        "age_band": rng.choice(ages, n, p=rng.dirichlet(np.ones(7) * 0.8)),
        "sex": rng.choice(["female", "male"], n, p=[0.7, 0.3]),
        "area": rng.choice(list(areas), n, p=[0.6, 0.3, 0.1]),
    })
    return frame, weighting.Margins.default(60_000, areas)


def test_weights_are_capped_where_a_weighting_within_the_cap_exists() -> None:
    frame, margins = _skewed(1)
    raked = weighting.rake(frame, margins, trim_median_multiple=None).weights
    before = raked.max() / np.median(raked)
    assert before > 8
    ws = weighting.rake(frame, margins)
    w = ws.weights
    assert not any("could not" in note for note in ws.notes), ws.notes
    assert ws.trimmed and ws.capping is not None
    assert w.max() <= 8 * np.median(w) * (1 + 1e-8)
    assert w.max() == pytest.approx(8 * np.median(w), rel=1e-8)  # the cap bites, no more
    _margins_met(ws, margins)
    # How many were capped, and from how high, as the page says it.
    at_cap = int(np.sum(w >= w.max() * (1 - 1e-9)))
    assert ws.capping.capped == at_cap >= 1
    assert ws.capping.largest_before == pytest.approx(before)
    summary = weighting.cap_summary(ws)
    assert summary.startswith(f"{at_cap} weight")
    assert f"had been {before:.1f} times the median" in summary


def test_an_unreachable_cap_is_explained_and_the_margins_still_hold() -> None:
    frame = _representative(1500, 5)
    # One young man among 1,500, where young men are about 7% of adults: whatever the
    # weighting, he must carry all of them, over 100 times the mean weight.
    young_men = (frame["age_band"] == "16-24") & (frame["sex"] == "male")
    frame.loc[young_men, "sex"] = "female"
    frame.loc[0, ["age_band", "sex"]] = ["16-24", "male"]
    margins = weighting.Margins.default(50_000, AREAS)
    ws = weighting.rake(frame, margins)
    assert not ws.trimmed and ws.capping is None
    _margins_met(ws, margins, rel=1e-6)
    [note] = [n for n in ws.notes if "median" in n]
    assert not re.search(r"without missing|could not be capped", note)
    found = re.search(r"^No weighting meets the population margins with every weight within "
                      r"8 times the median weight: the smallest cap that works is about "
                      r"([\d.]+) times the median\.", note)
    assert found, note
    smallest = float(found.group(1))
    # Bounds on the smallest cap: at least the one respondent's weight (his cell's total)
    # over the largest possible median (the total over half the respondents), and at most
    # what plain raking, itself a weighting that meets the margins, needs.
    w = ws.weights
    cell = margins.totals["age_sex"]["16-24 male"]
    assert smallest >= 0.99 * cell / (50_000 / 750)
    assert smallest <= w.max() / np.median(w) * 1.01
    assert "men aged 16-24: 7% of adults but 1 of the 1,500 who answered" in note
    assert "not capped" in weighting.cap_summary(ws)


def test_who_answered_more_often_is_computed_from_the_sample() -> None:
    margins = weighting.Margins.default(50_000, AREAS)
    frame = _representative(1000, 8)
    frame["sex"] = np.where(np.random.default_rng(8).random(1000) < 0.7, "male", "female")
    ws = weighting.rake(frame, margins)
    by = {(r.variable, r.level): r for r in ws.representation}
    men = by[("sex", "male")]
    assert men.sample_share == pytest.approx((frame["sex"] == "male").mean())
    assert men.population_share == pytest.approx(sum(
        v for k, v in weighting.ons_age_sex_shares().items() if k.endswith(" male")))
    assert by[("area", "North")].population_share == pytest.approx(0.6)
    sentence = representation.representation_sentence(ws.representation)
    assert re.search(r"more of those who answered were men \(\d+% of answers", sentence)
    assert "fewer were women" in sentence
    # Turn it round: the sentence follows the data.
    frame["sex"] = np.where(frame["sex"] == "male", "female", "male")
    flipped = representation.representation_sentence(weighting.rake(frame, margins).representation)
    assert "more of those who answered were women" in flipped and "fewer were men" in flipped


def test_weighting_moves_an_estimate_towards_the_population() -> None:
    frame = _sample(1200, seed=7)
    # Young people say "always" far less; they are under-represented, so weighting lowers it.
    young = frame["age_band"].isin(["16-24", "25-34"])
    frame.loc[young, "ind"] = "no"
    ws = weighting.rake(frame, weighting.Margins.default(50_000, AREAS))
    weighted = weighting.proportion(ws, "ind")[0]
    raw = (frame["ind"] == "yes").mean()
    assert weighted.est < raw
    assert weighted.lci < weighted.est < weighted.uci


def test_small_groups_are_suppressed() -> None:
    frame = _sample(400)
    frame.loc[frame.index[:4], "area"] = "Tiny"
    areas = dict(AREAS, Tiny=500.0)
    ws = weighting.rake(frame, weighting.Margins.default(50_000, areas))
    by_area = {p.group: p for p in weighting.proportion(ws, "ind", by="area",
                                                         min_group_size=5)}
    assert by_area["Tiny"].suppressed and by_area["Tiny"].est is None
    assert by_area["North"].shown


def test_a_level_nobody_answered_is_dropped_with_a_note() -> None:
    frame = _sample()
    frame = frame[frame["age_band"] != "75+"]
    ws = weighting.rake(frame, weighting.Margins.default(50_000, AREAS))
    assert any("75+ female" in note for note in ws.notes)
    assert ws.weights.sum() == pytest.approx(50_000, rel=1e-6)


def test_an_answer_outside_the_margins_is_an_error() -> None:
    frame = _sample()
    frame.loc[0, "area"] = "Atlantis"
    with pytest.raises(weighting.WeightingError, match="Atlantis"):
        weighting.rake(frame, weighting.Margins.default(50_000, AREAS))
