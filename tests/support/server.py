"""A real joinedup server for browser tests and benchmarks.

``running_server(directory)`` migrates a fresh SQLite database under ``directory``, seeds it
(by default with the demo-like place from tests/support/demo_like.py: Northbrook, its
partners, one user per role with password DEMO_PASSWORD, and its three collaborations),
starts ``uvicorn --factory joinedup.web.app:create_app`` on a free port on 127.0.0.1 in a
subprocess, waits until it answers, yields a :class:`RunningServer`, and stops it after::

    with running_server(tmp_path) as server:
        urllib.request.urlopen(server.url + "/sign-in")

Pass ``seed=`` to load other data: any callable taking the server's Settings, run after
migration and before the server starts (e.g. ``lambda s: load_demo(s)`` for the full demo,
or your own area's generator). ``workers=`` runs more uvicorn worker processes, for load
tests. The server's output goes to ``directory / "server.log"``; look there when it fails
to start.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from joinedup.config import Settings
from joinedup.db.migrate import upgrade_to_head
from joinedup.db.session import engine_for, make_session

Seed = Callable[[Settings], object]

SECRET_KEY = "browser-and-bench-secret-key-" + "x" * 16


def seed_demo_like(settings: Settings) -> None:
    """The default seed: the demo-like place (fast; no insight or survey data)."""
    from tests.support.demo_like import seed_demo_like as seed

    with make_session(settings) as session:
        seed(session)


@dataclass(frozen=True)
class RunningServer:
    url: str  # like http://127.0.0.1:54321, no trailing slash
    settings: Settings
    log: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {process.returncode}); see {log}:\n"
                               + log.read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(url + "/sign-in", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on {url} within {timeout:.0f}s; see {log}")


@contextmanager
def running_server(
    directory: Path, *, seed: Seed | None = seed_demo_like, workers: int = 1,
    env: dict[str, str] | None = None, timeout: float = 120.0,
) -> Iterator[RunningServer]:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "joinedup.sqlite3"
    settings = Settings(database_url=f"sqlite:///{db}", data_dir=directory, secret_key=SECRET_KEY)
    upgrade_to_head(settings)
    if seed is not None:
        seed(settings)
    engine_for(settings.resolved_database_url).dispose()  # the server opens its own connections

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = directory / "server.log"
    child_env = {
        **os.environ,
        "JOINEDUP_DATABASE_URL": settings.resolved_database_url,
        "JOINEDUP_DATA_DIR": str(directory),
        "JOINEDUP_SECRET_KEY": SECRET_KEY,
        **(env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "joinedup.web.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--no-access-log", "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=child_env, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=Path(__file__).resolve().parents[2])
    try:
        _wait_until_up(url, process, log, timeout)
        yield RunningServer(url=url, settings=settings, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_store_is_free(store: Path, timeout: float = 120.0) -> None:
    """Wait until the server holds no connection to a place's store: its background work
    (a figure warm-up after a POST, a link run) has ended. DuckDB locks the file while a
    process has it open, so a brief connection of our own succeeds only then.

    A fixture that swaps the store file must wait first: a connection a background thread
    keeps open keeps the old file's database alive in the server, and every request opening
    the same path reads that one instead of the new file."""
    import duckdb

    deadline = time.monotonic() + timeout
    while store.exists():
        try:
            duckdb.connect(str(store)).close()
            return
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def swapped_store(
    server: RunningServer, slug: str, build: Callable[[Path], object], keep: Path
) -> Iterator[Path]:
    """The server's store of ``slug`` replaced by one ``build`` writes, and put back after
    (the original is kept at ``keep`` meanwhile)."""
    store = Path(server.settings.insight_dir) / f"{slug}.duckdb"
    wait_until_store_is_free(store)
    if store.exists():
        shutil.move(store, keep)
    store.parent.mkdir(parents=True, exist_ok=True)
    build(store)
    try:
        yield store
    finally:
        wait_until_store_is_free(store)
        store.unlink(missing_ok=True)
        if keep.exists():
            shutil.move(keep, store)
