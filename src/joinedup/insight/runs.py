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

from joinedup.insight.dashboard_figures import warm_place
from joinedup.insight.link import LinkError, check_governance, start_run
from joinedup.insight.pipeline import link_with_settings, store_options
from joinedup.insight.store import INTERRUPTED, one, open_store

__all__ = ["RunBusy", "run_status", "start_link_run"]

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
    thread = threading.Thread(
        target=_worker, args=(settings, slug, run_id, seed), name=f"link-{slug}", daemon=True
    )
    thread.start()
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
