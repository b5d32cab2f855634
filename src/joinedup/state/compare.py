"""Places side by side, from their packages alone, ranked only where a difference is real.

Every estimate and interval shown for a survey figure is the one in the place's package,
which is the one on the place's own results page: nothing is re-estimated here.

**Ranks.** A place is ranked above another only when their 95% intervals do not overlap.
That is stricter than a test of the difference at the 5% level (two intervals of equal
width that just fail to overlap mean p ≈ 0.006), and that is on purpose: with many places
there are many pairs, and a looser rule would rank places on noise. It needs nothing but
what each place published, and a reader can check it by eye on the chart. A place's rank
is one more than the number of places clearly above it; when no place clearly differs
from it, it has no rank ("no clear difference").

**Value accounts.** Collaborations differ from place to place, so their accounts are listed
one per collaboration, side by side, not matched by row. The public value return is ranked
among all the accounts by the same rule, on the interval of the account's Monte Carlo
simulation (as its page shows it); the fiscal return has no interval, so it is never ranked.
A withheld account is listed as withheld, with no figure; a package of method version
``joinedup-state/1`` carries no value accounts, and the comparison says so.

**Prevalence intervals.** Persons in a cohort are a count, not a sample, but next year's
count would differ by chance: the interval is the exact Poisson (Garwood) interval used
in public health profiles, widened by the rounding (the true count is anywhere within
half the rounding base of the published one), divided by the place's adults.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import chi2

from joinedup.framework import COMPONENTS
from joinedup.state.load import LoadedPackage
from joinedup.state.schema import SUPPRESSED

__all__ = ["Cell", "Comparison", "Section", "ValueRow", "compare", "rank", "value_rows"]

#: What a place whose package's method version predates value accounts shows instead.
NO_VALUE_VERSION = "No value accounts in this package's method version"


@dataclass
class Cell:
    """One place's figure in one row of the comparison."""

    place: str  # the package's place slug
    value: float | None  # None: hidden, or not published by this place
    lci: float | None = None
    uci: float | None = None
    n: int | None = None
    note: str = ""  # why there is no figure, or the round it comes from
    rank: int | None = None
    clearly_above: int = 0  # places this one is clearly above (by the row's order)
    clearly_below: int = 0
    versus_reference: str = ""  # "above", "below", "no clear difference" or ""

    @property
    def ranked(self) -> bool:
        return self.rank is not None


@dataclass
class Row:
    key: str
    label: str
    cells: list[Cell]
    reference: float | None = None  # England's or the UK's figure, where there is one
    reference_label: str = ""
    higher_is_worse: bool = False


@dataclass
class Section:
    key: str
    title: str
    unit: str  # how to read the figures
    rows: list[Row] = field(default_factory=list)


@dataclass
class ValueRow:
    """One collaboration's value account in the comparison."""

    place: str
    collaboration: str
    name: str
    state: str  # published or withheld
    persons: int | None  # under the place's rule; None when hidden
    headline: str
    effect: Cell
    fiscal: Cell  # fiscal return: no interval, so no rank
    public_value: Cell  # public value return, with its Monte Carlo interval where there is one
    npv: float | None
    payback_years: float | None
    note: str


@dataclass
class PlaceColumn:
    slug: str
    name: str
    adults: int | None
    label: str
    own: bool  # one of the viewer's own places: highlighted


@dataclass
class Comparison:
    places: list[PlaceColumn]
    sections: list[Section]
    problems: list[str]  # packages left out, each naming the package and the problem
    notes: dict[str, list[str]]  # each place's own notes (no rounds yet, …)
    collaborations: dict[str, list[dict[str, Any]]]
    value: list[ValueRow] = field(default_factory=list)
    #: Places whose packages cannot carry value accounts, with why.
    value_notes: dict[str, str] = field(default_factory=dict)


def rank(cells: Sequence[Cell], *, descending: bool = True) -> None:
    """Rank cells with intervals: only where intervals do not overlap (see module)."""
    shown = [c for c in cells if c.value is not None and c.lci is not None and c.uci is not None]
    for c in shown:
        assert c.lci is not None and c.uci is not None
        above = sum(1 for o in shown if o is not c and o.lci is not None and o.lci > c.uci)
        below = sum(1 for o in shown if o is not c and o.uci is not None and o.uci < c.lci)
        c.clearly_above, c.clearly_below = (below, above) if descending else (above, below)
        # Rank 1 is the first by the row's order (highest, or lowest where higher is worse).
        c.rank = 1 + (above if descending else below) if above or below else None


