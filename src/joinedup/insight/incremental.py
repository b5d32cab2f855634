"""Incremental linkage: score only new and changed records with the stored model, then
re-cluster only the persons they touch.

A record is *new* when the last run did not link it, *changed* when its model input (its
fields or its derived blocking keys) differs from the last run's, *removed* when the last
run linked it and it is gone. New and changed records are scored, with the stored model,
its blocking rules and the term frequencies it was trained with, in every pair a blocking
rule makes with them (found by one join per rule against the place, then scored by
Splink); pairs between unchanged records keep their stored scores. Because every score
and blocking decision is a function of the two records and the model alone, the pairs are
those a full re-link with the same model would find, and so are the persons. A record whose
only change is a rare-value key that crossed the cap (*re-keyed*) is not scored again:
``key_crossings`` drops or scores the few pairs among such records that the crossing
unmakes or makes.

Re-clustering covers the *affected* persons: those holding a changed or removed record,
those a new pair at the threshold reaches, those a review decision does not yet agree
with, closed under the stored pairs at the threshold (so a person kept apart by a
cannot-link is re-clustered with the person it was kept apart from). A person left with no
bridging record therefore splits, and a person whose records all went retires.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight import (
    block_limits,
    conflicts,
    incremental_blocking,
    input_cache,
    key_crossings,
    link_state,
    match_prior,
    name_and_date,
    one_record_sources,
    one_record_store,
    pair_scorer,
    review,
    splink_backend,
)
from joinedup.insight import model as link_model
from joinedup.insight.affected_persons import affected_persons
from joinedup.insight.clusters import cluster_records, matched_share
from joinedup.insight.model_input import present_fields_in
from joinedup.insight.persons import assign_person_ids
from joinedup.insight.store import one, transaction

if TYPE_CHECKING:
    from joinedup.insight.link import Backend, LinkResult

__all__ = ["link_incrementally", "retrain_advice"]

# Drift: re-training is suggested when the share of new records that join someone falls
# below this fraction of the share of records matched at training (at least MIN_NEW new
# records, so that a handful cannot trigger it), or once the place holds more than
# GROWTH times the records the model was trained on.
DRIFT_FRACTION = 2 / 3
MIN_NEW = 50
GROWTH = 2.0


def retrain_advice(
    stored: link_state.StoredModel, *, n_records: int, n_new: int, new_matched_share: float | None,
    present: frozenset[str] = frozenset(),
) -> str | None:
    lost = [
        block_limits.plain_name(f)
        for f in sorted(link_model.compared_fields(stored.fields) - stored.compared_columns())
    ]
    if lost:
        # Before the fix in training.train, a training session that failed took its
        # comparisons out of the model that was kept (tests/insight/test_em_failure.py).
        return (
            f"the model does not compare {', '.join(lost)}, though the sources hold them: a "
            "training step that failed left them out. Re-train the model (joinedup link --full)"
        )
    # A field the sources hold now that they did not at training (a new extract with a
    # previous surname, say): the stored model cannot compare it until it is trained again.
    gained = [block_limits.plain_name(f) for f in sorted(present - stored.fields)]
    if gained:
        return (
            f"the sources now hold {', '.join(gained)}, which the model was trained without, so "
            "it is not used: re-train the model (joinedup link --full) to compare it"
        )
    drifted = (
        new_matched_share is not None
        and n_new >= MIN_NEW
        and new_matched_share < DRIFT_FRACTION * stored.matched_share
    )
    if drifted:
        return (
            f"only {new_matched_share:.0%} of the new records joined someone, against "
            f"{stored.matched_share:.0%} of records when the model was trained: the data may "
            "have drifted, so re-train the model (joinedup link --full)"
        )
    if n_records > GROWTH * stored.n_records:
        return (
            f"the place holds {n_records:,} records, more than {GROWTH:.0f} times the "
            f"{stored.n_records:,} the model was trained on: re-train the model (joinedup link --full)"
        )
    return None


def _score(
    con: duckdb.DuckDBPyConnection,
    place: str,
    touched: list[str],
    stored: link_state.StoredModel,
    scorer: pair_scorer.PairScorer,
    model: dict[str, Any],
    *,
    also: pa.Table | None = None,
    max_block: int = block_limits.DEFAULT_MAX_BLOCK,
    keep_from: float = 0.5,
) -> tuple[pa.Table, int]:
    """Splink's scores (match probability ``keep_from`` and over) for the pairs the blocking
    rules make with a touched record, and for the pairs ``also`` names (``key_crossings``), and the
    number of pairs scored. ``place`` names the table of ``con`` holding the model input of
    every record (``input_cache``); ``model`` is the stored model in the scorer's dialect."""
    blocked = incremental_blocking.blocked_pairs(
        con, place, pa.array(touched, pa.string()), stored.model, max_block=max_block
    )
    if also is not None and also.num_rows:
        # Pairs of two re-keyed records: neither is touched, so none is in ``blocked``.
        blocked = pa.concat_tables([blocked, also.cast(blocked.schema)])
    if not blocked.num_rows:
        return pair_scorer.empty_scores(), 0
    # Only the records in some pair are copied out of the place (a few per cent of it).
    paired = pa.concat_arrays([
        blocked.column("join_key_l").combine_chunks(), blocked.column("join_key_r").combine_chunks()
    ])  # fmt: skip
    scoped = input_cache.rows_of(con, place, pc.unique(paired), splink_backend.scoring_columns(model))
    return scorer.score(scoped, blocked, f"match_probability >= {keep_from!r}"), blocked.num_rows


