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
with the model (``link_one_record_shares``) so that a full re-link with the stored model and
the incremental path weigh pairs alike; a pair of sources first seen later is estimated
then and kept. The raw scores of the pairs concerned are kept too (``link_one_record_pairs``)
because a new record changes the weight of its neighbours' pairs.

Pairs within one source, and pairs of two sources neither of which is declared, keep the
model's score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight.store import create_if_missing

__all__ = [
    "PAIR_SCHEMA", "PairWeighing", "Refreshed", "Share", "Shares", "Weighed", "check_unchanged",
    "declared", "ensure_schema", "estimate_shares", "exclusive_weights", "keep", "last_declared",
    "load_shares", "posteriors", "refresh", "save_shares", "source_sizes", "split", "weigh",
    "weighed_pair",
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS link_one_record_shares (
    model_id INTEGER,
    source VARCHAR,
    other VARCHAR,
    share DOUBLE,
    size INTEGER
);
CREATE TABLE IF NOT EXISTS link_one_record_pairs (
    unique_id_l VARCHAR,
    unique_id_r VARCHAR,
    match_weight DOUBLE
);
CREATE TABLE IF NOT EXISTS link_one_record_state (
    sources VARCHAR
);
"""

PAIR_SCHEMA = pa.schema([
    ("unique_id_l", pa.string()), ("unique_id_r", pa.string()),
    ("match_weight", pa.float64()), ("match_probability", pa.float64()),
])  # fmt: skip


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    create_if_missing(con, _SCHEMA)


def declared(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The sources whose mapping says they hold each person once."""
    rows = con.execute("SELECT name FROM sources WHERE coalesce(one_record_per_person, false)").fetchall()
    return frozenset(r[0] for r in rows)


def source_of(ids: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A record's source from its unique id (source names hold no '|': ingest refuses them)."""
    return pc.list_element(pc.split_pattern(ids, "|", max_splits=1), 0)


def source_sizes(con: duckdb.DuckDBPyConnection, cache: str) -> dict[str, int]:
    """Records of each source in the model input (``input_cache``)."""
    rows = con.execute(
        f"SELECT split_part(unique_id, '|', 1), count(*) FROM {cache} GROUP BY 1"  # noqa: S608
    ).fetchall()
    return {str(s): int(n) for s, n in rows}


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


def _views(pairs: pa.Table, sources: frozenset[str]) -> pd.DataFrame:
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
    views = _views(pairs, sources)
    if views.empty:
        return {}
    views["log2_g"] = _log2_factor(views, prior, views["other"].map(lambda o: sizes.get(o, 1)).to_numpy())
    shares: Shares = {}
    for (source, other), group in views.groupby(["source", "other"], sort=True):
        key = (str(source), str(other))
        if wanted is not None and key not in wanted:
            continue
        # G_a for each record, summed in scaled form: factors reach 2^60 and more.
        log2_g = group.groupby("record")["log2_g"].agg(_log2_sum).to_numpy()
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


def _log2_sum(values: pd.Series) -> float:
    top = float(values.max())
    return top + math.log2(float(np.sum(np.exp2(values.to_numpy() - top))))


def exclusive_weights(pairs: pa.Table, sources: frozenset[str], prior: float, shares: Shares) -> np.ndarray:
    """The match weight of each pair under the model above, as if the declared sources held
    no repeat at all (the pairs of ``split``, in their order). Calibrated where that is so
    (tests/insight/test_one_record_sources.py plants a share and checks)."""
    views = _views(pairs, sources)
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


def load_shares(con: duckdb.DuckDBPyConnection, model_id: int) -> Shares:
    ensure_schema(con)
    rows = con.execute(
        "SELECT source, other, share, size FROM link_one_record_shares WHERE model_id = ?", [model_id]
    ).fetchall()
    return {(str(s), str(o)): Share(float(v), int(n)) for s, o, v, n in rows}


def save_shares(con: duckdb.DuckDBPyConnection, model_id: int, shares: Shares) -> None:
    """Keep shares not yet kept for the model (a kept share is never re-estimated)."""
    ensure_schema(con)
    kept = load_shares(con, model_id)
    for (source, other), share in sorted(shares.items()):
        if (source, other) not in kept:
            con.execute(
                "INSERT INTO link_one_record_shares VALUES (?, ?, ?, ?, ?)",
                [model_id, source, other, share.share, share.size],
            )


def _ordered(pairs: pa.Table) -> pa.Table:
    """Pairs with the smaller id on the left, as ``link_pairs`` keeps them."""
    left, right = pairs.column("unique_id_l"), pairs.column("unique_id_r")
    swap = pc.greater(left, right)
    return pa.table({
        "unique_id_l": pc.if_else(swap, right, left), "unique_id_r": pc.if_else(swap, left, right),
        **{n: pairs.column(n) for n in pairs.column_names if n not in ("unique_id_l", "unique_id_r")},
    })  # fmt: skip


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
    found = estimate_shares(concerned, sources, prior, sizes, wanted=_missing(concerned, sources, shares))
    shares = {**found, **shares}
    weighed = posteriors(concerned, sources, prior, shares)
    kept = pa.concat_tables([rest.select(PAIR_SCHEMA.names).cast(PAIR_SCHEMA), weighed])
    return Weighed(kept.filter(pc.greater_equal(kept.column("match_probability"), 0.5)), shares, concerned)


def keep(
    con: duckdb.DuckDBPyConnection, model_id: int, sources: frozenset[str], weighed: Weighed | None
) -> None:
    """In a full link's transaction: keep what the next incremental run needs (nothing when
    no source is declared)."""
    ensure_schema(con)
    con.execute("DELETE FROM link_one_record_pairs")
    _save_state(con, sources)
    if weighed is not None:
        _keep_raw(con, weighed.raw)
        save_shares(con, model_id, weighed.shares)


def _missing(concerned: pa.Table, sources: frozenset[str], shares: Shares) -> set[tuple[str, str]]:
    views = _views(concerned, sources)
    needed = set(zip(views["source"].astype(str), views["other"].astype(str), strict=True))
    return needed - set(shares)


def _keep_raw(con: duckdb.DuckDBPyConnection, concerned: pa.Table) -> None:
    raw = _ordered(concerned.select(["unique_id_l", "unique_id_r", "match_weight"]))
    con.register("_one_record_raw", raw)
    try:
        con.execute("INSERT INTO link_one_record_pairs SELECT * FROM _one_record_raw")
    finally:
        con.unregister("_one_record_raw")


def _save_state(con: duckdb.DuckDBPyConnection, sources: frozenset[str]) -> None:
    con.execute("DELETE FROM link_one_record_state")
    con.execute("INSERT INTO link_one_record_state VALUES (?)", ["\n".join(sorted(sources))])


def last_declared(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The sources declared at the last link (none before this module existed)."""
    ensure_schema(con)
    rows = con.execute("SELECT sources FROM link_one_record_state").fetchall()
    return frozenset(s for s in (rows[0][0] if rows else "").split("\n") if s)


def check_unchanged(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why an incremental run cannot go on, or None: a source still held and linked before
    whose declaration changed since the last link (its pairs under 0.5 were not kept, or
    were kept for nothing). A new source may be declared, and a removed one forgotten."""
    held = {r[0] for r in con.execute("SELECT name FROM sources").fetchall()}
    changed = sorted((declared(con) ^ last_declared(con)) & held)
    if not changed:
        return None
    linked = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT split_part(unique_id, '|', 1) FROM link_inputs "
            "WHERE split_part(unique_id, '|', 1) IN (SELECT unnest(?::VARCHAR[]))",
            [changed],
        ).fetchall()
    }
    if not linked:
        return None
    names = ", ".join(sorted(linked))
    return (
        f"whether {names} holds one record per person has changed since the last link: "
        f"run `joinedup link --full` to weigh every pair again"
    )


class Refreshed(NamedTuple):
    """What ``refresh`` changed in ``link_pairs``: pairs that came in or whose score moved
    (with their new score), and pairs that went or whose score moved (with their old)."""

    rose: pa.Table
    fell: pa.Table


def refresh(
    con: duckdb.DuckDBPyConnection, new_concerned: pa.Table, *, run_id: int, model_id: int,
    sources: frozenset[str], prior: float, sizes: Mapping[str, int],
) -> Refreshed:  # fmt: skip
    """For an incremental run, inside its transaction and after its own changes to
    ``link_pairs``: replace the raw scores of the records it re-scored (the temp tables
    ``_gone``, ``_touched`` and ``_rechecked`` name them), weigh every kept pair again and
    write to ``link_pairs`` only the pairs whose weight moved."""
    ensure_schema(con)
    con.execute(
        """
        DELETE FROM link_one_record_pairs
        WHERE unique_id_l IN (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
           OR unique_id_r IN (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
        """
    )
    con.execute(
        "DELETE FROM link_one_record_pairs p USING _rechecked x "
        "WHERE p.unique_id_l = least(x.unique_id_l, x.unique_id_r) "
        "AND p.unique_id_r = greatest(x.unique_id_l, x.unique_id_r)"
    )
    _keep_raw(con, new_concerned)
    _save_state(con, sources)
    raw = con.sql("SELECT unique_id_l, unique_id_r, match_weight FROM link_one_record_pairs").to_arrow_table()
    shares = load_shares(con, model_id)
    missing = _missing(raw, sources, shares)
    if missing:
        found = estimate_shares(raw, sources, prior, sizes, wanted=missing)
        save_shares(con, model_id, found)
        shares = {**found, **shares}
    weighed = posteriors(raw, sources, prior, shares)
    weighed = weighed.filter(pc.greater_equal(weighed.column("match_probability"), 0.5))
    con.register("_weighed", weighed)
    con.register("_declared", pa.table({"source": pa.array(sorted(sources), pa.string())}))
    try:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _current AS
            SELECT unique_id_l, unique_id_r, match_weight, match_probability FROM link_pairs
            WHERE split_part(unique_id_l, '|', 1) <> split_part(unique_id_r, '|', 1)
              AND (split_part(unique_id_l, '|', 1) IN (SELECT source FROM _declared)
                   OR split_part(unique_id_r, '|', 1) IN (SELECT source FROM _declared))
            """
        )
        # A weight recomputed from the same scores can differ in its last bits (sums in
        # another order), so only a move of more than 1e-9 counts.
        rose = con.sql(
            """
            SELECT w.* FROM _weighed w LEFT JOIN _current c USING (unique_id_l, unique_id_r)
            WHERE c.unique_id_l IS NULL OR abs(c.match_weight - w.match_weight) > 1e-9
            """
        ).to_arrow_table()
        fell = con.sql(
            """
            SELECT c.* FROM _current c LEFT JOIN _weighed w USING (unique_id_l, unique_id_r)
            WHERE w.unique_id_l IS NULL OR abs(c.match_weight - w.match_weight) > 1e-9
            """
        ).to_arrow_table()
        con.register("_fell", fell)
        con.execute(
            "DELETE FROM link_pairs p USING _fell f "
            "WHERE p.unique_id_l = f.unique_id_l AND p.unique_id_r = f.unique_id_r"
        )
        con.unregister("_fell")
        con.register("_rose", rose)
        con.execute(
            "INSERT INTO link_pairs "
            "SELECT ?, unique_id_l, unique_id_r, match_weight, match_probability FROM _rose",
            [run_id],
        )
        con.unregister("_rose")
    finally:
        con.unregister("_weighed")
        con.unregister("_declared")
        con.execute("DROP TABLE IF EXISTS _current")
    return Refreshed(rose.cast(PAIR_SCHEMA), fell.cast(PAIR_SCHEMA))


class PairWeighing(NamedTuple):
    """How the weighing moved one pair, for the review page's evidence."""

    raw_weight: float
    weight: float
    sources: tuple[str, ...]  # the declared sources the pair's records were weighed in
    others: int  # the other candidates they were weighed against


def weighed_pair(
    con: duckdb.DuckDBPyConnection, a: str, b: str, prior: float, model_id: int
) -> PairWeighing | None:
    """The weighing of the pair (a, b), from the kept raw scores of every pair of a or b:
    None when the pair is not one the weighing touches."""
    ensure_schema(con)
    sources = last_declared(con)
    if not sources:
        return None
    raw = con.sql(
        "SELECT unique_id_l, unique_id_r, match_weight FROM link_one_record_pairs "
        "WHERE unique_id_l IN (?, ?) OR unique_id_r IN (?, ?)",
        params=[a, b, a, b],
    ).to_arrow_table()
    lo, hi = min(a, b), max(a, b)
    lefts, rights = raw.column("unique_id_l").to_pylist(), raw.column("unique_id_r").to_pylist()
    here = [i for i, pair in enumerate(zip(lefts, rights, strict=True)) if pair == (lo, hi)]
    if not here:
        return None
    shares = load_shares(con, model_id)
    if _missing(raw, sources, shares):  # not weighed yet: the next link estimates it
        return None
    weighed = posteriors(raw, sources, prior, shares)
    views = _views(raw, sources)
    in_sources = tuple(sorted(set(views.loc[views["pair"] == here[0], "other"].astype(str))))
    mine = views[views["record"].isin([a, b]) & views["other"].isin(in_sources)]
    raw_weight = float(raw.column("match_weight")[here[0]].as_py())
    if float(weighed.column("match_weight")[here[0]].as_py()) == raw_weight:
        return None  # the weighing did not lift it
    return PairWeighing(
        raw_weight=raw_weight,
        weight=float(weighed.column("match_weight")[here[0]].as_py()),
        sources=in_sources,
        others=max(len(mine) - len(in_sources), 0),
    )
