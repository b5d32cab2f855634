"""The state of collaboration of a place: its four views together, over time.

A board asks "how are we doing?" and wants each answer with its trend and the page that
holds its evidence. Every figure here is taken from the function that feeds that page
(insight's controlled families, a survey round's stored results, the charters), never
recomputed another way, so the overview and the page cannot disagree (a test walks them).
Everything that leaves the analyst role has been through the place's disclosure control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from joinedup.collaborations.charters import list_collaborations
from joinedup.insight import controlled, demand
from joinedup.insight.analysis import has_persons
from joinedup.insight.context import PlaceContext
from joinedup.insight.periods import FinancialYear, available_years
from joinedup.insight.reference_data import SERVICES3
from joinedup.places.models import Place
from joinedup.surveys import comparison, results
from joinedup.value.settings import account_of

__all__ = ["Figure", "Overview", "Section", "build_overview"]


@dataclass
class Figure:
    label: str
    value: str  # as shown: a controlled count, money, a score; "Not shown" when hidden
    detail: str = ""
    link: str = ""


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    # A trend table: heading row, then rows (first cell the period or round).
    trend_head: list[str] = field(default_factory=list)
    trend: list[list[str]] = field(default_factory=list)
    empty: str = ""  # what to say when there is nothing yet


@dataclass
class Overview:
    place: str
    year: str | None  # the financial year of demand and cost
    years: list[str]
    sections: list[Section]
    rule: str  # the disclosure rule, in words


def _count(value: int | None) -> str:
    return "Not shown" if value is None else f"{value:,}"


def _money(value: object) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return "Not shown"
    return f"£{float(value):,.0f}"


def _score(estimate: dict[str, Any] | None) -> str:
    if not estimate or not estimate.get("shown"):
        return "Not shown"
    return f"{estimate['mean']:.0f} ({estimate['lci']:.0f} to {estimate['uci']:.0f})"


def _pct(estimate: dict[str, Any] | None) -> str:
    if not estimate or not estimate.get("shown"):
        return "Not shown"
    return f"{100 * estimate['est']:.0f}% ({100 * estimate['lci']:.0f}% to {100 * estimate['uci']:.0f}%)"


def demand_section(con: duckdb.DuckDBPyConnection, ctx: PlaceContext, year: FinancialYear | None,
                   years: list[FinancialYear]) -> Section:
    base = f"/places/{ctx.slug}/insight"
    section = Section("shared", "People partners share, and what their demand costs",
                      empty="No linked records yet: an analyst ingests extracts and links them.")
    if not has_persons(con):
        return section
    services = controlled.service_figures(con, ctx)
    section.figures.append(Figure(
        "People known to three or more services", _count(services.three_or_more),
        f"Of {_count(services.persons)} people known to any service.", base))
    if year is None:
        return section
    # The first question an insight team asks: what the demand of those known to three or
    # more services costs, and who bears it (the cohort page's own figures).
    cohort_link = f"{base}/cohorts/{SERVICES3[0]}?year={year.label}"
    period = demand.Period(year.start, year.end)
    figures = controlled.demand_figures(con, ctx, demand.DEFAULT_PRICE_YEAR, period)
    breakdown = figures.cohorts.get(SERVICES3[0])
    if breakdown is not None:
        hidden = breakdown.total.get("cost") is None
        shown = sum(float(str(r["cost"])) for r in breakdown.partners if r["cost"] is not None)
        section.figures.append(Figure(
            f"Cost of their demand in {year.label}", _money(breakdown.total.get("cost")),
            f"At {demand.DEFAULT_PRICE_YEAR} prices"
            + (f"; the total is hidden because a partner's share is, but the partners shown bear "
               f"{_money(shown)} between them" if hidden else "") + ".",
            cohort_link))
        partners = sorted(breakdown.partners, key=lambda r: -float(str(r["cost"] or 0)))
        section.figures += [Figure(f"Borne by {r['partner']}", _money(r["cost"]), "", cohort_link)
                            for r in partners[:6]]  # fmt: skip
    section.trend_head = ["Financial year", "Cost of all demand", "Cost of those known to 3 or more services"]
    for fy in years:
        fy_period = demand.Period(fy.start, fy.end)
        family = controlled.demand_figures(con, ctx, demand.DEFAULT_PRICE_YEAR, fy_period)
        cohort = family.cohorts.get(SERVICES3[0])
        section.trend.append([fy.label, _money(family.place.total.get("cost")),
                              _money(cohort.total.get("cost") if cohort else None)])
    return section


def readiness_section(session: Session, place: Place) -> Section:
    base = f"/places/{place.slug}/surveys"
    section = Section("readiness", "Readiness to collaborate: ambition and practice",
                      empty="No readiness round with enough answers yet.")
    rounds = list(reversed(comparison.answered_rounds(session, place.id, "readiness")))
    latest: dict[str, Any] | None = None
    section.trend_head = ["Round", "Answers", "Practice (0 to 100)", "Gap to ambition"]
    for round_ in rounds:
        body = results.results(session, round_)
        overall = next((line for line in body.get("lines", []) if line["kind"] == "overall"), None)
        section.trend.append([round_.title, f"{body.get('n', 0):,}",
                              _score(overall["practice"] if overall else None),
                              _score(overall["gap"] if overall else None)])  # fmt: skip
        if overall and overall["practice"].get("shown"):
            latest = {"round": round_, "overall": overall, "body": body}
    if latest is None:
        return section
    round_, overall, body = latest["round"], latest["overall"], latest["body"]
    link = f"{base}/{round_.id}/results"
    section.figures.append(Figure("Practice, all staff", _score(overall["practice"]),
                                  f"{round_.title}, out of 100.", link))
    section.figures.append(Figure("Gap between ambition and practice", _score(overall["gap"]),
                                  "Points by which what staff want exceeds what they see.", link))
    scores = (body.get("by_level") or {}).get("scores") or {}
    for group, label in (("system_leader", "System leaders"), ("front_line", "Front line")):
        estimate = (scores.get(group) or {}).get("overall")
        section.figures.append(Figure(f"Practice seen by {label.lower()}", _score(estimate), "", link))
    return section


def readiness_components_section(session: Session, place: Place) -> Section:
    """Practice in each of the twelve components, one column per readiness round (oldest
    first), each with its interval: where readiness moved, not only whether it did. The
    scores are the round's published results, so a component too few answered is "Not
    shown" here as on the round's page."""
    section = Section("readiness-components", "Readiness by component, round by round",
                      empty="No readiness round with enough answers yet.")  # fmt: skip
    rounds = list(reversed(comparison.answered_rounds(session, place.id, "readiness")))
    bodies = [(r, results.results(session, r)) for r in rounds]
    if not bodies:
        return section
    names: dict[str, str] = {}
    scores: dict[str, dict[int, str]] = {}
    for round_, body in bodies:
        for line in body.get("lines", []):
            if line["kind"] != "component":
                continue
            names.setdefault(line["key"], line["name"])
            scores.setdefault(line["key"], {})[round_.id] = _score(line.get("practice"))
    section.trend_head = ["Component (practice, 0 to 100)", *[r.title for r, _b in bodies]]
    section.trend = [[names[key], *[scores[key].get(r.id, "Not shown") for r, _b in bodies]]
                     for key in names]  # fmt: skip
    return section


