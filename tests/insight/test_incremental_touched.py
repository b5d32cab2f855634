"""Incremental scoring pairs only where a record is new or changed.

A month's extracts are scored against the records a blocking rule pairs them with; pairs of
two unchanged records among those already carry the stored model's score, so the rules are
narrowed to skip them. The contract: the same persons, fewer comparisons.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from joinedup.insight import incremental
from joinedup.insight.incremental import TOUCHED, touched_only
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.insight.test_incremental import CUTOFFS, write_batches
from tests.support.persons import partition


def test_each_rule_is_narrowed_to_pairs_with_a_touched_record_and_the_model_is_kept() -> None:
    model: dict[str, Any] = {"blocking_rules_to_generate_predictions": [
        {"blocking_rule": "l.surname = r.surname OR l.postcode = r.postcode", "sql_dialect": "duckdb"},
    ], "comparisons": []}  # fmt: skip
    narrowed = touched_only(model)
    rule = narrowed["blocking_rules_to_generate_predictions"][0]["blocking_rule"]
    # The original rule is kept whole in brackets: its OR must not swallow the new condition.
    assert rule == f"(l.surname = r.surname OR l.postcode = r.postcode) AND (l.{TOUCHED} OR r.{TOUCHED})"
    assert model["blocking_rules_to_generate_predictions"][0]["blocking_rule"].startswith("l.surname")


@pytest.mark.slow
def test_the_same_persons_from_fewer_comparisons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate_place(260, tmp_path / "extracts", seed=11, formats="csv")
    first, *_rest, last = write_batches(tmp_path / "extracts", tmp_path / "batches", CUTOFFS)
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, first)
    link_place(con, work_dir=tmp_path / "work", seed=42)  # trains and stores the model
    ingest_directory(con, last)
    con.execute("CHECKPOINT")
    con.close()
    shutil.copy(tmp_path / "place.duckdb", tmp_path / "wide.duckdb")
    outcomes = {}
    for name, narrow in (("place", True), ("wide", False)):
        if not narrow:
            monkeypatch.setattr(incremental, "touched_only", lambda model: model)
        con = connect(tmp_path / f"{name}.duckdb", memory_limit="500MB", threads=1)
        result = link_place(con, work_dir=tmp_path / f"work-{name}", seed=42)
        assert result.mode == "incremental"
        outcomes[name] = (result.comparisons, partition(con))
        con.close()
    assert outcomes["place"][1] == outcomes["wide"][1]
    assert outcomes["place"][0] < outcomes["wide"][0], outcomes
