"""Write a place's figures as a Frictionless Data Package, validated before it is written.

The package is a directory: ``datapackage.json`` and one CSV per table of
:mod:`joinedup.state.schema`. It is built in a temporary directory beside the target,
validated with the ``frictionless`` library (each CSV against its Table Schema) and by
:func:`joinedup.state.load.check_package` (the disclosure rule: no hidden cell, nothing
unrounded), and only then moved into place: a package that fails is never half-written.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joinedup.csvsafe import SafeWriter
from joinedup.insight.disclosure import DisclosureRule
from joinedup.state.figures import PlaceFigures
from joinedup.state.schema import METHOD, TABLES, table_schema

__all__ = ["PackageError", "PlaceMeta", "descriptor", "write_package"]


class PackageError(ValueError):
    """A package that could not be written or does not validate."""


@dataclass(frozen=True)
class PlaceMeta:
    slug: str
    name: str
    adult_population: int | None
    rule: DisclosureRule
    min_group_size: int


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def table_csv(name: str, rows: list[dict[str, Any]]) -> str:
    spec = next(t for t in TABLES if t.name == name)
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writeheader([f.name for f in spec.fields])
    for row in rows:
        writer.writerow([_cell(row.get(f.name)) for f in spec.fields])
    return out.getvalue()


def descriptor(meta: PlaceMeta, figures: PlaceFigures, created: datetime | None = None
               ) -> dict[str, Any]:
    """``datapackage.json``: the tables with their schemas, and what every figure rests on."""
    when = (created or datetime.now(UTC)).replace(microsecond=0)
    rule = meta.rule
    return {
        "name": f"joinedup-state-{meta.slug}",
        "title": f"State of collaboration: {meta.name}",
        "description": (
            "Disclosure-controlled aggregates of a place's collaboration, published by "
            "joinedup: prevalence of multiple disadvantage, persons known to several "
            "services, demand and cost per financial year, staff readiness and citizen "
            "measures per survey round, collaborations and their public value accounts as "
            "a viewer reads them. No person-level record, and no figure the place's "
            "disclosure rule hides."
        ),
        "version": "2.0.0",
        "created": when.isoformat().replace("+00:00", "Z"),
        "licenses": [{"name": "OGL-UK-3.0",
                      "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
                      "title": "Open Government Licence v3.0"}],
        "joinedup": {
            "method": METHOD,
            "place": {"slug": meta.slug, "name": meta.name,
                      "adult_population": meta.adult_population,
                      "adult_population_source": "ONS mid-year estimate of adults, as the "
                                                 "place entered it"},
            "periods": {
                "insight": figures.years,
                "insight_note": "Demand and cost are for whole financial years (April to "
                                "March) only; prevalence and persons known to services span "
                                "the financial years with records.",
                "surveys": "Each survey figure carries its round and the round's dates.",
            },
            "disclosure": {
                "threshold": rule.threshold,
                "rounding": rule.rounding,
                "money_rounding": 100,
                "min_group_size": meta.min_group_size,
                "description": rule.describe() + (
                    f" Survey results are shown only for groups of at least "
                    f"{meta.min_group_size} people."),
                "suppressed_marker": "*",
            },
            "notes": figures.notes,
        },
        "resources": [
            {"name": t.name, "path": t.path, "title": t.title, "description": t.description,
             "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv",
             "encoding": "utf-8", "schema": table_schema(t)}
            for t in TABLES
        ],
    }


def frictionless_errors(directory: Path) -> list[str]:
    """What the ``frictionless`` library finds wrong with the package in ``directory``."""
    from frictionless import Package, system

    # A package's CSV paths must stay inside its directory: trusted=False refuses absolute
    # paths and "..", so a package cannot make the reader open another file.
    try:
        with system.use_context(trusted=False):
            package = Package(str(directory / "datapackage.json"))
            report = package.validate()
    except Exception as exc:  # frictionless raises its own errors for a bad descriptor
        return [f"the descriptor is not a valid data package: {exc}"]
    problems = []
    for task in report.tasks:
        for err in task.errors:
            where = f" in row {err.row_number}" if getattr(err, "row_number", None) else ""
            problems.append(f"{task.name}.csv{where}: {err.message}")
    for err in report.errors:
        problems.append(err.message)
    return problems


def write_package(meta: PlaceMeta, figures: PlaceFigures, out: Path,
                  created: datetime | None = None) -> Path:
    """Write the package to the directory ``out`` (replacing a package already there)."""
    from joinedup.state.load import check_package

    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / "datapackage.json").exists():
        raise PackageError(f"{out} is not empty and holds no package: choose an empty directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".package-", dir=out.parent))
    try:
        for t in TABLES:
            (work / t.path).write_text(table_csv(t.name, figures.tables.get(t.name, [])),
                                       encoding="utf-8")
        (work / "datapackage.json").write_text(
            json.dumps(descriptor(meta, figures, created), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
        problems = frictionless_errors(work)
        loaded = check_package(work, label=meta.slug)
        problems += loaded.problems
        if problems:
            raise PackageError("the package does not validate: " + "; ".join(problems[:5]))
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return out
