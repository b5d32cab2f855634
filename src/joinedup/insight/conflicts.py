"""Records in one person that the model says are different people.

A person is a chain of strong pairs, so two of its records may never have been compared:
A–B and B–C are strong, A and C were never scored. At a million records most false merges
are such chains. Two people share a name and a date of birth, and a record with no NHS
number bridges them. On the 1M synthetic place, 78% of the false pairs were in persons
holding two different NHS or NI numbers, while no true person held two.

So after clustering, the records of a person that hold different NHS numbers, or
different NI numbers, are scored by the model as pairs. A pair the model puts at or below
1 − threshold becomes a cannot-link: the model is as sure they differ as a link must be
sure they match. The person is then rebuilt as ``clusters`` does for an analyst's
"different people", giving up the weakest links of the chain first. Numbers one keying
slip apart are not asked about (``candidate_pairs``): they are one person's number, mistyped.

An analyst's "same person" outranks these: a cannot-link between records an analyst's
decisions join is dropped. Every scored pair is kept (``link_conflict_pairs``), so an
incremental run scores only the pairs of records it touched, as with ``link_pairs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight.store import one

__all__ = [
    "KeptApart",
    "candidate_pairs",
    "cannot_links",
    "drop_must_linked",
    "save",
    "score_pairs",
    "stored_cannot_links",
    "unchecked_advice",
]

Pair = tuple[str, str]


def candidate_pairs(records: pa.Table, clusters: pa.Table, scored: pa.Table) -> pa.Table:
    """(join_key_l, join_key_r) for the records of one cluster holding different NHS numbers
    or different NI numbers, the smaller id on the left, leaving out pairs in ``scored``
    (unique_id_l, unique_id_r: pairs already scored at 0.5 or more, never a cannot-link).

    Numbers one keying slip apart are not different: an NHS number whose first nine digits
    differ in one place or by two swapped (its check digit recomputed, or keyed with the
    slip), or an NI number one character apart. The model reads them the same way (a level
    of its own that weighs nought, ``identifier_comparison``), and two people's numbers are
    this close about once in ten million pairs.

    records: unique_id, nhs_number, ni_number (the model input); clusters: unique_id,
    cluster_id."""
    con = duckdb.connect()
    try:
        con.register("_records", records.select(["unique_id", "nhs_number", "ni_number"]))
        con.register("_clusters", clusters.select(["unique_id", "cluster_id"]))
        con.register("_scored", scored.select(["unique_id_l", "unique_id_r"]))
        return con.sql(
            """
            WITH r AS (SELECT c.cluster_id, x.unique_id, x.nhs_number AS nhs, x.ni_number AS ni
                       FROM _clusters c JOIN _records x USING (unique_id)
                       WHERE x.nhs_number IS NOT NULL OR x.ni_number IS NOT NULL),
            mixed AS (SELECT cluster_id FROM r GROUP BY 1
                      HAVING count(DISTINCT nhs) > 1 OR count(DISTINCT ni) > 1),
            m AS (SELECT * FROM r WHERE cluster_id IN (SELECT cluster_id FROM mixed))
            SELECT a.unique_id AS join_key_l, b.unique_id AS join_key_r
            FROM m a JOIN m b ON a.cluster_id = b.cluster_id AND a.unique_id < b.unique_id
            WHERE ((a.nhs <> b.nhs AND damerau_levenshtein(left(a.nhs, 9), left(b.nhs, 9)) > 1)
                   OR (a.ni <> b.ni AND damerau_levenshtein(a.ni, b.ni) > 1))
              AND NOT EXISTS (SELECT 1 FROM _scored s
                              WHERE s.unique_id_l = a.unique_id AND s.unique_id_r = b.unique_id)
            ORDER BY 1, 2
            """
        ).to_arrow_table()
    finally:
        con.close()


def score_pairs(
    records: pa.Table,
    pairs: pa.Table,
    model: dict[str, Any],
    tf: dict[str, pa.Table],
    *,
    memory_limit: str,
    threads: int,
    work_dir: Path,
) -> pa.Table:
    """The model's scores (unique_id_l, unique_id_r, match_weight, match_probability) for
    ``pairs`` (join_key_l < join_key_r) of ``records`` (their model input). Always DuckDB, in
    process: these are a few hundred pairs, whichever backend scored the place. ``model``
    is Splink's JSON in DuckDB's dialect (``splink_backend.model_for_dialect``)."""
    from joinedup.insight import pair_scorer

    with pair_scorer.pair_scorer(
        "duckdb", model, tf, memory_limit=memory_limit, threads=threads, work_dir=work_dir
    ) as scorer:
        return scorer.score(records, _unblocked(pairs))


def _unblocked(pairs: pa.Table) -> pa.Table:
    """``pairs`` as Splink's scoring reads blocked pairs. Splink's scoring reads a match key
    (the blocking rule that made a pair); these pairs were made by no rule, and the key
    changes no score."""
    return pa.table({
        "match_key": pa.array(["0"] * pairs.num_rows, pa.string()),
        "join_key_l": pairs.column("join_key_l"), "join_key_r": pairs.column("join_key_r"),
    })  # fmt: skip


def cannot_links(scores: pa.Table, threshold: float) -> list[Pair]:
    """The scored pairs the model puts at or below 1 − threshold."""
    low = scores.filter(pc.less_equal(scores.column("match_probability"), 1.0 - threshold))
    lefts, rights = low.column("unique_id_l").to_pylist(), low.column("unique_id_r").to_pylist()
    return sorted(zip(lefts, rights, strict=True))


def drop_must_linked(cannot: Sequence[Pair], must: Iterable[Pair]) -> list[Pair]:
    """``cannot`` without the pairs that analysts' "same person" decisions join, directly or
    through other decisions: a person's word outranks the model's."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in must:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    return [(a, b) for a, b in cannot if find(a) != find(b)]


