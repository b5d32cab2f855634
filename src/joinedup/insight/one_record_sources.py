"""Sources that hold each person once: a mapping's ``one_record_per_person = true``.

Some partners keep a register free of duplicates (a GP list kept on NHS numbers, a roll of
pupils). A record ``a`` of another source then has at most one match among such a source's
records, and its candidates there compete: the pairwise model scores each pair as if the
others did not exist. Under the model "a's person is in source S with chance π (the
*share*), and if so is any of S's n records alike", Bayes' rule gives

    P(a is b | a's scored pairs with S) = (π/n)·K_ab / ((1 − π) + (π/n)·Σ_b' K_ab')

where K is the pair's Bayes factor (the match weight without the model's prior). A pair no
blocking rule made, or scored under ``match_prior.LOWEST_KEPT``, counts as K = 0, so π is
the chance that a's match is among the pairs scored. When a's person is very likely in S
(π near 1) and only one of S's records is a plausible match, that pair is trusted more than
its own score says. When both sources hold each person once, the smaller of the two views
is taken. This is the bipartite matching model of Sadinle (2017), applied one record at a
time. The model would also trust two rival candidates less than their own scores; linking
does not take that part (``posteriors``: registers hold a few repeats, and it cost true
pairs), so a pair's weight is the larger of its own and the model's.

π is estimated for each (source, one-record source) when the model is trained: the fixed
point of π = mean over a's source of Σ_b P(a is b), which is EM for this mixture. It is kept
with the model (``one_record_store``) so that a full re-link with the stored model and the
incremental path weigh pairs alike; a pair of sources first seen later is estimated then and
kept. The raw scores of the pairs concerned are kept too, because a new record changes the
weight of its neighbours' pairs.

Pairs within one source, and pairs of two sources neither of which is declared, keep the
model's score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "PAIR_SCHEMA", "Share", "Shares", "Weighed", "estimate_shares", "exclusive_weights",
    "missing_shares", "posteriors", "source_of", "split", "views_of", "weigh",
]  # fmt: skip


class Share(NamedTuple):
    """π for records of one source looking in a one-record source, and that source's size
    when π was estimated. Both are kept with the model: the candidate's prior π/n must not
    move when records arrive, or every pair of the source would be weighed afresh by each
    incremental run (re-training estimates them again)."""

    share: float
    size: int


# (source of the record, the one-record source its match is looked for in) -> its Share
Shares = dict[tuple[str, str], Share]

# π is kept inside (0, 1) so that a record with one candidate never gets certainty from the
# declaration alone: the candidate's own evidence still has to outweigh 1 − π.
_SHARE_BOUNDS = (1e-9, 1 - 1e-9)

PAIR_SCHEMA = pa.schema([
    ("unique_id_l", pa.string()), ("unique_id_r", pa.string()),
    ("match_weight", pa.float64()), ("match_probability", pa.float64()),
])  # fmt: skip


def source_of(ids: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A record's source from its unique id (source names hold no '|': ingest refuses them)."""
    return pc.list_element(pc.split_pattern(ids, "|", max_splits=1), 0)


def split(pairs: pa.Table, sources: frozenset[str]) -> tuple[pa.Table, pa.Table]:
    """(pairs across two sources of which at least one holds each person once, the rest)."""
    left, right = source_of(pairs.column("unique_id_l")), source_of(pairs.column("unique_id_r"))
    value_set = pa.array(sorted(sources), pa.string())
    concerned = pc.and_(
        pc.not_equal(left, right),
        pc.or_(pc.is_in(left, value_set=value_set), pc.is_in(right, value_set=value_set)),
    )
    return pairs.filter(concerned), pairs.filter(pc.invert(concerned))


def _log2_odds(p: float) -> float:
    return math.log2(p) - math.log2(1 - p)


