"""Properties that must hold whatever the answers: intervals contain their estimate and stay
on the scale; raked weights always meet the margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.surveys import scoring, weighting


@given(st.lists(st.sampled_from([0.0, 25.0, 50.0, 75.0, 100.0]), min_size=2, max_size=60))
def test_interval_contains_the_mean_and_stays_on_the_scale(values: list[float]) -> None:
    est = scoring.mean_ci(values)
    assert est.mean is not None and est.lci is not None and est.uci is not None
    assert 0 <= est.lci <= est.mean <= est.uci <= 100


@given(st.lists(st.floats(0, 100), min_size=1, max_size=30), st.integers(1, 10))
def test_suppression_is_exactly_below_the_minimum(values: list[float], min_n: int) -> None:
    est = scoring.mean_ci(values, min_n=min_n)
    assert est.suppressed == (len(values) < min_n)
    assert est.shown == (len(values) >= min_n)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(60, 400))
def test_raked_weights_always_meet_the_margins(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    ages = list(weighting.AGE_BANDS)
    frame = pd.DataFrame({
        "age_band": np.concatenate([ages, rng.choice(ages, n - len(ages))]),
        "sex": np.concatenate([["female", "male"] * 4, rng.choice(["female", "male"], n - 8)])[:n],
        "area": rng.choice(["N", "S"], n),
    })
    frame.loc[: 1, "area"] = ["N", "S"]
    # Every age × sex cell must have someone in it, as a real margin would need.
    for i, (a, s) in enumerate((a, s) for a in ages for s in ("female", "male")):
        frame.loc[i, ["age_band", "sex"]] = [a, s]
    margins = weighting.Margins.default(10_000, {"N": 3, "S": 2})
    ws = weighting.rake(frame, margins, trim_median_multiple=None)
    data = ws.data.to_pandas()
    for var, totals in margins.totals.items():
        got = data.groupby(var)["weight"].sum()
        for level, total in totals.items():
            assert got[level] == pytest.approx(total, rel=1e-6)
