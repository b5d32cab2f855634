"""Link a place's records into persons with Splink, on DuckDB (default) or Spark.

Stages: check governance → prepare the model's input → estimate the model (prior, u by
seeded random sampling, m by EM) → predict pairs → cluster at the threshold → assign
stable person ids (see persons.py). Each stage is written to ``link_runs`` so that a
page can show progress while the run goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
from nicknames import NickNamer

from joinedup.insight import model as link_model
from joinedup.insight import processes
from joinedup.insight.persons import PersonChanges, assign_person_ids
from joinedup.insight.store import one

__all__ = ["LinkError", "LinkResult", "link_place", "prepare_input"]

Backend = Literal["duckdb", "spark"]
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

    @property
    def comparisons_per_second(self) -> float:
        seconds = self.timings.get("block", 0.0) + self.timings.get("predict", 0.0)
        return self.comparisons / seconds if seconds else 0.0

    def summary(self) -> str:
        return (
            f"run {self.run_id} on {self.backend}: {self.records:,} records → "
            f"{self.persons:,} persons ({self.comparisons:,} comparisons, {self.pairs:,} "
            f"pairs at or above the threshold; {self.changes.merges} merges, "
            f"{self.changes.splits} splits, {self.changes.new} new persons)"
        )


def _forename_names(forenames: pd.Series) -> dict[str, list[str]]:
    """Each forename with every name it may be a nickname of, or that may be its nickname."""
    namer = NickNamer()
    table: dict[str, list[str]] = {}
    for name in forenames.dropna().unique():
        lower = str(name).lower()
        names = {lower} | namer.canonicals_of(lower)
        table[str(name)] = sorted(n.upper() for n in names)
    return table


# Rare-value keys: a value shared by few records (a full name, an address …) is a cheap, safe
# block; common ones (JOHN SMITH) are left null so that no block grows with the place.
_RARE_KEYS: dict[str, str] = {
    "name_key": "forename || ' ' || surname",
    "address_key": "address_line",
    "surname_year_key": "surname || ' ' || birth_year",
    "house_key": "house || ' ' || address_end",
    "surname_address_key": "surname || ' ' || address_end",
    "forename_address_key": "forename || ' ' || address_end",
    "dob_initials_key": "dob || ' ' || surname_initial || forename_initial",
    "initials_address_key": "surname_initial || forename_initial || ' ' || address_end",
    "street_key": "house || ' ' || street",
}

_BASE_SQL = """
SELECT
    source || '|' || record_id AS unique_id,
    source,
    split_part(forename, ' ', 1) AS forename,
    surname,
    strftime(date_of_birth, '%Y-%m-%d') AS dob,
    strftime(date_of_birth, '%Y-%d-%m') AS dob_transposed,
    CAST(year(date_of_birth) AS VARCHAR) AS birth_year,
    strftime(date_of_birth, '%Y-%m') AS birth_year_month,
    strftime(date_of_birth, '%m-%d') AS birth_month_day,
    sex,
    postcode,
    nullif(regexp_extract(postcode, '^([A-Z]{1,2}[0-9][A-Z0-9]?)', 1), '') AS postcode_district,
    nhs_number,
    ni_number,
    uprn,
    address_line,
    substr(surname, 1, 1) AS surname_initial,
    substr(forename, 1, 1) AS forename_initial,
    nullif(regexp_extract(address_line, '^([0-9]+)', 1), '') AS house,
    nullif(regexp_extract(address_line, '^[0-9]* ?([A-Z]+)', 1), '') AS street,
    -- The end of an address line (a town, or a postcode when it travels in the line).
    nullif(regexp_extract(address_line, '([A-Z0-9]+)$', 1), '') AS address_end
FROM records
"""


def _input_sql(cap: int) -> str:
    # Counting each key with GROUP BY and joining back is several times faster in DuckDB
    # than a window count per key over a million rows.
    raw = ",\n    ".join(f"{expr} AS _{name}" for name, expr in _RARE_KEYS.items())
    joins = "\n".join(
        f"LEFT JOIN (SELECT _{n} AS k, count(*) AS n FROM keyed WHERE _{n} IS NOT NULL "
        f"GROUP BY 1) c_{n} ON c_{n}.k = keyed._{n}"
        for n in _RARE_KEYS
    )
    kept = ",\n    ".join(f"CASE WHEN c_{n}.n <= {int(cap)} THEN keyed._{n} END AS {n}" for n in _RARE_KEYS)
    excluded = ", ".join(f"_{n}" for n in _RARE_KEYS)
    return f"""