def citizens_section(session: Session, place: Place) -> Section:
    base = f"/places/{place.slug}/surveys"
    section = Section("citizens", "What residents say",
                      empty="No citizen-voice round with enough answers yet.")
    rounds = list(reversed(comparison.answered_rounds(session, place.id, "citizen_voice")))
    bodies = [(r, results.results(session, r)) for r in rounds]
    bodies = [(r, b) for r, b in bodies if b.get("measures")]
    if not bodies:
        return section
    round_, body = bodies[-1]
    link = f"{base}/{round_.id}/results"
    for m in body["measures"]:
        national = m.get("national")
        national_text = f"UK adults: {100 * national['value']:.0f}%. " if national else ""
        detail = f"{national_text}{round_.title}, weighted."
        section.figures.append(Figure(m["label"], _pct(m.get("weighted")), detail, link))
    keys = [m["key"] for m in body["measures"]]
    labels = {m["key"]: m["label"] for m in body["measures"]}
    section.trend_head = ["Round", *[labels[k] for k in keys]]
    for r, b in bodies:
        by_key = {m["key"]: m for m in b["measures"]}
        section.trend.append([r.title, *[_pct((by_key.get(k) or {}).get("weighted")) for k in keys]])
    return section


def _value_return(session: Session, collab: Any) -> str:
    """The collaboration's public value return as its account publishes it (controlled)."""
    account = account_of(session, collab)
    result = account.result if account is not None else None
    if result is None:
        return "Not computed"
    totals = (result.published or {}).get("totals") or {}
    roi = totals.get("public_value_roi")
    return "Not shown" if roi is None else f"£{roi:,.2f} per £1"


def collaborations_section(session: Session, place: Place) -> Section:
    section = Section("collaborations", "Collaborations, their measures and the value they add",
                      empty="No collaboration has been started yet.")
    section.trend_head = ["Collaboration", "Status", "Partners", "Measures", "Next check",
                          "Public value return"]
    for c in list_collaborations(session, place):
        checks = sorted(m.check_on for m in c.measures)
        next_check = f"{checks[0]:%d %B %Y}" if checks else "–"
        section.trend.append([c.name, c.status, f"{len(c.partners)}", f"{len(c.measures)}",
                              next_check, _value_return(session, c)])  # fmt: skip
    if section.trend:
        active = sum(1 for row in section.trend if row[1] == "active")
        section.figures.append(Figure("Collaborations", f"{len(section.trend):,}",
                                      f"{active} active.", f"/places/{place.slug}/collaborations"))
        for c in list_collaborations(session, place):
            value = _value_return(session, c)
            if value not in {"Not computed"}:
                section.figures.append(Figure(
                    f"Public value return of {c.name}", value,
                    "Fiscal, economic and social value per pound spent, from its public value account.",
                    f"/places/{place.slug}/collaborations/{c.slug}/value"))
    return section


def build_overview(session: Session, place: Place, con: duckdb.DuckDBPyConnection | None,
                   ctx: PlaceContext, year: FinancialYear | None = None, *,
                   analyst: bool = False) -> Overview:
    """The overview for a financial year (the newest with data if not given). Analysts see
    the last linkage run's changes exactly, with a link to the run page."""
    years = available_years(con) if con is not None else []
    chosen = year if year is not None else (years[0] if years else None)
    sections = []
    if con is not None:
        sections.append(demand_section(con, ctx, chosen, years))
        from joinedup.board.run_changes import run_changes_section  # it builds on Section

        sections.append(run_changes_section(con, ctx, analyst=analyst))
    else:
        sections.append(Section("shared", "People partners share, and what their demand costs",
                                empty="No linked records yet: an analyst ingests extracts and links them."))
    sections += [readiness_section(session, place), readiness_components_section(session, place),
                 citizens_section(session, place),
                 collaborations_section(session, place)]
    return Overview(place=place.name, year=chosen.label if chosen else None,
                    years=[y.label for y in years], sections=sections, rule=ctx.rule.describe())
