"""The same model on Apache Spark (local): a small place links as well as on DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from joinedup.insight.evaluate import evaluate_against_truth
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place


@pytest.mark.spark
def test_small_place_links_on_spark(tmp_path: Path) -> None:
    generate_place(250, tmp_path / "extracts", seed=5)
    con = connect(tmp_path / "place.duckdb", memory_limit="1GB", threads=2)
    ingest_directory(con, tmp_path / "extracts")
    result = link_place(con, backend="spark", work_dir=tmp_path / "work", seed=42)
    assert result.backend == "spark"
    assert result.persons > 0 and result.comparisons > 0
    evaluation = evaluate_against_truth(con, tmp_path / "extracts" / "truth.csv")
    assert evaluation.precision >= 0.97
    assert evaluation.recall >= 0.95
    missing = con.execute(
        "SELECT count(*) FROM records r ANTI JOIN person_links l USING (source, record_id)"
    ).fetchone()
    assert missing == (0,)
    con.close()
