"""Raking with svy: margins met, prefer-not-to-say handled, trimming, suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from joinedup.surveys import weighting

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


def test_trimming_caps_weights_and_keeps_the_margins() -> None:
    margins = weighting.Margins.default(50_000, AREAS)
    ws = weighting.rake(_sample(), margins, trim_median_multiple=3.0)
    w = ws.weights
    if ws.trimmed:
        assert w.max() <= 3.0 * np.median(w) * (1 + 1e-4)
    data = ws.data.to_pandas()
    assert data.groupby("area")["weight"].sum()["North"] == pytest.approx(30_000, rel=1e-5)


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
