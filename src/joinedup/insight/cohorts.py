"""Cohorts: persons selected by rules (services, partners, needs, age band, sex, known to),
with their prevalence in the place.

The rules are in :mod:`joinedup.insight.cohort_rules`. Severe multiple disadvantage, 'two or
more needs' and 'known to three or more services' are built in; a lead or analyst can define
more, and delete the ones they defined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import pandas as pd

from joinedup.insight.analysis import needs_of_place, person_needs_sql
from joinedup.insight.cohort_rules import AGE_BANDS, SEXES, Cohort, members_sql
from joinedup.insight.normalise import normalise_need
from joinedup.insight.reference_data import national_prevalence
from joinedup.insight.store import one, transaction

__all__ = [
    "Cohort",
    "CohortError",
    "cohort_counts",
    "cohort_members_sql",
    "cohorts",
    "define_cohort",
    "delete_cohort",
    "filter_cohort",
    "find_cohort",
    "needs_per_person",
    "persons_in",
    "prevalence",
]

_COLUMNS = ("name, label, needs, min_needs, builtin, min_services, max_services, min_partners, "
            "max_partners, age_bands, sexes, partners, known_sources")  # fmt: skip


class CohortError(ValueError):
    """A cohort definition that cannot be used; ``field`` names the rule at fault."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


def _split(text: object, sep: str = ",") -> tuple[str, ...]:
    return tuple(x for x in str(text or "").split(sep) if x)


def _cohort(r: Sequence[object]) -> Cohort:
    def opt(v: object) -> int | None:
        return None if v is None else int(str(v))

    return Cohort(
        str(r[0]), str(r[1]), _split(r[2]), int(str(r[3])), bool(r[4]), opt(r[5]), opt(r[6]),
        opt(r[7]), opt(r[8]), _split(r[9]), _split(r[10]), _split(r[11], "\t"),
        _split(r[12], "\t"),
    )  # fmt: skip


def cohorts(con: duckdb.DuckDBPyConnection) -> list[Cohort]:
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM cohort_definitions ORDER BY builtin DESC, name"  # noqa: S608
    ).fetchall()
    return [_cohort(r) for r in rows]


def find_cohort(con: duckdb.DuckDBPyConnection, name: str) -> Cohort | None:
    row = one(con.execute(f"SELECT {_COLUMNS} FROM cohort_definitions WHERE name = ?", [name]))  # noqa: S608
    return _cohort(row) if row else None


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")[:40]


def _range(what: str, lo: int | None, hi: int | None, most: int) -> None:
    if lo is not None and lo < 0 or hi is not None and hi < 1:
        raise CohortError(f"the number of {what} must be a positive whole number", f"min_{what}")
    if lo is not None and hi is not None and hi < lo:
        raise CohortError(f"the most {what} cannot be fewer than the fewest", f"max_{what}")
    if lo is not None and most and lo > most:
        raise CohortError(f"the place has only {most} {what}; choose {most} or fewer", f"min_{what}")


