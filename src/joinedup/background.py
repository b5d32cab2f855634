"""Background threads (figure warming, linkage runs, PDF printing), waited for at exit.

They are daemon threads so that a stuck one never holds a server open for good. But a daemon
thread still inside DuckDB when the interpreter exits makes the C++ runtime abort the whole
process ("terminate called without an active exception", exit code 134), after the work of
the process is done: a test run that passed then fails, and a server that stopped cleanly
reports a crash. So each thread started here is joined at exit, for a bounded time.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["EXIT_WAIT_SECONDS", "start"]

# How long exit waits for all background threads together; a thread still running after
# that is left to the old behaviour rather than holding the process open.
EXIT_WAIT_SECONDS = 60.0

_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_lock = threading.Lock()


def start(target: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Start ``target(*args)`` in a daemon thread that exit will wait for."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()
    return thread


@atexit.register
def _wait_at_exit() -> None:
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    with _lock:
        running = [t for t in _threads if t.is_alive()]
    for thread in running:
        thread.join(max(0.0, deadline - time.monotonic()))
