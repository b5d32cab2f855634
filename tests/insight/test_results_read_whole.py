"""A DuckDB result is read to its end before the connection does anything else.

DuckDB 2.0 refuses to register a table, or to run ``con.sql``, while a result of the same
connection is unread, and ``fetchone`` leaves a result unread even when it held one row: the
refusal (ResourceInUseException) then surfaces in whichever code next touches the connection,
far from the cause. So the code reads a row with ``store.one``, which reads the whole result;
the first test shows the refusal (if DuckDB drops it, this rule can go), the second keeps
``fetchone`` out of the code."""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from joinedup.insight.store import one

SRC = Path(__file__).resolve().parents[2] / "src" / "joinedup"


def test_duckdb_refuses_other_work_while_a_row_read_by_fetchone_leaves_its_result_unread() -> None:
    con = duckdb.connect()
    con.execute("SELECT 1").fetchone()
    with pytest.raises(duckdb.Error, match="unfinished result"):
        con.register("_t", pa.table({"a": [1]}))
    # store.one reads the result whole: the connection is free again.
    assert one(con.execute("SELECT 1")) == (1,)
    con.register("_t", pa.table({"a": [1]}))
    assert con.sql("SELECT a FROM _t").fetchall() == [(1,)]


def test_no_code_reads_a_row_with_fetchone() -> None:
    found = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path in sorted(SRC.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in {"fetchone", "fetchmany"}
    ]
    assert found == [], "read rows with joinedup.insight.store.one, not fetchone: " + ", ".join(found)