class KeptApart:
    """The cannot-links for ``clusters.cluster_records``'s ``conflicts`` hook: called with
    the components (unique_id, cluster_id), it finds the candidate pairs, scores those not
    in ``known`` (pairs scored by an earlier run, whose records have not changed since), and
    returns the pairs at or below 1 − threshold, less those analysts joined. ``scores``
    then holds every candidate pair's score, to be kept with ``save``."""

    def __init__(
        self,
        records: pa.Table,
        scored: pa.Table,
        model: dict[str, Any],
        tf: dict[str, pa.Table],
        *,
        threshold: float,
        must: Sequence[Pair],
        memory_limit: str,
        threads: int,
        work_dir: Path,
        known: pa.Table | None = None,
        model_input: Callable[[pa.Array], pa.Table] | None = None,
        score: Callable[[pa.Table, pa.Table], pa.Table] | None = None,
    ) -> None:
        self.records, self.scored, self.model, self.tf = records, scored, model, tf
        # The model input of the records in a candidate pair (default: from ``records``,
        # when it holds the whole model input).
        self.model_input = model_input or (
            lambda ids: self.records.filter(pc.is_in(self.records.column("unique_id"), value_set=ids))
        )
        # Scores of (model input, pairs as Splink reads blocked pairs): default, in a
        # database of the check's own (``score_pairs``); an incremental run passes the
        # ``pair_scorer`` it scored its pairs with.
        self.score = score
        self.threshold, self.must = threshold, list(must)
        self.memory_limit, self.threads, self.work_dir = memory_limit, threads, work_dir
        self.known = known
        self.scores = _empty_scores()
        self.newly_scored = 0
        self.kept = 0  # the cannot-links of the last call

    def __call__(self, components: pa.Table) -> list[Pair]:
        candidates = candidate_pairs(self.records, components, self.scored)
        reused = _empty_scores()
        if self.known is not None and self.known.num_rows and candidates.num_rows:
            con = duckdb.connect()
            try:
                con.register("_c", candidates)
                con.register("_k", self.known.select(["unique_id_l", "unique_id_r", "match_weight",
                                                      "match_probability"]))  # fmt: skip
                reused = con.sql(
                    "SELECT k.* FROM _k k JOIN _c c ON c.join_key_l = k.unique_id_l "
                    "AND c.join_key_r = k.unique_id_r"
                ).to_arrow_table()
                candidates = con.sql(
                    "SELECT * FROM _c c WHERE NOT EXISTS (SELECT 1 FROM _k k "
                    "WHERE c.join_key_l = k.unique_id_l AND c.join_key_r = k.unique_id_r) ORDER BY 1, 2"
                ).to_arrow_table()
            finally:
                con.close()
        fresh = _empty_scores()
        if candidates.num_rows:
            ids = pa.concat_arrays([
                candidates.column("join_key_l").combine_chunks(),
                candidates.column("join_key_r").combine_chunks(),
            ])  # fmt: skip
            records = self.model_input(pc.unique(ids))
            if self.score is not None:
                fresh = self.score(records, _unblocked(candidates))
            else:
                fresh = score_pairs(
                    records, candidates, self.model, self.tf,
                    memory_limit=self.memory_limit, threads=self.threads, work_dir=self.work_dir,
                )  # fmt: skip
        self.newly_scored = fresh.num_rows
        self.scores = pa.concat_tables([reused.cast(fresh.schema), fresh])
        kept = drop_must_linked(cannot_links(self.scores, self.threshold), self.must)
        self.kept = len(kept)
        return kept