def define_cohort(
    con: duckdb.DuckDBPyConnection,
    name: str,
    label: str,
    needs: Sequence[str] = (),
    min_needs: int = 0,
    *,
    min_services: int | None = None,
    max_services: int | None = None,
    min_partners: int | None = None,
    max_partners: int | None = None,
    age_bands: Sequence[str] = (),
    sexes: Sequence[str] = (),
    partners: Sequence[str] = (),
    known_sources: Sequence[str] = (),
) -> Cohort:
    """Check every rule against this place's store, then save (all or nothing).

    A partner, source or need that this place's store does not hold – another place's, or a
    misspelling – is an error on that rule. A rule that selects nobody is saved: its page
    says so."""
    slug = slug_of(name)
    if not slug:
        raise CohortError("give the cohort a short name", "name")
    clean = sorted({n for n in (normalise_need(x) for x in needs) if n})
    known = set(needs_of_place(con))
    unknown = [n for n in clean if n not in known]
    if unknown:
        raise CohortError(
            f"need {unknown[0]!r} is not recorded in this place (needs: {', '.join(sorted(known))})",
            "needs",
        )
    if clean and not min_needs:
        min_needs = 1
    if min_needs:
        pool = len(clean) if clean else max(1, len(known))
        if not 1 <= min_needs <= pool:
            raise CohortError(f"the minimum number of needs must be between 1 and {pool}", "min_needs")
    place_partners = {r[0] for r in con.execute("SELECT DISTINCT partner FROM sources").fetchall()}
    place_sources = {r[0] for r in con.execute("SELECT name FROM sources").fetchall()}
    for wanted, held, what in (
        (partners, place_partners, "partner"),
        (known_sources, place_sources, "source"),
    ):
        missing = [p for p in wanted if p not in held]
        if missing:
            raise CohortError(f"{missing[0]!r} is not a {what} of this place", "partners")
    _range("services", min_services, max_services, len(place_sources))
    _range("partners", min_partners, max_partners, len(place_partners))
    bands = [b[0] for b in AGE_BANDS]
    bad = [b for b in age_bands if b not in bands]
    if bad:
        raise CohortError(f"{bad[0]!r} is not an age band (bands: {', '.join(bands)})", "age_bands")
    bad = [s for s in sexes if s not in SEXES]
    if bad:
        raise CohortError(f"{bad[0]!r} is not a sex recorded (F or M)", "sexes")
    cohort = Cohort(
        slug, label.strip() or name.strip() or slug, tuple(clean), int(min_needs), False,
        min_services, max_services, min_partners, max_partners,
        tuple(b for b in bands if b in age_bands), tuple(sorted(set(sexes))),
        tuple(sorted(set(partners))), tuple(sorted(set(known_sources))),
    )  # fmt: skip
    if not cohort.min_needs and not cohort.other_rules():
        raise CohortError("choose at least one rule: a cohort of everyone is the place itself", "name")
    with transaction(con):
        existing = one(con.execute("SELECT builtin FROM cohort_definitions WHERE name = ?", [slug]))
        if existing and existing[0]:
            raise CohortError(f"{slug!r} is a built-in cohort; choose another name", "name")
        con.execute("DELETE FROM cohort_definitions WHERE name = ?", [slug])
        con.execute(
            f"INSERT INTO cohort_definitions ({_COLUMNS}) VALUES (?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [slug, cohort.label, ",".join(cohort.needs), cohort.min_needs, min_services, max_services,
             min_partners, max_partners, ",".join(cohort.age_bands), ",".join(cohort.sexes),
             "\t".join(cohort.partners), "\t".join(cohort.known_sources)],
        )  # fmt: skip
    return cohort


def delete_cohort(con: duckdb.DuckDBPyConnection, name: str) -> Cohort:
    """Delete a cohort the place defined; built-in ones stay."""
    cohort = find_cohort(con, name)
    if cohort is None:
        raise CohortError(f"there is no cohort {name!r}", "name")
    if cohort.builtin:
        raise CohortError(f"{cohort.label} is built in and cannot be deleted", "name")
    con.execute("DELETE FROM cohort_definitions WHERE name = ? AND NOT builtin", [name])
    return cohort


def cohort_members_sql(cohort: Cohort) -> tuple[str, list[object]]:
    """SQL (and parameters) selecting the person_ids in a cohort."""
    return members_sql(cohort)


def persons_in(con: duckdb.DuckDBPyConnection, cohort_name: str) -> list[str]:
    """The person_ids of a cohort, sorted (person-level: analysts only, audited by the caller).
    Raises CohortError for a cohort the place does not have."""
    cohort = find_cohort(con, cohort_name)
    if cohort is None:
        raise CohortError(f"there is no cohort {cohort_name!r}", "cohort")
    sql, params = members_sql(cohort)
    return [r[0] for r in con.execute(f"SELECT person_id FROM ({sql}) ORDER BY person_id", params).fetchall()]  # noqa: S608


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
                "needs": ", ".join(cohort.needs) or ("any" if cohort.min_needs else "–"),
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


FILTER_NAME = "_filter"


def filter_cohort(
    con: duckdb.DuckDBPyConnection,
    *,
    partner: str = "",
    need: str = "",
    age_band: str = "",
    sex: str = "",
) -> Cohort | None:
    """The dashboard's filters as a cohort made for the request (None when no filter is set).
    A value this place does not hold – another place's partner, an unknown need – raises
    CohortError naming the filter."""
    partner, need, age_band, sex = (v.strip() for v in (partner, need, age_band, sex))
    if not any((partner, need, age_band, sex)):
        return None
    if partner and not one(con.execute("SELECT 1 FROM sources WHERE partner = ?", [partner])):
        raise CohortError(f"{partner!r} is not a partner of this place", "partner")
    if need and need not in needs_of_place(con):
        raise CohortError(f"{need!r} is not a need recorded in this place", "need")
    if age_band and age_band not in [b[0] for b in AGE_BANDS]:
        raise CohortError(f"{age_band!r} is not an age band", "age_band")
    if sex and sex not in SEXES:
        raise CohortError(f"{sex!r} is not a sex recorded (F or M)", "sex")
    return Cohort(
        FILTER_NAME, "Filtered", (need,) if need else (), 1 if need else 0, False,
        age_bands=(age_band,) if age_band else (), sexes=(sex,) if sex else (),
        partners=(partner,) if partner else (),
    )  # fmt: skip
