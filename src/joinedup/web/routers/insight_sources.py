"""Insight sources: the list with governance, upload with its validation report, and each
source's report. The engine (joinedup.insight.ingest) does the work; record counts are sums
over every year, so they are shown to analysts only."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from joinedup.insight.governance import sources as list_sources
from joinedup.insight.ingest import IngestError, IngestReport, ingest_with_mapping
from joinedup.insight.mapping import MappingError, parse_mapping
from joinedup.insight.readers import Limits
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    has_store,
    record_action,
    settings_of,
    store,
)
from joinedup.web.templating import render

router = APIRouter()

UPLOAD_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".parquet"}
ANALYSTS_ONLY = "Shown to analysts"


# --- sources, upload, validation report ---------------------------------------------------


@router.get(BASE + "/sources", response_class=HTMLResponse)
def sources_page(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    rows: list[dict[str, Any]] = []
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            frame = list_sources(con)
        person_level = actor.can(Capability.VIEW_PERSON_LEVEL)
        for record in frame.to_dict("records"):
            r = {str(k): v for k, v in record.items()}
            # A source's records are its events over every year, a total that the year tables
            # would subtract from; only those who work with the records see these counts.
            r["records_shown"] = f"{r['n_records']:,}" if person_level else ANALYSTS_ONLY
            r["quarantined_shown"] = f"{r['n_quarantined']:,}" if person_level else ANALYSTS_ONLY
            rows.append(r)
    return render(request, "insight/sources.html", {"place": actor.place, "sources": rows})


def _upload_form(request: Request, actor: Actor, errors: FormErrors, values: dict[str, str],
                 status: int = 200) -> Response:  # fmt: skip
    settings = settings_of(request)
    limits = {"upload_mb": settings.ingest_max_upload_mb, "rows": settings.ingest_max_rows,
              "columns": settings.ingest_max_columns, "cell_chars": settings.ingest_max_cell_chars}
    return render(
        request, "insight/upload.html",
        {"place": actor.place, "errors": errors, "values": values, "limits": limits},
        status_code=status,
    )  # fmt: skip


@router.get(BASE + "/upload", response_class=HTMLResponse)
def upload_page(request: Request, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))) -> Response:
    return _upload_form(request, actor, FormErrors(), {})


@router.post(BASE + "/upload", response_class=HTMLResponse)
async def upload_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    form = await request.form()
    extract = form.get("extract")
    mapping_file = form.get("mapping_file")
    mapping_text = str(form.get("mapping_text") or "")
    source = str(form.get("source") or "").strip() or None
    values = {"mapping_text": mapping_text, "source": source or ""}
    errors = FormErrors()
    if not isinstance(extract, UploadFile) or not extract.filename:
        errors.add("extract", "Choose the partner's extract (CSV, XLSX or Parquet)")
    elif Path(extract.filename).suffix.lower() not in UPLOAD_SUFFIXES:
        errors.add("extract", "The extract must be a CSV, XLSX or Parquet file")
    mapping_name = "mapping"
    if isinstance(mapping_file, UploadFile) and mapping_file.filename:
        raw = await mapping_file.read(2**20)
        try:
            mapping_text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.add("mapping_file", "The mapping must be a UTF-8 text file (TOML)")
        mapping_name = Path(mapping_file.filename).name
        if source is None:
            source = Path(mapping_file.filename).stem
    if not mapping_text.strip() and "mapping_file" not in errors.by_field:
        errors.add("mapping_file", "Choose the mapping file, or paste the mapping below")
    if source is None and isinstance(extract, UploadFile) and extract.filename:
        source = Path(extract.filename).stem
    if errors:
        return _upload_form(request, actor, errors, values, 400)
    assert isinstance(extract, UploadFile) and extract.filename
    try:
        mapping = parse_mapping(mapping_text, mapping_name)
    except MappingError as exc:
        errors.add("mapping_file", str(exc))
        return _upload_form(request, actor, errors, values, 400)
    settings = settings_of(request)
    max_bytes = settings.ingest_max_upload_mb * 2**20
    too_big = (f"The extract is larger than {settings.ingest_max_upload_mb:,} MB, the limit for "
               "uploads (setting JOINEDUP_INGEST_MAX_UPLOAD_MB); ingest it with the command line")
    if extract.size is not None and extract.size > max_bytes:
        errors.add("extract", too_big)
        return _upload_form(request, actor, errors, values, 400)
    suffix = Path(extract.filename).suffix.lower()
    file_name = Path(extract.filename).name
    slug = actor.place.slug
    limits = Limits.from_settings(settings)
    # Uploads are checked in worker threads, a few at a time, so that the server keeps
    # answering everyone else while one is read (issue 7: a zip bomb froze it for 38 s).
    limiter = getattr(request.app.state, "ingest_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(max(1, settings.ingest_max_concurrent))
        request.app.state.ingest_limiter = limiter

    def check_and_ingest(path: Path) -> IngestReport | None:
        with path.open("wb") as out:  # the upload is spooled on disk; copy it in chunks
            copied = 0
            while chunk := extract.file.read(2**20):
                copied += len(chunk)
                if copied > max_bytes:
                    return None
                out.write(chunk)
        with store(request, slug) as con:
            return ingest_with_mapping(con, path, mapping, source=source, file_name=file_name,
                                       limits=limits)  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        try:
            report = await anyio.to_thread.run_sync(
                check_and_ingest, Path(tmp) / f"extract{suffix}", limiter=limiter
            )
        except IngestError as exc:
            errors.add("extract", str(exc))
            return _upload_form(request, actor, errors, values, 400)
    if report is None:
        errors.add("extract", too_big)
        return _upload_form(request, actor, errors, values, 400)
    record_action(request, session, actor, "insight.upload", f"source:{report.source}",
           **report.as_dict())  # fmt: skip
    return RedirectResponse(
        f"/places/{actor.place.slug}/insight/sources/{report.source}?uploaded=1", status_code=303
    )


@router.get(BASE + "/sources/{source}", response_class=HTMLResponse)
def source_report(
    request: Request,
    source: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    if not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        frame = list_sources(con)
        match = frame[frame["name"] == source]
        if match.empty:
            raise HTTPException(status_code=404)
        reasons = con.execute(
            "SELECT split_part(reasons, ' (', 1) AS reason, count(*) AS n FROM quarantine "
            "WHERE source = ? GROUP BY reason ORDER BY n DESC", [source],
        ).fetchall()  # fmt: skip
        warnings = con.execute(
            "SELECT split_part(w, ':', 1) AS field, count(*) AS n FROM (SELECT unnest("
            "string_split(warnings, '; ')) AS w FROM records WHERE source = ? AND warnings IS "
            "NOT NULL) GROUP BY field ORDER BY n DESC", [source],
        ).fetchall()  # fmt: skip
        rows = con.execute(
            "SELECT row_number, coalesce(record_id, ''), reasons FROM quarantine WHERE source = ? "
            "ORDER BY row_number LIMIT 50", [source],
        ).fetchall()  # fmt: skip
        examples = con.execute(
            "SELECT row_number, record_id, warnings FROM records WHERE source = ? AND warnings "
            "IS NOT NULL ORDER BY row_number LIMIT 20", [source],
        ).fetchall()  # fmt: skip
    person_level = bool(rows or examples) and actor.can(Capability.VIEW_PERSON_LEVEL)
    if person_level:
        record_action(request, session, actor, "insight.view.quarantine", f"source:{source}")
    return render(request, "insight/source.html", {
        "place": actor.place, "source": match.iloc[0].to_dict(), "reasons": reasons,
        "warnings": warnings, "quarantined_rows": rows if person_level else [],
        "examples": examples if person_level else [],
        "uploaded": "uploaded" in request.query_params,
    })  # fmt: skip
