"""Which process runs a job, and whether it is still there.

A linkage run records the process that runs it (its id, the host, and on Linux the
process's start time, so that a process id reused after a restart is not mistaken for the
original). When a store is opened, a run still marked running whose process has gone is
marked failed: interrupted (a ``kill -9``, a crash or a restart stopped it mid-way).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["ProcessId", "current", "is_gone"]

ProcessId = tuple[int, str, str | None]


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def _start_time(pid: int) -> str | None:
    fields = _stat(pid)
    # Field 22 of stat is the start time in clock ticks since boot; it is field 20 here.
    return fields[19] if fields and len(fields) > 19 else None


def current() -> ProcessId:
    """This process: (pid, host, start time or None where /proc is not available)."""
    pid = os.getpid()
    return pid, socket.gethostname(), _start_time(pid)


def is_gone(pid: int | None, host: str | None, start: str | None) -> bool:
    """True only when the process surely no longer exists; False when it exists or when
    this process cannot tell (another host, or a system without POSIX signals)."""
    if pid is None or host != socket.gethostname() or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat(pid)
    if fields is not None and fields[0] == "Z":
        return True  # a zombie: it has ended, and only waits for its parent to notice
    if start is not None:
        now = _start_time(pid)
        return now is not None and now != start  # the id now belongs to another process
    return False
