"""A background thread still in DuckDB when the process exits must not abort it.

Before `joinedup.background`, a daemon thread mid-query at exit made the C++ runtime abort
the process with exit code 134 after every test had passed (seen with `pytest tests/value`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import threading, time
    import duckdb
    from joinedup import background

    started = threading.Event()

    def work():
        con = duckdb.connect()
        started.set()
        con.execute("SELECT sum(i * j) FROM range(20000000) a(i), range(3) b(j)").fetchall()

    background.start(work, name="query")
    started.wait()
    time.sleep(0.2)  # the query is running when the main thread ends
    """
)


def test_exit_waits_for_a_background_query() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert "terminate called" not in done.stderr
