"""Cohorts: persons selected by their needs, with their prevalence in the place.

A cohort is a set of needs and a minimum number of them (``min_needs``); an empty set of
needs means 'any of the place's needs'. Severe multiple disadvantage and 'two or more
needs' are built in; a lead or analyst can define more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from joinedup.insight.analysis import needs_of_place, person_needs_sql
from joinedup.insight.normalise import normalise_need
from joinedup.insight.reference_data import national_prevalence
from joinedup.insight.store import one

__all__ = [
    "Cohort",
    "CohortError",
    "cohort_counts",
    "cohort_members_sql",
    "cohorts",
    "define_cohort",
    "delete_cohort",
    "needs_per_person",
    "prevalence",
]


class CohortError(ValueError):
    """A cohort definition that cannot be used."""


@dataclass(frozen=True)
class Cohort:
    name: str
    label: str
    needs: tuple[str, ...]
    min_needs: int
    builtin: bool


def cohorts(con: duckdb.DuckDBPyConnection) -> list[Cohort]:
    rows = con.execute(
        "SELECT name, label, needs, min_needs, builtin FROM cohort_definitions ORDER BY builtin DESC, name"
    ).fetchall()
    return [
        Cohort(r[0], r[1], tuple(n for n in str(r[2]).split(",") if n), int(r[3]), bool(r[4])) for r in rows
    ]


def define_cohort(
    con: duckdb.DuckDBPyConnection, name: str, label: str, needs: list[str], min_needs: int
) -> Cohort:
    slug = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    if not slug:
        raise CohortError("give the cohort a short name")
    clean = sorted({n for n in (normalise_need(x) for x in needs) if n})
    known = set(needs_of_place(con))
    unknown = [n for n in clean if known and n not in known]
    if unknown:
        raise CohortError(
            f"need {unknown[0]!r} is not recorded in this place (needs: {', '.join(sorted(known))})"
        )
    pool = len(clean) if clean else max(1, len(known))
    if not 1 <= min_needs <= pool:
        raise CohortError(f"the minimum number of needs must be between 1 and {pool}")
    existing = one(con.execute("SELECT builtin FROM cohort_definitions WHERE name = ?", [slug]))
    if existing and existing[0]:
        raise CohortError(f"{slug!r} is a built-in cohort; choose another name")
    con.execute(
        "INSERT OR REPLACE INTO cohort_definitions VALUES (?, ?, ?, ?, FALSE)",
        [slug, label.strip() or slug, ",".join(clean), int(min_needs)],
    )
    return Cohort(slug, label.strip() or slug, tuple(clean), int(min_needs), False)


def delete_cohort(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute("DELETE FROM cohort_definitions WHERE name = ? AND NOT builtin", [name])


def cohort_members_sql(cohort: Cohort) -> tuple[str, list[object]]:
    """SQL (and parameters) selecting the person_ids in a cohort."""
    if cohort.needs:
        placeholders = ", ".join("?" for _ in cohort.needs)
        sql = (
            f"SELECT person_id FROM ({person_needs_sql}) WHERE need IN ({placeholders}) "
            "GROUP BY person_id HAVING count(*) >= ?"
        )
        return sql, [*cohort.needs, cohort.min_needs]
    sql = f"SELECT person_id FROM ({person_needs_sql}) GROUP BY person_id HAVING count(*) >= ?"
    return sql, [cohort.min_needs]


def cohort_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Persons in each cohort (unrounded: apply disclosure control before it leaves)."""
    rows = []
    for cohort in cohorts(con):
        sql, params = cohort_members_sql(cohort)
        (n,) = one(con.execute(f"SELECT count(*) FROM ({sql})", params)) or (0,)  # noqa: S608
        rows.append(
            {
                "cohort": cohort.name,
                "label": cohort.label,
                "needs": ", ".join(cohort.needs) or "any",
                "min_needs": cohort.min_needs,
                "persons": int(n),
            }
        )
    return pd.DataFrame(rows, columns=["cohort", "label", "needs", "min_needs", "persons"])


def needs_per_person(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many persons have 1, 2, 3 … needs."""
    return con.execute(
        f"""
        SELECT n_needs, count(*) AS persons FROM (
            SELECT person_id, count(*) AS n_needs FROM ({person_needs_sql}) GROUP BY person_id
        ) GROUP BY n_needs ORDER BY n_needs
        """  # noqa: S608
    ).df()


def prevalence(con: duckdb.DuckDBPyConnection, adult_population: int | None) -> pd.DataFrame:
    """Persons per 1,000 adults in each cohort, beside the national figure where there is one."""
    counts = cohort_counts(con)
    national = {row["cohort"]: row for row in national_prevalence()}
    rates = []
    for row in counts.itertuples():
        nat = national.get(str(row.cohort))
        rates.append(
            {
                "cohort": row.cohort,
                "label": row.label,
                "persons": row.persons,
                "per_1000_adults": (
                    round(1000 * int(str(row.persons)) / adult_population, 2) if adult_population else None
                ),
                "national_per_1000": nat["rate_per_1000"] if nat else None,
                "national_source": (f"{nat['study']}, {nat['period']} ({nat['status']})" if nat else None),
            }
        )
    return pd.DataFrame(
        rates,
        columns=["cohort", "label", "persons", "per_1000_adults", "national_per_1000",
                 "national_source"],
    )  # fmt: skip