def views_of(pairs: pa.Table, sources: frozenset[str]) -> pd.DataFrame:
    """One row per (pair, direction) in which the model applies: ``record`` looks for its
    match in ``other`` (a one-record source); ``pair`` is the pair's row number."""
    left = source_of(pairs.column("unique_id_l")).to_numpy(zero_copy_only=False)
    right = source_of(pairs.column("unique_id_r")).to_numpy(zero_copy_only=False)
    ids_l = pairs.column("unique_id_l").to_numpy(zero_copy_only=False)
    ids_r = pairs.column("unique_id_r").to_numpy(zero_copy_only=False)
    weight = pairs.column("match_weight").to_numpy(zero_copy_only=False).astype(np.float64)
    rows = np.arange(pairs.num_rows)
    to_right = np.isin(right, list(sources)) & (left != right)
    to_left = np.isin(left, list(sources)) & (left != right)
    return pd.DataFrame({
        "pair": np.concatenate([rows[to_right], rows[to_left]]),
        "record": np.concatenate([ids_l[to_right], ids_r[to_left]]),
        "source": np.concatenate([left[to_right], right[to_left]]),
        "other": np.concatenate([right[to_right], left[to_left]]),
        "weight": np.concatenate([weight[to_right], weight[to_left]]),
    })  # fmt: skip


def _log2_factor(views: pd.DataFrame, prior: float, sizes: np.ndarray) -> np.ndarray:
    """log2 of K/n for each view: the pair's Bayes factor over the one-record source's size."""
    return views["weight"].to_numpy() - _log2_odds(prior) - np.log2(np.maximum(sizes, 1))


def estimate_shares(
    pairs: pa.Table, sources: frozenset[str], prior: float, sizes: Mapping[str, int],
    wanted: set[tuple[str, str]] | None = None,
) -> Shares:  # fmt: skip
    """π for each (source, one-record source) the pairs hold (or only those ``wanted``): the
    fixed point of π = (1/n_source) Σ_a π·G_a / ((1 − π) + π·G_a), G_a = Σ_b K_ab / n_other,
    started from 1/2. A record with no scored pair adds nothing but counts in n_source."""
    views = views_of(pairs, sources)
    if views.empty:
        return {}
    views["log2_k"] = _log2_factor(views, prior, views["other"].map(lambda o: sizes.get(o, 1)).to_numpy())
    # G_a for each record, summed in scaled form (factors reach 2^60 and more), in one pass.
    keys = ["source", "other", "record"]
    views["top"] = views.groupby(keys, sort=False)["log2_k"].transform("max")
    views["scaled"] = np.exp2(views["log2_k"] - views["top"])
    per_record = views.groupby(keys, sort=True).agg(top=("top", "first"), total=("scaled", "sum"))
    per_record["log2_g"] = per_record["top"] + np.log2(per_record["total"])
    shares: Shares = {}
    for (source, other), group in per_record.groupby(level=["source", "other"], sort=True):
        key = (str(source), str(other))
        if wanted is not None and key not in wanted:
            continue
        log2_g = group["log2_g"].to_numpy()
        n_source = max(sizes.get(key[0], len(log2_g)), len(log2_g))
        share = 0.5
        for _ in range(1000):
            # π·G / ((1 − π) + π·G) = 1 / (1 + (1 − π) / (π·G)), in logs so G may be huge.
            ratio = np.exp2(np.clip(math.log2(1 - share) - math.log2(share) - log2_g, -1000, 1000))
            updated = float(np.sum(1.0 / (1.0 + ratio)) / n_source)
            updated = min(max(updated, _SHARE_BOUNDS[0]), _SHARE_BOUNDS[1])
            if abs(updated - share) < 1e-12:
                share = updated
                break
            share = updated
        shares[key] = Share(share, int(sizes.get(key[1], 1)))
    return shares


