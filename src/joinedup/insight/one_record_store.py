"""What linking keeps for sources that hold each person once (``one_record_sources``): the
shares kept with each model, the raw scores of the declared sources' pairs, and which
sources were declared at the last link; and an incremental run's re-weighing of the pairs
whose records' candidates changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight.one_record_sources import (
    PAIR_SCHEMA,
    Share,
    Shares,
    Weighed,
    estimate_shares,
    missing_shares,
    posteriors,
    views_of,
)
from joinedup.insight.store import create_if_missing, has_table

__all__ = [
    "PairWeighing", "Refreshed", "check_unchanged", "declared", "ensure_schema", "forget_source", "keep",
    "last_declared", "load_shares", "refresh", "save_shares", "source_sizes", "weighed_pair",
]  # fmt: skip


def source_sizes(con: duckdb.DuckDBPyConnection, cache: str) -> dict[str, int]:
    """Records of each source in the model input (``input_cache``)."""
    rows = con.execute(
        f"SELECT split_part(unique_id, '|', 1), count(*) FROM {cache} GROUP BY 1"  # noqa: S608
    ).fetchall()
    return {str(s): int(n) for s, n in rows}


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


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    create_if_missing(con, _SCHEMA)


def declared(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The sources whose mapping says they hold each person once."""
    rows = con.execute("SELECT name FROM sources WHERE coalesce(one_record_per_person, false)").fetchall()
    return frozenset(r[0] for r in rows)


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


def forget_source(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove the kept raw scores of a removed source's records, in the removal's
    transaction, so that nothing of the source stays. No other pair weighs otherwise for it:
    a pair's weight depends only on its two records' candidates in each other's sources, and
    a removed source is one of those for none of the pairs that remain."""
    # Not created here when missing: a removal stays a change of rows, not of the catalog.
    if not has_table(con, "link_one_record_pairs"):
        return
    prefix = name + "|"
    con.execute(
        "DELETE FROM link_one_record_pairs WHERE starts_with(unique_id_l, ?) OR starts_with(unique_id_r, ?)",
        [prefix, prefix],
    )


def _keep_raw(con: duckdb.DuckDBPyConnection, concerned: pa.Table) -> None:
    con.register("_one_record_raw", concerned.select(["unique_id_l", "unique_id_r", "match_weight"]))
    try:
        # The smaller id on the left, as link_pairs keeps them (link.replace_pairs).
        con.execute(
            "INSERT INTO link_one_record_pairs SELECT least(unique_id_l, unique_id_r), "
            "greatest(unique_id_l, unique_id_r), match_weight FROM _one_record_raw"
        )
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
        f"every pair needs weighing again, which a full link does (`joinedup link` chooses one)"
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
    ``_gone``, ``_touched`` and ``_rechecked`` name them), weigh again the pairs whose
    records' candidates changed and write to ``link_pairs`` only those whose weight moved."""
    ensure_schema(con)
    # The records whose candidates change: those re-scored or gone, the other ends of their
    # kept pairs, and both ends of every new pair. Only pairs of these can weigh otherwise.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _moved_records AS
        WITH ids AS (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
        SELECT unique_id FROM ids
        UNION SELECT unique_id_l FROM _rechecked UNION SELECT unique_id_r FROM _rechecked
        UNION SELECT unique_id_l FROM link_one_record_pairs WHERE unique_id_r IN (SELECT unique_id FROM ids)
        UNION SELECT unique_id_r FROM link_one_record_pairs WHERE unique_id_l IN (SELECT unique_id FROM ids)
        """
    )
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
    con.register("_new_raw", new_concerned.select(["unique_id_l", "unique_id_r"]))
    try:
        con.execute(
            "INSERT INTO _moved_records "
            "SELECT unique_id_l FROM _new_raw UNION SELECT unique_id_r FROM _new_raw"
        )
    finally:
        con.unregister("_new_raw")
    # The pairs that may weigh otherwise (of a moved record), and every pair of their records,
    # which their weights depend on; weighed together, the first are exact.
    raw = con.sql(
        """
        WITH moved AS (SELECT DISTINCT unique_id FROM _moved_records),
        near AS (
            SELECT unique_id_l AS unique_id FROM link_one_record_pairs
            WHERE unique_id_l IN (SELECT unique_id FROM moved) OR unique_id_r IN (SELECT unique_id FROM moved)
            UNION
            SELECT unique_id_r FROM link_one_record_pairs
            WHERE unique_id_l IN (SELECT unique_id FROM moved) OR unique_id_r IN (SELECT unique_id FROM moved)
        )
        SELECT unique_id_l, unique_id_r, match_weight,
               unique_id_l IN (SELECT unique_id FROM moved)
                   OR unique_id_r IN (SELECT unique_id FROM moved) AS moved
        FROM link_one_record_pairs
        WHERE unique_id_l IN (SELECT unique_id FROM near) OR unique_id_r IN (SELECT unique_id FROM near)
        """
    ).to_arrow_table()
    con.execute("DROP TABLE IF EXISTS _moved_records")
    shares = load_shares(con, model_id)
    missing = missing_shares(raw, sources, shares)
    if missing:  # a pair of sources first seen: estimated on all kept
        every = con.sql(
            "SELECT unique_id_l, unique_id_r, match_weight FROM link_one_record_pairs"
        ).to_arrow_table()
        found = estimate_shares(every, sources, prior, sizes, wanted=missing)
        save_shares(con, model_id, found)
        shares = {**found, **shares}
    moved = raw.column("moved")
    raw = raw.drop_columns(["moved"])
    weighed = posteriors(raw, sources, prior, shares).filter(moved)
    weighed_pairs = weighed.select(["unique_id_l", "unique_id_r"])
    weighed = weighed.filter(pc.greater_equal(weighed.column("match_probability"), 0.5))
    con.register("_weighed", weighed)
    con.register("_weighed_pairs", weighed_pairs)
    try:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _current AS
            SELECT p.unique_id_l, p.unique_id_r, p.match_weight, p.match_probability FROM link_pairs p
            JOIN _weighed_pairs USING (unique_id_l, unique_id_r)
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
        con.unregister("_weighed_pairs")
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
    if missing_shares(raw, sources, shares):  # not weighed yet: the next link estimates it
        return None
    weighed = posteriors(raw, sources, prior, shares)
    views = views_of(raw, sources)
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
