"""Link a place's records into persons with Splink, on DuckDB (default) or Spark.

A full run: check governance → prepare the model's input → estimate the model (prior, u by
seeded random sampling, m by EM) → predict pairs → cluster at the threshold, honouring
review decisions (clusters.py) → assign stable person ids (persons.py). Once a model is
stored, later runs are incremental (incremental.py). Each stage is written to
``link_runs`` so that a page can show progress while the run goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight import (
    block_limits,
    conflicts,
    input_cache,
    link_state,
    match_prior,
    name_and_date,
    one_record_sources,
    one_record_store,
    place_blocking,
    processes,
    splink_backend,
    training,
)
from joinedup.insight import model as link_model
from joinedup.insight.clusters import cluster_records, matched_share
from joinedup.insight.household_birthdays import household_shares
from joinedup.insight.model_input import RARE_KEY_CAP, prepare_input, present_fields, present_fields_in
from joinedup.insight.pair_scorer import PAIR_COLUMNS
from joinedup.insight.persons import PersonChanges, assign_person_ids
from joinedup.insight.splink_backend import spark_session
from joinedup.insight.store import one, transaction

# prepare_input, present_fields and RARE_KEY_CAP live in model_input; named here too, where
# callers have long found them.
__all__ = [
    "RARE_KEY_CAP", "LinkError", "LinkResult", "link_place", "prepare_input", "present_fields",
    "spark_session",
]  # fmt: skip

Backend = Literal["duckdb", "spark"]
Mode = Literal["auto", "incremental", "full"]
logger = logging.getLogger(__name__)


class LinkError(RuntimeError):
    """Linking cannot start or failed; persons are unchanged."""


@dataclass
class LinkResult:
    run_id: int
    backend: str
    records: int
    comparisons: int
    pairs: int
    persons: int
    changes: PersonChanges
    timings: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    mode: str = "full"
    new_records: int = 0
    changed_records: int = 0
    removed_records: int = 0
    touched_persons: int = 0
    retrain_advice: str | None = None
    # Pairs of records in the persons re-clustered that the model says are different people
    # (conflicts.py), kept apart.
    kept_apart: int = 0

    @property
    def comparisons_per_second(self) -> float:
        seconds = self.timings.get("block", 0.0) + self.timings.get("predict", 0.0)
        return self.comparisons / seconds if seconds else 0.0

    def summary(self) -> str:
        if self.mode == "incremental":
            return (
                f"run {self.run_id} (incremental, stored model) on {self.backend}: {self.new_records:,} new, "
                f"{self.changed_records:,} changed and {self.removed_records:,} removed records "
                f"of {self.records:,}; {self.touched_persons:,} persons touched, "
                f"{self.comparisons:,} comparisons; {self.changes.merges} merges, "
                f"{self.changes.splits} splits, {self.changes.new} new persons; "
                f"{self.persons:,} persons in all{self._kept_apart_note()}"
            )
        return (
            f"run {self.run_id} ({self.mode}) on {self.backend}: {self.records:,} records → "
            f"{self.persons:,} persons ({self.comparisons:,} comparisons, {self.pairs:,} "
            f"pairs at or above the threshold; {self.changes.merges} merges, "
            f"{self.changes.splits} splits, {self.changes.new} new persons){self._kept_apart_note()}"
        )

    def _kept_apart_note(self) -> str:
        if not self.kept_apart:
            return ""
        return (
            f"; {self.kept_apart:,} pairs of records with different NHS or NI numbers kept apart "
            "as different people"
        )


def check_governance(con: duckdb.DuckDBPyConnection) -> None:
    missing = [
        row[0]
        for row in con.execute(
            "SELECT name FROM sources WHERE legal_basis IS NULL OR trim(legal_basis) = '' ORDER BY name"
        ).fetchall()
    ]
    if missing:
        raise LinkError(
            f"source {missing[0]!r} has no legal basis recorded: add legal_basis to its "
            "mapping and ingest it again before linking"
            + (f" ({len(missing) - 1} more sources also lack one)" if len(missing) > 1 else "")
        )


def start_run(con: duckdb.DuckDBPyConnection, backend: str, threshold: float, seed: int) -> int:
    (run_id,) = one(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM link_runs")) or (1,)
    pid, host, process_start = processes.current()  # so a run whose process dies is seen
    con.execute(
        "INSERT INTO link_runs (run_id, started_at, backend, status, stage, threshold, seed, "
        "pid, host, process_start) VALUES (?, ?, ?, 'running', 'checking sources', ?, ?, ?, ?, ?)",
        [run_id, datetime.now(), backend, threshold, seed, pid, host, process_start],
    )
    return int(run_id)


def _stage(con: duckdb.DuckDBPyConnection, run_id: int, stage: str) -> None:
    con.execute("UPDATE link_runs SET stage = ? WHERE run_id = ?", [stage, run_id])


@dataclass
class Scored:
    """Pairs a model scored (match probability ≥ 0.5), with the model and its term frequencies."""

    pairs: pa.Table
    comparisons: int
    model: dict[str, Any]
    tf: dict[str, pa.Table]
    timings: dict[str, float]
    trained: bool


def _with_estimated_prior(linker: Any, predictions: Any, n_records: int, keep_from: float = 0.5) -> pa.Table:
    """Set the linker's prior to the estimate from its scored pairs and return the pairs
    that reach ``keep_from`` with it, their weights and probabilities moved by the change of
    prior."""
    first = float(linker._settings_obj._probability_two_random_records_match)  # noqa: SLF001 (no public getter)
    weights = splink_backend.to_arrow(predictions, ["match_weight"]).column("match_weight")
    prior = match_prior.estimate(weights.to_numpy(zero_copy_only=False), first, n_records)
    linker._settings_obj._probability_two_random_records_match = prior  # noqa: SLF001 (no public setter)
    logger.info("prior %.4g from the scored pairs (Splink's deterministic estimate %.4g)", prior, first)
    shift = repr(match_prior.log2_odds(prior) - match_prior.log2_odds(first))
    weight = f"(match_weight + {shift})"
    columns = [
        "unique_id_l", "unique_id_r", f"{weight} AS match_weight",
        f"1.0 / (1.0 + power(2.0, -{weight})) AS match_probability",
    ]  # fmt: skip
    floor = repr(match_prior.log2_odds(keep_from)) if keep_from != 0.5 else "0"
    return splink_backend.to_arrow(predictions, columns, where=f"{weight} >= {floor}")


def train_and_predict(
    frame: pa.Table,
    *,
    backend: Backend = "duckdb",
    seed: int = 42,
    threshold: float = link_model.DEFAULT_THRESHOLD,
    memory_limit: str = "2GB",
    threads: int = 2,
    work_dir: Path,
    spark_master: str | None = None,
    on_stage: Callable[[str], None] = lambda _s: None,
    explain_dir: Path | None = None,
    stored: tuple[dict[str, Any], dict[str, pa.Table]] | None = None,
    keep_from: float = 0.5,
) -> Scored:
    """Train a model (or take a stored one with its term frequencies) and score every
    blocked pair of the place, keeping the pairs scored ``keep_from`` and over (lower only
    for ``one_record_sources``, which reads a record's candidates in a source together)."""
    from splink import Linker

    timings: dict[str, float] = {}
    started = time.perf_counter()

    with splink_backend.database(
        backend, memory_limit=memory_limit, threads=threads, work_dir=work_dir, spark_master=spark_master
    ) as db_api:
        table = splink_backend.register(db_api, frame, backend)
        if stored is None:
            present = present_fields(frame)
            household = household_shares(frame)
            linker = Linker(table, link_model.settings(present, household=household), log_level=logging.ERROR)
            on_stage("training the model")
            try:
                training.train(linker, frame.num_rows, present, seed, household)
            except training.TrainingError as exc:
                raise LinkError(str(exc)) from exc
        else:
            linker = splink_backend.linker_from_model(db_api, table, stored[0], stored[1])
        timings["train"] = time.perf_counter() - started

        on_stage("scoring pairs of records")
        t0 = time.perf_counter()
        # The pairs are made once (on DuckDB as Splink's blocking makes them, in half the time:
        # place_blocking); score_blocked_pairs then scores that table without carrying the
        # blocking rules' columns (the same scores as predict()).
        scored_from = table
        if backend == "duckdb":
            trained = linker.misc.save_model_to_json()
            blocked = place_blocking.blocked_pairs(trained, table)
            # Scoring reads the comparisons' columns only: the blocking keys (16 of 36
            # columns) would otherwise be carried through both records' joins.
            needed = splink_backend.scoring_columns(trained)
            scored_from = splink_backend.register(db_api, frame.select(needed), backend, "records_scored")
        else:
            blocked = linker.inference.compute_blocked_pairs_for_predict()
        comparisons = splink_backend.count_rows(blocked)
        timings["block"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if stored is None:
            # A newly trained model's prior is estimated from its own scores (match_prior),
            # which needs the pairs a little below the threshold too.
            predictions = splink_backend.score_blocked_pairs(
                linker, scored_from, blocked, threshold=match_prior.LOWEST_KEPT, evidence=False
            )
            pair_frame = _with_estimated_prior(linker, predictions, frame.num_rows, keep_from)
        else:
            predictions = splink_backend.score_blocked_pairs(
                linker, scored_from, blocked, threshold=keep_from, evidence=False
            )
            pair_frame = splink_backend.to_arrow(predictions, PAIR_COLUMNS)
        timings["predict"] = time.perf_counter() - t0
        tf = stored[1] if stored is not None else splink_backend.term_frequency_tables(linker)
        model = linker.misc.save_model_to_json()
        if explain_dir is not None:
            on_stage("writing Splink's explanations")
            t0 = time.perf_counter()
            # Scored again with Splink's own predict: the charts read the comparison levels
            # (gamma columns), which the scoring above leaves out, and a new model's pairs
            # are scored with its estimated prior, as the pairs were.
            predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            splink_backend.write_explanations(linker, predictions, clusters, explain_dir)
            timings["explain"] = time.perf_counter() - t0
        return Scored(pair_frame, comparisons, model, tf, timings, trained=stored is None)


def replace_pairs(con: duckdb.DuckDBPyConnection, run_id: int, pairs: pa.Table) -> None:
    con.execute("DELETE FROM link_pairs")
    con.register("_pairs", pairs)
    con.execute(
        "INSERT INTO link_pairs SELECT ?, least(unique_id_l, unique_id_r), "
        "greatest(unique_id_l, unique_id_r), match_weight, match_probability FROM _pairs "
        "WHERE match_probability >= 0.5",
        [run_id],
    )
    con.unregister("_pairs")


def link_place(
    con: duckdb.DuckDBPyConnection,
    *,
    backend: Backend = "duckdb",
    seed: int = 42,
    threshold: float = link_model.DEFAULT_THRESHOLD,
    memory_limit: str = "2GB",
    threads: int = 2,
    work_dir: Path,
    spark_master: str | None = None,
    explain_dir: Path | None = None,
    run_id: int | None = None,
    mode: Mode = "auto",
    retrain: bool = True,
    max_block: int = block_limits.DEFAULT_MAX_BLOCK,
) -> LinkResult:
    """Link the place's records into persons.

    mode "incremental" scores only new and changed records with the stored model and
    re-clusters only the persons they touch; "full" scores every pair (re-training the
    model unless retrain=False); "auto" is incremental when a trained model and persons
    exist (on either backend), full otherwise. Persons change in one transaction.
    A blocking rule that would put more than ``max_block`` records together stops the run
    before any pair is scored (``block_limits``).
    """
    check_governance(con)
    link_state.ensure_schema(con)
    stored = link_state.load_model(con)
    if mode == "auto":
        (linked,) = one(con.execute("SELECT count(*) FROM link_inputs")) or (0,)
        mode = "incremental" if stored is not None and linked else "full"
        if mode == "incremental" and link_state.reason_to_link_in_full(con, threshold):
            # Once in full with the stored model, so person ids and the model stay.
            mode, retrain = "full", False
    if mode == "incremental" and stored is None:
        raise LinkError("no trained model yet: run `joinedup link --full` first")
    if run_id is None:
        run_id = start_run(con, backend, threshold, seed)
    started = time.perf_counter()
    try:
        _stage(con, run_id, "preparing records")
        t0 = time.perf_counter()
        # The model input is kept between runs (input_cache): each run prepares only the
        # records that changed since it was written (the first run of a place, all of them).
        refreshed: input_cache.RecordChanges | None = None  # None: the cache was made afresh
        with transaction(con):
            if input_cache.cache_exists(con):
                refreshed = input_cache.refresh(con)
            else:
                input_cache.rebuild(con)
        (n_records,) = one(con.execute(f"SELECT count(*) FROM {input_cache.CACHE}")) or (0,)  # noqa: S608
        if n_records < 2:
            raise LinkError("there are fewer than two records to link: ingest extracts first")
        if mode == "incremental":
            assert stored is not None
            from joinedup.insight.incremental import link_incrementally

            prep = time.perf_counter() - t0
            result = link_incrementally(
                con, input_cache.CACHE, int(n_records), stored, refreshed=refreshed, run_id=run_id,
                threshold=threshold,
                memory_limit=memory_limit, threads=threads, work_dir=work_dir, backend=backend,
                spark_master=spark_master, on_stage=lambda s: _stage(con, run_id, s), max_block=max_block,
            )  # fmt: skip
        else:
            rules = (
                stored.model.get("blocking_rules_to_generate_predictions", [])
                if stored is not None and not retrain
                else link_model.blocking_rules(present_fields_in(con, input_cache.CACHE))
            )
            block_limits.check(con, input_cache.CACHE, rules, limit=max_block)
            # Training needs the rows in a fixed order: its samples depend on it.
            columns = input_cache.input_select(con)
            frame = con.sql(
                f"SELECT {columns} FROM {input_cache.CACHE} ORDER BY unique_id"  # noqa: S608
            ).to_arrow_table()
            prep = time.perf_counter() - t0
            result = _link_fully(
                con, frame, run_id=run_id, backend=backend, seed=seed, threshold=threshold,
                memory_limit=memory_limit, threads=threads, work_dir=work_dir,
                spark_master=spark_master, explain_dir=explain_dir,
                stored=stored if not retrain else None,
            )  # fmt: skip
            del frame
        result.timings = {"prepare": prep, **result.timings, "total": time.perf_counter() - started}
        con.execute(
            "UPDATE link_runs SET finished_at = ?, status = 'done', stage = 'finished', "
            "n_records = ?, n_comparisons = ?, n_pairs = ?, n_persons = ?, n_merges = ?, "
            "n_splits = ?, model_json = ?, timings = ? WHERE run_id = ?",
            [
                datetime.now(), result.records, result.comparisons, result.pairs, result.persons,
                result.changes.merges, result.changes.splits, json.dumps(result.model),
                json.dumps(result.timings), run_id,
            ],
        )  # fmt: skip
    except Exception as exc:
        con.execute(
            "UPDATE link_runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ?",
            [datetime.now(), str(exc).splitlines()[0][:500] if str(exc) else repr(exc), run_id],
        )
        if isinstance(exc, LinkError):
            raise
        if isinstance(exc, block_limits.BlockTooLarge):
            raise LinkError(str(exc)) from exc
        raise LinkError(f"linking failed: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    return result


def _link_fully(
    con: duckdb.DuckDBPyConnection,
    frame: pa.Table,
    *,
    run_id: int,
    backend: Backend,
    seed: int,
    threshold: float,
    memory_limit: str,
    threads: int,
    work_dir: Path,
    spark_master: str | None,
    explain_dir: Path | None,
    stored: link_state.StoredModel | None,
) -> LinkResult:
    from joinedup.insight import review

    if stored is not None:
        check_model_fields(stored, present_fields(frame))
    one_record = one_record_store.declared(con)
    scored = train_and_predict(
        frame, backend=backend, seed=seed, threshold=threshold, memory_limit=memory_limit,
        threads=threads, work_dir=work_dir, spark_master=spark_master,
        on_stage=lambda s: _stage(con, run_id, s), explain_dir=explain_dir,
        stored=(splink_backend.model_for_dialect(stored.model, stored.fields, backend),
                link_state.term_frequencies(con, stored.model_id)) if stored else None,
        keep_from=match_prior.LOWEST_KEPT if one_record else 0.5,
    )  # fmt: skip
    timings = scored.timings
    weighed = None
    if one_record:
        t0 = time.perf_counter()
        weighed = one_record_sources.weigh(
            scored.pairs, one_record, float(scored.model["probability_two_random_records_match"]),
            one_record_store.source_sizes(con, input_cache.CACHE),
            one_record_store.load_shares(con, stored.model_id) if stored else {},
        )  # fmt: skip
        scored = replace(scored, pairs=weighed.pairs)
        timings["one_record"] = time.perf_counter() - t0
    _stage(con, run_id, "clustering pairs into persons")
    t0 = time.perf_counter()
    must, cannot = review.constraints(con)
    ids = frame.column("unique_id")
    kept_apart = conflicts.KeptApart(
        frame, scored.pairs, splink_backend.model_for_dialect(scored.model, present_fields(frame), "duckdb"),
        scored.tf, threshold=threshold, must=must, memory_limit=memory_limit, threads=threads,
        work_dir=work_dir,
    )  # fmt: skip
    clusters = cluster_records(
        ids, scored.pairs, threshold, must_link=must, cannot_link=cannot, conflicts=kept_apart
    )
    alone_joins: list[tuple[str, str]] = []
    if name_and_date.rule_on(con):
        clusters, alone_joins = name_and_date.join_alone(
            con, input_cache.CACHE, clusters, scored.pairs, cannot=cannot
        )
    timings["cluster"] = time.perf_counter() - t0
    _stage(con, run_id, "assigning person ids")
    t0 = time.perf_counter()
    with transaction(con):
        changes = assign_person_ids(con, clusters, run_id, in_transaction=True)
        replace_pairs(con, run_id, scored.pairs)
        conflicts.save(con, run_id, kept_apart.scores, replace_all=True)
        if stored is None:
            model_id = link_state.save_model(
                con, run_id, scored.model, present_fields(frame), frame.num_rows,
                matched_share(clusters), scored.tf,
            )  # fmt: skip
        else:
            model_id = stored.model_id
        one_record_store.keep(con, model_id, one_record, weighed)
        link_state.save_inputs(con, input_cache.CACHE)
        name_and_date.keep_rows(con, input_cache.CACHE)
        name_and_date.keep_joins(con, alone_joins, replacing=None)
        name_and_date.mark_linked(con)
        link_state.rechecked(con)
        n_persons = pc.count_distinct(clusters.column("cluster_id")).as_py()
        link_state.record_run(
            con, run_id, mode="full" if stored is None else "full with the stored model",
            model_id=model_id, changes=None, touched_persons=n_persons, new_matched_share=None,
            retrain_advice=None, kept_apart=kept_apart.kept,
        )  # fmt: skip
    strong = pc.sum(pc.greater_equal(scored.pairs.column("match_probability"), threshold)).as_py() or 0
    timings["persons"] = time.perf_counter() - t0
    return LinkResult(
        run_id=run_id, backend=backend, records=frame.num_rows, comparisons=scored.comparisons,
        pairs=int(strong), persons=n_persons, changes=changes, timings=timings,
        model=scored.model, mode="full", kept_apart=kept_apart.kept,
    )  # fmt: skip


def check_model_fields(stored: link_state.StoredModel, present: frozenset[str]) -> None:
    """The stored model compares fields some source must still hold (``present``)."""
    missing = sorted(stored.fields - present)
    if missing:
        raise LinkError(
            f"the stored model compares {', '.join(missing)}, which no source holds now "
            "(a mapping lost the column?): persons are unchanged; run `joinedup link --full` "
            "to re-train the model on the fields the sources hold"
        )
