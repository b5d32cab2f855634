"""The comparison group: the place's other linked persons, matched on what was known
before entry.

Propensity score matching (scikit-learn's LogisticRegression for the score and
NearestNeighbors for the search), one comparison person per programme person, without
replacement, within a caliper of 0.2 standard deviations of the logit of the score: the
width Austin (2011) found removes about 99% of the bias from measured confounders while
keeping most matches. Balance is shown as standardised mean differences before and after
matching.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

__all__ = ["Matched", "match", "smd"]

# Beyond this, matched samples differ too much for a difference in differences to be
# trusted (Stuart 2010, "Matching methods for causal inference", uses 0.25 for regression
# adjustment; 0.1 is the flag shown on the page).
SMD_NOT_CREDIBLE = 0.25


@dataclass(frozen=True)
class Matched:
    treated: np.ndarray  # person ids
    controls: np.ndarray  # person ids, pairwise with treated
    balance: pd.DataFrame  # variable, smd_before, smd_after
    caliper: float


def smd(treated: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Standardised mean difference per column: difference of means over the pooled SD
    sqrt((var_t + var_c) / 2); 0 where both groups are constant."""
    if len(treated) == 0 or len(control) == 0:
        return np.full(treated.shape[1], np.nan)
    diff = treated.mean(axis=0) - control.mean(axis=0)
    pooled = np.sqrt((treated.var(axis=0, ddof=1) + control.var(axis=0, ddof=1)) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(pooled > 0, diff / np.where(pooled > 0, pooled, 1), 0.0)
    return np.asarray(out, dtype=float)


def match(covariates: pd.DataFrame, treated_ids: np.ndarray, caliper_sd: float, seed: int) -> Matched:
    """1:1 greedy nearest-neighbour matching on the logit of the propensity score. Programme
    persons are taken in a seeded random order (so no one is favoured by their id), each
    to the nearest unused comparison person within the caliper; those with none stay
    unmatched and are counted."""
    variables = [c for c in covariates.columns if c != "person_id"]
    x = covariates[variables].to_numpy(dtype=float)
    is_treated = covariates["person_id"].isin(treated_ids).to_numpy()
    # Counts are skewed: log1p keeps a few very high users from dominating the score.
    use_cols = np.array([v.startswith("prior use: ") for v in variables])
    x_model = x.copy()
    x_model[:, use_cols] = np.log1p(x_model[:, use_cols])
    x_model = StandardScaler().fit_transform(x_model)
    model = LogisticRegression(max_iter=2000)
    model.fit(x_model, is_treated.astype(int))
    logit = model.decision_function(x_model)
    caliper = caliper_sd * float(np.std(logit, ddof=1))
    t_idx = np.flatnonzero(is_treated)
    c_idx = np.flatnonzero(~is_treated)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(t_idx))
    pairs_t: list[int] = []
    pairs_c: list[int] = []
    if len(c_idx):
        k = min(len(c_idx), 64)
        search = NearestNeighbors(n_neighbors=k).fit(logit[c_idx, None])
        dist, nbr = search.kneighbors(logit[t_idx, None])
        used = np.zeros(len(c_idx), dtype=bool)
        for i in order:
            chosen = -1
            for d, j in zip(dist[i], nbr[i], strict=True):
                if d > caliper:
                    break
                if not used[j]:
                    chosen = int(j)
                    break
            if chosen < 0 and dist[i, -1] <= caliper and k < len(c_idx):
                # Every near neighbour is taken: search the unused ones directly.
                free = np.flatnonzero(~used)
                gaps = np.abs(logit[c_idx[free]] - logit[t_idx[i]])
                best = int(np.argmin(gaps))
                chosen = int(free[best]) if gaps[best] <= caliper else -1
            if chosen >= 0:
                used[chosen] = True
                pairs_t.append(int(t_idx[i]))
                pairs_c.append(int(c_idx[chosen]))
    before = smd(x[t_idx], x[c_idx])
    after = smd(x[pairs_t], x[pairs_c]) if pairs_t else np.full(len(variables), np.nan)
    balance = pd.DataFrame({"variable": variables, "smd_before": before, "smd_after": after})
    ids = covariates["person_id"].to_numpy()
    return Matched(ids[pairs_t], ids[pairs_c], balance, caliper)