def _empty_scores() -> pa.Table:
    return pa.table({
        "unique_id_l": pa.array([], pa.string()), "unique_id_r": pa.array([], pa.string()),
        "match_weight": pa.array([], pa.float64()), "match_probability": pa.array([], pa.float64()),
    })  # fmt: skip


def save(con: duckdb.DuckDBPyConnection, run_id: int, scores: pa.Table, *, replace_all: bool) -> None:
    """Keep the candidate pairs' scores: all of them after a full run (``replace_all``),
    else added to those kept (the caller has removed the pairs of changed records)."""
    if replace_all:
        con.execute("DELETE FROM link_conflict_pairs")
    con.register("_conflict_scores", scores)
    try:
        con.execute(
            "INSERT INTO link_conflict_pairs SELECT ?, s.unique_id_l, s.unique_id_r, s.match_weight, "
            "s.match_probability FROM _conflict_scores s WHERE NOT EXISTS (SELECT 1 FROM "
            "link_conflict_pairs k WHERE k.unique_id_l = s.unique_id_l AND k.unique_id_r = s.unique_id_r)",
            [run_id],
        )
    finally:
        con.unregister("_conflict_scores")


def stored_cannot_links(con: duckdb.DuckDBPyConnection, threshold: float) -> list[Pair]:
    """The kept pairs at or below 1 − threshold (the persons an earlier run kept apart)."""
    rows = con.execute(
        "SELECT unique_id_l, unique_id_r FROM link_conflict_pairs WHERE match_probability <= ? ORDER BY 1, 2",
        [1.0 - threshold],
    ).fetchall()
    return [(a, b) for a, b in rows]


def unchecked_advice(con: duckdb.DuckDBPyConnection) -> str | None:
    """What to do when the place's persons were last linked in full before this check
    existed (its full run recorded no count of pairs kept apart, or the place's first runs
    recorded nothing): an incremental run checks only the persons it touches, so the others
    may still hold records the model would keep apart until a full link."""
    row = one(con.execute(
        "SELECT n_kept_apart FROM link_run_details WHERE mode LIKE 'full%' ORDER BY run_id DESC LIMIT 1"
    ))
    if row is not None and row[0] is not None:
        return None
    return (
        "the persons were last linked in full before records with different NHS or National "
        "Insurance numbers were checked, and this run checked only the persons it touched: "
        "link in full (joinedup link --full) to check every person"
    )
