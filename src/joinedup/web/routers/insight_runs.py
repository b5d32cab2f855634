"""Linkage runs: starting one, its visible progress, the list of runs, and Splink's
explanations of the model (person-level, analysts only, each view audited)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import name_and_date, review, review_check
from joinedup.insight.link import LinkError
from joinedup.insight.pipeline import explain_dir
from joinedup.insight.runs import RunBusy, run_details, run_status, start_link_run
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.insight_pages import (
    BASE,
    EXPLANATIONS,
    has_store,
    record_action,
    require_store,
    settings_of,
    store,
)
from joinedup.web.templating import render

router = APIRouter()


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
    estimate = None
    rules: dict[str, Any] | None = None
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            runs = con.execute(
                "SELECT run_id, started_at, status, stage, n_records, n_persons, message "
                "FROM link_runs ORDER BY run_id DESC LIMIT 20"
            ).fetchall()
            # Issue 9: the check sample's estimate, at the threshold the persons were made with.
            threshold = review.current_threshold(con)
            estimate = review_check.estimate(con, threshold)
            # What decides who joins whom here, so that nobody has to ask an operator.
            rules = {
                "threshold": threshold, "band": review.band(con), "name_and_date": name_and_date.rule_on(con),
            }  # fmt: skip
    return render(request, "insight/runs.html", {
        "place": actor.place, "runs": runs, "flash": request.session.pop("insight_flash", None),
        "estimate": estimate, "rules": rules, "note": request.session.pop("runs_note", None),
    })  # fmt: skip


STAGES = (
    "checking sources", "preparing records", "training the model", "scoring pairs of records",
    "clustering pairs into persons", "writing Splink's explanations", "assigning person ids",
    "finished",
)  # fmt: skip


def _progress(request: Request, actor: Actor, run_id: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A run's status and its steps (done, current or waiting); 404 for a run not found."""
    require_store(request, actor.place.slug)
    status = run_status(settings_of(request), actor.place.slug, run_id)
    if status is None:
        raise HTTPException(status_code=404)
    reached = STAGES.index(status["stage"]) if status["stage"] in STAGES else 0
    steps = [
        {"name": s, "state": "done" if i < reached or status["status"] == "done"
         else ("current" if i == reached else "waiting")}
        for i, s in enumerate(STAGES[:-1])
    ]  # fmt: skip
    return status, steps


def _stages_not_run(details: dict[str, Any], timings: str | dict[str, float] | None) -> set[str]:
    """Stages a finished run did not go through, so that its page does not list them as done:
    an incremental run neither trains the model nor writes Splink's explanations, and a full
    run writes them only when asked to (its timings then hold "explain")."""
    if details.get("mode") == "incremental":
        return {"training the model", "writing Splink's explanations"}
    recorded = json.loads(timings) if isinstance(timings, str) else (timings or {})
    return set() if "explain" in recorded else {"writing Splink's explanations"}


@router.get(BASE + "/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: int,
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    status, steps = _progress(request, actor, run_id)
    # Issue 9: incremental or full, the model, and (analysts only, audited) what changed.
    analyst = actor.can(Capability.VIEW_PERSON_LEVEL)
    details = run_details(settings_of(request), actor.place.slug, run_id, with_events=analyst)
    if status["status"] == "done":
        skipped = _stages_not_run(details, status.get("timings"))
        steps = [step for step in steps if step["name"] not in skipped]
    if details.get("events"):
        record_action(request, session, actor, "insight.view.run_changes", f"run:{run_id}")
    return render(request, "insight/run.html", {
        "place": actor.place, "run": status, "steps": steps, "details": details,
        "running": status["status"] == "running",
    })  # fmt: skip


@router.get(BASE + "/runs/{run_id}/status.json")
def run_status_json(
    request: Request, run_id: int, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))
) -> JSONResponse:
    """What the run page's script polls: the stage in words, and whether the run has ended
    (then the script loads the page again, which shows the outcome)."""
    status, steps = _progress(request, actor, run_id)
    return JSONResponse({
        "status": status["status"], "stage": status["stage"],
        "finished": status["status"] != "running",
        "steps": [{"name": s["name"], "state": s["state"]} for s in steps],
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
