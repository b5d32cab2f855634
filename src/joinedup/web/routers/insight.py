"""Insight pages: dashboard, sources and governance, upload with validation report, linkage
runs with visible progress, cohorts, unit costs, charts, exports and Splink's explanations.

The engine (joinedup.insight) does the work; this module turns requests into calls and
results into pages. Aggregates go through disclosure control for everyone; person-level
pages are for analysts only and each view is written to the audit log.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import duckdb
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from joinedup import audit
from joinedup.insight import charts, demand, export
from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import controlled as families
from joinedup.insight.context import PlaceContext, place_context
from joinedup.insight.disclosure import SUPPRESSED
from joinedup.insight.governance import sources as list_sources
from joinedup.insight.ingest import IngestError, IngestReport, ingest_with_mapping
from joinedup.insight.link import LinkError
from joinedup.insight.mapping import MappingError, parse_mapping
from joinedup.insight.periods import FinancialYear, available_years, parse_year
from joinedup.insight.pipeline import explain_dir, store_options
from joinedup.insight.readers import Limits
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.runs import RunBusy, run_status, start_link_run
from joinedup.insight.store import insight_path, open_store
from joinedup.insight.summary import headline
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, client_ip, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.templating import render

router = APIRouter()

BASE = "/places/{place}/insight"
EXPLANATIONS = {
    "match_weights": "Match weights of the model",
    "m_u_parameters": "m and u probabilities",
    "waterfall": "Waterfall charts for example pairs",
    "comparison_viewer": "Comparison viewer",
    "cluster_studio": "Cluster studio",
}
CHARTS = ("cohorts", "overlaps", "costs", "network")
UPLOAD_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".parquet"}
ANALYSTS_ONLY = "Shown to analysts"


# --- helpers ------------------------------------------------------------------------------


def _settings(request: Request) -> Any:
    return request.app.state.settings


@contextmanager
def _store(request: Request, slug: str) -> Iterator[duckdb.DuckDBPyConnection]:
    settings = _settings(request)
    with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
        seed_reference(con)
        yield con


def _has_store(request: Request, slug: str) -> bool:
    return insight_path(Path(_settings(request).insight_dir), slug).exists()


def _ctx(request: Request, actor: Actor) -> PlaceContext:
    return place_context(actor.place.slug, _settings(request))


def _audit(
    request: Request, session: Session, actor: Actor, action: str, subject: str, **detail: Any
) -> None:
    audit.record(
        session, action, actor_id=actor.user.id, actor_label=actor.user.email,
        place_id=actor.place.id, subject=subject, detail=detail, ip=client_ip(request),
    )  # fmt: skip
    session.commit()


def _cell(value: Any, kind: str = "text") -> dict[str, Any]:
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


def _table(frame: pd.DataFrame, columns: list[tuple[str, str, str]], caption: str = "") -> dict[str, Any]:
    """govukTable parameters: columns are (field, heading, kind)."""
    head = [{"text": h, "format": "numeric" if k != "text" else ""} for _c, h, k in columns]
    rows = [[_cell(row.get(c), k) for c, _h, k in columns] for row in frame.to_dict("records")]
    return {"head": head, "rows": rows, "firstCellIsHeader": True, "caption": caption,
            "captionClasses": "govuk-table__caption--s"}  # fmt: skip


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Needs as words: 'substance_misuse + offending' → 'substance misuse + offending'."""
    frame = frame.copy()
    frame["combination"] = frame["combination"].astype(str).str.replace("_", " ")
    return frame


_SHORT_COHORTS = {
    "all": "All persons", "smd2": "SMD (2 or 3)", "smd3": "SMD (all 3)", "any2": "2+ needs",
}  # fmt: skip


