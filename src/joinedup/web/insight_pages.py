"""What the insight pages share: the place's store and context, the audit, and how a
figure is written in a GOV.UK table. Used by the insight routers only; no business logic."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import anyio
import duckdb
import pandas as pd
from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.board.overview import Overview
from joinedup.insight.context import PlaceContext, place_context
from joinedup.insight.dashboard_figures import warm_in_background
from joinedup.insight.disclosure import SUPPRESSED
from joinedup.insight.pipeline import store_options
from joinedup.insight.quarterly import Cell as QuarterCell
from joinedup.insight.quarterly import Quarterly
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import insight_path, open_store
from joinedup.insight.upload_many import FileOutcome
from joinedup.places.models import Place
from joinedup.web.authz import Actor, client_ip

BASE = "/places/{place}/insight"
# A person's id as the linkage names it: anything else in a URL is not a person.
PERSON_ID = re.compile(r"P[0-9]{8}")
EXPLANATIONS = {
    "match_weights": "Match weights of the model",
    "m_u_parameters": "m and u probabilities",
    "waterfall": "Waterfall charts for example pairs",
    "comparison_viewer": "Comparison viewer",
    "cluster_studio": "Cluster studio",
}


UPLOAD_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".parquet"}


def settings_of(request: Request) -> Any:
    return request.app.state.settings


def ingest_limiter(request: Request) -> anyio.CapacityLimiter:
    # Uploads are checked in worker threads, a few at a time, so that the server keeps
    # answering everyone else while one is read (issue 7: a zip bomb froze it for 38 s).
    limiter = getattr(request.app.state, "ingest_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(max(1, settings_of(request).ingest_max_concurrent))
        request.app.state.ingest_limiter = limiter
    return limiter


def too_big(settings: Any, file_name: str = "") -> str:
    what = f"{file_name}: the extract" if file_name else "The extract"
    return (f"{what} is larger than {settings.ingest_max_upload_mb:,} MB, the limit for "
            "uploads (setting JOINEDUP_INGEST_MAX_UPLOAD_MB); ingest it with the command line")  # fmt: skip


@contextmanager
def store(request: Request, slug: str, *, warm: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The place's store. After a POST the dashboard's figures are warmed; ``warm=False``
    for a read within a POST (or a step of several changes, warmed once at the end): a warm
    started before the change competes with it for the CPU and computes stale figures."""
    settings = settings_of(request)
    with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
        seed_reference(con)
        yield con
    if request.method == "POST" if warm is None else warm:
        # A change (an ingest, a cost, a cohort) makes a new data version: compute the
        # dashboard's figures in the background, so that whoever looks next need not wait.
        warm_in_background(settings, slug)


def has_store(request: Request, slug: str) -> bool:
    return insight_path(Path(settings_of(request).insight_dir), slug).exists()


def require_store(request: Request, slug: str) -> None:
    """Not found, for a page of a place that has no linked data yet."""
    if not has_store(request, slug):
        raise HTTPException(status_code=404)


def place_ctx(request: Request, actor: Actor) -> PlaceContext:
    return place_context(actor.place.slug, settings_of(request))


def record_action(
    request: Request, session: Session, actor: Actor, action: str, subject: str, **detail: Any
) -> None:
    audit.record(
        session, action, actor_id=actor.user.id, actor_label=actor.user.email,
        place_id=actor.place.id, subject=subject, detail=detail, ip=client_ip(request),
    )  # fmt: skip
    session.commit()


def cell(value: Any, kind: str = "text") -> dict[str, Any]:
    if kind == "reference" and (value is None or (isinstance(value, float) and pd.isna(value))):
        return {"text": "–", "format": "numeric"}  # no national figure, not a suppressed one
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return {"text": SUPPRESSED if kind in {"count", "money", "rate"} else "–",
                "format": "numeric" if kind != "text" else ""}  # fmt: skip
    if kind == "reference":
        return {"text": f"{float(value):,.2f}", "format": "numeric"}
    if kind == "count":
        return {"text": f"{int(value):,}", "format": "numeric"}
    if kind == "money":
        return {"text": f"£{float(value):,.0f}", "format": "numeric"}
    if kind == "rate":
        return {"text": f"{float(value):,.2f}", "format": "numeric"}
    if kind == "share":
        return {"text": f"{100 * float(value):.0f}%", "format": "numeric"}
    return {"text": str(value)}


