"""Splink's side of linkage: a database for it (DuckDB or Spark), input registration, a
linker from a stored model with its term frequencies, and Splink's own explanations."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

__all__ = [
    "ModelDialectError", "copy_u_to_m", "count_rows", "database", "db_api_for", "duckdb_api",
    "fixed_level", "floor_m_probabilities", "linker_from_model", "model_for_dialect", "register",
    "score_blocked_pairs", "scoring_columns", "spark_api", "spark_session",
    "term_frequency_tables", "to_arrow", "write_explanations",
]  # fmt: skip

logger = logging.getLogger(__name__)


def duckdb_api(memory_limit: str, threads: int, temp_dir: Path) -> Any:
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


def spark_api(master: str | None, checkpoint_dir: Path) -> Any:
    from splink import SparkAPI

    spark = spark_session(master)
    spark.sparkContext.setLogLevel("ERROR")
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    spark.sparkContext.setCheckpointDir(checkpoint_dir.as_posix())
    return SparkAPI(spark_session=spark)


def db_api_for(
    backend: str, *, memory_limit: str, threads: int, work_dir: Path, spark_master: str | None = None
) -> Any:
    """Splink's database for a backend, with its scratch space under ``work_dir``."""
    if backend == "spark":
        return spark_api(spark_master, work_dir / "spark-checkpoints")
    return duckdb_api(memory_limit, threads, work_dir / "splink-tmp")


@contextmanager
def database(
    backend: str, *, memory_limit: str, threads: int, work_dir: Path, spark_master: str | None = None
) -> Iterator[Any]:
    """``db_api_for``'s database, with Splink's in-memory DuckDB closed on leaving, once the
    results are copied out. Splink's objects refer to each other in cycles, so without this
    the database (a gigabyte at a million records: the blocked pairs and their scores) stayed
    until Python's collector ran, through the clustering and person ids that follow. A Spark
    session is shared, and kept; the views a run made in it are dropped on leaving, or the
    next run in the process would find its own table names taken (``pair_scorer``'s
    ``records_0``) and fail."""
    db_api = db_api_for(
        backend, memory_limit=memory_limit, threads=threads, work_dir=work_dir, spark_master=spark_master
    )
    spark = getattr(db_api, "spark", None)
    before = {t.name for t in spark.catalog.listTables() if t.isTemporary} if spark is not None else set()
    try:
        yield db_api
    finally:
        con = getattr(db_api, "duckdb_con", None)
        if con is not None:
            con.close()
        if spark is not None:
            for table in spark.catalog.listTables():
                if table.isTemporary and table.name not in before:
                    spark.catalog.dropTempView(table.name)


def fixed_level(level: Any, label: str, *, m: float, u: float) -> Any:
    """``level`` (a Splink ComparisonLevelCreator) labelled ``label``, its m and u fixed so
    that EM leaves them alone: a correction, or, with m equal to u, a level that weighs
    nought for and against."""
    return level.configure(
        label_for_charts=label,
        m_probability=m,
        u_probability=u,
        fix_m_probability=True,
        fix_u_probability=True,
    )


def floor_m_probabilities(linker: Any, floor: float) -> None:
    """Raise every trained m probability to at least ``floor`` (a fixed one is left as set).

    EM drives m to nought for a level its sessions never see among true matches (a
    different sex, a different UPRN where one source holds UPRNs, the house number and town
    agreeing on a different line), which makes one disagreeing field a veto of 20 to 130
    bits that no other evidence can outweigh. A real field is miskeyed now and then, so a
    true match can land on any level.
    """
    for comparison in linker._settings_obj.comparisons:  # noqa: SLF001 (no public setter)
        for level in comparison.comparison_levels:
            if level.is_null_level or level._fix_m_probability:  # noqa: SLF001 (fixed, not trained)
                continue
            m = level.m_probability
            if isinstance(m, float) and m < floor:
                level.m_probability = floor


