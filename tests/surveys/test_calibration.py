"""Bounded raking (surveys/calibration.py): margins, bounds, agreement with svy's raking,
the smallest cap, and a simulation that the capped estimate still finds a planted mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from joinedup.surveys import calibration, weighting

AREAS = {"North": 30_000.0, "South": 20_000.0}


def _patterns(seed: int = 2, n: int = 400) -> tuple[calibration.Patterns, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    b = rng.choice(2, n, p=[0.7, 0.3])
    targets = [np.array([300.0, 400.0, 300.0]), np.array([500.0, 500.0])]
    d = np.full(n, 1000.0 / n)
    return calibration.Patterns.of([a, b], targets, d), d


def test_bounded_raking_meets_the_margins_within_the_bounds() -> None:
    p, _ = _patterns()
    g = calibration.bounded_raking(p, 0.4, 3.5)
    np.testing.assert_allclose(p.x.T @ (p.d * g), p.targets, rtol=1e-10)
    assert g.min() >= 0.4 - 1e-12 and g.max() <= 3.5 + 1e-12
    assert np.isclose(g.max(), 3.5) and np.isclose(g.min(), 0.4)  # plain raking: 0.36 to 4.9


def test_with_loose_bounds_it_is_plain_raking_as_svy_does_it() -> None:
    p, d = _patterns()
    g = calibration.bounded_raking(p, 0.0, 1e6)
    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"a": rng.choice(3, 400, p=[0.6, 0.3, 0.1]).astype(str),
                          "b": rng.choice(2, 400, p=[0.7, 0.3]).astype(str), "w0": d})
    import svy

    raked = svy.Sample(frame, svy.Design(wgt="w0")).weighting.rake(
        controls={"a": {"0": 300.0, "1": 400.0, "2": 300.0}, "b": {"0": 500.0, "1": 500.0}},
        wgt_name="w", tol=1e-12, max_iter=5000)
    svy_w = raked.data.get_column("w").to_numpy()
    np.testing.assert_allclose(g[p.inverse] * d, svy_w, rtol=1e-8)


def test_bounds_no_weights_can_meet_are_refused() -> None:
    p, _ = _patterns()
    with pytest.raises(calibration.BoundsInfeasible):
        calibration.bounded_raking(p, 0.0, 1.2)
    assert calibration.smallest_upper(p) > 1.2


def test_the_smallest_median_multiple_of_a_case_worked_by_hand() -> None:
    # One margin: 1 respondent stands for 50 adults, 9 for the other 50. Alike respondents
    # alike weights: 50 s and 50 s / 9, and the median is one of the nine: 9 × the median.
    codes = [np.array([0] + [1] * 9)]
    p = calibration.Patterns.of(codes, [np.array([50.0, 50.0])], np.full(10, 10.0))
    low, found = calibration.smallest_median_multiple(p)
    assert low == pytest.approx(9.0, rel=1e-6) and found == pytest.approx(9.0, rel=1e-6)


def test_median_of_patterns_is_the_respondents_median() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        values = rng.random(6)
        counts = rng.integers(1, 5, 6).astype(float)
        assert calibration.median_of(values, counts) == pytest.approx(
            np.median(np.repeat(values, counts.astype(int))))


def test_capped_weighting_recovers_a_planted_mean() -> None:
    """Plant a population whose answer depends on age, sex and area; sample it with the
    young answering far less often, so plain raking puts weights above a cap of 4 × the
    median in most samples; weight with that cap and check that the 95% interval covers
    the planted share about as often as it should, and the estimates centre on it."""
    shares = weighting.ons_age_sex_shares()
    bands = list(weighting.AGE_BANDS)
    cells, pop, p_yes, reach = [], [], [], []
    for cell, share in shares.items():
        band, sex = cell.rsplit(" ", 1)
        i = bands.index(band)
        for area, size in AREAS.items():
            cells.append((band, sex, area))
            pop.append(share * size)
            p_yes.append(0.2 + 0.06 * i + (0.1 if sex == "female" else 0) +
                         (0.05 if area == "North" else 0))
            reach.append(0.25 if i == 0 else 0.6 if i == 1 else 1.0)
    pop_a, p_a = np.array(pop), np.array(p_yes)
    planted = float(pop_a @ p_a / pop_a.sum())
    draw = pop_a * np.array(reach)
    draw /= draw.sum()
    margins = weighting.Margins.default(50_000, AREAS)
    n, replicates = 1000, 30
    covered, estimates = 0, []
    for seed in range(replicates):
        rng = np.random.default_rng(1000 + seed)
        idx = rng.choice(len(cells), n, p=draw)
        frame = pd.DataFrame([cells[i] for i in idx], columns=["age_band", "sex", "area"])
        frame["ind"] = np.where(rng.random(n) < p_a[idx], "yes", "no")
        raw = float((frame["ind"] == "yes").mean())
        ws = weighting.rake(frame, margins, trim_median_multiple=4.0)
        if not ws.trimmed:
            continue
        assert ws.weights.max() <= 4.0 * np.median(ws.weights) * (1 + 1e-8)
        est = weighting.proportion(ws, "ind")[0]
        assert est.est is not None and est.lci is not None and est.uci is not None
        covered += est.lci <= planted <= est.uci
        estimates.append(est.est)
        assert abs(est.est - planted) < abs(raw - planted) + 0.03
    assert len(estimates) >= replicates * 0.6  # the cap did the work in most samples
    assert covered >= len(estimates) * 0.8
    se_of_mean = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - planted) < 3 * se_of_mean + 0.005
