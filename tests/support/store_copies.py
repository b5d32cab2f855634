"""A copy of a linked place's store, so that each test's run starts from the same place."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from joinedup.insight.store import connect


def copy_store(root: Path, name: str) -> duckdb.DuckDBPyConnection:
    """``root/place.duckdb`` copied to ``root/<name>.duckdb``, opened (500 MB, one thread)."""
    shutil.copy(root / "place.duckdb", root / f"{name}.duckdb")
    return connect(root / f"{name}.duckdb", memory_limit="500MB", threads=1)