def _cost_matrix(costs: pd.DataFrame, year: str) -> dict[str, Any]:
    """Cohort × partner: who bears each cohort's cost (controlled costs; * where suppressed)."""
    cohorts = list(dict.fromkeys(costs["cohort"]))
    labels = {
        c: _SHORT_COHORTS.get(c, str(lbl)) for c, lbl in zip(costs["cohort"], costs["label"], strict=True)
    }
    head = [{"text": "Borne by"}] + [{"text": labels[c], "format": "numeric"} for c in cohorts]
    rows = []
    for partner in sorted(set(costs["partner"])):
        cells: list[dict[str, Any]] = [{"text": partner}]
        for cohort in cohorts:
            match = costs[(costs["partner"] == partner) & (costs["cohort"] == cohort)]
            cells.append(_cell(match["cost"].iloc[0] if len(match) else 0.0, "money"))
        rows.append(cells)
    return {"head": head, "rows": rows, "firstCellIsHeader": True,
            "caption": f"Cost of each cohort's events in {year} by the partner who bears it "
                       f"({demand.DEFAULT_PRICE_YEAR} prices; SMD is severe multiple "
                       f"disadvantage)",
            "captionClasses": "govuk-table__caption--s"}  # fmt: skip


# --- dashboard ----------------------------------------------------------------------------


def _year(
    request: Request, con: duckdb.DuckDBPyConnection
) -> tuple[FinancialYear | None, list[str], FormErrors]:
    """The financial year for demand and cost (?year=2024-25); the newest by default.

    Only whole financial years can be chosen, so that no two published periods can be
    subtracted to reveal a hidden figure (see joinedup.insight.periods)."""
    errors = FormErrors()
    years = available_years(con)
    labels = [y.label for y in years]
    raw = request.query_params.get("year", "").strip()
    if raw and raw not in labels:
        errors.add("year", f"Choose one of the financial years with data: {', '.join(labels)}")
    chosen = parse_year(raw) if raw in labels else (years[0] if years else None)
    return chosen, labels, errors


