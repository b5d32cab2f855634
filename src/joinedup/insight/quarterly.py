"""Demand and cost by financial quarter, per service and per cohort, for the last quarters.

Quarters are fixed periods (April to June is Q1), never a range a viewer chooses, and each
lies inside one financial year. The dashboard already publishes each year's demand per
service, partner and cohort, so a year's four quarters add up to figures a viewer can see:
the year minus three shown quarters would give the fourth. Each financial year's quarters
are therefore controlled as one family *with that year's dashboard lines*
(:mod:`joinedup.insight.disclosure_family`): the cells are the events of each (service,
cohort memberships, quarter) and the lines are both the year's published totals and every
quarter figure shown here. A year line the dashboard hides is hidden here too; one it shows
is *kept* (the audit hides quarter cells rather than it), and in the rare case that the family
must hide it all the same, every quarter figure touching it is withheld, since the dashboard
still shows the year.

A family covers one financial year whatever window is on screen, so as the window of the
last eight quarters moves, a quarter keeps the same controlled figures (until the data
change, as the dashboard's do). Money follows the dashboard: one service's cost is rounded
to the rounding base times its unit cost, and a line of several services costs the sum of
its services' costs, hidden when any of them is. Analysts see exact figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from joinedup.insight import cohort_figures, controlled, demand, figure_cache
from joinedup.insight import cohorts as cohort_mod
from joinedup.insight.cohort_rules import Cohort
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import Line, control_family
from joinedup.insight.disclosure_family import Known
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.periods import FinancialYear
from joinedup.insight.store import one

__all__ = ["Quarter", "QuarterRow", "Quarterly", "Cell", "last_quarters", "quarterly_demand"]

_STARTS = {1: 4, 2: 7, 3: 10, 4: 1}  # first month of each financial quarter
# A line's key: scope (None for the whole place), kind, partner, service, quarter (0: the year).
Key = tuple[str | None, str, str, str, int]


@dataclass(frozen=True, order=True)
class Quarter:
    year: FinancialYear
    number: int  # 1 (April to June) .. 4 (January to March)

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year.label}"

    @property
    def start(self) -> date:
        return date(self.year.first + (self.number == 4), _STARTS[self.number], 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return (
            Quarter(self.year, self.number + 1)
            if self.number < 4
            else Quarter(FinancialYear(self.year.first + 1), 1)
        )

    def previous(self) -> Quarter:
        return (
            Quarter(self.year, self.number - 1)
            if self.number > 1
            else Quarter(FinancialYear(self.year.first - 1), 4)
        )

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(FinancialYear.containing(day), (day.month - 4) % 12 // 3 + 1)


def last_quarters(con: duckdb.DuckDBPyConnection, n: int = 8) -> list[Quarter]:
    """The last ``n`` quarters, oldest first, ending with the newest quarter with events."""
    row = one(con.execute("SELECT max(event_date) FROM records"))
    if not row or row[0] is None:
        return []
    out = [Quarter.containing(row[0])]
    while len(out) < n:
        out.insert(0, out[0].previous())
    return out


@dataclass(frozen=True)
class Cell:
    persons: int | None
    events: int | None
    cost: float | None
    # Where a cohort's cost is hidden because some of its services' are: the cost of the
    # services still shown, so that a board reads "at least" rather than nothing. Each of
    # those parts is published as a line of this family, so their sum tells nothing new.
    cost_floor: float | None = None


@dataclass
class QuarterRow:
    key: str  # the service, or the cohort's name ("all" for everyone)
    label: str
    partner: str  # the service's partner; "" for a cohort
    cells: list[Cell]  # one per quarter of the window


@dataclass
class Quarterly:
    quarters: list[Quarter]
    services: list[QuarterRow]
    cohorts: list[QuarterRow]  # everyone first, then each cohort the dashboard uses
    exact: bool
    price_year: str


def _dashboard_knowns(
    cells: Sequence[dict[str, object]], shown: cohort_figures.DemandFamily, defined: Sequence[Cohort],
    rule: DisclosureRule,
) -> list[Known]:
    """What the dashboard's year tells a viewer about this year's quarter cells, as its own
    audit assumes a viewer knows: each year cell it shows (a service and a string of cohort
    memberships) rounded, and under each line it shows, the rounded sum of the cells it hides.
    A year cell is the sum of its quarter cells, so each bounds a sum of their true values."""
    year = shown.service_rows
    if year.empty or not shown.cells_hidden:
        return []
    half = rule.rounding / 2
    ids: dict[tuple[str, str, str], tuple[int, ...]] = {}
    for i, c in enumerate(cells):
        key = (str(c["partner"]), str(c["service"]), str(c["bits"]))
        ids[key] = (*ids.get(key, ()), i)
    keys = [(str(p), str(s), str(b))
            for p, s, b in zip(year["partner"], year["service"], year["bits"], strict=True)]  # fmt: skip
    rounded = [rule.round(int(e)) for e in year["events"]]
    hidden = shown.cells_hidden
    out = [Known(ids[key], rounded[j] - half, rounded[j] + half, f"dashboard cell {key}")
           for j, key in enumerate(keys) if not hidden[j] and key in ids]  # fmt: skip
    for scope, k in [(None, None), *((c.name, k) for k, c in enumerate(defined))]:
        breakdown = shown.place if scope is None else shown.cohorts.get(scope)
        if breakdown is None:
            continue
        lines = [("service", str(r["partner"]), str(r["service"]), r["events"]) for r in breakdown.services]
        lines += [("partner", str(r["partner"]), "", r["events"]) for r in breakdown.partners]
        lines.append(("total", "", "", breakdown.total.get("events")))
        for kind, partner, service, value in lines:
            inside = [j for j, (p, s, b) in enumerate(keys)
                      if (k is None or b[k] == "1") and (kind == "total" or p == partner)
                      and (kind != "service" or s == service)]  # fmt: skip
            under = tuple(i for j in inside if hidden[j] for i in ids.get(keys[j], ()))
            if value is None or not under:
                continue
            mass = float(str(value)) - sum(rounded[j] for j in inside if not hidden[j])
            name = f"dashboard {scope or 'place'} {kind} {partner} {service}"
            out.append(Known(under, mass - half, mass + half, name))
    return out


def _year_figures(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    fy: FinancialYear,
    price_year: str,
    defined: Sequence[Cohort],
) -> tuple[dict[Key, Cell], dict[Key, Cell]]:
    """Every quarter figure of one financial year, controlled and exact, keyed by line."""
    rule = ctx.rule
    bits_sql, bit_params = cohort_figures._bits_sql(defined)
    cells: list[dict[str, object]] = []
    scope_persons: dict[tuple[int, str], int] = {}  # (quarter, bits) → distinct persons
    for number in range(1, 5):
        q = Quarter(fy, number)
        events_sql, event_params = cohort_figures._costed_sql(price_year, q.start, q.end)
        params = [*bit_params, *event_params]
        rows = con.execute(
            f"""
            WITH bits AS ({bits_sql})
            SELECT e.partner, e.service, b.bits, count(DISTINCT e.person_id), count(*),
                   sum(e.cost), max(e.cost)
            FROM ({events_sql}) e JOIN bits b USING (person_id) GROUP BY ALL ORDER BY ALL
            """,  # noqa: S608
            params,
        ).fetchall()
        cells += [{"partner": str(p), "service": str(s), "bits": str(b), "q": number, "persons": int(n),
                   "events": int(e), "cost": None if c is None else float(c),
                   "unit": 1.0 if u is None else float(u)} for p, s, b, n, e, c, u in rows]  # fmt: skip
        for b, n in con.execute(
            f"WITH bits AS ({bits_sql}) SELECT b.bits, count(DISTINCT e.person_id) "  # noqa: S608
            f"FROM ({events_sql}) e JOIN bits b USING (person_id) GROUP BY ALL",
            params,
        ).fetchall():
            scope_persons[(number, str(b))] = int(n)
    if not cells:
        return {}, {}
    # What the dashboard publishes for this year: its hidden lines stay hidden here.
    shown = controlled.demand_figures(con, ctx, price_year, demand.Period(fy.start, fy.end))
    lines: list[Line] = []
    keys: list[Key] = []
    small: list[bool] = []
    who: list[int] = []
    scopes = [(None, None), *((c.name, k) for k, c in enumerate(defined))]
    for scope, k in scopes:
        breakdown = shown.place if scope is None else shown.cohorts.get(scope)
        ids = [i for i, c in enumerate(cells) if k is None or str(c["bits"])[k] == "1"]
        year_shown: dict[tuple[str, str, str], object] = {}
        if breakdown is not None:
            year_shown |= {
                ("service", str(r["partner"]), str(r["service"])): r["events"] for r in breakdown.services
            }
            year_shown |= {("partner", str(r["partner"]), ""): r["events"] for r in breakdown.partners}
            year_shown[("total", "", "")] = breakdown.total.get("events")
        found = {("service", str(cells[i]["partner"]), str(cells[i]["service"])) for i in ids}
        found |= {("partner", str(cells[i]["partner"]), "") for i in ids} | {("total", "", "")}
        # Sorted, so that a scope's services come before its total (whose cost sums theirs).
        for kind, partner, service in sorted(found):
            for number in range(0, 5):
                part = tuple(i for i in ids if (kind != "service" or cells[i]["service"] == service)
                             and (kind == "total" or cells[i]["partner"] == partner)
                             and (number == 0 or cells[i]["q"] == number))  # fmt: skip
                if not part or (kind == "partner" and number):  # no partner figures by quarter
                    continue
                if number == 0:
                    persons = 0
                    hidden = year_shown.get((kind, partner, service)) is None
                elif kind == "service":
                    persons = sum(int(str(cells[i]["persons"])) for i in part)
                    hidden = rule.is_small(persons)
                else:
                    persons = sum(n for (qn, b), n in scope_persons.items()
                                  if qn == number and (k is None or b[k] == "1"))  # fmt: skip
                    hidden = rule.is_small(persons)
                lines.append(Line(part, f"{scope or 'place'} {kind} {partner} {service} q{number}"))
                keys.append((scope, kind, partner, service, number))
                small.append(hidden)
                who.append(persons)
    quarter_lines = [li for li, key in enumerate(keys) if key[4]]
    sub_small = [small[li] for li in quarter_lines]
    cohort_figures._hide_small_differences(
        [lines[li] for li in quarter_lines],
        [(False, keys[li][0], f"{keys[li][1]} q{keys[li][4]}", keys[li][2], keys[li][3])
         for li in quarter_lines],
        [who[li] for li in quarter_lines], sub_small, rule,
    )  # fmt: skip
    for li, flag in zip(quarter_lines, sub_small, strict=True):
        small[li] = flag
    primary = [rule.is_small(int(str(c["persons"]))) for c in cells]
    # The dashboard's shown years are kept: the audit hides quarter cells, not them.
    kept = [key[4] == 0 and not small[li] for li, key in enumerate(keys)]
    true_events = [int(str(c["events"])) for c in cells]
    known = _dashboard_knowns(cells, shown, defined, rule)
    family = control_family(true_events, lines, rule, primary, small_lines=small, kept_lines=kept,
                            cells_unpublished=True, known=known)  # fmt: skip
    totals = list(family.totals)
    # A year the dashboard shows that the family still hid (every non-zero cell of it hidden
    # and too few events between them): withhold every quarter figure touching it.
    for li, key in enumerate(keys):
        if key[4] == 0 and not small[li] and totals[li] is None:
            touched = set(lines[li].cells)
            for lj in quarter_lines:
                if touched & set(lines[lj].cells):
                    totals[lj] = None
    published: dict[Key, Cell] = {}
    exact: dict[Key, Cell] = {}
    for li in quarter_lines:  # services come before each scope's total (sorted above)
        key, part = keys[li], lines[li].cells
        true = [float(str(cells[i]["cost"])) for i in part if cells[i]["cost"] is not None]
        exact[key] = Cell(
            who[li], sum(int(str(cells[i]["events"])) for i in part), sum(true) if true else None
        )
        events = totals[li]
        if key[1] == "service":
            unit = max(float(str(cells[i]["unit"])) for i in part)
            cost = None if events is None or not true else rule.round_money(sum(true), unit)
        else:
            parts: list[dict[str, object]] = [
                {"events": c.events, "cost": c.cost} for kk, c in published.items()
                if kk[0] == key[0] and kk[1] == "service" and kk[4] == key[4]
            ]  # fmt: skip
            cost = cohort_figures._sum_cost(events, parts)
        floor = None
        if key[1] != "service" and cost is None and events is not None:
            floor = sum(float(str(p["cost"])) for p in parts
                        if p["events"] is not None and p["cost"] is not None) or None  # fmt: skip
        shown_persons = None if events is None or rule.is_small(who[li]) else rule.round(who[li])
        published[key] = Cell(shown_persons, events, cost, floor)
    return published, exact


def _cached_year(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    fy: FinancialYear,
    price_year: str,
    defined: Sequence[Cohort],
) -> tuple[dict[Key, Cell], dict[Key, Cell]]:
    # Controlling a family runs linear programmes, so a year's figures are kept per data version.
    key = ("quarterly", figure_cache.data_version(con, ctx), fy, price_year)
    return figure_cache.figure_cache().get(key, lambda: _year_figures(con, ctx, fy, price_year, defined))


def quarterly_demand(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    *,
    exact: bool = False,
    n: int = 8,
    price_year: str = demand.DEFAULT_PRICE_YEAR,
) -> Quarterly:
    """Persons, events and cost per service and per cohort in each of the last ``n`` quarters:
    controlled (with each year's dashboard figures), or exact for analysts."""
    quarters = last_quarters(con, n)
    defined = cohort_mod.cohorts(con)
    figures: dict[tuple[FinancialYear, Key], Cell] = {}
    for fy in sorted({q.year for q in quarters}):
        published, true = _cached_year(con, ctx, fy, price_year, defined)
        figures |= {(fy, key): cell for key, cell in (true if exact else published).items()}

    def window(scope: str | None, kind: str, partner: str, service: str) -> list[Cell]:
        # A row with no events in a quarter had none: zero is a true figure, not a hidden one.
        return [figures.get((q.year, (scope, kind, partner, service, q.number)), Cell(0, 0, 0.0))
                for q in quarters]  # fmt: skip

    services = sorted({(k[2], k[3]) for (_fy, k) in figures if k[0] is None and k[1] == "service"})
    return Quarterly(
        quarters=quarters,
        services=[QuarterRow(s, s, p, window(None, "service", p, s)) for p, s in services],
        cohorts=[QuarterRow("all", "Everyone known to a service", "", window(None, "total", "", "")),
                 *(QuarterRow(c.name, c.label, "", window(c.name, "total", "", "")) for c in defined)],
        exact=exact, price_year=price_year,
    )  # fmt: skip
