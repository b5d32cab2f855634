"""Reference data a place starts with: unit costs, deflators, built-in cohorts, prevalence.

Seeded into each place's store once; after that the place edits its own copies.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb

__all__ = [
    "BUILTIN_COHORTS", "SERVICES3", "SMD_NEEDS", "national_prevalence", "read_reference",
    "seed_reference",
]  # fmt: skip

# The three systems of 'severe and multiple disadvantage' in Hard Edges (2015).
SMD_NEEDS = ("homelessness", "substance_misuse", "offending")

# name, label, needs (empty = any of the place's needs), minimum number of those needs
BUILTIN_COHORTS: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("smd2", "Severe multiple disadvantage (two or more of homelessness, substance misuse, "
     "offending)", SMD_NEEDS, 2),
    ("smd3", "Severe multiple disadvantage (all three)", SMD_NEEDS, 3),
    ("any2", "Two or more of the place's needs", (), 2),
)  # fmt: skip
# name and label of the built-in cohort of persons known to three or more services
SERVICES3 = ("services3", "Known to three or more services")


@lru_cache(maxsize=8)
def _reference_text(name: str) -> str:
    return resources.files("joinedup.insight").joinpath("reference", name).read_text("utf-8")


def read_reference(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_reference_text(name).splitlines()))


def _financial_year(price_year: str) -> str:
    """'2012/13' (GMCA) → '2012-13' (HM Treasury)."""
    return price_year.strip().replace("/", "-")


def _all_held(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store already holds every reference row (checked in one query, because
    every page of the insight area seeds, and ninety single inserts took 0.15 s)."""
    codes = [row["ucd_code"] for row in read_reference("gmca_unit_costs_selected.csv")]
    years = [row["financial_year"] for row in read_reference("hmt_gdp_deflators.csv")]
    names = [name for name, _label, _needs, _minimum in BUILTIN_COHORTS]
    held = con.execute(
        "SELECT (SELECT count(*) FROM unit_costs WHERE list_contains(?, code)), "
        "(SELECT count(*) FROM deflators WHERE list_contains(?, financial_year)), "
        "(SELECT count(*) FROM cohort_definitions WHERE list_contains(?, name))",
        [codes, years, names],
    ).fetchall()[0]
    return tuple(held) == (len(set(codes)), len(set(years)), len(set(names)))


def seed_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Insert reference rows the place does not hold yet; never overwrite its edits."""
    if _all_held(con):
        return
    for row in read_reference("gmca_unit_costs_selected.csv"):
        con.execute(
            "INSERT INTO unit_costs (code, domain, item, cost_gbp, unit, price_year, agency, "
            "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                row["ucd_code"], row["domain"], row["item"], float(row["cost_gbp"]), row["unit"],
                _financial_year(row["price_year"]) if row["price_year"] else None,
                row["agency_primary"] or None, row["source_edition"],
            ],
        )  # fmt: skip
    for row in read_reference("hmt_gdp_deflators.csv"):
        con.execute(
            "INSERT INTO deflators VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [row["financial_year"], float(row["index"]), row["source"]],
        )
    for name, label, needs, minimum in BUILTIN_COHORTS:
        con.execute(
            "INSERT INTO cohort_definitions (name, label, needs, min_needs, builtin) "
            "VALUES (?, ?, ?, ?, TRUE) ON CONFLICT DO NOTHING",
            [name, label, ",".join(needs), minimum],
        )
    # The insight team's first question, built in: no need rule, three or more services.
    con.execute(
        "INSERT INTO cohort_definitions (name, label, needs, min_needs, builtin, min_services) "
        "VALUES (?, ?, '', 0, TRUE, 3) ON CONFLICT DO NOTHING",
        [SERVICES3[0], SERVICES3[1]],
    )


def national_prevalence() -> list[dict[str, Any]]:
    """Hard Edges' derived England rates per 1,000 working-age adults, for comparison."""
    wanted = {
        "SMD3": "smd3",
        "SMD2+": "smd2",
    }
    rows = []
    for row in read_reference("smd_prevalence_headlines.csv"):
        if not row["rate_per_1000"] or row["geography"] != "England":
            continue
        measure = row["measure"]
        for key, cohort in wanted.items():
            if f"{key} per 1,000" in measure:
                rows.append(
                    {
                        "cohort": cohort,
                        "measure": measure,
                        "rate_per_1000": float(row["rate_per_1000"]),
                        "period": row["period"],
                        "study": row["study"],
                        "status": row["status"],
                    }
                )
    return rows
