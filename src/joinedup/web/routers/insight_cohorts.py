"""Cohorts and the place's unit costs and deflators: defining them, and the pages that show
them. Aggregates go through disclosure control."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import demand
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    has_store,
    record_action,
    store,
)
from joinedup.web.templating import render

router = APIRouter()



# --- cohorts and unit costs ---------------------------------------------------------------


def _cohorts_page(request: Request, actor: Actor, errors: FormErrors, values: dict[str, Any],
                  status: int = 200) -> Response:  # fmt: skip
    needs: list[str] = []
    defined: list[Any] = []
    if has_store(request, actor.place.slug):
        from joinedup.insight.analysis import needs_of_place

        with store(request, actor.place.slug) as con:
            needs = needs_of_place(con)
            defined = cohort_mod.cohorts(con)
    return render(request, "insight/cohorts.html", {
        "place": actor.place, "needs": needs, "defined": defined, "errors": errors,
        "values": values,
    }, status_code=status)  # fmt: skip


@router.get(BASE + "/cohorts", response_class=HTMLResponse)
def cohorts_page(request: Request, actor: Actor = Depends(requires(Capability.DEFINE_COHORT))) -> Response:
    return _cohorts_page(request, actor, FormErrors(), {"min_needs": "2", "needs": []})


@router.post(BASE + "/cohorts", response_class=HTMLResponse)
async def cohorts_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.DEFINE_COHORT)),
    session: Session = Depends(get_db),
) -> Response:
    form = await request.form()
    needs = [str(v) for v in form.getlist("needs")]
    name = str(form.get("name") or "")
    min_needs = str(form.get("min_needs") or "")
    values: dict[str, Any] = {"name": name, "min_needs": min_needs, "needs": needs}
    errors = FormErrors()
    if not name.strip():
        errors.add("name", "Enter a name for the cohort")
    try:
        minimum = int(min_needs)
    except ValueError:
        errors.add("min_needs", "Enter the minimum number of needs as a whole number")
        minimum = 0
    if errors:
        return _cohorts_page(request, actor, errors, values, 400)
    try:
        with store(request, actor.place.slug) as con:
            cohort = cohort_mod.define_cohort(con, name, name, needs, minimum)
    except cohort_mod.CohortError as exc:
        errors.add("needs", str(exc).capitalize())
        return _cohorts_page(request, actor, errors, values, 400)
    record_action(request, session, actor, "insight.cohort.define", f"cohort:{cohort.name}",
           needs=list(cohort.needs), min_needs=cohort.min_needs)  # fmt: skip
    return RedirectResponse(f"/places/{actor.place.slug}/insight/cohorts", status_code=303)


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
