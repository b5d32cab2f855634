"""The attacker of issue 8: cohort sizes and cohort costs, differenced against everything else.

A place built to tempt each attack: a drug and alcohol service with 52 persons, 48 of whom are
known to three or more services, so that 'the service's demand minus the cohort's' is the
demand of four persons; nested cohorts (SMD all three inside SMD two or more) four persons
apart on housing; one event each, at public unit costs; a filter (men) that leaves out three
persons of each of those services.

The attacker sees what the pages and downloads publish – sizes, events and cost of the place
and of every cohort by service and partner, and the same filtered – divides every cost by
its unit cost, and by linear programming subtracts: cohort minus place, cohort A minus
cohort B, filtered minus unfiltered. A small count (1 .. 7) that the attacker can narrow to
less than the whole of 1 .. 7 is a leak.

The same attack is run against a naive publication (every figure rounded on its own, small
ones hidden), where it must find leaks, and against the engine, where it must find none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest

from joinedup.insight import controlled, demand
from joinedup.insight.cohorts import define_cohort, filter_cohort, persons_in
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from tests.support.attacker import Attacker

THRESHOLD, HALF = 8, 2.5
EPS = 1e-6
RULE = DisclosureRule()
MEN = (
    "SELECT DISTINCT l.person_id FROM person_links l JOIN records r USING (source, record_id) "
    "WHERE r.sex = 'M'"
)
YEAR = demand.Period(date(2024, 4, 1), date(2025, 3, 31))

SOURCES = {
    "housing": ("Council", "Housing Options", "homelessness", "HO3.0.2"),
    "recovery": ("Recovery Ltd", "Drug and Alcohol Service", "substance_misuse", "HE2.0"),
    "custody": ("Police", "Police Custody", "offending", "HO3.0"),
    "ed": ("NHS Trust", "Emergency Department", "physical_health", "HE4.0"),
}
# (how many, sources each is known to); the first three persons are women, the rest men
PEOPLE = [
    (48, ("housing", "recovery", "custody")),  # three or more services; SMD all three
    (4, ("recovery",)),  # the four the service has beyond the cohort
    (1, ("housing", "custody")),  # SMD two, not three
    (3, ("housing", "custody", "ed")),  # three services and SMD two, not SMD three
    (60, ("ed",)),
]


def build(path: Path) -> None:
    con = connect(path, memory_limit="500MB", threads=1)
    seed_reference(con)
    for name, (partner, service, need, cost) in SOURCES.items():
        con.execute(
            "INSERT INTO sources (name, partner, service, need, cost_item, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, now())",
            [name, partner, service, need, cost],
        )
    n = 0
    for count, sources in PEOPLE:
        for _ in range(count):
            n += 1
            pid = f"P{n:04d}"
            for source in sources:
                rid = f"{source}-{pid}"
                con.execute(
                    "INSERT INTO records (source, record_id, sex, event_date, need, cost_item) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [source, rid, "F" if n <= 3 else "M", date(2024, 6, 1 + n % 28),
                     SOURCES[source][2], SOURCES[source][3]],
                )  # fmt: skip
                con.execute("INSERT INTO person_links VALUES (?, ?, ?)", [source, rid, pid])
    con.execute(
        "INSERT INTO link_runs (run_id, started_at, finished_at, status) VALUES (1, now(), now(), 'done')"
    )
    define_cohort(con, "police", "Known to the police", partners=["Police"])
    con.close()


@pytest.fixture
def place(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    build(tmp_path / "attack.duckdb")
    con = connect(tmp_path / "attack.duckdb", memory_limit="500MB", threads=1)
    yield con
    con.close()


# --- the truth: events of each (service, memberships) ---------------------------------------


@dataclass
class Truth:
    scopes: list[str]  # cohort names, then "_filter"
    cells: dict[tuple[str, str], tuple[int, int]]  # (service, bits) → (persons, events)
    partner_of: dict[str, str]
    price: dict[str, float]


def truth(con: duckdb.DuckDBPyConnection, scopes: list[str], members: dict[str, set[str]]) -> Truth:
    rows = con.execute(
        "SELECT l.person_id, s.service, s.partner, u.cost_gbp * (dt.idx / df.idx) FROM records r "
        "JOIN person_links l USING (source, record_id) JOIN sources s ON s.name = r.source "
        "JOIN unit_costs u ON u.code = r.cost_item JOIN deflators df ON df.financial_year = u.price_year "
        "JOIN deflators dt ON dt.financial_year = ?",
        [demand.DEFAULT_PRICE_YEAR],
    ).fetchall()
    persons: dict[tuple[str, str], set[str]] = {}
    events: dict[tuple[str, str], int] = {}
    partner_of, price = {}, {}
    for pid, service, partner, cost in rows:
        bits = "".join("1" if pid in members[s] else "0" for s in scopes)
        persons.setdefault((service, bits), set()).add(pid)
        events[(service, bits)] = events.get((service, bits), 0) + 1
        partner_of[service], price[service] = partner, float(cost)
    cells = {k: (len(v), events[k]) for k, v in persons.items()}
    return Truth(scopes, cells, partner_of, price)


# --- what is published, and how far from the truth the method lets it be --------------------


@dataclass
class Figure:
    scope: str | None  # None: the place; or a cohort; "_filter" rows are the filtered view
    filtered: bool
    service: str | None  # a service's line
    partner: str | None  # a partner's line (or None with service None: the scope's total)
    events: float | None
    cost: float | None


Publish = Callable[[duckdb.DuckDBPyConnection, PlaceContext], list[Figure]]


def published_by_engine(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> list[Figure]:
    out: list[Figure] = []
    extra = filter_cohort(con, sex="M")
    views = [(False, None), (True, extra)]
    for filtered, cohort in views:
        family = controlled.demand_figures(con, ctx, demand.DEFAULT_PRICE_YEAR, YEAR, cohort)
        for scope, b in [(None, family.place), *family.cohorts.items()]:
            for r in b.services:
                out.append(Figure(scope, filtered, str(r["service"]), str(r["partner"]),
                                  r["events"], r["cost"]))  # type: ignore[arg-type]  # fmt: skip
            for r in b.partners:
                out.append(Figure(scope, filtered, None, str(r["partner"]), r["events"], r["cost"]))  # type: ignore[arg-type]
            if b.total:
                out.append(Figure(scope, filtered, None, None, b.total["events"], b.total["cost"]))  # type: ignore[arg-type]
    return out


def published_naively(con: duckdb.DuckDBPyConnection, _ctx: PlaceContext) -> list[Figure]:
    """Each figure on its own: small persons hidden, everything else rounded to 5 (and cost to 5
    times its unit cost) – cohort tables as they were before issue 8, and filters done alike."""
    scopes = ["smd2", "smd3", "any2", "services3", "police"]
    members = {s: set(persons_in(con, s)) for s in scopes}
    members["_filter"] = {r[0] for r in con.execute(MEN).fetchall()}
    t = truth(con, [*scopes, "_filter"], members)
    out: list[Figure] = []
    for filtered in (False, True):
        for k, scope in [(None, None), *enumerate(scopes)]:

            def inside(bits: str, k: int | None = k, filtered: bool = filtered) -> bool:
                return (k is None or bits[k] == "1") and (not filtered or bits[-1] == "1")

            for service in sorted(t.partner_of):
                cells = [v for (s, b), v in t.cells.items() if s == service and inside(b)]
                persons, events = sum(c[0] for c in cells), sum(c[1] for c in cells)
                if not events:
                    continue
                shown = None if RULE.is_small(persons) else RULE.round(events)
                cost = (
                    None if shown is None else RULE.round_money(events * t.price[service], t.price[service])
                )
                out.append(Figure(scope, filtered, service, t.partner_of[service], shown, cost))
    return out


def attack(con: duckdb.DuckDBPyConnection, publish: Publish, exact_lines: bool) -> list[str]:
    """Every leak the attacker finds. ``exact_lines``: each published figure is its truth
    rounded (naive); otherwise a line is the sum of its parts' roundings (the family's method),
    so it is within half the base for each part of the line plus one."""
    ctx = PlaceContext("attack", rule=RULE)
    figures = publish(con, ctx)
    scopes = ["smd2", "smd3", "any2", "services3", "police"]
    members = {s: set(persons_in(con, s)) for s in scopes}
    members["_filter"] = {r[0] for r in con.execute(MEN).fetchall()}
    t = truth(con, [*scopes, "_filter"], members)
    att = Attacker(HALF)
    for service, bits in t.cells:
        att.var(f"{service}|{bits}", 0.0)

    def cells_of(f: Figure) -> list[str]:
        k = None if f.scope is None else scopes.index(f.scope)
        return [f"{s}|{b}" for (s, b) in t.cells
                if (k is None or b[k] == "1") and (not f.filtered or b[-1] == "1")
                and (f.service is None or s == f.service)
                and (f.partner is None or t.partner_of[s] == f.partner)]  # fmt: skip

    for f in figures:
        members_of = cells_of(f)
        if not members_of:
            continue
        # Cells the line's own family splits it into: without the filter's split unless filtered.
        parts = len({m if f.filtered else m[:-1] for m in members_of})
        slack = HALF if exact_lines else HALF * (parts + 1)
        if f.events is not None:
            att.between([(m, 1.0) for m in members_of], f.events - slack, f.events + slack)
        if f.cost is not None and f.service is not None:  # cost ÷ its public unit cost
            p = t.price[f.service]
            att.between([(m, p) for m in members_of], f.cost - HALF * p - 50, f.cost + HALF * p + 50)
    assert att.feasible(), "the published figures contradict the attacker's model of them"
    leaks: list[str] = []
    verdict = Verdict(att, leaks)
    tried = verdict  # counted below: the attack must have had something to attack
    for (service, bits), (persons, events) in t.cells.items():
        if RULE.is_small(persons):
            verdict.small([f"{service}|{bits}"], f"{service} {bits}", events)
    # Set differences: the place minus a cohort, a cohort minus a cohort inside it (SMD two or
    # more minus all three), unfiltered minus filtered – each on one service.
    for service in t.partner_of:
        here = {b: v for (s, b), v in t.cells.items() if s == service}
        for k, scope in enumerate(scopes):
            outside = [b for b in here if b[k] == "0"]
            verdict.difference(service, f"place minus {scope}", outside, here)
        a, b_ = scopes.index("smd2"), scopes.index("smd3")
        verdict.difference(
            service, "smd2 minus smd3", [b for b in here if b[a] == "1" and b[b_] == "0"], here
        )
        verdict.difference(service, "unfiltered minus filtered", [b for b in here if b[-1] == "0"], here)
    assert tried.tried > 10
    return leaks


@dataclass
class Verdict:
    att: Attacker
    leaks: list[str] = field(default_factory=list)
    tried: int = 0

    def small(self, names: list[str], what: str, true: int) -> None:
        self.tried += 1
        if len(names) == 1:
            lo, hi = self.att.range(names[0])
        else:
            total = f"sum:{what}"
            self.att.between([(n, 1.0) for n in names] + [(total, -1.0)], 0.0, 0.0)
            lo, hi = self.att.range(total)
        if lo > 1 + EPS or hi < THRESHOLD - 1 - EPS:
            self.leaks.append(f"{what} (truly {true} events) narrowed to {lo:.2f}..{hi:.2f}")

    def difference(self, service: str, what: str, bits: list[str], here: dict[str, tuple[int, int]]) -> None:
        persons = sum(here[b][0] for b in bits)
        if RULE.is_small(persons):
            self.small([f"{service}|{b}" for b in bits], f"{service}: {what}", sum(here[b][1] for b in bits))


def test_the_attack_finds_leaks_in_a_naive_publication(place: duckdb.DuckDBPyConnection) -> None:
    leaks = attack(place, published_naively, exact_lines=True)
    assert any("place minus services3" in leak for leak in leaks), leaks
    assert any("smd2 minus smd3" in leak for leak in leaks), leaks
    assert any("unfiltered minus filtered" in leak for leak in leaks), leaks


def test_the_attack_finds_nothing_in_what_the_engine_publishes(place: duckdb.DuckDBPyConnection) -> None:
    leaks = attack(place, published_by_engine, exact_lines=False)
    assert not leaks, "\n".join(leaks)
    # Not by hiding everything: the place's demand is all shown, and a cohort's cost on a
    # service. (Known to three or more services is hidden here, as it must be: it differs
    # from the drug and alcohol service by four persons, whichever way it is cut.)
    figures = published_by_engine(place, PlaceContext("attack", rule=RULE))
    assert all(
        f.events is not None and f.cost is not None for f in figures if f.scope is None and not f.filtered
    )
    housing = [f for f in figures if f.scope == "smd2" and f.service == "Housing Options" and not f.filtered]
    assert housing and housing[0].cost is not None


# --- cohort sizes ---------------------------------------------------------------------------


def attack_sizes(con: duckdb.DuckDBPyConnection, naive: bool) -> list[str]:
    """Persons: every cohort's size beside the place's persons, three or more services and
    each service's caseload. Known to three or more services (51) minus SMD all three (48) is
    the three persons known to the emergency department as well."""
    ctx = PlaceContext("attack", rule=RULE)
    scopes = ["smd2", "smd3", "any2", "services3", "police"]
    members = {s: set(persons_in(con, s)) for s in scopes}
    rows = con.execute(
        "SELECT person_id, string_agg(DISTINCT source, '+' ORDER BY source) FROM person_links "
        "GROUP BY person_id"
    ).fetchall()
    atoms: dict[str, int] = {}
    for pid, sources in rows:
        key = sources + "|" + "".join("1" if pid in members[s] else "0" for s in scopes)
        atoms[key] = atoms.get(key, 0) + 1
    lines: dict[str, list[str]] = {
        name: [a for a in atoms if a.split("|")[1][k] == "1"] for k, name in enumerate(scopes)
    }
    lines["persons"] = list(atoms)
    for src in SOURCES:
        lines[f"caseload {src}"] = [a for a in atoms if src in a.split("|")[0].split("+")]
    if naive:
        true = {n: sum(atoms[a] for a in m) for n, m in lines.items()}
        shown = {n: None if RULE.is_small(v) else RULE.round(v) for n, v in true.items()}
    else:
        f = controlled.person_figures(con, ctx)
        shown = {**f.sizes, "persons": f.persons, **{f"caseload {s}": f.caseload.get(s) for s in SOURCES}}
    att = Attacker(HALF)
    for a in atoms:
        att.var(a, 0.0)
    for name, cells in lines.items():
        value = shown.get(name)
        if value is None:
            continue
        slack = HALF if naive else HALF * (len(cells) + 1)
        att.between([(c, 1.0) for c in cells], value - slack, value + slack)
    assert att.feasible()
    leaks: list[str] = []
    verdict = Verdict(att, leaks)
    for a, n in atoms.items():
        if RULE.is_small(n):
            verdict.small([a], f"persons {a}", n)
    k3, k_smd3 = scopes.index("services3"), scopes.index("smd3")
    inside = [a for a in atoms if a.split("|")[1][k3] == "1" and a.split("|")[1][k_smd3] == "0"]
    if RULE.is_small(sum(atoms[a] for a in inside)):
        verdict.small(inside, "services3 minus smd3", sum(atoms[a] for a in inside))
    return leaks


def test_cohort_sizes_differenced_leak_when_naive_and_not_from_the_engine(
    place: duckdb.DuckDBPyConnection,
) -> None:
    naive = attack_sizes(place, naive=True)
    assert any("services3 minus smd3" in leak for leak in naive), naive
    assert not attack_sizes(place, naive=False)


def test_a_total_cost_is_hidden_when_any_partners_cost_is(place: duckdb.DuckDBPyConnection) -> None:
    """A total cost beside hidden parts would be one more equation in their events, at
    different unit costs: it is hidden, not the sum of the shown parts."""
    # The police gain a second service, used by three of the forty-eight: hidden, so the
    # police's cost for every cohort holding them is hidden, though its events are not.
    place.execute(
        "INSERT INTO sources (name, partner, service, need, cost_item, ingested_at) "
        "VALUES ('iom', 'Police', 'Offender Management', 'offending', 'HE2.0', now())"
    )
    for n in (10, 11, 12):
        place.execute(
            "INSERT INTO records (source, record_id, sex, event_date, need, cost_item) "
            "VALUES ('iom', ?, 'M', DATE '2024-07-01', 'offending', 'HE2.0')",
            [f"iom-{n}"],
        )
        place.execute("INSERT INTO person_links VALUES ('iom', ?, ?)", [f"iom-{n}", f"P{n:04d}"])
    figures = published_by_engine(place, PlaceContext("attack", rule=RULE))
    checked = 0
    for f in figures:
        if f.service is None and f.partner is None:
            parts = [g for g in figures if g.scope == f.scope and g.filtered == f.filtered
                     and g.service is None and g.partner is not None]  # fmt: skip
            if any(g.cost is None and g.events is not None for g in parts) and f.events is not None:
                assert f.cost is None, f
                checked += 1
    assert checked