def link_incrementally(
    con: duckdb.DuckDBPyConnection,
    place: str,
    n_records: int,
    stored: link_state.StoredModel,
    *,
    refreshed: input_cache.RecordChanges | None = None,
    run_id: int,
    threshold: float,
    memory_limit: str,
    threads: int,
    work_dir: Path,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    on_stage: Callable[[str], None] = lambda _s: None,
    max_block: int = block_limits.DEFAULT_MAX_BLOCK,
) -> LinkResult:
    """Link the new and changed records of ``place`` (the table ``input_cache`` keeps, with
    ``n_records`` records) with the stored model. ``refreshed``: what the cache's refresh
    wrote, for ``link_state.diff_inputs`` and ``key_crossings`` (None: the cache was made
    afresh, and every record is compared with what was last linked)."""
    from joinedup.insight.link import LinkError, LinkResult, check_model_fields

    present = present_fields_in(con, place)
    check_model_fields(stored, present)
    why_not = link_state.reason_to_link_in_full(con, threshold)
    if why_not:
        raise LinkError(why_not)
    one_record = one_record_store.declared(con)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    changes, hashes = link_state.diff_inputs(con, place, refreshed.rewritten if refreshed else None)
    rekeyed = key_crossings.rekeyed(con, refreshed.flipped if refreshed else {}, changes.changed)
    if rekeyed:
        only_keys = set(rekeyed)
        changes = link_state.InputChanges(
            changes.new, [u for u in changes.changed if u not in only_keys], changes.removed
        )
    crossing, dropped = key_crossings.crossing_pairs(
        con, refreshed.flipped_rows if refreshed else None, rekeyed, stored.model
    )
    touched = changes.touched
    timings["changes"] = time.perf_counter() - t0

    on_stage("scoring pairs of records")  # the run page's stage names
    t0 = time.perf_counter()
    tf = link_state.term_frequencies(con, stored.model_id)
    model = splink_backend.model_for_dialect(stored.model, stored.fields, backend)
    # One Splink database and linker for this run's scoring, the conflict check's included
    # (pair_scorer); on Spark the conflict check's few pairs are scored in DuckDB.
    scoring = contextlib.ExitStack()  # closed with the run's temporary tables, below
    scorer = scoring.enter_context(pair_scorer.pair_scorer(
        backend, model, tf, memory_limit=memory_limit, threads=threads, work_dir=work_dir,
        spark_master=spark_master,
    ))  # fmt: skip
    try:
        new_pairs, comparisons = _score(
            con, place, touched, stored, scorer, model, also=crossing, max_block=max_block,
            keep_from=match_prior.LOWEST_KEPT if one_record else 0.5,
        )  # fmt: skip
        if one_record:  # their pairs are weighed below, the rest go in as scored
            new_concerned, new_pairs = one_record_sources.split(new_pairs, one_record)
            new_pairs = new_pairs.filter(pc.greater_equal(new_pairs.column("match_probability"), 0.5))
        timings["predict"] = time.perf_counter() - t0

        on_stage("clustering pairs into persons")
        t0 = time.perf_counter()
        must, cannot = review.constraints(con)
        decided_apart = list(cannot)
        con.register("_touched", pd.DataFrame({"unique_id": touched}, dtype=object))
        con.register("_gone", pd.DataFrame({"unique_id": changes.changed + changes.removed}, dtype=object))
        con.register("_new_pairs", new_pairs)
        con.register("_dropped", dropped)
        # Stored pairs of re-keyed records: dropped, or scored again (``crossing``) and re-written.
        con.register("_rechecked", pa.concat_tables([
            dropped.select(["unique_id_l", "unique_id_r"]),
            crossing.select(["join_key_l", "join_key_r"]).rename_columns(["unique_id_l", "unique_id_r"]),
        ]))  # fmt: skip
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _links AS SELECT source || '|' || record_id AS unique_id, "
            "person_id FROM person_links"
        )
        with transaction(con):
            # Pairs of changed or removed records were scored on what the records were.
            con.execute(
                """
                DELETE FROM link_pairs
                WHERE unique_id_l IN (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
                   OR unique_id_r IN (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
                """
            )
            # Persons an earlier run kept apart are re-clustered with those they were kept
            # from, as for an analyst's "different people" (read before the pairs of changed
            # records go: a person that held one is still joined to the other by a strong pair).
            cannot = sorted(set(cannot) | set(conflicts.stored_cannot_links(con, threshold)))
            con.execute(
                """
                DELETE FROM link_conflict_pairs
                WHERE unique_id_l IN (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
                   OR unique_id_r IN (SELECT unique_id FROM _gone UNION SELECT unique_id FROM _touched)
                """
            )
            if len(rekeyed):
                con.execute(
                    "DELETE FROM link_pairs p USING _rechecked x "
                    "WHERE p.unique_id_l = x.unique_id_l AND p.unique_id_r = x.unique_id_r"
                )
            con.execute(
                "INSERT INTO link_pairs SELECT ?, least(unique_id_l, unique_id_r), "
                "greatest(unique_id_l, unique_id_r), match_weight, match_probability FROM _new_pairs",
                [run_id],
            )
            if one_record:
                moved = one_record_store.refresh(
                    con, new_concerned, run_id=run_id, model_id=stored.model_id, sources=one_record,
                    prior=float(stored.model["probability_two_random_records_match"]),
                    sizes=one_record_store.source_sizes(con, place),
                )  # fmt: skip
                # Pairs whose weight moved reach persons as new and dropped pairs do.
                con.unregister("_new_pairs")
                names = one_record_sources.PAIR_SCHEMA.names
                con.register("_new_pairs", pa.concat_tables([
                    new_pairs.select(names).cast(one_record_sources.PAIR_SCHEMA), moved.rose
                ]))  # fmt: skip
                con.unregister("_dropped")
                con.register("_dropped", pa.concat_tables([
                    dropped, moved.fell.select(dropped.column_names).cast(dropped.schema)
                ]))  # fmt: skip
            scope = affected_persons(con, threshold, must, cannot)
            leaving = changes.changed + changes.removed
            joining = name_and_date.rule_on(con)
            if joining:
                scope = name_and_date.widen_scope(con, place, scope, touched=touched, leaving=leaving)
            con.register("_scope", pd.DataFrame({"person_id": scope}, dtype=object))
            nodes = [
                r[0]
                for r in con.execute(
                    """
                    SELECT unique_id FROM _links WHERE person_id IN (SELECT person_id FROM _scope)
                      AND unique_id NOT IN (SELECT unique_id FROM _gone)
                    UNION SELECT unique_id FROM _touched ORDER BY 1
                    """
                ).fetchall()
            ]
            con.register("_nodes", pd.DataFrame({"unique_id": nodes}, dtype=object))
            edges = con.sql(
                """
                SELECT unique_id_l, unique_id_r, match_weight, match_probability FROM link_pairs
                WHERE match_probability >= ? AND unique_id_l IN (SELECT unique_id FROM _nodes)
                  AND unique_id_r IN (SELECT unique_id FROM _nodes)
                """,
                params=[threshold],
            ).to_arrow_table()
            kept_apart = _kept_apart(
                con, place, nodes, edges, stored, tf, threshold=threshold, must=must,
                memory_limit=memory_limit, threads=threads, work_dir=work_dir,
                scorer=scorer if backend == "duckdb" else None,
            )  # fmt: skip
            clusters = cluster_records(
                nodes, edges, threshold, must_link=must, cannot_link=decided_apart, conflicts=kept_apart
            )
            alone_joins: list[tuple[str, str]] = []
            if joining:
                clusters, alone_joins = name_and_date.join_alone(
                    con, place, clusters, "link_pairs", cannot=decided_apart
                )
            conflicts.save(con, run_id, kept_apart.scores, replace_all=False)
            timings["cluster"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            person_changes = assign_person_ids(con, clusters, run_id, scope=scope, in_transaction=True)
            shared = _shared_value_records(new_pairs, dropped, rekeyed, threshold)
            _record_causes(con, run_id, changes, shared)
            link_state.update_inputs(con, hashes, changes, rekeyed=rekeyed)
            name_and_date.update_rows(con, place, leaving, nodes)
            name_and_date.keep_joins(con, alone_joins, replacing=[*nodes, *leaving])
            name_and_date.mark_linked(con)
            link_state.rechecked(con)
            new_share = matched_share(clusters, set(changes.new)) if changes.new else None
            (n_records,) = one(con.execute("SELECT count(*) FROM link_inputs")) or (0,)
            advice = retrain_advice(
                stored, n_records=int(n_records), n_new=len(changes.new), new_matched_share=new_share,
                present=present,
            ) or conflicts.unchecked_advice(con)
            link_state.record_run(
                con, run_id, mode="incremental", model_id=stored.model_id, changes=changes,
                touched_persons=len(scope), new_matched_share=new_share, retrain_advice=advice,
                kept_apart=kept_apart.kept,
            )  # fmt: skip
        (n_persons,) = one(con.execute("SELECT count(DISTINCT person_id) FROM person_links")) or (0,)
        (n_pairs,) = one(
            con.execute("SELECT count(*) FROM link_pairs WHERE match_probability >= ?", [threshold])
        ) or (0,)
    finally:
        for name in ("_touched", "_gone", "_new_pairs", "_dropped", "_rechecked", "_scope", "_nodes"):
            con.unregister(name)  # a no-op for a name an earlier failure left unregistered
        con.execute("DROP TABLE IF EXISTS _links")
        scoring.close()
    timings["persons"] = time.perf_counter() - t0
    return LinkResult(
        run_id=run_id, backend=backend, records=n_records, comparisons=comparisons,
        pairs=int(n_pairs), persons=int(n_persons), changes=person_changes, timings=timings,
        model=stored.model, mode="incremental", new_records=len(changes.new),
        changed_records=len(changes.changed), removed_records=len(changes.removed),
        touched_persons=len(scope), retrain_advice=advice, kept_apart=kept_apart.kept,
    )  # fmt: skip


def _kept_apart(
    con: duckdb.DuckDBPyConnection,
    place: str,
    nodes: list[str],
    edges: pa.Table,
    stored: link_state.StoredModel,
    tf: dict[str, pa.Table],
    *,
    threshold: float,
    must: list[tuple[str, str]],
    memory_limit: str,
    threads: int,
    work_dir: Path,
    scorer: pair_scorer.PairScorer | None = None,
) -> conflicts.KeptApart:
    """``conflicts.KeptApart`` for the records re-clustered: their identifiers, the pairs
    kept from earlier runs (those of changed records already removed), and the model input
    of a record in a pair not yet scored, read from ``place`` when needed, and scored by
    ``scorer`` (None: in a DuckDB database of the check's own)."""
    ids = pa.table({"unique_id": pa.array(nodes, pa.string())})
    con.register("_conflict_nodes", ids)
    try:
        records = con.sql(
            f"SELECT unique_id, nhs_number, ni_number FROM {place} "  # noqa: S608
            "WHERE unique_id IN (SELECT unique_id FROM _conflict_nodes)"
        ).to_arrow_table()
        known = con.sql(
            "SELECT unique_id_l, unique_id_r, match_weight, match_probability FROM link_conflict_pairs "
            "WHERE unique_id_l IN (SELECT unique_id FROM _conflict_nodes)"
        ).to_arrow_table()
    finally:
        con.unregister("_conflict_nodes")
    model = splink_backend.model_for_dialect(stored.model, stored.fields, "duckdb")
    columns = splink_backend.scoring_columns(model)
    return conflicts.KeptApart(
        records, edges, model, tf,
        threshold=threshold, must=must, memory_limit=memory_limit, threads=threads,
        work_dir=work_dir, known=known, model_input=lambda ids: input_cache.rows_of(con, place, ids, columns),
        score=scorer.score if scorer is not None else None,
    )  # fmt: skip


def _shared_value_records(
    new_pairs: pa.Table, dropped: pa.Table, rekeyed: list[str], threshold: float
) -> set[str]:
    """The re-keyed records in a pair at the threshold that a key's crossing dropped or made."""
    if not rekeyed:
        return set()
    keyed = set(rekeyed)
    out: set[str] = set()
    for table in (dropped, new_pairs):
        strong = table.filter(pc.greater_equal(table.column("match_probability"), threshold))
        lefts, rights = strong.column("unique_id_l").to_pylist(), strong.column("unique_id_r").to_pylist()
        for left, right in zip(lefts, rights, strict=True):
            if left in keyed and right in keyed:
                out |= {left, right}
    return out


def _record_causes(
    con: duckdb.DuckDBPyConnection, run_id: int, changes: link_state.InputChanges, shared: set[str]
) -> None:
    """For each merge and split of this run, the records that caused it: the new or changed
    records now in the merged person, the changed or removed records the split person lost,
    and the re-keyed records of a strong pair that a key's crossing made or unmade
    (``shared``, cause "shared value"). (A merge or split that a review decision made has no
    such records.)"""
    frame = pd.DataFrame(
        [(u, "new") for u in changes.new] + [(u, "changed") for u in changes.changed]
        + [(u, "removed") for u in changes.removed] + [(u, "shared value") for u in sorted(shared)],
        columns=["unique_id", "cause"], dtype=object,
    )  # fmt: skip
    con.register("_causes", frame)
    try:
        con.execute(
            """
            INSERT INTO person_event_records
            SELECT e.run_id, e.kind, e.person_id, e.other_person_id, c.unique_id, c.cause
            FROM person_events e
            JOIN person_links now ON now.person_id = e.person_id
            JOIN _causes c ON c.unique_id = now.source || '|' || now.record_id
            WHERE e.run_id = ? AND e.kind = 'merge' AND c.cause <> 'removed'
            UNION ALL
            SELECT e.run_id, e.kind, e.person_id, e.other_person_id, c.unique_id, c.cause
            FROM person_events e
            JOIN _links was ON was.person_id = e.person_id
            JOIN _causes c ON c.unique_id = was.unique_id
            WHERE e.run_id = ? AND e.kind = 'split' AND c.cause <> 'new'
            """,
            [run_id, run_id],
        )
        # A source removed whole (governance.remove_source) took its records out of the
        # persons before this run, so it is named instead, for each person it had records in
        # (``link_rechecks``): its records are not, as nothing of it may stay.
        con.execute(
            """
            INSERT INTO person_event_records
            SELECT DISTINCT e.run_id, e.kind, e.person_id, e.other_person_id, r.source, 'source removed'
            FROM person_events e JOIN link_rechecks r ON r.person_id IN (e.person_id, e.other_person_id)
            WHERE e.run_id = ? AND r.source IS NOT NULL
            """,
            [run_id],
        )
    finally:
        con.unregister("_causes")
