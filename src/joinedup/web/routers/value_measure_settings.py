"""The measures of a collaboration's public value account: add, change, or take the starter
set. Analysts only, since measures decide what is counted (see joinedup.value.settings).
Each form saves whole or shows what is wrong and saves nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from joinedup.collaborations.models import Collaboration
from joinedup.places.roles import Capability
from joinedup.value import measure_settings
from joinedup.value import settings as vs
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.insight_pages import require_store, store
from joinedup.web.templating import render
from joinedup.web.value_pages import BASE, collaboration_or_404, saved, store_facts

router = APIRouter()

# --- measures (analysts) ---------------------------------------------------------------------


def _measure_form(
    request: Request,
    actor: Actor,
    c: Collaboration,
    values: dict[str, str],
    errors: FormErrors,
    key: str | None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "value/settings_measure.html",
        {
            "place": actor.place,
            "collab": c,
            "values": values,
            "errors": errors,
            "key": key,
            **store_facts(request, actor),
        },
        status_code=status,
    )


def _measure_values(stored: dict[str, Any], services: list[str]) -> dict[str, str]:
    values = {k: "" if v is None else str(v) for k, v in stored.items() if not isinstance(v, list)}
    for i, s in enumerate(services):
        if s in stored.get("services", []):
            values[f"service-{i}"] = s
    return values


@router.get(BASE + "/measures/new", response_class=HTMLResponse)
def measure_new(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    return _measure_form(request, actor, c, {"statistic": "count", "direction": "lower"}, FormErrors(), None)


@router.get(BASE + "/measures/{key}", response_class=HTMLResponse)
def measure_edit(
    request: Request,
    collab: str,
    key: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = vs.account_of(session, c)
    stored = next((m for m in (account.measures if account else []) if m["key"] == key), None)
    if stored is None:
        raise HTTPException(status_code=404)
    facts = store_facts(request, actor)
    return _measure_form(request, actor, c, _measure_values(stored, facts["services"]), FormErrors(), key)


def _save_measure(
    request: Request, session: Session, actor: Actor, c: Collaboration, form: dict[str, str], key: str | None
) -> Response:
    account = vs.account_of(session, c)
    current = list(account.measures) if account else []
    if key is not None and not any(m["key"] == key for m in current):
        raise HTTPException(status_code=404)
    facts = store_facts(request, actor)
    others = [m["key"] for m in current if m["key"] != key]
    stored, found = measure_settings.read_measure({**form, "key": key or ""}, facts["services"], others)
    if not found:
        if not facts["has_store"]:
            found = {
                "service-0": "The place has no linked data yet: ingest and link the partners' extracts first"
            }
        else:
            with store(request, actor.place.slug) as con:
                found = measure_settings.check_measure(con, stored)
    if found:
        session.rollback()
        return _measure_form(request, actor, c, form, FormErrors.from_dict(found), key, 400)
    account = vs.ensure_account(session, c, by=actor.user.email)
    measures = [stored if m["key"] == key else m for m in current] if key else [*current, stored]
    measure_settings.save_measures(session, account, measures, by=actor.user.email)
    return saved(request, session, actor, c, "measures", f"Measure “{stored['label']}” saved.")


@router.post(BASE + "/measures/new", response_class=HTMLResponse)
def measure_add(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    return _save_measure(request, session, actor, collaboration_or_404(session, actor, collab), form, None)


@router.post(BASE + "/measures/{key}", response_class=HTMLResponse)
def measure_save(
    request: Request,
    collab: str,
    key: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    if form.get("remove") == "yes":
        account = vs.account_of(session, c)
        if account is None or not any(m["key"] == key for m in account.measures):
            raise HTTPException(status_code=404)
        measure_settings.save_measures(
            session, account, [m for m in account.measures if m["key"] != key], by=actor.user.email
        )
        return saved(request, session, actor, c, "measures", "Measure removed.")
    return _save_measure(request, session, actor, c, form, key)


@router.post(BASE + "/starter", response_class=HTMLResponse)
def starter_measures(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    """Add the starter catalogue's measures whose services have events in this place."""
    from joinedup.value.catalogue import STARTER_MEASURES

    c = collaboration_or_404(session, actor, collab)
    require_store(request, actor.place.slug)
    account = vs.ensure_account(session, c, by=actor.user.email)
    have = {m["key"] for m in account.measures}
    added: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    with store(request, actor.place.slug) as con:
        for spec in STARTER_MEASURES:
            if spec.key in have:
                continue
            stored = vs.measure_dict(spec)
            (added if not measure_settings.check_measure(con, stored) else skipped).append(stored)
    measure_settings.save_measures(session, account, [*account.measures, *added], by=actor.user.email)
    names = ", ".join(m["label"] for m in skipped)
    message = f"{len(added)} starter measures added." + (
        f" Left out, as this place has no events for them: {names}." if names else ""
    )
    return saved(request, session, actor, c, "measures", message)


# --- parameters (leads and analysts) -----------------------------------------------------------