def given_other_comparison(
    linker: Any, comparison: str, given: Mapping[str, Sequence[str]], marginal: str, other: str,
    probability: Literal["m", "u"],
) -> None:  # fmt: skip
    """Make the m (or u) that each level of ``comparison`` named in ``given`` last trained
    the chance of the level given that the comparison ``other`` is at one of the levels
    named for it, and that of the level ``marginal`` the chance of it and those levels
    together, whatever ``other``. Called after each training step.

    Splink trains a level's m and u as its share of all pairs. A woman's different surname
    is split by how her postcodes compare (``surname_comparison``), so each part's share
    holds the chance of the postcodes' comparing so, which the postcode comparison counts
    too: divided by that, the two multiply to the chance of both. The part where a postcode
    is missing stands for the surname alone. Splink keeps each step's values and sets a
    level's value to their median after every step, so each step's own values are changed
    (once: a step that did not train the comparison leaves them as they were), and the
    level's value set again from them.
    """
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}  # noqa: SLF001
    if comparison not in comparisons or other not in comparisons:
        return
    values = {
        level.label_for_charts: getattr(level, f"{probability}_probability")
        for level in comparisons[other].comparison_levels if not level.is_null_level
    }  # fmt: skip
    kept = f"_trained_{probability}_probabilities"
    levels = {level.label_for_charts: level for level in comparisons[comparison].comparison_levels}
    records = {
        label: getattr(levels[label], kept)[-1] for label in [*given, marginal]
        if label in levels and getattr(levels[label], kept)
        and isinstance(getattr(levels[label], kept)[-1]["probability"], float)
        and not getattr(levels[label], kept)[-1].get(_GIVEN)
    }  # fmt: skip
    # A part this step did not see (Splink records "level not observed") is left out of the
    # sum, as a share of nought; the others are still divided.
    total = sum(record["probability"] for record in records.values())
    for label, record in records.items():
        if label == marginal:
            record["probability"] = total
        elif (share := sum(float(values.get(name) or 0.0) for name in given[label])) > 0:
            record["probability"] = min(record["probability"] / share, 1.0)
        record[_GIVEN] = True
        median = getattr(levels[label], f"_trained_{probability}_median")
        setattr(levels[label], f"{probability}_probability", median)


_GIVEN = "joinedup_given"  # marks a trained value given_other_comparison has changed


def copy_u_to_m(
    linker: Any, source: tuple[str, str], target: tuple[str, str],
    u_given_m: Callable[[float], float] | None = None,
) -> None:  # fmt: skip
    """Set the m of the level ``target`` (comparison, label) to the trained u of the level
    ``source``: the household birthday correction's m is the u of the same date of birth
    between random records, known only once u is estimated (see household_comparisons).
    ``u_given_m``, where given, sets the target's u from that m (a share counted on the place
    and pulled towards it). The target's u is raised to that m if it is below: a correction
    only ever takes evidence away (random sampling and the count of different people can
    differ by a few times)."""
    levels = {
        (each.output_column_name, level.label_for_charts): level
        for each in linker._settings_obj.comparisons  # noqa: SLF001 (no public setter)
        for level in each.comparison_levels
    }
    if source in levels and target in levels and isinstance(levels[source].u_probability, float):
        m = levels[source].u_probability
        levels[target].m_probability = m
        if u_given_m is not None:  # a share counted on the place, pulled towards m
            levels[target].u_probability = u_given_m(m)
        if isinstance(levels[target].u_probability, float) and levels[target].u_probability < m:
            levels[target].u_probability = m


