"""Every figure about persons, and every figure about demand in a year, each as one family.

A cohort's size can be subtracted from the place's persons, from another cohort's size, from
a combination of services or of needs; its demand from the place's demand on each service,
from another cohort's, from a partner's. So the families are built over cells that refine
every published figure:

- **persons**: persons in each exclusive combination of (sources known to, needs, membership
  of every cohort). Published lines: every combination of services and of needs, the
  persons, those with any need, two and three or more services, each service's caseload and
  each pair's shared persons, and every cohort's size.
- **demand in a financial year**: events of each (service, membership of every cohort).
  Published lines: each service's and partner's demand and the place's, and the same for
  every cohort. A line with too few persons behind it is hidden, as a small cell is.

A filter on the dashboard is a cohort made for the request (``extra``): it joins the family
as one more membership, so filtered figures are controlled with the unfiltered ones.

Costs: a line of one service is costed at its true cost rounded to the rounding base times
its unit cost (so cost ÷ unit cost tells no more than the events); a line of several
services costs the sum of its services' costs, and is hidden when any of them is (their
different unit costs would otherwise give a second equation in the hidden events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from joinedup.insight.analysis import person_needs_sql, person_services_sql
from joinedup.insight.cohort_rules import Cohort, members_sql
from joinedup.insight.disclosure import Line, control_family
from joinedup.insight.disclosure_rule import DisclosureRule

__all__ = [
    "SEPARATOR", "Breakdown", "DemandFamily", "PersonFamily", "demand_cells", "demand_family",
    "person_family",
]  # fmt: skip

SEPARATOR = " + "


def _bits_sql(defined: Sequence[Cohort]) -> tuple[str, list[object]]:
    """person_id and a string of 0/1, one per cohort, for every linked person."""
    if not defined:
        return "SELECT DISTINCT person_id, '' AS bits FROM person_links", []
    cases, params = [], []
    for cohort in defined:
        sql, ps = members_sql(cohort)
        cases.append(f"CASE WHEN p.person_id IN ({sql}) THEN '1' ELSE '0' END")
        params += ps
    return (
        f"SELECT p.person_id, concat({', '.join(cases)}) AS bits "  # noqa: S608
        "FROM (SELECT DISTINCT person_id FROM person_links) p",
        params,
    )


@dataclass
class PersonFamily:
    service_combinations: pd.DataFrame  # combination, sources, n_items, persons (controlled), Total last
    need_combinations: pd.DataFrame  # combination, n_items, persons (controlled), Total last
    persons: int | None
    two_or_more: int | None
    three_or_more: int | None
    caseload: dict[str, int | None]
    shared: dict[frozenset[str], int | None]
    sizes: dict[str, int | None]  # cohort name → controlled persons
    true_sizes: dict[str, int] = field(default_factory=dict)  # unrounded: for empty states only


def _combo_lines(keys: dict[int, object], counts: Sequence[int]) -> list[tuple[object, tuple[int, ...], int]]:
    """One line per distinct key, largest first."""
    groups: dict[object, list[int]] = {}
    for i, key in keys.items():
        groups.setdefault(key, []).append(i)
    out = [(k, tuple(v), sum(int(counts[i]) for i in v)) for k, v in groups.items()]
    return sorted(out, key=lambda t: (-t[2], str(t[0])))


def _person_lines(
    frame: pd.DataFrame, mask: Sequence[int], defined: Sequence[Cohort]
) -> tuple[list[Line], Callable[[list[int | None], list[int]], PersonFamily]]:
    """The published lines over the cells in ``mask`` (every cell, or a filter's), and how to
    read the figures back from their controlled totals."""
    counts = [int(c) for c in frame["persons"]]
    sets = {i: frozenset(str(frame["sources"].iloc[i]).split("\t")) for i in mask}
    every = sorted(set().union(*sets.values())) if sets else []
    lines: list[Line] = [
        Line(tuple(mask), "total"),
        Line(tuple(i for i, s in sets.items() if len(s) >= 2), "two or more"),
        Line(tuple(i for i, s in sets.items() if len(s) >= 3), "three or more"),
    ]
    lines += [Line(tuple(i for i, s in sets.items() if src in s), f"caseload {src}") for src in every]
    pairs = [frozenset((a, b)) for k, a in enumerate(every) for b in every[k + 1 :]]
    lines += [Line(tuple(i for i, s in sets.items() if p <= s), "shared") for p in pairs]
    lines.append(Line(tuple(i for i in mask if isinstance(frame["needs"].iloc[i], str)), "with needs"))
    service_combos = _combo_lines({i: frame["sources"].iloc[i] for i in mask}, counts)
    need_combos = _combo_lines(
        {i: frame["needs"].iloc[i] for i in mask if isinstance(frame["needs"].iloc[i], str)}, counts
    )
    first_combo = len(lines)
    lines += [Line(cells, "service combination") for _k, cells, _n in service_combos]
    first_need = len(lines)
    lines += [Line(cells, "need combination") for _k, cells, _n in need_combos]
    first_cohort = len(lines)
    lines += [
        Line(tuple(i for i in mask if str(frame["bits"].iloc[i])[k] == "1"), f"cohort {c.name}")
        for k, c in enumerate(defined)
    ]
    combination_of = dict(zip(frame["sources"], frame["combination"], strict=True))
    items_of = dict(zip(frame["sources"], frame["n_items"], strict=True))
    needs_items = {k: v for k, v in zip(frame["needs"], frame["n_needs"], strict=True) if isinstance(k, str)}
    n_src = len(every)

    def read(t: list[int | None], true: list[int]) -> PersonFamily:
        services = pd.DataFrame(
            [{"combination": combination_of[k], "sources": k, "n_items": int(items_of[k]),
              "persons": t[first_combo + j]} for j, (k, _c, _n) in enumerate(service_combos)]
            + [{"combination": "Total", "sources": "", "n_items": None, "persons": t[0]}],
            columns=["combination", "sources", "n_items", "persons"],
        ).astype({"persons": object, "n_items": object})  # fmt: skip
        needs = pd.DataFrame(
            [{"combination": k, "n_items": int(needs_items[str(k)]), "persons": t[first_need + j]}
             for j, (k, _c, _n) in enumerate(need_combos)]
            + [{"combination": "Total", "n_items": None, "persons": t[first_need - 1]}],
            columns=["combination", "n_items", "persons"],
        ).astype({"persons": object, "n_items": object})  # fmt: skip
        return PersonFamily(
            service_combinations=services, need_combinations=needs,
            persons=t[0], two_or_more=t[1], three_or_more=t[2],
            caseload=dict(zip(every, t[3 : 3 + n_src], strict=True)),
            shared=dict(zip(pairs, t[3 + n_src : 3 + n_src + len(pairs)], strict=True)),
            sizes={c.name: t[first_cohort + k] for k, c in enumerate(defined)},
            true_sizes={c.name: true[first_cohort + k] for k, c in enumerate(defined)},
        )  # fmt: skip

    return lines, read


def person_family(
    con: duckdb.DuckDBPyConnection,
    rule: DisclosureRule,
    defined: Sequence[Cohort],
    extra: Cohort | None = None,
) -> PersonFamily:
    """Every person count the insight pages publish, controlled as one family. With ``extra``
    (a filter), the figures returned are those of the persons in it, controlled together
    with the whole place's."""
    members = [*defined, *([extra] if extra is not None else [])]
    bits_sql, params = _bits_sql(members)
    frame = con.execute(
        f"""
        WITH bits AS ({bits_sql}),
        svc AS (SELECT person_id, string_agg(source, '\t' ORDER BY source) AS sources,
                       string_agg(service, '{SEPARATOR}' ORDER BY source) AS combination,
                       count(*) AS n_items
                FROM ({person_services_sql}) GROUP BY person_id),
        nd AS (SELECT person_id, string_agg(need, '{SEPARATOR}' ORDER BY need) AS needs,
                      count(*) AS n_needs
               FROM ({person_needs_sql}) GROUP BY person_id)
        SELECT svc.sources, svc.combination, svc.n_items, nd.needs, nd.n_needs, bits.bits,
               count(*) AS persons
        FROM svc JOIN bits USING (person_id) LEFT JOIN nd USING (person_id)
        GROUP BY ALL ORDER BY ALL
        """,  # noqa: S608
        params,
    ).df()
    counts = [int(c) for c in frame["persons"]]
    everyone = list(range(len(counts)))
    lines, read = _person_lines(frame, everyone, defined)
    if extra is not None:
        k = len(defined)
        inside = [i for i in everyone if str(frame["bits"].iloc[i])[k] == "1"]
        filtered, read = _person_lines(frame, inside, defined)
        offset = len(lines)
        lines += filtered
    else:
        offset = 0
    family = control_family(counts, lines, rule)
    true = [sum(counts[i] for i in line.cells) for line in lines]
    return read(family.totals[offset:], true[offset:])


# --- demand in a financial year ---------------------------------------------------------------


@dataclass
class Breakdown:
    """A scope's (the place's, or one cohort's) demand: per service, per partner and in all.
    Events and cost are controlled (None where hidden); ``persons`` are the true persons
    behind the scope's events, for empty states only (never shown)."""

    services: list[dict[str, object]]  # partner, service, events, cost
    partners: list[dict[str, object]]  # partner, events, cost
    total: dict[str, object]  # events, cost
    persons: int = 0


@dataclass
class DemandFamily:
    place: Breakdown
    cohorts: dict[str, Breakdown]
    service_rows: pd.DataFrame  # the uncontrolled cells: (partner, service, bits), events, …
    # Which cells the family hid: a viewer who knows the method knows the shown ones' rounded
    # events, and a page beside this one (a year's quarters) must assume so.
    cells_hidden: list[bool] = field(default_factory=list)


def _costed_sql(price_year: str, start: object, end: object) -> tuple[str, list[object]]:
    sql = """
        SELECT l.person_id, s.partner, s.service, u.cost_gbp * (dt.idx / df.idx) AS cost
        FROM records r
        JOIN person_links l USING (source, record_id)
        JOIN sources s ON s.name = r.source
        LEFT JOIN unit_costs u ON u.code = r.cost_item
        LEFT JOIN deflators df ON df.financial_year = u.price_year
        LEFT JOIN deflators dt ON dt.financial_year = ?
        WHERE r.event_date >= ? AND r.event_date <= ?
    """
    return sql, [price_year, start, end]


def _sum_cost(events: object, parts: list[dict[str, object]]) -> float | None:
    """The sum of the parts' costs; hidden if the line's events are, or any part's cost is
    hidden (a part with events but no unit cost adds nothing and hides nothing)."""
    if events is None or any(r["events"] is None or r.get("cost_hidden") for r in parts):
        return None
    return float(sum(float(str(r["cost"])) for r in parts if r["cost"] is not None))


def _hide_small_differences(
    lines: Sequence[Line],
    keys: Sequence[tuple[bool, str | None, str, str, str]],
    persons: Sequence[int],
    small: list[bool],
    rule: DisclosureRule,
) -> None:
    """Of two lines of the same service (or partner, or total) where one holds the other – the
    place and a cohort, a cohort and one inside it, unfiltered and filtered – hide the
    smaller when the persons between them are few: subtracted, the two would give the demand
    of those few, which no single hidden cell shows but the pair would."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for li, (_f, _scope, kind, partner, service) in enumerate(keys):
        groups.setdefault((kind, partner, service), []).append(li)
    for members in groups.values():
        sets = {li: frozenset(lines[li].cells) for li in members}
        for outer in members:
            for inner in members:
                if (
                    inner != outer
                    and sets[inner] < sets[outer]
                    and rule.is_small(persons[outer] - persons[inner])
                ):
                    small[inner] = True


def demand_cells(
    con: duckdb.DuckDBPyConnection, members: Sequence[Cohort], price_year: str, start: object, end: object
) -> tuple[pd.DataFrame, list[tuple[str, str, int]], list[tuple[str, int]]]:
    """The events of a period by partner, service and cohort memberships (a string of 0/1,
    one per cohort in ``members``): persons, events, cost and the largest unit cost of each
    cell; and the distinct persons of each partner, and in all, by memberships. A person may
    use several services of one partner, so a partner's persons are not the sum of its
    services'; each person has one string of memberships, so a scope's persons are sums over
    the strings. One pass over the events: three queries each joined a million events to the
    memberships again."""
    bits_sql, bit_params = _bits_sql(members)
    events_sql, event_params = _costed_sql(price_year, start, end)
    grouped = con.execute(
        f"""
        WITH bits AS ({bits_sql})
        SELECT GROUPING(e.partner, e.service) AS level, e.partner, e.service, b.bits,
               count(DISTINCT e.person_id) AS persons, count(*) AS events, sum(e.cost) AS cost,
               max(e.cost) AS max_unit_cost
        FROM ({events_sql}) e JOIN bits b USING (person_id)
        GROUP BY GROUPING SETS ((e.partner, e.service, b.bits), (e.partner, b.bits), (b.bits))
        ORDER BY level, e.partner, e.service, b.bits
        """,  # noqa: S608
        [*bit_params, *event_params],
    ).df()
    level = grouped.pop("level")
    cells = grouped[level == 0].reset_index(drop=True)
    by_partner = list(grouped[level == 1][["partner", "bits", "persons"]].itertuples(index=False, name=None))
    by_bits = list(grouped[level == 3][["bits", "persons"]].itertuples(index=False, name=None))
    return cells, by_partner, by_bits


def demand_family(
    con: duckdb.DuckDBPyConnection,
    rule: DisclosureRule,
    defined: Sequence[Cohort],
    price_year: str,
    start: object,
    end: object,
    extra: Cohort | None = None,
) -> DemandFamily:
    """Events and cost of every service and partner, for the place and for every cohort, in
    one period (a financial year), controlled as one family. With ``extra`` (a filter), the
    figures returned are those of its persons, controlled with the unfiltered ones."""
    members = [*defined, *([extra] if extra is not None else [])]
    cells, by_partner, by_bits = demand_cells(con, members, price_year, start, end)
    n_def = len(defined)
    partners_of = sorted(set(cells["partner"]))
    services_of = sorted({(str(p), str(s)) for p, s in zip(cells["partner"], cells["service"], strict=True)})
    persons = [int(p) for p in cells["persons"]]
    bits = [str(b) for b in cells["bits"]]
    lines: list[Line] = []
    small: list[bool] = []
    keys: list[tuple[bool, str | None, str, str, str]] = []  # filtered, scope, kind, partner, service
    scope_persons: dict[tuple[bool, str | None], int] = {}
    line_persons: list[int] = []

    def inside(b: str, k: int | None, filtered: bool) -> bool:
        return (k is None or b[k] == "1") and (not filtered or b[n_def] == "1")

    blocks = [False, True] if extra is not None else [False]
    scopes: list[tuple[str | None, int | None]] = [
        (None, None),
        *((c.name, k) for k, c in enumerate(defined)),
    ]
    for filtered in blocks:
        for scope, k in scopes:
            cell_ids = [i for i, b in enumerate(bits) if inside(b, k, filtered)]
            if not cell_ids:
                continue

            def add(kind: str, partner: str, service: str, ids: tuple[int, ...], who: int,
                    scope: str | None = scope, filtered: bool = filtered) -> None:  # fmt: skip
                where = f"{'filtered ' if filtered else ''}{scope or 'place'}"
                lines.append(Line(ids, f"{where} {kind} {partner} {service}"))
                small.append(rule.is_small(who))
                line_persons.append(who)
                keys.append((filtered, scope, kind, partner, service))

            for partner, service in services_of:
                ids = tuple(i for i in cell_ids if cells["partner"].iloc[i] == partner
                            and cells["service"].iloc[i] == service)  # fmt: skip
                if ids:
                    add("service", partner, service, ids, sum(persons[i] for i in ids))
            for partner in partners_of:
                ids = tuple(i for i in cell_ids if cells["partner"].iloc[i] == partner)
                if ids:
                    who = sum(
                        int(n) for p, b, n in by_partner if p == partner and inside(str(b), k, filtered)
                    )
                    add("partner", partner, "", ids, who)
            who = sum(int(n) for b, n in by_bits if inside(str(b), k, filtered))
            scope_persons[(filtered, scope)] = who
            add("total", "", "", tuple(cell_ids), who)
    _hide_small_differences(lines, keys, line_persons, small, rule)
    primary = [rule.is_small(p) for p in persons]
    family = control_family(cells["events"].tolist(), lines, rule, primary, small_lines=small)
    costs = [float(c) if c == c and c is not None else None for c in cells["cost"]]
    units = [float(u) if u == u and u is not None else 1.0 for u in cells["max_unit_cost"]]
    view = extra is not None
    out: dict[str | None, Breakdown] = {}
    for scope, _k in scopes:
        if (view, scope) not in scope_persons:
            out[scope] = Breakdown([], [], {"events": None, "cost": None}, 0)
            continue
        service_rows: list[dict[str, object]] = []
        partner_rows: list[dict[str, object]] = []
        total: dict[str, object] = {}
        for li, (f, s, kind, partner, service) in enumerate(keys):
            if f != view or s != scope:
                continue
            events = family.totals[li]
            if kind == "service":
                true = [c for c in (costs[i] for i in lines[li].cells) if c is not None]
                unit = max(units[i] for i in lines[li].cells)
                cost = None if events is None or not true else rule.round_money(sum(true), unit)
                service_rows.append({"partner": partner, "service": service, "events": events, "cost": cost})
            elif kind == "partner":
                parts = [r for r in service_rows if r["partner"] == partner]
                cost = _sum_cost(events, parts)
                partner_rows.append({"partner": partner, "events": events, "cost": cost,
                                     "cost_hidden": events is not None and cost is None})  # fmt: skip
            else:
                total = {"events": events, "cost": _sum_cost(events, partner_rows)}
        out[scope] = Breakdown(service_rows, partner_rows, total, scope_persons[(view, scope)])
    place = out.pop(None)
    return DemandFamily(place=place, cohorts={str(k): v for k, v in out.items()}, service_rows=cells,
                        cells_hidden=list(family.hidden))  # fmt: skip
