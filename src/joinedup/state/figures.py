"""A place's published figures, read from the same controlled functions its pages use.

Nothing here computes a figure of its own from person-level data: cohorts and rates come
from ``insight.export.cohorts_table`` (the dashboard's cohorts table), persons known to
services from ``insight.controlled.service_figures`` (the dashboard's headline), demand per
financial year from ``insight.export.demand_table`` (the dashboard's demand table for that
year), survey figures from ``surveys.results.results`` (each round's results page) and
charters from ``collaborations.charters`` and value accounts from their published copies
(``state.value_figures``). So the package holds nothing a viewer of the
place's pages could not see, and every hidden figure stays hidden (written as ``*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from joinedup.collaborations.charters import list_collaborations
from joinedup.insight import controlled as families
from joinedup.insight import demand as demand_mod
from joinedup.insight import export
from joinedup.insight.context import PlaceContext
from joinedup.insight.periods import available_years
from joinedup.places.models import Place
from joinedup.state.schema import SUPPRESSED
from joinedup.state.value_figures import value_rows
from joinedup.surveys import results as survey_results
from joinedup.surveys.comparison import HIGHER_IS_WORSE
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.rounds import rounds_for_place

__all__ = ["PlaceFigures", "insight_figures", "place_figures"]

Row = dict[str, Any]


@dataclass
class PlaceFigures:
    tables: dict[str, list[Row]] = field(default_factory=dict)
    #: Plain sentences about what is missing and why (no rounds yet, no insight yet).
    notes: list[str] = field(default_factory=list)
    #: The financial years the insight figures span, newest first.
    years: list[str] = field(default_factory=list)


def _count(value: Any) -> Any:
    """A controlled count as published: hidden is ``*``, never empty and never a number."""
    if value is None or value != value:
        return SUPPRESSED
    return int(value)


def _number(value: Any, digits: int = 4) -> Any:
    if value is None or value != value:
        return None
    return round(float(value), digits)


def insight_figures(con: duckdb.DuckDBPyConnection, ctx: PlaceContext, out: PlaceFigures) -> None:
    """Prevalence, persons known to services and demand per year, as the dashboard shows them."""
    years = available_years(con)
    out.years = [y.label for y in years]
    if not years:
        out.notes.append("The place has no linked records yet, so there are no insight figures.")
        for name in ("prevalence", "services_known", "demand"):
            out.tables[name] = []
        return
    period = years[-1].label if len(years) == 1 else f"{years[-1].label} to {years[0].label}"
    adults = ctx.adult_population
    cohorts = export.cohorts_table(con, ctx)
    out.tables["prevalence"] = [
        {"cohort": r["cohort"], "label": r["label"], "period": period,
         "persons": _count(r["persons"]),
         "per_1000_adults": SUPPRESSED if r["persons"] is None else _number(r["per_1000_adults"], 2),
         "national_per_1000": _number(r["national_per_1000"], 2),
         "national_source": r["national_source"]}
        for r in cohorts.to_dict("records")
    ]  # fmt: skip
    services = families.service_figures(con, ctx)
    known = []
    for k, value in ((1, services.persons), (2, services.two_or_more), (3, services.three_or_more)):
        rate: Any = SUPPRESSED if value is None else (
            round(1000 * value / adults, 2) if adults else None)
        known.append({"min_services": k, "period": period, "persons": _count(value),
                      "per_1000_adults": rate})
    out.tables["services_known"] = known
    rows: list[Row] = []
    for year in years:
        frame = export.demand_table(con, ctx, year=year)
        for r in frame.to_dict("records"):
            hidden = r["events"] is None
            rows.append({
                "financial_year": year.label, "service": r["service"], "partner": r["partner"],
                "persons": _count(r["persons"]), "events": _count(r["events"]),
                "events_per_person": SUPPRESSED if r["events_per_person"] is None
                else _number(r["events_per_person"], 2),
                "cost": SUPPRESSED if hidden or r["cost"] is None else _number(r["cost"], 0),
                "price_year": demand_mod.DEFAULT_PRICE_YEAR,
            })
    out.tables["demand"] = rows


def _round_fields(round_: SurveyRound) -> Row:
    return {"round": str(round_.id), "round_title": round_.title,
            "opens_on": round_.opens_on.isoformat(), "closes_on": round_.closes_on.isoformat()}


def _exact(value: Any) -> Any:
    return None if value is None or value != value else float(value)


def _estimate(e: dict[str, Any] | None, key: str = "mean") -> tuple[Any, Any, Any]:
    """An estimate and its interval exactly as the results page has them (a float's repr
    reads back to the same float), so a comparison shows the page's own figures."""
    if not e or not e.get("shown"):
        return SUPPRESSED, SUPPRESSED, SUPPRESSED
    return _exact(e.get(key)), _exact(e.get("lci")), _exact(e.get("uci"))


