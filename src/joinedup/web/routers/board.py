"""The state of collaboration: the overview of a place, and its board pack as a print view
and as a PDF (audited when downloaded). The figures come from joinedup.board.overview."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from joinedup.board.overview import Overview, build_overview
from joinedup.board.pdf import PdfUnavailable, html_to_pdf
from joinedup.insight.periods import available_years, parse_year
from joinedup.insight.quarterly import quarterly_demand
from joinedup.places.public_page import published_page
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    has_store,
    place_ctx,
    quarter_tables,
    record_action,
    settings_of,
    store,
)  # fmt: skip
from joinedup.web.templating import render

router = APIRouter()
BASE = "/places/{place}/state"
# The site's static files, which the printed pack links to (as the app serves them).
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def _overview(request: Request, actor: Actor, session: Session) -> tuple[Overview, FormErrors]:
    errors = FormErrors()
    ctx = place_ctx(request, actor)
    raw = request.query_params.get("year", "").strip()
    with store(request, actor.place.slug) if has_store(request, actor.place.slug) else nullcontext() as con:
        year = None
        if con is not None and raw:
            labels = [y.label for y in available_years(con)]
            if raw in labels:
                year = parse_year(raw)
            else:
                errors.add("year", "Choose one of the financial years with data: " + ", ".join(labels))
        overview = build_overview(session, actor.place, con, ctx, year,
                                  analyst=actor.can(Capability.VIEW_PERSON_LEVEL))
    session.commit()  # survey results may have been computed and cached
    return overview, errors


def _context(actor: Actor, overview: Overview, errors: FormErrors) -> dict[str, Any]:
    return {"place": actor.place, "overview": overview, "errors": errors,
            "year_items": [{"value": y, "text": y, "selected": y == overview.year} for y in overview.years]}


@router.get(BASE, response_class=HTMLResponse)
def overview_page(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                  session: Session = Depends(get_db)) -> Response:
    overview, errors = _overview(request, actor, session)
    context = {**_context(actor, overview, errors),
               "public_on": published_page(session, actor.place) is not None}
    return render(request, "board/overview.html", context, status_code=400 if errors else 200)


@router.get(BASE + "/quarters", response_class=HTMLResponse)
def quarters_page(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS))) -> Response:
    """Demand and cost by quarter: exact for analysts, controlled with the dashboard's years
    for everyone else (joinedup.insight.quarterly)."""
    exact = actor.can(Capability.VIEW_PERSON_LEVEL)
    ctx = place_ctx(request, actor)
    quarterly = None
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            quarterly = quarterly_demand(con, ctx, exact=exact)
    return render(request, "board/quarters.html", {
        "place": actor.place, "quarterly": quarterly, "exact": exact,
        "tables": quarter_tables(quarterly) if quarterly else [],
        "rule": ctx.rule.describe()})  # fmt: skip


def _pack_context(request: Request, actor: Actor, overview: Overview, errors: FormErrors) -> dict[str, Any]:
    """The pack: the overview, then the quarters. A pack is made to be passed round a board,
    so its quarters are the controlled ones whoever makes it, the analyst included."""
    tables: list[dict[str, Any]] = []
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            quarterly = quarterly_demand(con, place_ctx(request, actor))
        tables = [t | {"classes": "app-pack-table"} for t in quarter_tables(quarterly)]
    return _context(actor, overview, errors) | {"quarter_tables": tables}


@router.get(BASE + "/board-pack", response_class=HTMLResponse)
def board_pack(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
               session: Session = Depends(get_db)) -> Response:
    overview, errors = _overview(request, actor, session)
    return render(request, "board/pack.html", _pack_context(request, actor, overview, errors),
                  status_code=400 if errors else 200)


@router.get(BASE + "/board-pack.pdf")
async def board_pack_pdf(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                         session: Session = Depends(get_db)) -> Response:
    overview, errors = await run_in_threadpool(_overview, request, actor, session)
    context = await run_in_threadpool(_pack_context, request, actor, overview, errors)
    if errors:
        return render(request, "board/pack.html", context, status_code=400)
    html = bytes(render(request, "board/pack.html", context).body).decode()
    title = f"State of collaboration – {actor.place.name}"
    try:
        pdf = await run_in_threadpool(html_to_pdf, html, STATIC_DIR, settings_of(request).chromium,
                                      title=title)  # fmt: skip
    except PdfUnavailable as exc:
        context = context | {"pdf_error": str(exc)}
        return render(request, "board/pack.html", context, status_code=503)
    record_action(request, session, actor, "board_pack.downloaded", f"place:{actor.place.slug}",
                  year=overview.year, bytes=len(pdf))  # fmt: skip
    name = f"{actor.place.slug}-board-pack-{overview.year or 'no-year'}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
