"""Cohorts and the place's unit costs and deflators: defining them, and the pages that show
them. Aggregates go through disclosure control."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import controlled as families
from joinedup.insight import demand
from joinedup.insight.analysis import has_persons
from joinedup.insight.cohort_rules import AGE_BANDS, SEXES
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    cell,
    has_store,
    place_ctx,
    record_action,
    require_store,
    store,
)
from joinedup.web.routers.insight_figures import choose_year
from joinedup.web.templating import render

router = APIRouter()


# --- cohorts ------------------------------------------------------------------------------

RULE_FIELDS = ("name", "needs", "min_needs", "min_services", "max_services", "min_partners",
               "max_partners", "age_bands", "sexes", "partners")  # fmt: skip


def _choices(con: Any) -> dict[str, list[str]]:
    from joinedup.insight.analysis import needs_of_place

    return {
        "needs": needs_of_place(con),
        "partners": [r[0] for r in con.execute("SELECT DISTINCT partner FROM sources ORDER BY 1").fetchall()],
        "age_bands": [b[0] for b in AGE_BANDS],
        "sexes": list(SEXES),
    }


def _cohorts_page(request: Request, actor: Actor, errors: FormErrors, values: dict[str, Any],
                  status: int = 200) -> Response:  # fmt: skip
    choices: dict[str, list[str]] = {"needs": [], "partners": [], "age_bands": [], "sexes": []}
    defined: list[Any] = []
    sizes: dict[str, int | None] = {}
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            choices = _choices(con)
            defined = cohort_mod.cohorts(con)
            if has_persons(con):
                sizes = families.person_figures(con, place_ctx(request, actor)).sizes
    return render(request, "insight/cohorts.html", {
        "place": actor.place, "choices": choices, "defined": defined, "errors": errors,
        "values": values, "sizes": sizes, "sexes": SEXES,
    }, status_code=status)  # fmt: skip


@router.get(BASE + "/cohorts", response_class=HTMLResponse)
def cohorts_page(request: Request, actor: Actor = Depends(requires(Capability.DEFINE_COHORT))) -> Response:
    return _cohorts_page(request, actor, FormErrors(), {"min_needs": "", "needs": [], "age_bands": [],
                                                        "sexes": [], "partners": []})  # fmt: skip


def _whole(values: dict[str, Any], key: str, errors: FormErrors, what: str) -> int | None:
    raw = str(values.get(key) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        errors.add(key, f"Enter the {what} as a whole number, like 3")
        return None
    return int(raw)


@router.post(BASE + "/cohorts", response_class=HTMLResponse)
async def cohorts_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.DEFINE_COHORT)),
    session: Session = Depends(get_db),
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in RULE_FIELDS}
    for many in ("needs", "age_bands", "sexes", "partners"):
        values[many] = [str(v) for v in form.getlist(many) if str(v)]
    errors = FormErrors()
    if not str(values["name"]).strip():
        errors.add("name", "Enter a name for the cohort")
    numbers = {
        key: _whole(values, key, errors, what) for key, what in (
            ("min_needs", "minimum number of needs"), ("min_services", "fewest services"),
            ("max_services", "most services"), ("min_partners", "fewest partners"),
            ("max_partners", "most partners"),
        )
    }  # fmt: skip
    if errors:
        return _cohorts_page(request, actor, errors, values, 400)
    try:
        with store(request, actor.place.slug) as con:
            cohort = cohort_mod.define_cohort(
                con, values["name"], values["name"], values["needs"], numbers["min_needs"] or 0,
                min_services=numbers["min_services"], max_services=numbers["max_services"],
                min_partners=numbers["min_partners"], max_partners=numbers["max_partners"],
                age_bands=values["age_bands"], sexes=values["sexes"], partners=values["partners"],
            )  # fmt: skip
    except cohort_mod.CohortError as exc:
        errors.add(exc.field if exc.field in RULE_FIELDS else "name", str(exc)[:1].upper() + str(exc)[1:])
        return _cohorts_page(request, actor, errors, values, 400)
    record_action(request, session, actor, "insight.cohort.define", f"cohort:{cohort.name}",
                  rules=cohort.describe())  # fmt: skip
    return RedirectResponse(f"/places/{actor.place.slug}/insight/cohorts/{cohort.name}", status_code=303)


def _breakdown_tables(breakdown: Any, year: str) -> dict[str, Any]:
    """Who bears the cost (partners, with a total) and the services behind it."""
    prices = f"Cost ({demand.DEFAULT_PRICE_YEAR} prices)"
    partners = [[cell(r["partner"]), cell(r["events"], "count"), cell(r["cost"], "money")]
                for r in breakdown.partners]  # fmt: skip
    partners.append([{"text": "Total"}, cell(breakdown.total.get("events"), "count"),
                     cell(breakdown.total.get("cost"), "money")])  # fmt: skip
    by_partner: dict[str, Any] = {}
    for r in breakdown.services:
        by_partner.setdefault(str(r["partner"]), []).append(
            [cell(r["service"]), cell(r["events"], "count"), cell(r["cost"], "money")]
        )
    for partner in breakdown.partners:
        rows = by_partner.get(str(partner["partner"]), [])
        rows.append([{"text": "Total"}, cell(partner["events"], "count"), cell(partner["cost"], "money")])
    head = [
        {"text": "Partner"},
        {"text": "Events", "format": "numeric"},
        {"text": prices, "format": "numeric"},
    ]
    service_head = [{"text": "Service"}, {"text": "Events", "format": "numeric"},
                    {"text": prices, "format": "numeric"}]  # fmt: skip
    return {
        "partners": {"head": head, "rows": partners, "firstCellIsHeader": True,
                     "caption": f"Who bears the cost in {year}", "captionClasses": "govuk-table__caption--m"},
        "services": {name: {"head": service_head, "rows": rows, "firstCellIsHeader": True,
                            "caption": f"{name}: its services in {year}",
                            "captionClasses": "govuk-table__caption--s"}
                     for name, rows in by_partner.items()},
    }  # fmt: skip


@router.get(BASE + "/cohorts/{name}", response_class=HTMLResponse)
def cohort_page(
    request: Request, name: str, actor: Actor = Depends(requires(Capability.VIEW_PLACE))
) -> Response:
    """A cohort's size, its demand and cost in a financial year and who bears it, with totals;
    each partner opens onto its services."""
    require_store(request, actor.place.slug)
    ctx = place_ctx(request, actor)
    with store(request, actor.place.slug) as con:
        cohort = cohort_mod.find_cohort(con, name)
        if cohort is None:
            raise HTTPException(status_code=404)
        year, years, year_errors = choose_year(request, con)
        context: dict[str, Any] = {
            "place": actor.place, "cohort": cohort, "years": years, "year": year.label if year else None,
            "year_errors": year_errors, "size": None, "empty": True, "tables": None, "shown_cost": 0.0,
            "year_items": [{"value": y, "text": y, "selected": year is not None and y == year.label}
                           for y in years],
        }  # fmt: skip
        if has_persons(con):
            persons = families.person_figures(con, ctx)
            context["size"] = persons.sizes.get(cohort.name)
            context["empty"] = persons.true_sizes.get(cohort.name, 0) == 0
            if year is not None and not context["empty"]:
                period = demand.Period(year.start, year.end)
                figures = families.demand_figures(con, ctx, demand.DEFAULT_PRICE_YEAR, period)
                breakdown = figures.cohorts.get(cohort.name)
                if breakdown is not None and breakdown.persons:
                    context["tables"] = _breakdown_tables(breakdown, year.label)
                    context["total"] = breakdown.total
                    # What the shown partners cost is plain from the table; said beside a
                    # hidden total so that the page still answers 'at least how much'.
                    context["shown_cost"] = sum(float(str(r["cost"])) for r in breakdown.partners
                                                if r["cost"] is not None)  # fmt: skip
    context["rule"] = ctx.rule.describe()
    return render(request, "insight/cohort.html", context)


@router.get(BASE + "/cohorts/{name}/delete", response_class=HTMLResponse)
def cohort_delete_page(
    request: Request, name: str, actor: Actor = Depends(requires(Capability.DEFINE_COHORT))
) -> Response:
    return _delete_page(request, actor, name, FormErrors())


def _delete_page(request: Request, actor: Actor, name: str, errors: FormErrors) -> Response:
    require_store(request, actor.place.slug)
    with store(request, actor.place.slug) as con:
        cohort = cohort_mod.find_cohort(con, name)
    if cohort is None:
        raise HTTPException(status_code=404)
    return render(request, "insight/cohort_delete.html", {
        "place": actor.place, "cohort": cohort, "errors": errors,
    }, status_code=400 if errors else 200)  # fmt: skip


@router.post(BASE + "/cohorts/{name}/delete", response_class=HTMLResponse)
async def cohort_delete(
    request: Request,
    name: str,
    actor: Actor = Depends(requires(Capability.DEFINE_COHORT)),
    session: Session = Depends(get_db),
) -> Response:
    form = await request.form()
    answer = str(form.get("confirm") or "")
    base = f"/places/{actor.place.slug}/insight/cohorts"
    if answer not in {"yes", "no"}:
        errors = FormErrors()
        errors.add("confirm", "Select yes if you want to delete this cohort")
        return _delete_page(request, actor, name, errors)
    if answer == "no":
        return RedirectResponse(f"{base}/{name}", status_code=303)
    try:
        with store(request, actor.place.slug) as con:
            cohort = cohort_mod.delete_cohort(con, name)
    except cohort_mod.CohortError as exc:
        errors = FormErrors()
        errors.add("confirm", str(exc)[:1].upper() + str(exc)[1:])
        return _delete_page(request, actor, name, errors)
    # Its figures go with it: the families' cache is keyed on the cohort definitions.
    record_action(request, session, actor, "insight.cohort.delete", f"cohort:{cohort.name}",
                  label=cohort.label, rules=cohort.describe())  # fmt: skip
    return RedirectResponse(f"{base}?deleted={cohort.name}", status_code=303)


def _costs_page(request: Request, actor: Actor, errors: FormErrors, values: dict[str, str],
                status: int = 200) -> Response:  # fmt: skip
    with store(request, actor.place.slug) as con:
        costs = demand.unit_costs(con)
        years = demand.deflators(con)
    return render(request, "insight/costs.html", {
        "place": actor.place, "costs": costs.to_dict("records"),
        "years": years.to_dict("records"), "errors": errors, "values": values,
        "price_year": demand.DEFAULT_PRICE_YEAR,
    }, status_code=status)  # fmt: skip


@router.get(BASE + "/costs", response_class=HTMLResponse)
def costs_page(request: Request, actor: Actor = Depends(requires(Capability.EDIT_UNIT_COSTS))) -> Response:
    return _costs_page(request, actor, FormErrors(), {})


@router.post(BASE + "/costs", response_class=HTMLResponse)
async def costs_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.EDIT_UNIT_COSTS)),
    session: Session = Depends(get_db),
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    values = {k: form.get(k, "") for k in ("code", "item", "cost_gbp", "price_year", "unit")}
    errors = FormErrors()
    if not values["code"].strip():
        errors.add("code", "Enter the unit cost's code, for example HO3.0 or LOCAL1")
    try:
        cost = float(values["cost_gbp"].replace(",", "").replace("£", ""))
    except ValueError:
        errors.add("cost_gbp", "Enter the cost in pounds, for example 2501")
        cost = 0.0
    if not re.fullmatch(r"\d{4}-\d{2}", values["price_year"].strip()):
        errors.add("price_year", "Enter the price year as a financial year, for example 2024-25")
    if errors:
        return _costs_page(request, actor, errors, values, 400)
    try:
        with store(request, actor.place.slug) as con:
            demand.set_unit_cost(
                con, values["code"], cost_gbp=cost, price_year=values["price_year"].strip(),
                item=values["item"].strip() or None, unit=values["unit"].strip() or None,
            )  # fmt: skip
    except demand.DemandError as exc:
        errors.add("price_year" if "deflator" in str(exc) else "cost_gbp", str(exc).capitalize())
        return _costs_page(request, actor, errors, values, 400)
    record_action(request, session, actor, "insight.unit_cost", f"unit_cost:{values['code']}",
           cost_gbp=cost, price_year=values["price_year"])  # fmt: skip
    return RedirectResponse(f"/places/{actor.place.slug}/insight/costs?saved=1", status_code=303)


__all__ = ["router"]


@router.post(BASE + "/costs/deflators", response_class=HTMLResponse)
async def deflator_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.EDIT_UNIT_COSTS)),
    session: Session = Depends(get_db),
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    values = {k: form.get(k, "") for k in ("financial_year", "index")}
    errors = FormErrors()
    year = values["financial_year"].strip()
    if not re.fullmatch(r"\d{4}-\d{2}", year):
        errors.add("financial_year", "Enter the financial year, for example 2025-26")
    try:
        index = float(values["index"])
        if index <= 0:
            raise ValueError
    except ValueError:
        errors.add("index", "Enter the index as a positive number, for example 102.5")
        index = 0.0
    if errors:
        return _costs_page(request, actor, errors, values, 400)
    with store(request, actor.place.slug) as con:
        demand.set_deflator(con, year, index)
    record_action(request, session, actor, "insight.deflator", f"deflator:{year}", index=index)
    return RedirectResponse(f"/places/{actor.place.slug}/insight/costs?saved=1", status_code=303)
