"""Whole-place operations used by the CLI, the demo and benchmarks: ingest a directory of
extracts with their mappings, then link.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb

from joinedup.insight.block_limits import DEFAULT_MAX_BLOCK
from joinedup.insight.ingest import IngestReport, ingest_file
from joinedup.insight.link import LinkResult, link_place
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import one, open_store

__all__ = ["explain_dir", "ingest_directory", "load_synthetic_place", "work_dir"]

logger = logging.getLogger(__name__)


def work_dir(settings: Any, place_slug: str) -> Path:
    return Path(settings.insight_dir) / f"{place_slug}-work"


def explain_dir(settings: Any, place_slug: str) -> Path:
    """Where Splink's offline HTML explanations of the latest run are written."""
    return Path(settings.insight_dir) / f"{place_slug}-explain"


def ingest_directory(con: duckdb.DuckDBPyConnection, directory: Path) -> list[IngestReport]:
    """Ingest every extract that has a mapping of the same stem beside it."""
    reports = []
    for mapping in sorted(directory.glob("*.toml")):
        extract = next(
            (
                p
                for p in sorted(directory.glob(f"{mapping.stem}.*"))
                if p.suffix.lower() in {".csv", ".xlsx", ".parquet", ".tsv", ".txt"}
            ),
            None,
        )
        if extract is not None:
            reports.append(ingest_file(con, extract, mapping))
    return reports


def store_options(settings: Any) -> dict[str, Any]:
    return {
        "memory_limit": getattr(settings, "duckdb_memory_limit", "2GB"),
        "threads": getattr(settings, "duckdb_threads", 2),
    }


def link_with_settings(
    con: duckdb.DuckDBPyConnection, settings: Any, place_slug: str, **kwargs: Any
) -> LinkResult:
    return link_place(
        con,
        work_dir=work_dir(settings, place_slug),
        explain_dir=kwargs.pop("explain_dir", explain_dir(settings, place_slug)),
        max_block=kwargs.pop("max_block", getattr(settings, "link_max_block", DEFAULT_MAX_BLOCK)),
        **store_options(settings),
        **kwargs,
    )


def load_synthetic_place(place_slug: str, settings: Any, *, people: int, seed: int) -> None:
    """Generate, ingest and link a synthetic place. Idempotent: identical extracts are
    no-ops on ingest, and linking is skipped when nothing changed since the last run."""
    from joinedup.synth.insight import generate_place

    extracts = Path(settings.insight_dir) / f"{place_slug}-extracts"
    if not (extracts / "truth.csv").exists():
        generate_place(people, extracts, seed=seed)
    with open_store(Path(settings.insight_dir), place_slug, **store_options(settings)) as con:
        seed_reference(con)
        reports = ingest_directory(con, extracts)
        changed = any(not r.unchanged for r in reports)
        (done,) = one(con.execute("SELECT count(*) FROM link_runs WHERE status = 'done'")) or (0,)
        if changed or not done:
            link_with_settings(con, settings, place_slug, seed=seed)
