"""Difference in differences with person-clustered standard errors (statsmodels OLS).

Model, on the person × quarter panel: y = a + b·treated + c·post + d·treated×post + e. The
effect is d: how much more (or less) the programme's rate changed after entry than the
comparison group's did over the same relative quarters. Each person contributes several
quarters, so errors are clustered by person. statsmodels' cluster correction,
G/(G−1)·(N−1)/(N−K), is the same as R sandwich::vcovCL(type = "HC1", cadjust = TRUE), which
the tests check to 1e-6. Intervals use the normal distribution (z = 1.96), as statsmodels
does for clustered errors by default.

Without a credible comparison group the fallback is before/after on the programme alone,
y = a + c·post, with the same clustering: it credits the programme with any change that
would have happened anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

__all__ = ["Estimate", "before_after", "diff_in_diff"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    effect: float
    se: float
    ci_low: float
    ci_high: float
    n_obs: int
    n_clusters: int


def _fit(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    result = OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True})
    return float(result.params[-1]), float(result.bse[-1])


def _estimate(effect: float, se: float, n_obs: int, n_clusters: int) -> Estimate:
    if not np.isfinite(se):
        se = 0.0
    return Estimate(effect, se, effect - Z95 * se, effect + Z95 * se, n_obs, n_clusters)


def diff_in_diff(panel: pd.DataFrame, outcome: str) -> Estimate:
    """``panel`` has person_id, treated (0/1), post (0/1) and the outcome column."""
    treated = panel["treated"].to_numpy(dtype=float)
    post = panel["post"].to_numpy(dtype=float)
    x = np.column_stack([np.ones_like(post), treated, post, treated * post])
    groups = pd.factorize(panel["person_id"])[0]
    y = panel[outcome].to_numpy(dtype=float)
    if np.all(y == y[0]):  # nothing varies: no change, and no uncertainty about it
        return _estimate(0.0, 0.0, len(y), int(groups.max()) + 1)
    effect, se = _fit(y, x, groups)
    return _estimate(effect, se, len(y), int(groups.max()) + 1)


def before_after(panel: pd.DataFrame, outcome: str) -> Estimate:
    """The programme's own change after entry (``panel`` holds programme persons only)."""
    post = panel["post"].to_numpy(dtype=float)
    x = np.column_stack([np.ones_like(post), post])
    groups = pd.factorize(panel["person_id"])[0]
    y = panel[outcome].to_numpy(dtype=float)
    if np.all(y == y[0]):
        return _estimate(0.0, 0.0, len(y), int(groups.max()) + 1)
    effect, se = _fit(y, x, groups)
    return _estimate(effect, se, len(y), int(groups.max()) + 1)