@router.get(BASE, response_class=HTMLResponse)
def dashboard(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    slug = actor.place.slug
    context: dict[str, Any] = {"place": actor.place, "has_data": False,
                               "explanations": EXPLANATIONS, "years": [], "year": None,
                               "period_errors": FormErrors()}  # fmt: skip
    if _has_store(request, slug):
        ctx = _ctx(request, actor)
        with _store(request, slug) as con:
            h = headline(con, ctx)
            year, years, period_errors = _year(request, con)
            label = year.label if year else None
            context.update(years=years, year=label, period_errors=period_errors,
                           year_items=[{"value": y, "text": y, "selected": y == label} for y in years])
            services = families.service_figures(con, ctx) if h.persons else None
            if h.persons and services is not None:
                cohorts_frame = export.cohorts_table(con, ctx)
                overlaps_frame = export.overlaps_table(con, ctx)
                costs_frame = export.costs_table(con, ctx, year=year)
                demand_frame = export.demand_table(con, ctx, year=year)
                network_frame = _network_with_flags(export.network_table(con, ctx))
                context.update(
                    has_data=True,
                    cohorts=_table(cohorts_frame, [
                        ("label", "Cohort", "text"), ("persons", "Persons", "count"),
                        ("per_1000_adults", "Per 1,000 adults", "rate"),
                        ("national_per_1000", "England per 1,000 (Hard Edges)", "reference"),
                    ], "Persons in each cohort"),
                    overlaps=_table(_readable(overlaps_frame.head(25)), [
                        ("combination", "Needs", "text"), ("persons", "Persons", "count"),
                    ], "Persons by combination of needs"),
                    service_overlaps=_table(services.combinations.head(15), [
                        ("combination", "Services", "text"), ("persons", "Persons", "count"),
                    ], "Persons by combination of services"),
                    costs=_cost_matrix(costs_frame, year.label if year else ""),
                    demand=_table(demand_frame, [
                        ("service", "Service", "text"), ("partner", "Partner", "text"),
                        ("persons", "Persons", "count"), ("events", "Events", "count"),
                        ("events_per_person", "Events per person", "rate"),
                        ("cost", f"Cost ({demand.DEFAULT_PRICE_YEAR} prices)", "money"),
                    ], f"Demand on each service in {year.label if year else 'no year'}"),
                    network=_table(network_frame.head(30), [
                        ("service_a", "Service", "text"), ("service_b", "Shares with", "text"),
                        ("shared", "Persons shared", "count"),
                        ("share_of_a", "Share of first", "share"),
                        ("share_of_b", "Share of second", "share"),
                        ("flag", "Ships in the night", "text"),
                    ], "Persons shared by pairs of services") if not network_frame.empty else None,
                    ships=[
                        f"{r.service_a} and {r.service_b}"
                        for r in network_frame.itertuples() if r.ships_in_the_night
                    ][:10],
                )  # fmt: skip
            # Records are events across every year: a sum the year tables would subtract from,
            # so only those who work with the records see the exact figure.
            context.update(
                headline=h,
                figures={
                    "records": f"{h.records:,}" if actor.can(Capability.RUN_INSIGHT) else None,
                    "persons": _shown_count(services.persons if services else 0),
                    "two": _shown_count(services.two_or_more if services else 0),
                    "three": _shown_count(services.three_or_more if services else 0),
                },
                rule=ctx.rule.describe(),
                last_run=h.last_run,
                explained=explain_dir(_settings(request), slug).exists(),
            )
    return render(request, "insight/dashboard.html", context)


def _shown_count(value: int | None) -> str:
    return SUPPRESSED if value is None else f"{value:,}"


def _network_with_flags(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["flag"] = ["Yes" if f else "" for f in frame.get("ships_in_the_night", [])]
    return frame


@router.get(BASE + "/charts/{name}.svg")
def chart(request: Request, name: str, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    if name not in CHARTS or not _has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    ctx = _ctx(request, actor)
    with _store(request, actor.place.slug) as con:
        if name == "cohorts":
            spec = charts.cohorts_chart(export.cohorts_table(con, ctx))
        elif name == "overlaps":
            spec = charts.upset_chart(export.overlaps_table(con, ctx))
        elif name == "costs":
            year, _labels, _errors = _year(request, con)
            spec = charts.costs_chart(export.costs_table(con, ctx, year=year))
        else:
            spec = charts.network_chart(export.network_table(con, ctx))
    return Response(
        charts.to_svg(spec), media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )  # fmt: skip


@router.get(BASE + "/export/{name}.csv")
def export_csv(
    request: Request,
    name: str,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    if name not in export.TABLES or not _has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    if name == "links":
        if not actor.can(Capability.VIEW_PERSON_LEVEL):
            raise HTTPException(status_code=403)
        _audit(request, session, actor, "insight.export.links", f"place:{actor.place.slug}")
    ctx = _ctx(request, actor)
    with _store(request, actor.place.slug) as con:
        year, _labels, errors = _year(request, con)
        if errors:
            raise HTTPException(status_code=404)
        frame = export.build(name, con, ctx, controlled=True, year=year)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.csv"
        export.write_table(frame, out)
        body = out.read_bytes()
    return Response(
        body, media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{actor.place.slug}-{name}.csv"'},
    )  # fmt: skip


# --- sources, upload, validation report ---------------------------------------------------


@router.get(BASE + "/sources", response_class=HTMLResponse)
def sources_page(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    rows: list[dict[str, Any]] = []
    if _has_store(request, actor.place.slug):
        with _store(request, actor.place.slug) as con:
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
    settings = _settings(request)
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
    settings = _settings(request)
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
        with _store(request, slug) as con:
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
    _audit(request, session, actor, "insight.upload", f"source:{report.source}",
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
    if not _has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with _store(request, actor.place.slug) as con:
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
        _audit(request, session, actor, "insight.view.quarantine", f"source:{source}")
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
        run_id = start_link_run(_settings(request), slug)
    except RunBusy as busy:
        run_id = busy.run_id
    except LinkError as exc:
        request.session["insight_flash"] = str(exc)
        return RedirectResponse(f"/places/{slug}/insight/runs", status_code=303)
    _audit(request, session, actor, "insight.link", f"place:{slug}", run_id=run_id)
    return RedirectResponse(f"/places/{slug}/insight/runs/{run_id}", status_code=303)


@router.get(BASE + "/runs", response_class=HTMLResponse)
def runs_page(request: Request, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))) -> Response:
    runs: list[Any] = []
    if _has_store(request, actor.place.slug):
        with _store(request, actor.place.slug) as con:
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
    if not _has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    status = run_status(_settings(request), actor.place.slug, run_id)
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
    path = explain_dir(_settings(request), actor.place.slug) / f"{name}.html"
    if not path.is_file():
        raise HTTPException(status_code=404)
    _audit(request, session, actor, "insight.view.explanation", f"explain:{name}")
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
    if not _has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with _store(request, actor.place.slug) as con:
        found = {c.name: c for c in cohort_mod.cohorts(con)}
        if cohort not in found:
            raise HTTPException(status_code=404)
        sql, params = cohort_mod.cohort_members_sql(found[cohort])
        persons = con.execute(
            f"SELECT l.person_id, count(*) AS records, count(DISTINCT l.source) AS services "
            f"FROM person_links l WHERE l.person_id IN ({sql}) GROUP BY l.person_id "
            f"ORDER BY services DESC, records DESC, l.person_id LIMIT 200", params,
        ).fetchall()  # fmt: skip
    _audit(request, session, actor, "insight.view.persons", f"cohort:{cohort}")
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
    if not re.fullmatch(r"P[0-9]{8}", person_id) or not _has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with _store(request, actor.place.slug) as con:
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
    _audit(request, session, actor, "insight.view.person", f"person:{person_id}")
    return render(request, "insight/person.html", {
        "place": actor.place, "person_id": person_id, "records": records, "events": events,
    })  # fmt: skip


# --- cohorts and unit costs ---------------------------------------------------------------


def _cohorts_page(request: Request, actor: Actor, errors: FormErrors, values: dict[str, Any],
                  status: int = 200) -> Response:  # fmt: skip
    needs: list[str] = []
    defined: list[Any] = []
    if _has_store(request, actor.place.slug):
        from joinedup.insight.analysis import needs_of_place

        with _store(request, actor.place.slug) as con:
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
        with _store(request, actor.place.slug) as con:
            cohort = cohort_mod.define_cohort(con, name, name, needs, minimum)
    except cohort_mod.CohortError as exc:
        errors.add("needs", str(exc).capitalize())
        return _cohorts_page(request, actor, errors, values, 400)
    _audit(request, session, actor, "insight.cohort.define", f"cohort:{cohort.name}",
           needs=list(cohort.needs), min_needs=cohort.min_needs)  # fmt: skip
    return RedirectResponse(f"/places/{actor.place.slug}/insight/cohorts", status_code=303)


def _costs_page(request: Request, actor: Actor, errors: FormErrors, values: dict[str, str],
                status: int = 200) -> Response:  # fmt: skip
    with _store(request, actor.place.slug) as con:
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
        with _store(request, actor.place.slug) as con:
            demand.set_unit_cost(
                con, values["code"], cost_gbp=cost, price_year=values["price_year"].strip(),
                item=values["item"].strip() or None, unit=values["unit"].strip() or None,
            )  # fmt: skip
    except demand.DemandError as exc:
        errors.add("price_year" if "deflator" in str(exc) else "cost_gbp", str(exc).capitalize())
        return _costs_page(request, actor, errors, values, 400)
    _audit(request, session, actor, "insight.unit_cost", f"unit_cost:{values['code']}",
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
    with _store(request, actor.place.slug) as con:
        demand.set_deflator(con, year, index)
    _audit(request, session, actor, "insight.deflator", f"deflator:{year}", index=index)
    return RedirectResponse(f"/places/{actor.place.slug}/insight/costs?saved=1", status_code=303)