def table(frame: pd.DataFrame, columns: list[tuple[str, str, str]], caption: str = "") -> dict[str, Any]:
    """govukTable parameters: columns are (field, heading, kind)."""
    head = [{"text": h, "format": "numeric" if k != "text" else ""} for _c, h, k in columns]
    rows = [[cell(row.get(c), k) for c, _h, k in columns] for row in frame.to_dict("records")]
    return {"head": head, "rows": rows, "firstCellIsHeader": True, "caption": caption,
            "captionClasses": "govuk-table__caption--s"}  # fmt: skip


def upload_outcome_rows(outcomes: list[FileOutcome]) -> list[list[dict[str, Any]]]:
    """govukTable rows of an upload of several files: file, source, records, quarantined,
    and what happened (the problem, naming the file, when it did not go in)."""
    rows: list[list[dict[str, Any]]] = []
    for o in outcomes:
        r = o.report
        if o.error:
            what = {"text": o.error}
        elif r is not None and r.unchanged:
            what = {"text": "Identical to the extract held already: nothing changed"}
        elif r is not None:
            what = {"text": "Replaced the previous extract" if r.replaced else "Ingested as a new source"}
            if r.records_gone or r.records_reissued:
                what = {"text": f"{what['text']}: {r.gone_note()}"}
        else:
            what = {"text": "Waiting for its columns to be checked"}
        rows.append([
            # Monthly files have long names: they wrap rather than widen the table.
            {"text": o.file_name, "classes": "app-wrap-anywhere"},
            {"text": o.source or "–", "classes": "app-wrap-anywhere"},
            {"text": f"{r.records:,}" if r else "–", "format": "numeric"},
            {"text": f"{r.quarantined:,}" if r else "–", "format": "numeric"},
            what,
        ])  # fmt: skip
    return rows


def _quarter_cell(c: QuarterCell, field_name: str, kind: str) -> dict[str, Any]:
    """A quarter's figure; a cohort's hidden cost shows the cost of its shown services."""
    if field_name == "cost" and c.cost is None and c.cost_floor:
        return {"text": f"at least £{c.cost_floor:,.0f}", "format": "numeric"}
    return cell(getattr(c, field_name), kind)


def quarter_tables(quarterly: Quarterly) -> list[dict[str, Any]]:
    """govukTable parameters for quarterly demand: persons, events and cost, each per service
    (with its partner) and per cohort, one column per quarter."""
    head = [{"text": q.label, "format": "numeric"} for q in quarterly.quarters]
    measures = (("persons", "People", "count"), ("events", "Events", "count"), ("cost", "Cost", "money"))
    out: list[dict[str, Any]] = []
    for rows, what, first in ((quarterly.services, "service", "Service (partner)"),
                              (quarterly.cohorts, "cohort", "Cohort")):  # fmt: skip
        for field_name, measure, kind in measures:
            body = [
                [{"text": f"{r.label} ({r.partner})" if r.partner else r.label},
                 *(_quarter_cell(c, field_name, kind) for c in r.cells)]
                for r in rows
            ]  # fmt: skip
            out.append({"head": [{"text": first}, *head], "rows": body, "firstCellIsHeader": True,
                        "caption": f"{measure} by {what} and quarter",
                        "captionClasses": "govuk-table__caption--s"})  # fmt: skip
    return out


def public_overview(request: Request, session: Session, place: Place) -> Overview:
    """The overview's figures for anyone, signed in or not: under the place's disclosure
    control and never the analyst's exact figures, exactly as partners see them."""
    from joinedup.board.overview import build_overview

    ctx = place_context(place.slug, settings_of(request))
    with store(request, place.slug) if has_store(request, place.slug) else nullcontext() as con:
        overview = build_overview(session, place, con, ctx, analyst=False)
    session.commit()  # survey results may have been computed and cached
    return overview
