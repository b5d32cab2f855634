"""The incremental path on Apache Spark (local) gives the persons DuckDB's gives.

A place is linked on DuckDB; next month's records (the latest by event date) then arrive,
and the same store, copied, is linked incrementally with the stored model once on each
backend. The persons must be the same partition of the records.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from joinedup.insight.link import Backend, link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.support.persons import partition


def _persons(store: Path) -> set[frozenset[str]]:
    con = connect(store, memory_limit="1GB", threads=2)
    try:
        return partition(con)
    finally:
        con.close()


@pytest.mark.spark
@pytest.mark.parametrize(
    "declared", [(), ("work_coach", "emergency_department")], ids=["plain", "one-record sources"]
)
def test_incremental_persons_on_spark_equal_duckdb(tmp_path: Path, declared: tuple[str, ...]) -> None:
    generate_place(300, tmp_path / "extracts", seed=11)
    base = tmp_path / "base.duckdb"
    con = connect(base, memory_limit="1GB", threads=2)
    ingest_directory(con, tmp_path / "extracts")
    # Sources said to hold each person once: their pairs are weighed (one_record_sources).
    con.execute(
        "UPDATE sources SET one_record_per_person = true WHERE list_contains(?, name)", [list(declared)]
    )
    con.execute(
        "CREATE TABLE held_back AS SELECT * FROM records ORDER BY event_date DESC NULLS LAST, "
        "source, record_id LIMIT 60"
    )
    con.execute("DELETE FROM records WHERE (source, record_id) IN (SELECT source, record_id FROM held_back)")
    link_place(con, work_dir=tmp_path / "work", seed=42, mode="full")
    con.execute("CHECKPOINT")
    con.close()

    results = {}
    backends: tuple[Backend, ...] = ("duckdb", "spark")
    for backend in backends:
        store = tmp_path / f"{backend}.duckdb"
        shutil.copy(base, store)
        con = connect(store, memory_limit="1GB", threads=2)
        con.execute("INSERT INTO records SELECT * FROM held_back")
        results[backend] = link_place(con, backend=backend, work_dir=tmp_path / f"work-{backend}")
        con.close()

    spark, duck = results["spark"], results["duckdb"]
    assert spark.backend == "spark" and spark.mode == "incremental" and duck.mode == "incremental"
    assert "(incremental, stored model) on spark:" in spark.summary()
    assert spark.new_records == duck.new_records == 60
    assert spark.comparisons == duck.comparisons > 0
    assert _persons(tmp_path / "spark.duckdb") == _persons(tmp_path / "duckdb.duckdb")
    if declared:
        con = connect(tmp_path / "spark.duckdb", memory_limit="1GB", threads=2)
        try:
            (weighed,) = con.execute(
                "SELECT count(*) FROM link_one_record_pairs r "
                "JOIN link_pairs p USING (unique_id_l, unique_id_r) "
                "WHERE abs(r.match_weight - p.match_weight) > 1e-9"
            ).fetchall()[0]
        finally:
            con.close()
        assert weighed > 0
    assert (spark.changes.merges, spark.changes.splits) == (duck.changes.merges, duck.changes.splits)


@pytest.mark.spark
def test_a_full_relink_on_spark_weighs_one_record_sources_as_duckdb_does(tmp_path: Path) -> None:
    """Scoring down to 0.01 and the weighing (one_record_sources) on a full link with the
    stored model: Spark's persons and weighed pairs are DuckDB's."""
    generate_place(300, tmp_path / "extracts", seed=11)
    base = tmp_path / "base.duckdb"
    con = connect(base, memory_limit="1GB", threads=2)
    ingest_directory(con, tmp_path / "extracts")
    con.execute(
        "UPDATE sources SET one_record_per_person = true WHERE name IN ('work_coach', 'emergency_department')"
    )
    link_place(con, work_dir=tmp_path / "work", seed=42, mode="full")
    con.execute("CHECKPOINT")
    con.close()

    persons, weights = {}, {}
    backends: tuple[Backend, ...] = ("duckdb", "spark")
    for backend in backends:
        store = tmp_path / f"full-{backend}.duckdb"
        shutil.copy(base, store)
        con = connect(store, memory_limit="1GB", threads=2)
        try:
            link_place(
                con, backend=backend, work_dir=tmp_path / f"work-full-{backend}", mode="full", retrain=False
            )
            rows = con.execute(
                "SELECT p.unique_id_l, p.unique_id_r, p.match_weight FROM link_pairs p "
                "JOIN link_one_record_pairs r USING (unique_id_l, unique_id_r)"
            ).fetchall()
            weights[backend] = {(a, b): w for a, b, w in rows}
            persons[backend] = partition(con)
        finally:
            con.close()
    assert persons["spark"] == persons["duckdb"]
    assert weights["spark"].keys() == weights["duckdb"].keys() and weights["duckdb"]
    assert all(abs(weights["spark"][k] - weights["duckdb"][k]) < 1e-6 for k in weights["duckdb"])