WITH base AS MATERIALIZED ({_BASE_SQL}),
keyed AS MATERIALIZED (SELECT *,\n    {raw}\nFROM base)
SELECT keyed.* EXCLUDE ({excluded}),\n    {kept}
FROM keyed
{joins}
"""


U_PAIRS = 2e6
EM_PAIRS = 5e5

# Largest block a rare-value key may form (pairs per block ≤ cap²/2).
RARE_KEY_CAP = 10


def present_fields(table: pa.Table) -> frozenset[str]:
    """Fields held for enough records to compare (at least two, so some pair can agree)."""
    return frozenset(
        c
        for c in link_model.ALL_FIELDS
        if c in table.column_names and table.num_rows - table.column(c).null_count >= 2
    )


def prepare_input(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The model's input: one row per record with derived blocking columns (Arrow, so a
    million records stay compact on their way to Splink)."""
    forenames = pd.Series(
        [r[0] for r in con.execute(
            "SELECT DISTINCT split_part(forename, ' ', 1) FROM records WHERE forename IS NOT NULL"
        ).fetchall()],
        dtype=object,
    )  # fmt: skip
    names = _forename_names(forenames)
    lookup = pa.table(
        {"name": list(names.keys()), "forename_names": list(names.values())},
        schema=pa.schema([("name", pa.string()), ("forename_names", pa.list_(pa.string()))]),
    )
    con.register("_forename_names", lookup)
    try:
        sql = _input_sql(RARE_KEY_CAP)
        table = con.sql(
            f"SELECT i.*, n.forename_names FROM ({sql}) i "  # noqa: S608
            "LEFT JOIN _forename_names n ON n.name = i.forename ORDER BY i.unique_id"
        ).to_arrow_table()
    finally:
        con.unregister("_forename_names")
    return table


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


def _duckdb_api(memory_limit: str, threads: int, temp_dir: Path) -> Any:
    from splink import DuckDBAPI

    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    temp_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{temp_dir.as_posix()}'")
    return DuckDBAPI(connection=con)


