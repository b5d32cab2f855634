"""Link runs started from the web app: one background thread per run, progress in the store.

A page shows a run's stage from ``link_runs`` and refreshes itself until the run ends, so
the progress is visible without JavaScript.
"""

from __future__ import annotations

import logging
import socket
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from joinedup import background
from joinedup.insight import link_state
from joinedup.insight.dashboard_figures import warm_place
from joinedup.insight.link import LinkError, check_governance, start_run
from joinedup.insight.pipeline import link_with_settings, store_options
from joinedup.insight.store import INTERRUPTED, one, open_store

__all__ = ["RunBusy", "run_details", "run_status", "start_link_run"]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_active: dict[str, int] = {}

# A run still 'running' after this long, that recorded no process to check, was
# interrupted (the server stopped mid-run).
STALE_AFTER = timedelta(hours=2)


class RunBusy(RuntimeError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"linkage run {run_id} is still going")
        self.run_id = run_id


def _worker(settings: Any, slug: str, run_id: int, seed: int) -> None:
    linked = False
    try:
        with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
            link_with_settings(con, settings, slug, seed=seed, run_id=run_id)
        linked = True
    except LinkError:
        logger.info("link run %s of %s failed", run_id, slug, exc_info=True)
    except Exception:  # the run row records the failure; the thread must not die noisily
        logger.exception("link run %s of %s failed", run_id, slug)
    finally:
        with _lock:
            _active.pop(slug, None)
    if linked:
        # The new persons make a new data version: compute the dashboard's figures now, so
        # that whoever opens it after the run does not wait for them.
        warm_place(settings, slug)


def start_link_run(settings: Any, slug: str, *, seed: int = 42, wait: bool = False) -> int:
    """Check governance, record a new run and start it in the background; return its id."""
    from joinedup.insight.model import DEFAULT_THRESHOLD

    with _lock:
        if slug in _active:
            raise RunBusy(_active[slug])
        with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
            check_governance(con)
            (n,) = one(con.execute("SELECT count(*) FROM records")) or (0,)
            if n < 2:
                raise LinkError("there are fewer than two records to link: upload extracts first")
            # Runs of this host whose process has gone were failed when the store opened;
            # runs that recorded no process (older ones) or ran elsewhere fall back to age.
            con.execute(
                "UPDATE link_runs SET status = 'failed', message = ? "
                "WHERE status = 'running' AND started_at < ? AND (pid IS NULL OR host <> ?)",
                [INTERRUPTED, datetime.now() - STALE_AFTER, socket.gethostname()],
            )
            run_id = start_run(con, "duckdb", DEFAULT_THRESHOLD, seed)
        _active[slug] = run_id
    thread = background.start(_worker, settings, slug, run_id, seed, name=f"link-{slug}")
    if wait:
        thread.join()
    return run_id


def run_status(settings: Any, slug: str, run_id: int) -> dict[str, Any] | None:
    with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
        row = one(
            con.execute(
                "SELECT run_id, started_at, finished_at, status, stage, message, n_records, "
                "n_comparisons, n_persons, n_merges, n_splits, timings, pid FROM link_runs "
                "WHERE run_id = ?",
                [run_id],
            )
        )
    if row is None:
        return None
    keys = ["run_id", "started_at", "finished_at", "status", "stage", "message", "n_records",
            "n_comparisons", "n_persons", "n_merges", "n_splits", "timings", "pid"]  # fmt: skip
    status = dict(zip(keys, row, strict=True))
    pid = status.pop("pid")
    if status["status"] == "running" and slug not in _active and pid is None:
        # A run that recorded no process (made before runs did) cannot be checked; after
        # this long it was surely interrupted. Runs that did were checked on opening.
        started = status["started_at"]
        if started and datetime.now() - started > STALE_AFTER:
            status["status"] = "failed"
            status["message"] = INTERRUPTED
    return status


def run_details(settings: Any, slug: str, run_id: int, *, with_events: bool) -> dict[str, Any]:
    """How a run linked (incremental or full), the model it used, the advice to re-train, and
    (person-level, for analysts) its merges and splits with the records that caused them."""
    with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
        link_state.ensure_schema(con)
        row = one(
            con.execute(
                "SELECT d.mode, d.n_new, d.n_changed, d.n_removed, d.n_touched_persons, "
                "d.new_matched_share, d.retrain_advice, m.trained_at, m.n_records, m.matched_share, "
                "d.n_kept_apart "
                "FROM link_run_details d LEFT JOIN link_models m USING (model_id) WHERE d.run_id = ?",
                [run_id],
            )
        )
        events: list[dict[str, Any]] = []
        if with_events and row is not None:
            by_event: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
            for kind, person, other, n in con.execute(
                "SELECT kind, person_id, other_person_id, n_records FROM person_events "
                "WHERE run_id = ? ORDER BY kind, person_id, other_person_id",
                [run_id],
            ).fetchall():
                by_event[(kind, person, other)] = []
                events.append({"kind": kind, "person_id": person, "other_person_id": other,
                               "n_records": n, "records": by_event[(kind, person, other)]})  # fmt: skip
            for kind, person, other, unique_id, cause in con.execute(
                "SELECT kind, person_id, other_person_id, unique_id, cause FROM person_event_records "
                "WHERE run_id = ? ORDER BY unique_id",
                [run_id],
            ).fetchall():
                by_event.setdefault((kind, person, other), []).append((unique_id, cause))
    if row is None:
        return {}
    keys = ["mode", "n_new", "n_changed", "n_removed", "n_touched_persons", "new_matched_share",
            "retrain_advice", "model_trained_at", "model_records", "model_matched_share",
            "n_kept_apart"]  # fmt: skip
    return {**dict(zip(keys, row, strict=True)), "events": events}
