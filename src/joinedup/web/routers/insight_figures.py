"""Insight figures: the dashboard, its charts and its CSV exports.

Everything here leaves the analyst role, so every figure comes through disclosure control
(joinedup.insight.export and joinedup.insight.controlled), for whole financial years only.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import controlled as families
from joinedup.insight import count_doubt, dashboard_figures, demand, export, figure_cache
from joinedup.insight.analysis import needs_of_place
from joinedup.insight.cohort_rules import AGE_BANDS, SEXES, Cohort
from joinedup.insight.disclosure import SUPPRESSED
from joinedup.insight.periods import FinancialYear, available_years, parse_year
from joinedup.insight.pipeline import explain_dir
from joinedup.insight.summary import headline, last_run
from joinedup.places.colours import partner_colours
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    EXPLANATIONS,
    cell,
    has_store,
    place_ctx,
    record_action,
    settings_of,
    store,
    table,
)
from joinedup.web.templating import render

router = APIRouter()

CHARTS = dashboard_figures.CHARTS


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Needs as words: 'substance_misuse + offending' → 'substance misuse + offending'."""
    frame = frame.copy()
    frame["combination"] = frame["combination"].astype(str).str.replace("_", " ")
    return frame


_SHORT_COHORTS = {
    "all": "All persons", "smd2": "SMD (2 or 3)", "smd3": "SMD (all 3)", "any2": "2+ needs",
    "services3": "3+ services",
}  # fmt: skip


def _cost_matrix(costs: pd.DataFrame, year: str) -> dict[str, Any]:
    """Cohort × partner: who bears each cohort's cost (controlled costs; * where suppressed),
    with each cohort's total: the sum of its partners' costs, hidden if any of them is."""
    cohorts = list(dict.fromkeys(costs["cohort"]))
    labels = {
        c: _SHORT_COHORTS.get(c, str(lbl)) for c, lbl in zip(costs["cohort"], costs["label"], strict=True)
    }
    head = [{"text": "Borne by"}] + [{"text": labels[c], "format": "numeric"} for c in cohorts]
    rows = []
    for partner in sorted(set(costs["partner"])):
        cells: list[dict[str, Any]] = [{"text": partner}]
        for cohort in cohorts:
            match = costs[(costs["partner"] == partner) & (costs["cohort"] == cohort)]
            cells.append(cell(match["cost"].iloc[0] if len(match) else 0.0, "money"))
        rows.append(cells)
    totals: list[dict[str, Any]] = [{"text": "Total"}]
    for cohort in cohorts:
        parts = list(costs[costs["cohort"] == cohort]["cost"])
        hidden = any(p is None or p != p for p in parts)
        totals.append(cell(None if hidden else float(sum(parts)), "money"))
    rows.append(totals)
    return {"head": head, "rows": rows, "firstCellIsHeader": True,
            "caption": f"Cost of each cohort's events in {year} by the partner who bears it "
                       f"({demand.DEFAULT_PRICE_YEAR} prices; SMD is severe multiple "
                       f"disadvantage)",
            "captionClasses": "govuk-table__caption--s"}  # fmt: skip


# --- dashboard ----------------------------------------------------------------------------

FILTERS = ("partner", "need", "age_band", "sex")


def choose_filter(
    request: Request, con: duckdb.DuckDBPyConnection
) -> tuple[Cohort | None, dict[str, str], FormErrors]:
    """The dashboard's filters (?partner=&need=&age_band=&sex=) as a cohort made for the
    request, controlled with the unfiltered figures (see joinedup.insight.cohort_figures).
    A value the place does not hold is an error on its field, and no filter applies."""
    errors = FormErrors()
    values = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    try:
        extra = cohort_mod.filter_cohort(con, **values)
    except cohort_mod.CohortError as exc:
        errors.add(exc.field, str(exc)[:1].upper() + str(exc)[1:] + ". No filter is applied.")
        return None, values, errors
    return extra, values, errors