def _spark_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The table's rows as Python values for Spark: lists as lists of strings, nulls as None
    and integers as Arrow holds them (pandas holds an integer column with nulls as floats,
    which lose a 63-bit fingerprint's low bits)."""
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_list(field.type):
            frame[field.name] = frame[field.name].map(
                lambda v: [str(x) for x in v] if v is not None else None
            )
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for field in table.schema:
        if pa.types.is_integer(field.type):
            for row, value in zip(rows, table.column(field.name).to_pylist(), strict=True):
                row[field.name] = value
    return rows


def register(db_api: Any, table: pa.Table, backend: str, table_name: str = "records_in") -> Any:
    if backend == "spark":
        from pyspark.sql import types as T  # noqa: N812

        def spark_type(field: pa.Field) -> Any:
            if pa.types.is_list(field.type):
                return T.ArrayType(T.StringType())
            if pa.types.is_integer(field.type):
                return T.LongType()  # the address's word fingerprint, compared bitwise
            # The incremental path's flag of new and changed records stays a boolean, since
            # its blocking rules test it as one.
            return T.BooleanType() if pa.types.is_boolean(field.type) else T.StringType()

        schema = T.StructType([T.StructField(f.name, spark_type(f)) for f in table.schema])
        rows = _spark_rows(table)
        return db_api.register(db_api.spark.createDataFrame(rows, schema=schema), table_name=table_name)
    return db_api.register(table, table_name=table_name)


def to_arrow(splink_df: Any, columns: list[str], where: str | None = None) -> pa.Table:
    physical = splink_df.physical_name
    sql = f"SELECT {', '.join(columns)} FROM {physical}"  # noqa: S608
    if where:
        sql += f" WHERE {where}"
    result = splink_df.db_api._execute_sql_against_backend(sql)
    if hasattr(result, "toPandas"):
        return pa.Table.from_pandas(result.toPandas(), preserve_index=False)
    return result.to_arrow_table()


def count_rows(splink_df: Any) -> int:
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


def linker_from_model(db_api: Any, table: Any, model: dict[str, Any], tf: dict[str, pa.Table]) -> Any:
    """A linker scoring with a stored model and the term frequencies it was trained with
    (no re-training, and the same weights a full re-link with this model would give)."""
    from splink import Linker

    # Splink's settings validation only logs missing columns (0.4 s of SQL parsing at each
    # run); the stored model's fields are checked against the input before this is reached
    # (link.check_model_fields), with a message that says what to do.
    linker = Linker(table, model, log_level=logging.ERROR, validate_settings=False)
    for column, frame in tf.items():
        registered = db_api.register(frame, table_name=f"__joinedup_tf_{column}")
        linker.table_management.register_term_frequency_lookup(registered, column)
    return linker


def scoring_columns(model: dict[str, Any]) -> list[str]:
    """The input columns Splink reads to score pairs already blocked with ``model``
    (``score_blocked_pairs``): the unique id, the comparisons' columns and term-frequency
    columns, and the columns the model retains. The blocking keys are not among them."""
    return list(_scoring_columns(json.dumps(model, sort_keys=True)))


@functools.lru_cache(maxsize=8)
def _scoring_columns(model_json: str) -> tuple[str, ...]:
    # Splink's own reading of the model (50 ms), once per model in a process: the
    # incremental run asks for it twice, for its pairs and for the conflict check's.
    from splink.internals.settings_creator import SettingsCreator

    model = {**json.loads(model_json), "blocking_rules_to_generate_predictions": []}
    settings = SettingsCreator.from_path_or_dict(model).get_settings(model.get("sql_dialect", "duckdb"))
    used = [*settings._columns_used_by_comparisons, *settings._term_frequency_columns]  # noqa: SLF001
    names = [c.unquote().name for c in used] + list(settings._additional_col_names_to_retain)  # noqa: SLF001
    return tuple(dict.fromkeys(names))


BLOCKED_PAIRS = "__splink__blocked_id_pairs"  # the name Splink's scoring SQL reads


def score_blocked_pairs(
    linker: Any, records: Any, blocked: Any, *, threshold: float | None = None, evidence: bool = True
) -> Any:
    """Splink's scores for pairs already blocked: ``blocked`` is a registered table (match_key,
    join_key_l, join_key_r, the smaller unique id on the left) and ``records`` the
    registered records it names. With ``evidence=False`` the scored table keeps the ids,
    weights and comparison levels but not the two records' values or each level's factors.

    This is ``Inference.predict_within`` without its first stage: the incremental path has
    already found its pairs with one join per rule, and Splink's own blocking of the same
    records cost as much again (0.75 s for 10,000 new records against a million). Splink has
    no public call that scores a given list of pairs, so this reaches the three private
    steps ``predict_within`` itself runs; Splink is pinned in uv.lock, and the incremental
    tests (the same pairs and scores as Splink's ``predict``, the same persons as a full
    re-link) fail if a new version changes them.
    """
    from splink.internals.pipeline import CTEPipeline

    inference = linker.inference
    # The pairs are already blocked, so the settings scoring them carry no blocking rules:
    # Splink would otherwise parse every rule again for its columns, at each of the several
    # reads of the columns to select, and carry each rule's columns through the scoring SQL
    # for both records of every pair (the model's rare-value keys, which no comparison reads).
    settings = inference._clone_settings_with_overrides(None, [])  # noqa: SLF001
    inputs = {records.templated_name: records}
    # Splink's scoring SQL reads the pairs as BLOCKED_PAIRS; the pipeline puts the table's
    # own name in its place, so one database can score several lists (pair_scorer).
    pairs = blocked.db_api.table_to_splink_dataframe(BLOCKED_PAIRS, blocked.physical_name)
    pipeline = CTEPipeline([pairs])
    inference._append_required_tf_to_pipeline(pipeline, [records])  # noqa: SLF001
    inference._enqueue_concat_with_tf_cte(  # noqa: SLF001
        pipeline, inputs, "__splink__df_concat_with_tf", force_source_dataset=False
    )
    if not evidence:
        # The model keeps each comparison's values and factors for both records (the review
        # waterfall and Splink's explanations read them). Scoring a whole place at 1M records
        # (4 million pairs kept from 0.01) that table is over a gigabyte, which DuckDB wrote
        # to disk under its memory cap; the scores and levels are the same without them.
        settings._retain_matching_columns = False  # noqa: SLF001
        settings._retain_intermediate_calculation_columns = False  # noqa: SLF001
    return inference._score_blocked_pairs(  # noqa: SLF001
        pipeline=pipeline, settings=settings, input_tablename_l="__splink__df_concat_with_tf",
        input_tablename_r="__splink__df_concat_with_tf", threshold_match_probability=threshold,
        threshold_match_weight=None,
    )  # fmt: skip


class ModelDialectError(ValueError):
    """The stored model cannot be written for another backend (it is not this model's shape)."""


def model_for_dialect(model: dict[str, Any], fields: frozenset[str], dialect: str) -> dict[str, Any]:
    """The stored model written in another backend's SQL, with its trained parameters.

    A model saved by Splink on DuckDB holds DuckDB SQL: quoted names that Spark reads as
    strings, and DuckDB's names for functions (``jaro_winkler_similarity``, ``list_intersect``)
    where Spark has its own. Splink then cannot find the exact-match level a term-frequency
    adjustment needs. So the comparisons and blocking rules are written afresh for the other
    backend by the same creators (``model.settings`` with the fields the model was trained
    on), and the trained prior and every level's m and u probabilities are copied across.
    The two must have the same comparisons and levels, in order, or nothing is copied.
    """
    if model.get("sql_dialect") == dialect:
        return model
    from joinedup.insight import model as link_model

    target = link_model.settings(fields).get_settings(dialect).as_dict()

    def shape(m: dict[str, Any]) -> list[tuple[str, list[str]]]:
        return [
            (c.get("output_column_name", ""), [v.get("label_for_charts", "") for v in c["comparison_levels"]])
            for c in m["comparisons"]
        ]

    if shape(model) != shape(target):
        raise ModelDialectError(
            "the stored model's comparisons are not those joinedup writes for its fields, so it "
            f"cannot be used on {dialect}: re-train it there (joinedup link --full)"
        )
    target["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for stored_comparison, comparison in zip(model["comparisons"], target["comparisons"], strict=True):
        for stored_level, level in zip(
            stored_comparison["comparison_levels"], comparison["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if key in stored_level:
                    level[key] = stored_level[key]
    return target


def term_frequency_tables(linker: Any) -> dict[str, pa.Table]:
    """The term-frequency tables the linker scored with, one per adjusted column."""
    out: dict[str, pa.Table] = {}
    for tf_col in linker._settings_obj._term_frequency_columns:
        column = tf_col.unquote()
        frame = linker.table_management.compute_tf_table(column.name)
        out[column.name] = to_arrow(frame, [column.name, column.tf_name])
    return out
