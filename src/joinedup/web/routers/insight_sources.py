"""Insight sources: the list with governance, upload with its validation report, and each
source's report. The engine (joinedup.insight.ingest) does the work; record counts are sums
over every year, so they are shown to analysts only."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from joinedup.insight import staging
from joinedup.insight.governance import delete_source, source_counts
from joinedup.insight.governance import sources as list_sources
from joinedup.insight.ingest import IngestError, IngestReport, ingest_with_mapping
from joinedup.insight.link import LinkError
from joinedup.insight.mapping import Mapping, MappingError, parse_mapping
from joinedup.insight.readers import Extract, Limits, ReadError, read_extract
from joinedup.insight.runs import RunBusy, start_link_run
from joinedup.insight.store import one
from joinedup.insight.suggest import Suggestion, suggest_columns
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.insight_pages import (
    BASE,
    UPLOAD_SUFFIXES,
    has_store,
    ingest_limiter,
    record_action,
    require_store,
    settings_of,
    store,
    too_big,
)
from joinedup.web.mapping_form import (
    initial_values,
    missing_columns,
    page_rows,
    read_answers,
    registry_of,
    source_items,
)
from joinedup.web.templating import render

router = APIRouter()

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
    return render(request, "insight/sources.html",
                  {"place": actor.place, "sources": rows, "deleted": _deleted(request)})  # fmt: skip


def _deleted(request: Request) -> dict[str, str] | None:
    """What the page says once, after this user deleted a source (kept in the session, so
    that no link can make the page claim a deletion that did not happen)."""
    return request.session.pop("source_deleted", None)


_limiter = ingest_limiter


def _too_big(settings: Any) -> str:
    return too_big(settings)


def _insight_dir(request: Request) -> Path:
    return Path(settings_of(request).insight_dir)


def _saved_mappings(request: Request, slug: str) -> list[str]:
    """Sources whose mapping can be reused for a new extract."""
    if not has_store(request, slug):
        return []
    with store(request, slug, warm=False) as con:  # a read, also within a POST
        rows = con.execute("SELECT name FROM sources WHERE mapping_text IS NOT NULL ORDER BY name").fetchall()
    return [r[0] for r in rows]


def _upload_form(request: Request, actor: Actor, errors: FormErrors, values: dict[str, str],
                 status: int = 200, kept: staging.Staged | None = None) -> Response:  # fmt: skip
    settings = settings_of(request)
    limits = {"upload_mb": settings.ingest_max_upload_mb, "rows": settings.ingest_max_rows,
              "columns": settings.ingest_max_columns, "cell_chars": settings.ingest_max_cell_chars}
    reusable = _saved_mappings(request, actor.place.slug)
    return render(
        request, "insight/upload.html",
        {"place": actor.place, "errors": errors, "values": values, "limits": limits,
         "kept": kept, "reusable": reusable},
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
    """An extract with a mapping is ingested at once; without one it is kept (staged) and
    the analyst goes on to check its columns. A mapping error keeps the file too."""
    form = await request.form()
    extract = form.get("extract")
    mapping_file = form.get("mapping_file")
    mapping_text = str(form.get("mapping_text") or "")
    source = str(form.get("source") or "").strip() or None
    reuse = str(form.get("reuse") or "").strip()
    slug, user_id = actor.place.slug, actor.user.id
    insight_dir = _insight_dir(request)
    kept = staging.find(insight_dir, slug, str(form.get("kept") or ""), user_id)
    values = {"mapping_text": mapping_text, "source": source or "", "reuse": reuse}
    errors = FormErrors()
    settings = settings_of(request)
    max_bytes = settings.ingest_max_upload_mb * 2**20
    chosen = isinstance(extract, UploadFile) and bool(extract.filename)
    if chosen:
        assert isinstance(extract, UploadFile) and extract.filename
        if Path(extract.filename).suffix.lower() not in UPLOAD_SUFFIXES:
            errors.add("extract", "The extract must be a CSV, XLSX or Parquet file")
        elif extract.size is not None and extract.size > max_bytes:
            errors.add("extract", _too_big(settings))
    elif kept is None:
        errors.add("extract", "Choose the partner's extract (CSV, XLSX or Parquet)")
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
    with_mapping = bool(mapping_text.strip()) or "mapping_file" in errors.by_field
    if reuse and reuse not in _saved_mappings(request, slug):
        errors.add("reuse", "Choose one of the sources listed, or none")
    if errors:
        return _upload_form(request, actor, errors, values, 400, kept)
    if chosen:
        assert isinstance(extract, UploadFile) and extract.filename
        upload = extract

        def keep() -> staging.Staged | None:
            try:
                return staging.stage(insight_dir, slug, user_id, str(upload.filename), upload.file, max_bytes)
            except staging.TooLarge:
                return None

        new = await anyio.to_thread.run_sync(keep, limiter=_limiter(request))
        if new is None:
            errors.add("extract", _too_big(settings))
            return _upload_form(request, actor, errors, values, 400, kept)
        if kept is not None:
            staging.discard(kept)
        kept = new
    assert kept is not None
    staged = kept
    limits = Limits.from_settings(settings)
    if not with_mapping:
        def check() -> str | None:
            try:
                read_extract(staged.path, limits=limits)
            except ReadError as exc:
                return str(exc).replace(staged.path.name, staged.file_name, 1)
            return None

        problem = await anyio.to_thread.run_sync(check, limiter=_limiter(request))
        if problem:
            staging.discard(staged)
            errors.add("extract", problem)
            return _upload_form(request, actor, errors, values, 400)
        query = f"?reuse={quote(reuse)}" if reuse else ""
        return RedirectResponse(f"/places/{slug}/insight/upload/{staged.token}{query}", status_code=303)
    if source is None:
        source = Path(staged.file_name).stem
    try:
        mapping = parse_mapping(mapping_text, mapping_name)
    except MappingError as exc:
        errors.add("mapping_file", str(exc))
        return _upload_form(request, actor, errors, values, 400, staged)

    def ingest() -> IngestReport:
        with store(request, slug) as con:
            return ingest_with_mapping(con, staged.path, mapping, source=source,
                                       file_name=staged.file_name, limits=limits)  # fmt: skip

    try:
        report = await anyio.to_thread.run_sync(ingest, limiter=_limiter(request))
    except IngestError as exc:
        message = str(exc)
        # An error in the mapping keeps the file, and goes on the mapping's field.
        if message.startswith(f"{mapping_name} line"):
            errors.add("mapping_file", message)
            return _upload_form(request, actor, errors, values, 400, staged)
        staging.discard(staged)
        errors.add("extract", message)
        return _upload_form(request, actor, errors, values, 400)
    staging.discard(staged)
    record_action(request, session, actor, "insight.upload", f"source:{report.source}",
           **report.as_dict())  # fmt: skip
    return RedirectResponse(
        f"/places/{actor.place.slug}/insight/sources/{report.source}?uploaded=1", status_code=303
    )


# --- check the columns: a suggested mapping, corrected and saved --------------------------


def _staged_or_404(request: Request, actor: Actor, token: str) -> staging.Staged:
    staged = staging.find(_insight_dir(request), actor.place.slug, token, actor.user.id)
    if staged is None:
        raise HTTPException(status_code=404)
    return staged


def _reused(request: Request, slug: str, name: str) -> Mapping | None:
    if not name or not has_store(request, slug):
        return None
    with store(request, slug) as con:
        row = one(con.execute("SELECT mapping_text FROM sources WHERE name = ?", [name]))
    if not row or not row[0]:
        return None
    try:
        return parse_mapping(row[0], f"{name}.toml")
    except MappingError:
        return None


async def _read_staged(
    request: Request, staged: staging.Staged, sheet: str | None
) -> tuple[Extract, Suggestion]:
    limits = Limits.from_settings(settings_of(request))

    def read() -> tuple[Extract, Suggestion]:
        extract = read_extract(staged.path, sheet, limits=limits)
        return extract, suggest_columns(extract)

    try:
        return await anyio.to_thread.run_sync(read, limiter=_limiter(request))
    except ReadError as exc:  # the file was read when it was staged; only a sheet can fail
        raise HTTPException(status_code=404) from exc


def _columns_page(request: Request, session: Session, actor: Actor, staged: staging.Staged,
                  suggestion: Suggestion, values: dict[str, str], errors: FormErrors,
                  status: int = 200, missing: list[str] | None = None) -> Response:  # fmt: skip
    # The samples are people's details: the view is audited, each time it is shown.
    record_action(request, session, actor, "insight.view.columns", f"upload:{staged.file_name}",
                  columns=len(suggestion.columns))  # fmt: skip
    registry = registry_of(actor.place)
    return render(request, "insight/upload_columns.html", {
        "place": actor.place, "staged": staged, "errors": errors, "values": values,
        "rows": page_rows(suggestion, values, errors), "missing": missing or [],
        **source_items(registry, values),
    }, status_code=status)  # fmt: skip


@router.get(BASE + "/upload/{token}", response_class=HTMLResponse)
async def columns_page(
    request: Request,
    token: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    staged = _staged_or_404(request, actor, token)
    reuse = request.query_params.get("reuse", "")
    reused = _reused(request, actor.place.slug, reuse)
    extract, suggestion = await _read_staged(request, staged, reused.sheet if reused else None)
    del extract
    values = initial_values(suggestion, staged.file_name, registry_of(actor.place), reused, reuse or None)
    if reused:
        values["sheet"] = reused.sheet or ""
    missing = missing_columns(suggestion, reused) if reused else []
    return _columns_page(request, session, actor, staged, suggestion, values, FormErrors(), missing=missing)


@router.post(BASE + "/upload/{token}", response_class=HTMLResponse)
async def columns_submit(
    request: Request,
    token: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    staged = _staged_or_404(request, actor, token)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    sheet = form.get("sheet") or None
    extract, suggestion = await _read_staged(request, staged, sheet)
    slug = actor.place.slug
    existing: set[str] = set()
    if has_store(request, slug):
        # A read: warming here would start a warm of the old figures that competes with the
        # ingest below for the CPU (the browser tier's ingest then missed its 10 s wait).
        with store(request, slug, warm=False) as con:
            existing = {r[0] for r in con.execute("SELECT name FROM sources").fetchall()}
    answers = read_answers(form, suggestion, extract, existing, registry_of(actor.place), sheet)
    if answers.errors or answers.text is None:
        return _columns_page(request, session, actor, staged, suggestion, answers.values, answers.errors, 400)
    mapping = parse_mapping(answers.text, f"{answers.source_name}.toml")  # as the CLI would
    limits = Limits.from_settings(settings_of(request))

    def ingest() -> IngestReport:
        with store(request, slug) as con:
            return ingest_with_mapping(con, staged.path, mapping, source=answers.source_name,
                                       file_name=staged.file_name, limits=limits)  # fmt: skip

    try:
        report = await anyio.to_thread.run_sync(ingest, limiter=_limiter(request))
    except IngestError as exc:
        answers.errors.add("columns", str(exc))
        return _columns_page(request, session, actor, staged, suggestion, answers.values, answers.errors, 400)
    staging.discard(staged)
    record_action(request, session, actor, "insight.upload", f"source:{report.source}",
                  mapping="made in the column check", **report.as_dict())  # fmt: skip
    target = f"/places/{slug}/insight/sources/{quote(report.source)}?uploaded=1"
    return RedirectResponse(target, status_code=303)


@router.post(BASE + "/upload/{token}/cancel", response_class=HTMLResponse)
def columns_cancel(
    request: Request, token: str, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))
) -> Response:
    staged = staging.find(_insight_dir(request), actor.place.slug, token, actor.user.id)
    if staged is not None:
        staging.discard(staged)
    return RedirectResponse(f"/places/{actor.place.slug}/insight/upload", status_code=303)


@router.get(BASE + "/sources/{source}", response_class=HTMLResponse)
def source_report(
    request: Request,
    source: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    require_store(request, actor.place.slug)
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


@router.get(BASE + "/sources/{source}/mapping.toml")
def source_mapping(
    request: Request, source: str, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))
) -> Response:
    """The mapping the source was ingested with: the same TOML the command line takes."""
    require_store(request, actor.place.slug)
    with store(request, actor.place.slug) as con:
        row = one(con.execute("SELECT mapping_text FROM sources WHERE name = ?", [source]))
    if not row or not row[0]:
        raise HTTPException(status_code=404)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in source)
    return Response(row[0], media_type="application/toml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.toml"'})  # fmt: skip


# --- delete a source ---------------------------------------------------------------------
# Analysts delete (RUN_INSIGHT): they upload sources, see their record counts and start the
# linkage run that a deletion needs; a lead sees none of these.


def _counts_or_404(request: Request, slug: str, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    require_store(request, slug)
    with store(request, slug) as con:
        frame = list_sources(con)
        match = frame[frame["name"] == source]
        if match.empty:
            raise HTTPException(status_code=404)
        return {str(k): v for k, v in match.iloc[0].to_dict().items()}, source_counts(con, source)


@router.get(BASE + "/sources/{source}/delete", response_class=HTMLResponse)
def delete_page(
    request: Request, source: str, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))
) -> Response:
    row, counts = _counts_or_404(request, actor.place.slug, source)
    return render(request, "insight/source_delete.html", {
        "place": actor.place, "source": row, "counts": counts, "errors": FormErrors(),
    })  # fmt: skip


@router.post(BASE + "/sources/{source}/delete", response_class=HTMLResponse)
def delete_submit(
    request: Request,
    source: str,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    slug = actor.place.slug
    row, counts = _counts_or_404(request, slug, source)
    if form.get("confirm") != "yes":
        errors = FormErrors()
        errors.add("confirm", f"Tick the box to confirm that {source} and its records should be deleted")
        return render(request, "insight/source_delete.html", {
            "place": actor.place, "source": row, "counts": counts, "errors": errors,
        }, status_code=400)  # fmt: skip
    with store(request, slug) as con:
        removed = delete_source(con, source)
    if removed is None:
        raise HTTPException(status_code=404)
    record_action(request, session, actor, "insight.delete.source", f"source:{source}", **removed)
    # The persons that remain were linked through this source's records too: link again.
    outcome = {"name": source, "run": "", "why": ""}
    try:
        outcome["run"] = str(start_link_run(settings_of(request), slug))
    except RunBusy as busy:
        outcome["why"] = f"linkage run {busy.run_id} is still going; link again when it ends"
    except LinkError as exc:
        outcome["why"] = str(exc)
    request.session["source_deleted"] = outcome
    return RedirectResponse(f"/places/{slug}/insight/sources", status_code=303)
