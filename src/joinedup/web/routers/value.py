"""A collaboration's public value account: the page, its print view, charts and CSVs, the
settings forms, recomputing, and the analysts' person-level view of the programme cohort.

Everyone in the place reads the stored account; only analysts read it exact, everyone else
the disclosure-controlled copy made when it was computed (joinedup.value.published). The
page never computes: a reader cannot choose windows or measures in the address, only the
saved configuration is shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.collaborations.models import Collaboration
from joinedup.csvsafe import frame_to_csv
from joinedup.db.base import utcnow
from joinedup.insight.pipeline import store_options
from joinedup.insight.store import insight_path, open_store
from joinedup.places.roles import Capability
from joinedup.value import present
from joinedup.value import settings as value_settings
from joinedup.value.account import ValueInputError
from joinedup.value.results import (
    compute_for_publication,
    current_data_version,
    data_version,
    freshness,
    store_result,
)
from joinedup.web import value_pages
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import has_store, place_ctx, record_action, settings_of, store
from joinedup.web.routers import value_measure_settings as measure_pages
from joinedup.web.routers import value_settings as settings_pages
from joinedup.web.templating import render
from joinedup.web.value_pages import collaboration_or_404

router = APIRouter()
router.include_router(settings_pages.router)  # the settings pages, by part
router.include_router(measure_pages.router)

BASE = "/places/{place}/collaborations/{collab}/value"
FLASH = "value_flash"


def _url(collab: Collaboration, tail: str = "") -> str:
    return f"/places/{collab.place.slug}/collaborations/{collab.slug}/value{tail}"


def _version(request: Request, actor: Actor) -> str | None:
    if not has_store(request, actor.place.slug):
        return None
    settings = settings_of(request)
    path = insight_path(Path(settings.insight_dir), actor.place.slug)
    return current_data_version(
        path, lambda: open_store(Path(settings.insight_dir), actor.place.slug, **store_options(settings))
    )


def _account_context(request: Request, session: Session, actor: Actor, c: Collaboration) -> dict[str, Any]:
    ctx = place_ctx(request, actor)
    account = value_settings.account_of(session, c)
    exact = actor.can(Capability.VIEW_PERSON_LEVEL)
    fresh = freshness(account, ctx.rule, _version(request, actor))
    acc = None
    if account is not None and account.result is not None:
        acc = account.result.account if exact else account.result.published
    return {
        "place": actor.place,
        "collab": c,
        "account": account,
        "acc": acc,
        "exact": exact,
        "fresh": fresh,
        "result": account.result if account else None,
        "rule": ctx.rule.describe(),
        "tables": value_pages.tables(acc) if acc else None,
        "headline": present.headline(acc) if acc else "",
        "can_edit": actor.can(Capability.EDIT_VALUE_ACCOUNT),
        "can_define": actor.can(Capability.RUN_INSIGHT),
        "money": present.money,
        "number": present.number,
        "count": present.count,
        "share": present.share,
        "exports": present.EXPORTS,
    }


@router.get(BASE, response_class=HTMLResponse)
def account_page(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    context = _account_context(request, session, actor, c)
    context["flash"] = request.session.pop(FLASH, None)
    context["errors"] = FormErrors()
    return render(request, "value/account.html", context)


@router.get(BASE + "/print", response_class=HTMLResponse)
def account_print(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    context = _account_context(request, session, actor, c)
    context["printed_on"] = utcnow().date()
    return render(request, "value/print.html", context)


def _stored(session: Session, actor: Actor, c: Collaboration) -> dict[str, Any]:
    account = value_settings.account_of(session, c)
    if account is None or account.result is None:
        raise HTTPException(status_code=404)
    return account.result.account if actor.can(Capability.VIEW_PERSON_LEVEL) else account.result.published


@router.get(BASE + "/charts/{name}.svg")
def account_chart(
    request: Request,
    collab: str,
    name: str,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    if name not in value_pages.CHARTS:
        raise HTTPException(status_code=404)
    acc = _stored(session, actor, collaboration_or_404(session, actor, collab))
    return Response(
        value_pages.svg(acc, name), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"}
    )


@router.get(BASE + "/export/{name}.csv")
def account_csv(
    request: Request,
    collab: str,
    name: str,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    if name not in present.EXPORTS:
        raise HTTPException(status_code=404)
    c = collaboration_or_404(session, actor, collab)
    # CSVs are always the controlled account: a file travels further than a page.
    account = value_settings.account_of(session, c)
    if account is None or account.result is None:
        raise HTTPException(status_code=404)
    body = frame_to_csv(present.export_frame(account.result.published, name))
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{c.slug}-value-{name}.csv"'},
    )


@router.post(BASE + "/recompute", response_class=HTMLResponse)
async def recompute(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.EDIT_VALUE_ACCOUNT)),
    session: Session = Depends(get_db),
) -> Response:
    c = collaboration_or_404(session, actor, collab)
    account = value_settings.account_of(session, c)
    errors = FormErrors()
    if account is None:
        errors.add("programme", "Set the account up before computing it")
    elif not has_store(request, actor.place.slug):
        errors.add("programme", "The place has no linked data yet: an analyst must ingest and link it first")
    if not errors and account is not None:
        rule = place_ctx(request, actor).rule

        def run() -> tuple[Any, Any, str | None, str]:
            with store(request, actor.place.slug) as con:
                return (*compute_for_publication(con, account, rule), data_version(con))

        try:
            # The engine runs for seconds on a large place: off the event loop, so that the
            # server keeps answering everyone else.
            result, without, withheld, version = await anyio.to_thread.run_sync(run)
        except ValueInputError as exc:
            errors.add(exc.field, exc.message)
        else:
            store_result(
                session,
                account,
                result,
                rule=rule,
                version=version,
                by=actor.user.email,
                without=without,
                withheld=withheld,
            )
            record_action(
                request,
                session,
                actor,
                "value.compute",
                f"collaboration:{c.slug}",
                settings_version=account.version,
            )
            request.session[FLASH] = "The account has been computed from the latest data and settings"
            return RedirectResponse(_url(c), status_code=303)
    session.rollback()
    context = _account_context(request, session, actor, c)
    context.update(errors=errors, error_links=_error_links(c, errors), flash=None)
    return render(request, "value/account.html", context, status_code=400)


def _error_links(c: Collaboration, errors: FormErrors) -> list[dict[str, str]]:
    """Errors of computing point at the settings page that fixes them."""
    where = {
        "programme": "/settings/programme",
        "source": "/settings/programme",
        "cohort": "/settings/programme",
        "entry_date": "/settings/programme",
        "measures": "/settings/measures/new",
        "services": "/settings",
        "costs": "/settings/costs",
    }
    return [
        {"text": m, "href": _url(c, where.get(f, "/settings/parameters"))} for f, m in errors.by_field.items()
    ]


@router.get(BASE + "/programme", response_class=HTMLResponse)
def programme_persons(
    request: Request,
    collab: str,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    """Who is in the programme cohort and when each entered: person-level, audited."""
    c = collaboration_or_404(session, actor, collab)
    account = value_settings.account_of(session, c)
    if account is None or not account.programme or not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        try:
            programme = value_settings.programme_of(con, account.programme)
        except ValueInputError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from exc
    record_action(
        request,
        session,
        actor,
        "value.view.programme",
        f"collaboration:{c.slug}",
        persons=programme.n_persons,
    )
    rows = [
        [
            {
                "html": f'<a class="govuk-link" href="/places/{actor.place.slug}/insight/persons/{pid}">'
                f"{pid}</a>"
            },
            {"text": entered.isoformat()},
        ]
        for pid, entered in sorted(programme.entries, key=lambda e: (e[1], e[0]))
    ]
    return render(
        request,
        "value/programme.html",
        {
            "place": actor.place,
            "collab": c,
            "programme": programme,
            "table": {
                "head": [{"text": "Person"}, {"text": "Entered"}],
                "rows": rows,
                "caption": f"{programme.n_persons:,} people in the programme",
                "firstCellIsHeader": False,
                "captionClasses": "govuk-table__caption--s",
            },
        },
    )