def _readiness_rows(round_: SurveyRound, body: dict[str, Any]) -> list[Row]:
    rows = []
    for line in body.get("lines", []):
        practice, ambition, gap = line["practice"], line["ambition"], line["gap"]
        p, p_lo, p_hi = _estimate(practice)
        a, a_lo, a_hi = _estimate(ambition)
        g, g_lo, g_hi = _estimate(gap)
        rows.append({**_round_fields(round_), "line": line["key"], "name": line["name"],
                     "kind": line["kind"],
                     "n": int(practice["n"]) if practice.get("shown") and practice.get("n")
                     else SUPPRESSED,
                     "practice": p, "practice_lci": p_lo, "practice_uci": p_hi,
                     "ambition": a, "ambition_lci": a_lo, "ambition_uci": a_hi,
                     "gap": g, "gap_lci": g_lo, "gap_uci": g_hi})
    return rows


def _citizen_rows(round_: SurveyRound, body: dict[str, Any]) -> list[Row]:
    rows = []
    for m in body.get("measures", []):
        w = m["weighted"]
        est, lo, hi = _estimate(w, "est")
        national = (m.get("national") or {}).get("value")
        rows.append({**_round_fields(round_), "measure": m["key"], "label": m["label"],
                     "n": int(w["n"]) if w.get("shown") and w.get("n") else SUPPRESSED,
                     "estimate": est, "lci": lo, "uci": hi,
                     "national": _number(national),
                     "higher_is_worse": m["key"] in HIGHER_IS_WORSE})
    return rows


def survey_figures(session: Session, place: Place, out: PlaceFigures) -> None:
    """Every place-wide round with answers, exactly as its results page shows it."""
    readiness: list[Row] = []
    citizen: list[Row] = []
    for round_ in sorted(rounds_for_place(session, place.id), key=lambda r: (r.opens_on, r.id)):
        if round_.collaboration_id is not None or not round_.answers_version:
            continue
        body = survey_results.results(session, round_)
        if round_.instrument_key == "readiness":
            readiness += _readiness_rows(round_, body)
        elif round_.instrument_key == "citizen_voice":
            citizen += _citizen_rows(round_, body)
    out.tables["readiness"], out.tables["citizen"] = readiness, citizen
    if not readiness:
        out.notes.append("The place has no readiness survey rounds with answers yet.")
    if not citizen:
        out.notes.append("The place has no citizen voice survey rounds with answers yet.")


def charter_figures(session: Session, place: Place, out: PlaceFigures) -> None:
    collabs, measures = [], []
    for c in list_collaborations(session, place):
        collabs.append({"collaboration": c.slug, "name": c.name, "status": c.status,
                        "partners": len(c.partners), "updated_on": c.updated_at.date().isoformat()})
        for m in sorted(c.measures, key=lambda m: m.id):
            measures.append({"collaboration": c.slug, "measure": m.name, "unit": m.unit,
                             "baseline": m.baseline, "target": m.target,
                             "check_on": m.check_on.isoformat() if m.check_on else None})
    out.tables["collaborations"], out.tables["measures"] = collabs, measures
    if not collabs:
        out.notes.append("The place has no collaborations yet.")


def place_figures(session: Session, place: Place, con: duckdb.DuckDBPyConnection | None,
                  ctx: PlaceContext) -> PlaceFigures:
    """All of a place's published figures; ``con`` is None for a place with no insight store."""
    out = PlaceFigures()
    if con is None:
        out.notes.append("The place has no linked records yet, so there are no insight figures.")
        for name in ("prevalence", "services_known", "demand"):
            out.tables[name] = []
    else:
        insight_figures(con, ctx, out)
    survey_figures(session, place, out)
    charter_figures(session, place, out)
    out.tables["value_accounts"] = value_rows(session, place)
    if not out.tables["value_accounts"]:
        out.notes.append("The place has no computed public value accounts yet.")
    return out
