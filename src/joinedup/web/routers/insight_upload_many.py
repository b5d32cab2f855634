"""Several extracts uploaded at once: next month's files from the partners, in one go.

The flow (issue 9): each file whose name matches a source that keeps its mapping is ingested
with that mapping; any other file is kept for the column check, which the summary offers one
file after another (with a stored mapping to start from if the analyst picks one). Each file
goes in whole or not at all, and one bad file does not stop the others. The summary is the
answer to the post itself: it is made of the files just received, and posting again re-sends
the same files, which ingest finds identical and leaves alone. The engine part is
joinedup.insight.upload_many; presentation helpers are in web/insight_pages.py.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from joinedup.insight import staging
from joinedup.insight.dashboard_figures import warm_in_background
from joinedup.insight.ingest import IngestError, IngestReport
from joinedup.insight.readers import Limits
from joinedup.insight.upload_many import (
    FileOutcome,
    check_unmatched,
    ingest_matched,
    match_source,
    stored_mappings,
)
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    UPLOAD_SUFFIXES,
    has_store,
    ingest_limiter,
    record_action,
    settings_of,
    store,
    too_big,
    upload_outcome_rows,
)
from joinedup.web.templating import render

router = APIRouter()

PAGE = BASE + "/upload-several"


def _mappings(request: Request, slug: str) -> dict[str, str]:
    if not has_store(request, slug):
        return {}
    with store(request, slug, warm=False) as con:  # a read, even within the POST
        return stored_mappings(con)


def _form(request: Request, actor: Actor, errors: FormErrors, status: int = 200) -> Response:
    settings = settings_of(request)
    limits = {"files": settings.ingest_max_upload_files, "upload_mb": settings.ingest_max_upload_mb,
              "rows": settings.ingest_max_rows, "columns": settings.ingest_max_columns}  # fmt: skip
    return render(request, "insight/upload_several.html", {
        "place": actor.place, "errors": errors, "limits": limits,
        "sources": sorted(_mappings(request, actor.place.slug)),
    }, status_code=status)  # fmt: skip


@router.get(PAGE, response_class=HTMLResponse)
def upload_several_page(
    request: Request, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))
) -> Response:
    return _form(request, actor, FormErrors())


@router.post(PAGE, response_class=HTMLResponse)
async def upload_several_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    settings = settings_of(request)
    # Starlette refuses a form with more parts than this with its own bare message: allow
    # well over the limit, so that too many files get the clear message below instead.
    form = await request.form(max_files=max(100, 10 * settings.ingest_max_upload_files))
    files = [f for f in form.getlist("extracts") if isinstance(f, UploadFile) and f.filename]
    errors = FormErrors()
    if not files:
        errors.add("extracts", "Choose the partners' extracts (CSV, XLSX or Parquet)")
    elif len(files) > settings.ingest_max_upload_files:
        errors.add("extracts", f"You chose {len(files)} files; one upload takes at most "
                   f"{settings.ingest_max_upload_files} (setting JOINEDUP_INGEST_MAX_UPLOAD_FILES). "
                   "Nothing was ingested: upload them in smaller groups")  # fmt: skip
    if errors:
        return _form(request, actor, errors, 400)
    slug = actor.place.slug
    mappings = _mappings(request, slug)
    limits = Limits.from_settings(settings)
    max_bytes = settings.ingest_max_upload_mb * 2**20
    insight_dir = Path(settings.insight_dir)
    taken: dict[str, str] = {}  # source -> the file of this upload feeding it
    outcomes: list[FileOutcome] = []
    for upload in files:
        name = Path(str(upload.filename)).name
        outcome = FileOutcome(name, source=match_source(name, mappings))
        outcomes.append(outcome)
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            outcome.error = f"{name}: an extract must be a CSV, XLSX or Parquet file"
            continue
        if upload.size is not None and upload.size > max_bytes:
            outcome.error = too_big(settings, name)
            continue
        if outcome.source is not None and outcome.source in taken:
            # Two files for one source: the second would replace the first unseen.
            first = taken[outcome.source]
            outcome.error = (f"{name}: the source {outcome.source} is already fed by {first} "
                             "in this upload; one source takes one extract")  # fmt: skip
            continue
        await _one(request, session, actor, upload, outcome, mappings, limits, max_bytes, insight_dir)
        if outcome.source is not None and outcome.error is None:
            taken[outcome.source] = name
    if any(o.status == "ingested" for o in outcomes):
        warm_in_background(settings, slug)
    return render(request, "insight/upload_several_done.html", {
        "place": actor.place, "outcomes": outcomes, "rows": upload_outcome_rows(outcomes),
        "ingested": sum(1 for o in outcomes if o.status == "ingested"),
        "unchanged": sum(1 for o in outcomes if o.status == "unchanged"),
        "failed": sum(1 for o in outcomes if o.error),
        "to_check": [o for o in outcomes if o.token], "sources": sorted(mappings),
    })  # fmt: skip


async def _one(request: Request, session: Session, actor: Actor, upload: UploadFile,
               outcome: FileOutcome, mappings: dict[str, str], limits: Limits, max_bytes: int,
               insight_dir: Path) -> None:  # fmt: skip
    """One file of the upload: staged, then ingested with its source's mapping or checked
    and kept for the column check. Fills in ``outcome``; never raises for a bad file."""
    slug, name = actor.place.slug, outcome.file_name
    limiter = ingest_limiter(request)

    def keep() -> staging.Staged | None:
        try:
            return staging.stage(insight_dir, slug, actor.user.id, name, upload.file, max_bytes)
        except staging.TooLarge:
            return None

    staged = await anyio.to_thread.run_sync(keep, limiter=limiter)
    if staged is None:
        outcome.error = too_big(settings_of(request), name)
        return
    if outcome.source is None:
        path = staged.path
        problem = await anyio.to_thread.run_sync(lambda: check_unmatched(path, name, limits), limiter=limiter)
        if problem:
            staging.discard(staged)
            outcome.error = problem
        else:
            outcome.token = staged.token
        return
    source = outcome.source

    def ingest() -> IngestReport:
        # Not warmed per file: each warm would compete with the next file's ingest. The
        # figures are warmed once, when every file has been through.
        with store(request, slug, warm=False) as con:
            return ingest_matched(con, staged.path, name, source, mappings[source], limits)

    try:
        report = await anyio.to_thread.run_sync(ingest, limiter=limiter)
    except IngestError as exc:
        outcome.error = str(exc)
        return
    finally:
        staging.discard(staged)
    outcome.report = report
    record_action(request, session, actor, "insight.upload", f"source:{report.source}",
                  mapping=f"stored mapping of {source}", several_files=True, **report.as_dict())  # fmt: skip
