"""The rules a cohort is made of, and the SQL that selects its persons.

A cohort is a combination of rules, all of which must hold:

- **services**: known to at least ``min_services`` (and at most ``max_services``) services;
- **partners**: known to at least ``min_partners`` (at most ``max_partners``) partners;
- **needs**: at least ``min_needs`` of a set of needs (an empty set means any of the place's
  needs; ``min_needs`` 0 means no need rule) – the rule cohorts had before the others;
- **age band**: in one of the bands, at the age date (below);
- **sex**: one of the sexes recorded;
- **known to**: known to every one of the named partners, and every one of the named sources.

Ages are taken at one date for the whole place: the start of the newest financial year with
events. One date, not the start of whichever year is shown, so that a cohort's members do not
change with the year chosen: two years' sizes of 'aged 18 to 24' subtracted would otherwise
count the persons who had a birthday in between.

A person's records may disagree on date of birth (or sex). A person is placed in an age band
only when every date of birth on their records falls in that same band; otherwise their band
is 'not known' and no age-band rule selects them. The same for sex. A conflict inside one band
changes nothing, and a conflict across bands is a question for the linkage, not a guess here.
"""

from __future__ import annotations

from dataclasses import dataclass

from joinedup.insight.analysis import person_needs_sql

__all__ = ["AGE_BANDS", "SEXES", "Cohort", "age_date_sql", "band_sql", "members_sql"]

# (label, lowest age, highest age or None)
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-49", 35, 49),
    ("50-64", 50, 64),
    ("65+", 65, None),
)
SEXES = {"F": "Female", "M": "Male"}

# The start of the newest financial year with events (1 April), or today's if none.
age_date_sql = """(SELECT coalesce(make_date(CASE WHEN month(max(event_date)) >= 4
    THEN year(max(event_date)) ELSE year(max(event_date)) - 1 END, 4, 1), current_date)
    FROM records)"""


def band_sql(dob: str) -> str:
    """The age band of a date of birth at the age date, as SQL."""
    age = f"date_sub('year', {dob}, {age_date_sql})"
    whens = " ".join(
        f"WHEN {age} >= {lo}" + (f" AND {age} <= {hi}" if hi is not None else "") + f" THEN '{label}'"
        for label, lo, hi in AGE_BANDS
    )
    return f"CASE {whens} END"


@dataclass(frozen=True)
class Cohort:
    name: str
    label: str
    needs: tuple[str, ...]
    min_needs: int  # 0: no need rule
    builtin: bool
    min_services: int | None = None
    max_services: int | None = None
    min_partners: int | None = None
    max_partners: int | None = None
    age_bands: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    known_sources: tuple[str, ...] = ()

    @property
    def needs_only(self) -> bool:
        """A cohort defined by needs alone (as every cohort was before issue 8)."""
        return self.min_needs > 0 and not self.other_rules()

    def other_rules(self) -> list[str]:
        return [r for r, on in (
            ("services", self.min_services is not None or self.max_services is not None),
            ("partners", self.min_partners is not None or self.max_partners is not None),
            ("age", bool(self.age_bands)), ("sex", bool(self.sexes)),
            ("known to", bool(self.partners or self.known_sources)),
        ) if on]  # fmt: skip

    def describe(self) -> list[str]:
        """The rules in words, one per rule."""
        out: list[str] = []
        if self.min_needs > 0:
            which = ", ".join(n.replace("_", " ") for n in self.needs) or "the place's needs"
            out.append(f"at least {self.min_needs} of {which}")
        for what, lo, hi in (("services", self.min_services, self.max_services),
                             ("partners", self.min_partners, self.max_partners)):  # fmt: skip
            if lo is not None or hi is not None:
                if hi is None:
                    out.append(f"known to {lo} or more {what}")
                elif lo is None or lo == 0:
                    out.append(f"known to at most {hi} {what}")
                else:
                    out.append(f"known to {lo} to {hi} {what}")
        if self.age_bands:
            out.append("aged " + " or ".join(self.age_bands))
        if self.sexes:
            out.append(" or ".join(SEXES.get(s, s) for s in self.sexes).lower())
        if self.partners:
            out.append("known to " + " and ".join(self.partners))
        if self.known_sources:
            out.append("known to source " + " and ".join(self.known_sources))
        return out or ["every person"]


def _count_rule(what: str, lo: int | None, hi: int | None) -> tuple[str, list[object]]:
    counted = "l.source" if what == "services" else "s.partner"
    return (
        "SELECT l.person_id FROM person_links l JOIN sources s ON s.name = l.source "
        f"GROUP BY l.person_id HAVING count(DISTINCT {counted}) BETWEEN ? AND ?",
        [lo or 0, hi if hi is not None else 1_000_000],
    )


def members_sql(cohort: Cohort) -> tuple[str, list[object]]:
    """SQL (and parameters) selecting the distinct person_ids of a cohort."""
    parts: list[tuple[str, list[object]]] = []
    if cohort.min_needs > 0:
        if cohort.needs:
            marks = ", ".join("?" for _ in cohort.needs)
            parts.append((
                f"SELECT person_id FROM ({person_needs_sql}) WHERE need IN ({marks}) "
                "GROUP BY person_id HAVING count(*) >= ?", [*cohort.needs, cohort.min_needs],
            ))  # fmt: skip
        else:
            parts.append((
                f"SELECT person_id FROM ({person_needs_sql}) GROUP BY person_id HAVING count(*) >= ?",
                [cohort.min_needs],
            ))  # fmt: skip
    if cohort.min_services is not None or cohort.max_services is not None:
        parts.append(_count_rule("services", cohort.min_services, cohort.max_services))
    if cohort.min_partners is not None or cohort.max_partners is not None:
        parts.append(_count_rule("partners", cohort.min_partners, cohort.max_partners))
    if cohort.age_bands:
        marks = ", ".join("?" for _ in cohort.age_bands)
        parts.append((
            f"SELECT person_id FROM (SELECT l.person_id, {band_sql('r.date_of_birth')} AS band "
            "FROM person_links l JOIN records r USING (source, record_id) "
            "WHERE r.date_of_birth IS NOT NULL) GROUP BY person_id "
            f"HAVING count(DISTINCT band) = 1 AND count(band) = count(*) AND min(band) IN ({marks})",
            list(cohort.age_bands),
        ))  # fmt: skip
    if cohort.sexes:
        marks = ", ".join("?" for _ in cohort.sexes)
        parts.append((
            "SELECT l.person_id FROM person_links l JOIN records r USING (source, record_id) "
            "WHERE r.sex IS NOT NULL GROUP BY l.person_id "
            f"HAVING count(DISTINCT r.sex) = 1 AND min(r.sex) IN ({marks})",
            list(cohort.sexes),
        ))  # fmt: skip
    for column, names in (("s.partner", cohort.partners), ("l.source", cohort.known_sources)):
        if names:
            marks = ", ".join("?" for _ in names)
            parts.append((
                "SELECT l.person_id FROM person_links l JOIN sources s ON s.name = l.source "
                f"WHERE {column} IN ({marks}) GROUP BY l.person_id "
                f"HAVING count(DISTINCT {column}) = ?", [*names, len(names)],
            ))  # fmt: skip
    if not parts:
        return "SELECT DISTINCT person_id FROM person_links", []
    sql = " INTERSECT ".join(f"({p})" for p, _ in parts)
    params = [x for _, ps in parts for x in ps]
    return f"SELECT DISTINCT person_id FROM ({sql})", params  # noqa: S608
