"""Insight pages: sources and governance, upload with validation report, linkage runs with
visible progress, person-level pages, cohorts, unit costs and Splink's explanations. (The
dashboard, its charts and exports are in insight_figures.)

The engine (joinedup.insight) does the work; this module turns requests into calls and
results into pages. Aggregates go through disclosure control for everyone; person-level
pages are for analysts only and each view is written to the audit log.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import demand
from joinedup.insight.governance import sources as list_sources
from joinedup.insight.ingest import IngestError, IngestReport, ingest_with_mapping
from joinedup.insight.link import LinkError
from joinedup.insight.mapping import MappingError, parse_mapping
from joinedup.insight.pipeline import explain_dir
from joinedup.insight.readers import Limits
from joinedup.insight.runs import RunBusy, run_status, start_link_run
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    EXPLANATIONS,
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


# --- linkage runs -------------------------------------------------------------------------


@router.post(BASE + "/link")
async def link_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    slug = actor.place.slug
    try:
        run_id = start_link_run(settings_of(request), slug)
    except RunBusy as busy:
        run_id = busy.run_id
    except LinkError as exc:
        request.session["insight_flash"] = str(exc)
        return RedirectResponse(f"/places/{slug}/insight/runs", status_code=303)
    record_action(request, session, actor, "insight.link", f"place:{slug}", run_id=run_id)
    return RedirectResponse(f"/places/{slug}/insight/runs/{run_id}", status_code=303)


@router.get(BASE + "/runs", response_class=HTMLResponse)
def runs_page(request: Request, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))) -> Response:
    runs: list[Any] = []
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            runs = con.execute(
                "SELECT run_id, started_at, status, stage, n_records, n_persons, message "
                "FROM link_runs ORDER BY run_id DESC LIMIT 20"
            ).fetchall()
    return render(request, "insight/runs.html", {
        "place": actor.place, "runs": runs, "flash": request.session.pop("insight_flash", None),
    })  # fmt: skip


STAGES = (
    "checking sources", "preparing records", "training the model", "scoring pairs of records",
    "clustering pairs into persons", "writing Splink's explanations", "assigning person ids",
    "finished",
)  # fmt: skip


@router.get(BASE + "/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, run_id: int, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))
) -> Response:
    if not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    status = run_status(settings_of(request), actor.place.slug, run_id)
    if status is None:
        raise HTTPException(status_code=404)
    reached = STAGES.index(status["stage"]) if status["stage"] in STAGES else 0
    steps = [
        {"name": s, "state": "done" if i < reached or status["status"] == "done"
         else ("current" if i == reached else "waiting")}
        for i, s in enumerate(STAGES[:-1])
    ]  # fmt: skip
    return render(request, "insight/run.html", {
        "place": actor.place, "run": status, "steps": steps,
        "refresh": status["status"] == "running",
    })  # fmt: skip


# --- Splink's explanations (person-level) -------------------------------------------------

_SANDBOX_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)


@router.get(BASE + "/explain/{name}.html")
def explanation(
    request: Request,
    name: str,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    if name not in EXPLANATIONS:
        raise HTTPException(status_code=404)
    path = explain_dir(settings_of(request), actor.place.slug) / f"{name}.html"
    if not path.is_file():
        raise HTTPException(status_code=404)
    record_action(request, session, actor, "insight.view.explanation", f"explain:{name}")
    # Splink's offline page carries its own inline scripts; a sandboxed CSP runs them in an
    # opaque origin, so they cannot read this site's cookies or pages.
    return HTMLResponse(path.read_text(encoding="utf-8"),
                        headers={"Content-Security-Policy": _SANDBOX_CSP})  # fmt: skip


# --- persons (person-level) ---------------------------------------------------------------


@router.get(BASE + "/persons", response_class=HTMLResponse)
def persons_page(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
    cohort: str = "smd3",
) -> Response:
    if not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        found = {c.name: c for c in cohort_mod.cohorts(con)}
        if cohort not in found:
            raise HTTPException(status_code=404)
        sql, params = cohort_mod.cohort_members_sql(found[cohort])
        persons = con.execute(
            f"SELECT l.person_id, count(*) AS records, count(DISTINCT l.source) AS services "
            f"FROM person_links l WHERE l.person_id IN ({sql}) GROUP BY l.person_id "
            f"ORDER BY services DESC, records DESC, l.person_id LIMIT 200", params,
        ).fetchall()  # fmt: skip
    record_action(request, session, actor, "insight.view.persons", f"cohort:{cohort}")
    return render(request, "insight/persons.html", {
        "place": actor.place, "persons": persons, "cohort": found[cohort],
        "cohorts": list(found.values()),
    })  # fmt: skip


@router.get(BASE + "/persons/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    person_id: str,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    if not re.fullmatch(r"P[0-9]{8}", person_id) or not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        records = con.execute(
            "SELECT s.service, r.record_id, r.forename_raw, r.surname_raw, r.date_of_birth, "
            "r.sex, r.postcode, r.nhs_number, r.ni_number, r.event_date, r.need "
            "FROM person_links l JOIN records r USING (source, record_id) "
            "JOIN sources s ON s.name = r.source WHERE l.person_id = ? "
            "ORDER BY r.event_date NULLS LAST, s.service", [person_id],
        ).fetchall()  # fmt: skip
        events = con.execute(
            "SELECT run_id, kind, person_id, other_person_id, n_records FROM person_events "
            "WHERE person_id = ? OR other_person_id = ? ORDER BY run_id", [person_id, person_id],
        ).fetchall()  # fmt: skip
    if not records:
        raise HTTPException(status_code=404)
    record_action(request, session, actor, "insight.view.person", f"person:{person_id}")
    return render(request, "insight/person.html", {
        "place": actor.place, "person_id": person_id, "records": records, "events": events,
    })  # fmt: skip


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