def spark_session(master: str | None = None) -> Any:
    """A Spark session for Splink: local[2] unless a master URL is given."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder = (
        SparkSession.builder.appName("joinedup-link")
        # Splink's string-similarity functions (jaro_winkler …) ship as a Scala jar.
        .config("spark.jars", similarity_jar_location())
        .master(master or "local[2]")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    return builder.getOrCreate()


def _spark_api(master: str | None, checkpoint_dir: Path) -> Any:
    from splink import SparkAPI

    spark = spark_session(master)
    spark.sparkContext.setLogLevel("ERROR")
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    spark.sparkContext.setCheckpointDir(checkpoint_dir.as_posix())
    return SparkAPI(spark_session=spark)


def _register(db_api: Any, table: pa.Table, backend: str) -> Any:
    if backend == "spark":
        from pyspark.sql import types as T  # noqa: N812

        frame = table.to_pandas()
        frame["forename_names"] = frame["forename_names"].map(
            lambda v: [str(x) for x in v] if v is not None else None
        )
        schema = T.StructType(
            [
                T.StructField(c, T.ArrayType(T.StringType()) if c == "forename_names" else T.StringType())
                for c in frame.columns
            ]
        )
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return db_api.register(db_api.spark.createDataFrame(rows, schema=schema), table_name="records_in")
    return db_api.register(table, table_name="records_in")


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
) -> tuple[pa.Table, pa.Table, int, dict[str, Any], dict[str, float]]:
    """Run Splink; return (pairs ≥ threshold, clusters, comparisons, model, timings)."""
    from splink import Linker
    from splink.internals.exceptions import EMTrainingException, SplinkException

    timings: dict[str, float] = {}
    started = time.perf_counter()
    if backend == "spark":
        db_api = _spark_api(spark_master, work_dir / "spark-checkpoints")
    else:
        db_api = _duckdb_api(memory_limit, threads, work_dir / "splink-tmp")
    table = _register(db_api, frame, backend)
    present = present_fields(frame)
    linker = Linker(table, link_model.settings(present), log_level=logging.ERROR)

    on_stage("training the model")
    training = linker.training
    training.estimate_probability_two_random_records_match(
        link_model.deterministic_rules(present), recall=0.8
    )
    # Training sizes are capped so that training time stays flat as a place grows: 2 million
    # random pairs estimate u well for these comparisons, and EM converges on half a million
    # blocked pairs (checked at 100k, 300k and 1M records; see docs/benchmarks.md).
    training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=seed)
    em_pairs = max(2e5, min(EM_PAIRS, frame.num_rows * 2.0))
    trained = 0
    for rule in link_model.training_rules(present):
        try:
            training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=em_pairs
            )
            trained += 1
        except (EMTrainingException, ValueError, SplinkException) as exc:
            # A rule that finds no pairs, or whose pairs drive a probability to underflow,
            # trains nothing; the other sessions still do (Splink only keeps a session's
            # estimates when it completes).
            logger.info("EM session on %s skipped: %s", rule, str(exc).splitlines()[0])
    if not trained:
        raise LinkError("the records share too little to train the model (no training pairs)")
    timings["train"] = time.perf_counter() - started

    on_stage("scoring pairs of records")
    t0 = time.perf_counter()
    # Blocked pairs are computed once and cached; predict() then scores that table.
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    comparisons = _count(blocked)
    timings["block"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    timings["predict"] = time.perf_counter() - t0

    on_stage("clustering pairs into persons")
    t0 = time.perf_counter()
    pair_frame = _to_arrow(predictions, ["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
    clusters: Any = None
    if backend == "duckdb" and explain_dir is None:
        # The same connected components Splink computes, found in memory in a second or two
        # rather than by Splink's iterative SQL (which a million records makes slow).
        cluster_frame = connected_components(frame.column("unique_id"), pair_frame, threshold)
    else:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        cluster_frame = _to_arrow(clusters, ["unique_id", "cluster_id"])
    timings["cluster"] = time.perf_counter() - t0
    model = linker.misc.save_model_to_json()
    if explain_dir is not None:
        on_stage("writing Splink's explanations")
        t0 = time.perf_counter()
        write_explanations(linker, predictions, clusters, explain_dir)
        timings["explain"] = time.perf_counter() - t0
    return pair_frame, cluster_frame, comparisons, model, timings


def connected_components(ids: pa.ChunkedArray, pairs: pa.Table, threshold: float) -> pa.Table:
    """Clusters of records joined by pairs at or above the threshold; each cluster is named
    by its smallest record id, as Splink names them."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as components

    index = pd.Index(ids.to_pandas())
    if not index.is_monotonic_increasing:
        raise ValueError("record ids must arrive sorted")
    strong = pairs.filter(pa.compute.greater_equal(pairs.column("match_probability"), threshold))
    left = index.get_indexer(strong.column("unique_id_l").to_pandas())
    right = index.get_indexer(strong.column("unique_id_r").to_pandas())
    n = len(index)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    count, labels = components(graph, directed=False)
    # Ids arrive sorted (prepare_input orders them), so a component's smallest id is the one
    # at its smallest position.
    first = np.full(count, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    representative = first[labels]
    return pa.table(
        {"unique_id": ids.combine_chunks(), "cluster_id": ids.combine_chunks().take(representative)}
    )


def _to_arrow(splink_df: Any, columns: list[str]) -> pa.Table:
    physical = splink_df.physical_name
    sql = f"SELECT {', '.join(columns)} FROM {physical}"  # noqa: S608
    result = splink_df.db_api._execute_sql_against_backend(sql)
    if hasattr(result, "toPandas"):
        return pa.Table.from_pandas(result.toPandas(), preserve_index=False)
    return result.to_arrow_table()


def _count(splink_df: Any) -> int:
    sql = f"SELECT count(*) AS n FROM {splink_df.physical_name}"  # noqa: S608
    result = splink_df.db_api._execute_sql_against_backend(sql)
    if hasattr(result, "collect"):
        return int(result.collect()[0][0])
    return int(result.fetchall()[0][0])


def write_explanations(linker: Any, predictions: Any, clusters: Any, out_dir: Path) -> None:
    """Splink's own offline HTML: match weights, a comparison viewer and cluster studio."""
    out_dir.mkdir(parents=True, exist_ok=True)
    viz = linker.visualisations
    try:
        # save_offline_chart bundles Vega's libraries, so the pages need no CDN.
        viz.match_weights_chart().save_offline_chart(
            str(out_dir / "match_weights.html"), overwrite=True, print_msg=False
        )
        viz.m_u_parameters_chart().save_offline_chart(
            str(out_dir / "m_u_parameters.html"), overwrite=True, print_msg=False
        )
        viz.comparison_viewer_dashboard(
            predictions, str(out_dir / "comparison_viewer.html"), overwrite=True,
            num_example_rows=2,
        )  # fmt: skip
        viz.cluster_studio_dashboard(
            predictions, clusters, str(out_dir / "cluster_studio.html"),
            sampling_method="by_cluster_size", sample_size=20, overwrite=True,
        )  # fmt: skip
        sample = predictions.as_record_list(limit=10)
        viz.waterfall_chart(sample, filter_nulls=False).save_offline_chart(
            str(out_dir / "waterfall.html"), overwrite=True, print_msg=False
        )
    except Exception:  # explanations help analysts but must not fail a link run
        logger.warning("could not write Splink's explanations", exc_info=True)


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
) -> LinkResult:
    """Link every record of the place and replace its persons in one transaction."""
    check_governance(con)
    if run_id is None:
        run_id = start_run(con, backend, threshold, seed)
    started = time.perf_counter()
    try:
        _stage(con, run_id, "preparing records")
        t0 = time.perf_counter()
        frame = prepare_input(con)
        n_records = frame.num_rows
        if n_records < 2:
            raise LinkError("there are fewer than two records to link: ingest extracts first")
        prep = time.perf_counter() - t0
        pairs, clusters, comparisons, model, timings = train_and_predict(
            frame,
            backend=backend,
            seed=seed,
            threshold=threshold,
            memory_limit=memory_limit,
            threads=threads,
            work_dir=work_dir,
            spark_master=spark_master,
            on_stage=lambda s: _stage(con, run_id, s),
            explain_dir=explain_dir,
        )
        timings = {"prepare": prep, **timings}
        _stage(con, run_id, "assigning person ids")
        t0 = time.perf_counter()
        changes = assign_person_ids(con, clusters, run_id)
        con.execute("DELETE FROM link_pairs")
        con.register("_pairs", pairs)
        con.execute(
            "INSERT INTO link_pairs SELECT ?, unique_id_l, unique_id_r, match_weight, "
            "match_probability FROM _pairs WHERE match_probability >= 0.5",
            [run_id],
        )
        (n_pairs,) = one(
            con.execute("SELECT count(*) FROM _pairs WHERE match_probability >= ?", [threshold])
        ) or (0,)
        con.unregister("_pairs")
        con.register("_clusters_out", clusters)
        (n_persons,) = one(con.execute("SELECT count(DISTINCT cluster_id) FROM _clusters_out")) or (0,)
        con.unregister("_clusters_out")
        del frame, pairs, clusters  # free the Arrow tables before the figures are written
        timings["persons"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started
        con.execute(
            "UPDATE link_runs SET finished_at = ?, status = 'done', stage = 'finished', "
            "n_records = ?, n_comparisons = ?, n_pairs = ?, n_persons = ?, n_merges = ?, "
            "n_splits = ?, model_json = ?, timings = ? WHERE run_id = ?",
            [
                datetime.now(), n_records, comparisons, int(n_pairs), int(n_persons),
                changes.merges, changes.splits, json.dumps(model), json.dumps(timings), run_id,
            ],
        )  # fmt: skip
    except Exception as exc:
        con.execute(
            "UPDATE link_runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ?",
            [datetime.now(), str(exc).splitlines()[0][:500] if str(exc) else repr(exc), run_id],
        )
        if isinstance(exc, LinkError):
            raise
        raise LinkError(f"linking failed: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    return LinkResult(
        run_id=run_id,
        backend=backend,
        records=n_records,
        comparisons=comparisons,
        pairs=int(n_pairs),
        persons=int(n_persons),
        changes=changes,
        timings=timings,
        model=model,
    )