def _filter_choices(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> dict[str, Any]:
    def items(options: list[tuple[str, str]], chosen: str) -> list[dict[str, Any]]:
        return [{"value": "", "text": "All"}] + [
            {"value": v, "text": t, "selected": v == chosen} for v, t in options
        ]

    partners = [r[0] for r in con.execute("SELECT DISTINCT partner FROM sources ORDER BY 1").fetchall()]
    return {
        "partner": items([(p, p) for p in partners], values.get("partner", "")),
        "need": items([(n, n.replace("_", " ").capitalize()) for n in needs_of_place(con)],
                      values.get("need", "")),
        "age_band": items([(b[0], b[0]) for b in AGE_BANDS], values.get("age_band", "")),
        "sex": items(list(SEXES.items()), values.get("sex", "")),
    }  # fmt: skip


def choose_year(
    request: Request, con: duckdb.DuckDBPyConnection
) -> tuple[FinancialYear | None, list[str], FormErrors]:
    """The financial year for demand and cost (?year=2024-25); the newest by default.

    Only whole financial years can be chosen, so that no two published periods can be
    subtracted to reveal a hidden figure (see joinedup.insight.periods)."""
    errors = FormErrors()
    years = available_years(con)
    labels = [y.label for y in years]
    raw = request.query_params.get("year", "").strip()
    if raw and raw not in labels:
        errors.add("year", f"Choose one of the financial years with data: {', '.join(labels)}")
    chosen = parse_year(raw) if raw in labels else (years[0] if years else None)
    return chosen, labels, errors


@router.get(BASE, response_class=HTMLResponse)
def dashboard(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    slug = actor.place.slug
    context: dict[str, Any] = {"place": actor.place, "has_data": False,
                               "explanations": EXPLANATIONS, "years": [], "year": None,
                               "period_errors": FormErrors()}  # fmt: skip
    if has_store(request, slug):
        ctx = place_ctx(request, actor)
        with store(request, slug) as con:
            version = figure_cache.data_version(con, ctx)
            # The headline's figures are kept per data version; its last run is read afresh,
            # as a run in progress moves on without changing the data.
            h = replace(figure_cache.figure_cache().get((version, "headline"), lambda: headline(con, ctx)),
                        last_run=last_run(con))  # fmt: skip
            year, years, period_errors = choose_year(request, con)
            extra, filters, filter_errors = choose_filter(request, con)
            for key, message in filter_errors.by_field.items():
                period_errors.add(key, message)
            label = year.label if year else None
            query = urlencode({k: v for k, v in {"year": label, **filters}.items()
                               if v and (k == "year" or extra is not None)})  # fmt: skip
            context.update(years=years, year=label, period_errors=period_errors,
                           year_items=[{"value": y, "text": y, "selected": y == label} for y in years],
                           filter_items=_filter_choices(con, filters), filtered=extra is not None,
                           filter_text=_filter_text(filters) if extra is not None else "",
                           query=query)  # fmt: skip
            services = families.service_figures(con, ctx, extra) if h.persons else None
            if h.persons and services is not None:
                tables = dashboard_figures.dashboard_tables(con, ctx, year, extra)
                cohorts_frame, overlaps_frame = tables.cohorts, tables.overlaps
                costs_frame, demand_frame = tables.costs, tables.demand
                network_frame = _network_with_flags(tables.network)
                context.update(
                    has_data=True,
                    cohorts=_linked_cohorts(table(cohorts_frame, [
                        ("label", "Cohort", "text"), ("persons", "Persons", "count"),
                        ("per_1000_adults", "Per 1,000 adults", "rate"),
                        ("national_per_1000", "England per 1,000 (Hard Edges)", "reference"),
                    ], "Persons in each cohort"), list(cohorts_frame["cohort"]), slug, label),
                    overlaps=table(_readable(overlaps_frame.head(25)), [
                        ("combination", "Needs", "text"), ("persons", "Persons", "count"),
                    ], "Persons by combination of needs"),
                    service_overlaps=table(services.combinations.head(15), [
                        ("combination", "Services", "text"), ("persons", "Persons", "count"),
                    ], "Persons by combination of services"),
                    costs=_cost_matrix(costs_frame, year.label if year else ""),
                    demand=_with_total_row(table(demand_frame, [
                        ("service", "Service", "text"), ("partner", "Partner", "text"),
                        ("persons", "Persons", "count"), ("events", "Events", "count"),
                        ("events_per_person", "Events per person", "rate"),
                        ("cost", f"Cost ({demand.DEFAULT_PRICE_YEAR} prices)", "money"),
                    ], f"Demand on each service in {year.label if year else 'no year'}"),
                        _place_total(con, ctx, year, extra)),
                    network=table(network_frame.head(30), [
                        ("service_a", "Service", "text"), ("service_b", "Shares with", "text"),
                        ("shared", "Persons shared", "count"),
                        ("share_of_a", "Share of first", "share"),
                        ("share_of_b", "Share of second", "share"),
                        ("flag", "Ships in the night", "text"),
                    ], "Persons shared by pairs of services") if not network_frame.empty else None,
                    ships=[
                        f"{r.service_a} and {r.service_b}"
                        for r in network_frame.itertuples() if r.ships_in_the_night
                    ][:10],
                    # Households are of the whole place: a filtered view leaves them out.
                    households=dashboard_figures.households(con, ctx, year) if extra is None else None,
                )  # fmt: skip
            # What the model expects once its doubt is allowed for: of the whole place only,
            # and only beside a figure that is shown.
            expected = None
            if extra is None and services is not None and services.three_or_more is not None:
                expected = count_doubt.expected_shown(count_doubt.cached(con, ctx), ctx.rule)
            # Records are events across every year: a sum the year tables would subtract from,
            # so only those who work with the records see the exact figure.
            context.update(
                headline=h,
                figures={
                    "records": f"{h.records:,}" if actor.can(Capability.RUN_INSIGHT) else None,
                    "persons": _shown_count(services.persons if services else 0),
                    "two": _shown_count(services.two_or_more if services else 0),
                    "three": _shown_count(services.three_or_more if services else 0),
                    "three_expected": _shown_count(expected) if expected is not None else None,
                },
                rule=ctx.rule.describe(),
                last_run=h.last_run,
                explained=explain_dir(settings_of(request), slug).exists(),
            )
    return render(request, "insight/dashboard.html", context)


def _linked_cohorts(params: dict[str, Any], names: list[str], slug: str, year: str | None) -> dict[str, Any]:
    """Each cohort's name links to its page: size, cost and who bears it, and its services."""
    suffix = f"?year={year}" if year else ""
    for row, name in zip(params["rows"], names, strict=True):
        href = f"/places/{slug}/insight/cohorts/{name}{suffix}"
        row[0] = {"html": f'<a class="govuk-link" href="{href}">{escape(str(row[0]["text"]))}</a>'}
    return params


def _place_total(
    con: duckdb.DuckDBPyConnection, ctx: Any, year: FinancialYear | None, extra: Cohort | None
) -> dict[str, object]:
    if year is None:
        return {"events": None, "cost": None}
    period = demand.Period(year.start, year.end)
    return families.demand_figures(con, ctx, demand.DEFAULT_PRICE_YEAR, period, extra).place.total


def _with_total_row(params: dict[str, Any], total: dict[str, object]) -> dict[str, Any]:
    """The demand table's total: the place's events and cost from the same family as its rows
    (the sum of what is shown plus the rounded sum of what is hidden)."""
    if params["rows"]:
        params["rows"].append([
            {"text": "Total"}, {"text": ""}, {"text": "–", "format": "numeric"},
            cell(total.get("events"), "count"), {"text": "–", "format": "numeric"},
            cell(total.get("cost"), "money"),
        ])  # fmt: skip
    return params


def _filter_text(filters: dict[str, str]) -> str:
    words = {"partner": "known to {}", "need": "with the need {}", "age_band": "aged {}", "sex": "{}"}
    parts = [words[k].format(SEXES.get(v, v).lower() if k == "sex" else v.replace("_", " "))
             for k, v in filters.items() if v]  # fmt: skip
    return "Only persons " + ", ".join(parts) + "."


def _bad_filter(errors: FormErrors) -> Response:
    """A chart or download asked for with a filter the place does not hold: say so plainly
    (the dashboard shows the same message on the filter's field)."""
    return Response(" ".join(errors.by_field.values()), status_code=400, media_type="text/plain")


def _shown_count(value: int | None) -> str:
    return SUPPRESSED if value is None else f"{value:,}"


def _network_with_flags(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["flag"] = ["Yes" if f else "" for f in frame.get("ships_in_the_night", [])]
    return frame


@router.get(BASE + "/charts/{name}.svg")
def chart(request: Request, name: str, actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
          session: Session = Depends(get_db)) -> Response:
    if name not in CHARTS or not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    ctx = place_ctx(request, actor)
    with store(request, actor.place.slug) as con:
        extra, _values, filter_errors = choose_filter(request, con)
        if filter_errors:
            return _bad_filter(filter_errors)
        year, _labels, _errors = choose_year(request, con)
        svg = dashboard_figures.chart_svg(con, ctx, name, year, partner_colours(session, actor.place), extra)
    return Response(
        svg, media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )  # fmt: skip


@router.get(BASE + "/export/{name}.csv")
def export_csv(
    request: Request,
    name: str,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    if name not in export.TABLES or not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    if name == "links":
        if not actor.can(Capability.VIEW_PERSON_LEVEL):
            raise HTTPException(status_code=403)
        record_action(request, session, actor, "insight.export.links", f"place:{actor.place.slug}")
    ctx = place_ctx(request, actor)
    with store(request, actor.place.slug) as con:
        year, _labels, errors = choose_year(request, con)
        if errors:
            raise HTTPException(status_code=404)
        extra, _values, filter_errors = choose_filter(request, con)
        if filter_errors:
            return _bad_filter(filter_errors)
        extra = None if name == "links" else extra
        if name == "links":  # person-level: never kept in memory beyond the request
            body = _csv_body(export.build(name, con, ctx, controlled=True, year=year), name)
        else:
            def make() -> bytes:
                return _csv_body(export.build(name, con, ctx, controlled=True, year=year, extra=extra), name)

            body = figure_cache.cached(con, ctx, ("csv", name, year.label if year else None, extra), make)
    return Response(
        body, media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{actor.place.slug}-{name}.csv"'},
    )  # fmt: skip


def _csv_body(frame: pd.DataFrame, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.csv"
        export.write_table(frame, out)
        return out.read_bytes()
