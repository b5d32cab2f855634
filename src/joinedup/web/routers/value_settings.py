"""The settings of a collaboration's public value account, one part per page.

Each page saves its part whole, in one transaction, or shows what is wrong (GOV.UK error
pattern) and saves nothing. Who is counted (the programme, its measures, the windows) is for
analysts; the valuation and the costs are for leads and analysts (see
joinedup.value.settings for why).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from joinedup.collaborations.models import Collaboration
from joinedup.places.roles import Capability
from joinedup.value import cost_settings, programme_settings
from joinedup.value import settings as vs
from joinedup.value.account import OPTIMISM_BIAS_BY_GRADE, Parameters
from joinedup.value.models import ValueAccount, ValueMeasureLink
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.insight_pages import has_store, place_ctx, store
from joinedup.web.templating import render
from joinedup.web.value_pages import BASE, FLASH, collaboration_or_404, saved, store_facts

router = APIRouter()

# --- overview --------------------------------------------------------------------------------


@router.get(BASE, response_class=HTMLResponse)
def settings_page(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = vs.account_of(session, c)
    params = (
        vs.parameters_of(account, min_persons=place_ctx(request, actor).rule.threshold)
        if account
        else Parameters()
    )
    links = _links(session, c)
    return render(
        request,
        "value/settings.html",
        {
            "place": actor.place,
            "collab": c,
            "account": account,
            "params": params,
            "can_define": actor.can(Capability.RUN_INSIGHT),
            "flash": request.session.pop(FLASH, None),
            "pooled": [r for r in c.resources if r.kind == "money" and r.amount_gbp],
            "links": links,
            "errors": FormErrors(),
        },
    )


def _links(session: Session, c: Collaboration) -> dict[int, ValueMeasureLink]:
    return vs.measure_links(session, c)


# --- the programme (analysts) ----------------------------------------------------------------


def _programme_form(
    request: Request,
    actor: Actor,
    c: Collaboration,
    values: dict[str, str],
    errors: FormErrors,
    status: int = 200,
) -> Response:
    return render(
        request,
        "value/settings_programme.html",
        {
            "place": actor.place,
            "collab": c,
            "values": values,
            "errors": errors,
            **store_facts(request, actor),
        },
        status_code=status,
    )


@router.get(BASE + "/programme", response_class=HTMLResponse)
def programme_page(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = vs.account_of(session, c)
    stored = (account.programme if account else None) or {}
    values = {
        "kind": stored.get("kind", "source"),
        "source": stored.get("source", ""),
        "cohort": stored.get("cohort", ""),
    }
    if stored.get("entry_date"):
        y, m, d = stored["entry_date"].split("-")
        values.update({"entry_date-day": str(int(d)), "entry_date-month": str(int(m)), "entry_date-year": y})
    return _programme_form(request, actor, c, values, FormErrors())


@router.post(BASE + "/programme", response_class=HTMLResponse)
def programme_save(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    definition, found = programme_settings.read_programme(form)
    if not found:
        if not has_store(request, actor.place.slug):
            found = {"kind": "The place has no linked data yet: ingest and link the partners' extracts first"}
        else:
            with store(request, actor.place.slug) as con:
                found = programme_settings.check_programme(
                    con, definition, place_ctx(request, actor).rule.threshold
                )
    if found:
        session.rollback()
        return _programme_form(request, actor, c, form, FormErrors.from_dict(found), 400)
    account = vs.ensure_account(session, c, by=actor.user.email)
    programme_settings.save_programme(session, account, definition, by=actor.user.email)
    return saved(request, session, actor, c, "programme", "Programme saved. Recompute the account to use it.")


def _parameter_values(stored: dict[str, Any]) -> dict[str, str]:
    def pct(v: Any) -> str:
        return f"{100 * float(v):g}"

    values = {
        "window_before": str(stored.get("window_before", 4)),
        "window_after": str(stored.get("window_after", 4)),
        "price_year": str(stored.get("price_year", "2024-25")),
        "discount_rate": pct(stored.get("discount_rate", 0.035)),
        "deadweight": pct(stored.get("deadweight", 0.2)),
        "attribution": pct(stored.get("attribution", 1.0)),
        "drop_off": pct(stored.get("drop_off", 0.2)),
        "persistence_years": str(stored.get("persistence_years", 5)),
        "evidence_grade": str(stored.get("evidence_grade") or ""),
        "gain_share_rule": str(stored.get("gain_share_rule", "contribution")),
        "optimism_bias_verified": "yes" if stored.get("optimism_bias_verified") else "",
        "headline_measure": str(stored.get("headline_measure") or ""),
    }
    table = stored.get("optimism_bias") or {str(k): v for k, v in OPTIMISM_BIAS_BY_GRADE.items()}
    for grade, value in table.items():
        values[f"optimism_bias-{grade}"] = pct(value)
    for name, (low, high) in (stored.get("ranges") or {}).items():
        values[f"range-{name}-low"], values[f"range-{name}-high"] = pct(low), pct(high)
    return values


def _parameters_form(
    request: Request,
    actor: Actor,
    c: Collaboration,
    values: dict[str, str],
    errors: FormErrors,
    status: int = 200,
    measures: list[dict[str, Any]] | None = None,
) -> Response:
    return render(
        request,
        "value/settings_parameters.html",
        {
            "place": actor.place,
            "collab": c,
            "values": values,
            "errors": errors,
            "grades": list(OPTIMISM_BIAS_BY_GRADE),
            "ranged": vs.RANGED,
            "can_define": actor.can(Capability.RUN_INSIGHT),
            "measures": measures,
        },
        status_code=status,
    )


@router.get(BASE + "/parameters", response_class=HTMLResponse)
def parameters_page(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = vs.account_of(session, c)
    stored = account.parameters if account else vs.parameters_dict(Parameters())
    return _parameters_form(
        request,
        actor,
        c,
        _parameter_values(stored),
        FormErrors(),
        measures=account.measures if account else [],
    )


@router.post(BASE + "/parameters", response_class=HTMLResponse)
def parameters_save(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = vs.account_of(session, c)
    current = dict(account.parameters) if account else vs.parameters_dict(Parameters())
    existing = vs.account_of(session, c)
    stored, found = vs.read_parameters(
        form,
        current,
        analyst=actor.can(Capability.RUN_INSIGHT),
        measure_keys=[m["key"] for m in existing.measures] if existing else [],
    )
    if found:
        session.rollback()
        return _parameters_form(
            request,
            actor,
            c,
            {**_parameter_values(current), **form},
            FormErrors.from_dict(found),
            400,
            measures=existing.measures if existing else [],
        )
    account = vs.ensure_account(session, c, by=actor.user.email)
    vs.save_parameters(session, account, stored, by=actor.user.email)
    return saved(
        request, session, actor, c, "parameters", "Parameters saved. Recompute the account to use them."
    )


# --- costs (leads and analysts) -----------------------------------------------------------------


def _costs_form(
    request: Request,
    actor: Actor,
    c: Collaboration,
    values: dict[str, str],
    rows: int,
    errors: FormErrors,
    status: int = 200,
) -> Response:
    return render(
        request,
        "value/settings_costs.html",
        {
            "place": actor.place,
            "collab": c,
            "values": values,
            "rows": rows,
            "errors": errors,
            "partners": actor.place.partners,
        },
        status_code=status,
    )


def _cost_values(account: ValueAccount | None, c: Collaboration) -> tuple[dict[str, str], int]:
    values: dict[str, str] = {}
    if account is not None:
        lines = [(x.partner_id, x.year, x.amount_gbp, x.description) for x in account.costs]
    else:  # offered from the charter's pooled money until the costs are first saved
        lines = [
            (r.partner_id, 0, r.amount_gbp, f"From the charter: {r.description}")
            for r in c.resources
            if r.kind == "money" and r.amount_gbp and r.partner_id
        ]
    for i, (pid, year, amount, description) in enumerate(lines):
        values.update(
            {
                f"costs-{i}-partner": str(pid),
                f"costs-{i}-year": str(year),
                f"costs-{i}-amount": str(amount),
                f"costs-{i}-description": description,
            }
        )
    return values, len(lines) + 1


@router.get(BASE + "/costs", response_class=HTMLResponse)
def costs_page(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    values, rows = _cost_values(vs.account_of(session, c), c)
    return _costs_form(request, actor, c, values, rows, FormErrors())


@router.post(BASE + "/costs", response_class=HTMLResponse)
def costs_save(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    rows, found = cost_settings.read_costs(form, {p.id: p.name for p in actor.place.partners})
    if found:
        session.rollback()
        count = 1 + max(
            [int(k.split("-")[1]) for k in form if k.startswith("costs-") and k.split("-")[1].isdigit()]
            or [0]
        )
        return _costs_form(request, actor, c, form, count, FormErrors.from_dict(found), 400)
    account = vs.ensure_account(session, c, by=actor.user.email)
    cost_settings.save_costs(session, account, rows, by=actor.user.email)
    return saved(request, session, actor, c, "costs", "Costs saved. Recompute the account to use them.")


# --- charter measures tied to the account's (leads and analysts) ---------------------------------


def _charter_form(
    request: Request,
    actor: Actor,
    c: Collaboration,
    account: ValueAccount | None,
    values: dict[str, str],
    errors: FormErrors,
    status: int = 200,
) -> Response:
    return render(
        request,
        "value/settings_charter.html",
        {
            "place": actor.place,
            "collab": c,
            "values": values,
            "errors": errors,
            "measures": account.measures if account else [],
        },
        status_code=status,
    )


@router.get(BASE + "/charter", response_class=HTMLResponse)
def charter_page(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    values: dict[str, str] = {}
    for mid, link in _links(session, c).items():
        values[f"tie-{mid}"], values[f"per-{mid}"] = link.measure_key, link.per
    return _charter_form(request, actor, c, vs.account_of(session, c), values, FormErrors())


@router.post(BASE + "/charter", response_class=HTMLResponse)
def charter_save(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = vs.account_of(session, c)
    keys = {m["key"] for m in (account.measures if account else [])}
    errors: dict[str, str] = {}
    wanted: dict[int, tuple[str, str]] = {}
    for m in c.measures:
        key, per = form.get(f"tie-{m.id}", ""), form.get(f"per-{m.id}", "year")
        if key and key not in keys:
            errors[f"tie-{m.id}"] = f"Choose one of the account's measures for “{m.name}”, or none"
        elif per not in {"quarter", "year"}:
            errors[f"per-{m.id}"] = f"Choose whether “{m.name}” is counted per quarter or per year"
        elif key:
            wanted[m.id] = (key, per)
    if errors:
        session.rollback()
        return _charter_form(request, actor, c, account, form, FormErrors.from_dict(errors), 400)
    existing = _links(session, c)
    for mid, link in existing.items():
        if mid not in wanted:
            session.delete(link)
    for mid, (key, per) in wanted.items():
        link = existing.get(mid) or ValueMeasureLink(outcome_measure_id=mid)
        link.measure_key, link.per = key, per
        session.add(link)
    session.flush()
    return saved(request, session, actor, c, "charter", "Charter measures tied to the account.")