def versus(c: Cell, reference: float | None) -> str:
    if reference is None or c.value is None or c.lci is None or c.uci is None:
        return ""
    if c.lci > reference:
        return "above"
    if c.uci < reference:
        return "below"
    return "no clear difference"


def poisson_rate(persons: int, adults: int, rounding: int) -> tuple[float, float]:
    low_count = max(0, persons - rounding // 2)
    high_count = persons + rounding // 2
    lo = 0.0 if low_count == 0 else float(chi2.ppf(0.025, 2 * low_count)) / 2
    hi = float(chi2.ppf(0.975, 2 * high_count + 2)) / 2
    return 1000 * lo / adults, 1000 * hi / adults


def _latest_round(rows: Iterable[dict[str, Any]]) -> str | None:
    latest: tuple[Any, ...] | None = None
    for r in rows:
        key = (r["opens_on"], r["closes_on"], r["round"])
        if latest is None or key > latest:
            latest = key
    return None if latest is None else str(latest[2])


def _num(value: Any) -> float | None:
    return None if value is None or value == SUPPRESSED else float(value)


def _prevalence(packages: Sequence[LoadedPackage]) -> Section:
    section = Section("prevalence", "Prevalence of multiple disadvantage",
                      "Persons per 1,000 adults, with 95% intervals")
    labels: dict[str, str] = {}
    national: dict[str, float] = {}
    for p in packages:
        for r in p.tables.get("prevalence", []):
            labels.setdefault(r["cohort"], r["label"])
            if isinstance(r.get("national_per_1000"), float):
                national.setdefault(r["cohort"], r["national_per_1000"])
    for cohort, label in labels.items():
        cells = []
        for p in packages:
            row = next((r for r in p.tables.get("prevalence", []) if r["cohort"] == cohort), None)
            if row is None:
                cells.append(Cell(p.slug, None, note="Not published"))
            elif row["persons"] == SUPPRESSED:
                cells.append(Cell(p.slug, None, note="Hidden (too few people)"))
            elif not p.adults or row["per_1000_adults"] is None:
                cells.append(Cell(p.slug, None, n=row["persons"], note="No adult population"))
            else:
                lo, hi = poisson_rate(int(row["persons"]), p.adults, p.rounding)
                cells.append(Cell(p.slug, float(row["per_1000_adults"]), lo, hi, n=row["persons"],
                                  note=row["period"]))
        rank(cells)
        ref = national.get(cohort)
        for c in cells:
            c.versus_reference = versus(c, ref)
        section.rows.append(Row(cohort, label, cells, ref,
                                "England (Hard Edges, 2010/11)" if ref is not None else ""))
    return section


def _readiness(packages: Sequence[LoadedPackage]) -> Section:
    section = Section("readiness", "Readiness by component",
                      "Staff's mean practice score (0 to 100) in each place's latest readiness "
                      "round, with 95% intervals")
    latest = {p.slug: _latest_round(p.tables.get("readiness", [])) for p in packages}
    order = [c.key for c in COMPONENTS]
    keys: dict[str, str] = {}
    for p in packages:
        for r in p.tables.get("readiness", []):
            # Components and the overall score; strands are sums of components.
            if str(r["round"]) == latest[p.slug] and r["kind"] in {"component", "overall"}:
                keys.setdefault(r["line"], r["name"])
    ordered = sorted(keys, key=lambda k: (k != "overall", order.index(k) if k in order else 99, k))
    for key in ordered:
        cells = []
        for p in packages:
            row = next((r for r in p.tables.get("readiness", [])
                        if str(r["round"]) == latest[p.slug] and r["line"] == key), None)
            if latest[p.slug] is None:
                cells.append(Cell(p.slug, None, note="No readiness round yet"))
            elif row is None or row["practice"] == SUPPRESSED or row["practice"] is None:
                cells.append(Cell(p.slug, None, note="Hidden (too few people)"))
            else:
                cells.append(Cell(p.slug, _num(row["practice"]), _num(row["practice_lci"]),
                                  _num(row["practice_uci"]),
                                  n=row["n"] if isinstance(row["n"], int) else None,
                                  note=row["round_title"]))
        rank(cells)
        section.rows.append(Row(key, keys[key], cells))
    return section


def _citizen(packages: Sequence[LoadedPackage]) -> Section:
    section = Section("citizen", "What residents say",
                      "Weighted share of residents in each place's latest citizen voice round, "
                      "with 95% intervals")
    latest = {p.slug: _latest_round(p.tables.get("citizen", [])) for p in packages}
    labels: dict[str, tuple[str, bool, float | None]] = {}
    for p in packages:
        for r in p.tables.get("citizen", []):
            if str(r["round"]) == latest[p.slug] and r["measure"] not in labels:
                labels[r["measure"]] = (r["label"], bool(r["higher_is_worse"]), _num(r["national"]))
    for key, (label, worse, national) in labels.items():
        cells = []
        for p in packages:
            row = next((r for r in p.tables.get("citizen", [])
                        if str(r["round"]) == latest[p.slug] and r["measure"] == key), None)
            if latest[p.slug] is None:
                cells.append(Cell(p.slug, None, note="No citizen voice round yet"))
            elif row is None or row["estimate"] in (SUPPRESSED, None):
                cells.append(Cell(p.slug, None, note="Hidden (too few people)"))
            else:
                cells.append(Cell(p.slug, _num(row["estimate"]), _num(row["lci"]), _num(row["uci"]),
                                  n=row["n"] if isinstance(row["n"], int) else None,
                                  note=row["round_title"]))
        # Rank 1 is the best for residents: the lowest share where a higher one is worse.
        rank(cells, descending=not worse)
        for c in cells:
            c.versus_reference = versus(c, national)
        section.rows.append(Row(key, label, cells, national,
                                "UK adults" if national is not None else "", worse))
    return section


def _missing(value: Any, withheld: bool) -> str:
    """Why a return has no figure ("" when it has one)."""
    if withheld:
        return "Withheld"
    if value == SUPPRESSED:
        return "Hidden (a measure rests on too few events)"
    return "" if value is not None else "Not published"


def value_rows(packages: Sequence[LoadedPackage]) -> list[ValueRow]:
    """Every published or withheld account of every place; public value returns ranked."""
    out = []
    for p in packages:
        for r in p.tables.get("value_accounts", []):
            withheld = r["state"] == "withheld"
            note = str(r.get("note") or "")
            if withheld:
                note = note or "Withheld"
            out.append(ValueRow(
                p.slug, r["collaboration"], r["name"], r["state"],
                r["programme_persons"] if isinstance(r.get("programme_persons"), int) else None,
                str(r.get("headline_measure") or ""),
                Cell(p.slug, _num(r.get("effect")), _num(r.get("effect_lci")),
                     _num(r.get("effect_uci")), note=str(r.get("method") or "")),
                Cell(p.slug, _num(r.get("fiscal_return")),
                     note=_missing(r.get("fiscal_return"), withheld)),
                Cell(p.slug, _num(r.get("public_value_return")),
                     _num(r.get("public_value_return_lci")), _num(r.get("public_value_return_uci")),
                     note=_missing(r.get("public_value_return"), withheld)),
                _num(r.get("npv")), _num(r.get("payback_years")), note))
    rank([v.public_value for v in out])
    return out


def compare(packages: Sequence[LoadedPackage], own: Iterable[str] = ()) -> Comparison:
    """Compare the packages that passed their checks; the others are listed with why."""
    mine = set(own)
    good = [p for p in packages if p.ok]
    problems = [msg for p in packages if not p.ok for msg in p.problems]
    # Two packages of one place: the later in the list wins, and the reader is told.
    by_slug: dict[str, LoadedPackage] = {}
    for p in good:
        if p.slug in by_slug:
            problems.append(f"{by_slug[p.slug].label}: left out, because {p.label} is a newer "
                            f"package of the same place ({p.name})")
        by_slug[p.slug] = p
    good = list(by_slug.values())
    places = [PlaceColumn(p.slug, p.name, p.adults, p.label, p.slug in mine) for p in good]
    sections = [_prevalence(good), _readiness(good), _citizen(good)]
    collabs = {p.slug: [{**c, "measures": [m for m in p.tables.get("measures", [])
                                            if m["collaboration"] == c["collaboration"]]}
                        for c in p.tables.get("collaborations", [])] for p in good}
    notes = {p.slug: [str(n) for n in p.meta.get("notes", [])] for p in good}
    value_notes = {p.slug: NO_VALUE_VERSION for p in good if "value_accounts" in p.missing}
    return Comparison(places, sections, problems, notes, collabs, value_rows(good), value_notes)