def exclusive_weights(pairs: pa.Table, sources: frozenset[str], prior: float, shares: Shares) -> np.ndarray:
    """The match weight of each pair under the model above, as if the declared sources held
    no repeat at all (the pairs of ``split``, in their order). Calibrated where that is so
    (tests/insight/test_one_record_sources.py plants a share and checks)."""
    views = views_of(pairs, sources)
    weight = pairs.column("match_weight").to_numpy(zero_copy_only=False).astype(np.float64).copy()
    if views.empty:
        return weight
    kept = [shares[(s, o)] for s, o in zip(views["source"], views["other"], strict=True)]
    share = np.array([k.share for k in kept])
    # log2 q = log2(π·K/n); a view's odds are q / ((1 − π) + the q of the record's other
    # candidates in that source), worked out in logs scaled by the record's largest q.
    log2_q = np.log2(share) + _log2_factor(views, prior, np.array([k.size for k in kept], dtype=np.float64))
    views["log2_q"] = log2_q
    group = views.groupby(["record", "other"], sort=False)["log2_q"]
    top = group.transform("max").to_numpy()
    scaled = np.exp2(log2_q - top)
    total = views.assign(scaled=scaled).groupby(["record", "other"], sort=False)["scaled"].transform("sum")
    others = np.maximum(total.to_numpy() - scaled, 0.0)
    # (1 − π) in the same scale as the others: 2^(log2(1 − π) − top), kept finite.
    rest = np.exp2(np.clip(np.log2(1 - share) - top, -1074, 1000)) + others
    view_weight = log2_q - top - np.log2(np.maximum(rest, 5e-324))
    # The smaller of the two views where both sources hold each person once.
    lowest = pd.Series(view_weight).groupby(views["pair"].to_numpy()).min()
    weight[lowest.index.to_numpy()] = lowest.to_numpy()
    return np.clip(weight, -1000.0, 1000.0)


def posteriors(pairs: pa.Table, sources: frozenset[str], prior: float, shares: Shares) -> pa.Table:
    """The pairs (each across sources, one of them holding each person once: ``split``)
    with the weight linking uses: the larger of the model's own and ``exclusive_weights``.

    The weighing only ever lifts a pair. Lowering one because a rival candidate exists is
    right only if the register truly holds no repeats, and registers do hold a few: on the
    hard synthetic place, declaring the work coach caseload (1.5% of its records repeats)
    and offender management lowered 958 true pairs under the threshold and the F1 fell from
    0.9891 to 0.9866. Lifting only, it was 0.9893, and declaring every source, repeats and
    all, 0.9892; on FEBRL4 both ways gave 0.9962 (docs/benchmarks.md)."""
    own = pairs.column("match_weight").to_numpy(zero_copy_only=False).astype(np.float64)
    weight = np.maximum(own, exclusive_weights(pairs, sources, prior, shares))
    probability = 1.0 / (1.0 + np.exp2(-weight))
    return pa.table(
        [pairs.column("unique_id_l"), pairs.column("unique_id_r"), pa.array(weight), pa.array(probability)],
        schema=PAIR_SCHEMA,
    )


class Weighed(NamedTuple):
    """What ``weigh`` gives a full link: the pairs to cluster (match probability 0.5 and
    over, the declared sources' pairs weighed again), the shares it used and the raw scores
    of the declared sources' pairs (for ``keep``)."""

    pairs: pa.Table
    shares: Shares
    raw: pa.Table


def weigh(pairs: pa.Table, sources: frozenset[str], prior: float, sizes: Mapping[str, int],
          shares: Shares) -> Weighed:  # fmt: skip
    """For a full link: weigh the pairs (scored down to ``match_prior.LOWEST_KEPT``). Shares
    missing from ``shares`` (a newly trained model has none) are estimated from these pairs."""
    concerned, rest = split(pairs, sources)
    found = estimate_shares(
        concerned, sources, prior, sizes, wanted=missing_shares(concerned, sources, shares)
    )
    shares = {**found, **shares}
    weighed = posteriors(concerned, sources, prior, shares)
    kept = pa.concat_tables([rest.select(PAIR_SCHEMA.names).cast(PAIR_SCHEMA), weighed])
    return Weighed(kept.filter(pc.greater_equal(kept.column("match_probability"), 0.5)), shares, concerned)


def missing_shares(concerned: pa.Table, sources: frozenset[str], shares: Shares) -> set[tuple[str, str]]:
    views = views_of(concerned, sources)
    needed = set(zip(views["source"].astype(str), views["other"].astype(str), strict=True))
    return needed - set(shares)
