"""Warming a place's figures in the background: one warm per place at a time, and a change
during a warm makes it warm once more, never a second competing thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from joinedup.insight import dashboard_figures


def test_changes_during_a_warm_coalesce_into_one_more_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    running, most, calls = 0, 0, []
    lock = threading.Lock()
    first_started = threading.Event()
    release = threading.Event()

    def slow_warm(_settings: Any, slug: str) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            calls.append(slug)
        first_started.set()
        release.wait(5)
        with lock:
            running -= 1

    monkeypatch.setattr(dashboard_figures, "warm_place", slow_warm)
    thread = dashboard_figures.warm_in_background(None, "north")
    assert thread is not None
    first_started.wait(5)
    # Five edits while the first warm runs: none starts a thread of its own.
    assert all(dashboard_figures.warm_in_background(None, "north") is None for _ in range(5))
    other = dashboard_figures.warm_in_background(None, "south")  # another place is its own
    assert other is not None
    release.set()
    thread.join(5)
    other.join(5)
    assert sorted(calls) == ["north", "north", "south"]  # the first warm, then one more
    assert most <= 2  # north and south at once, never two of north
    # Once settled, a new change starts a new warm.
    again = dashboard_figures.warm_in_background(None, "north")
    assert again is not None
    again.join(5)
    assert calls.count("north") == 3


def test_a_warm_that_fails_does_not_block_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_settings: Any, _slug: str) -> None:
        raise KeyboardInterrupt  # not caught by warm_place's own handler: the worst case

    monkeypatch.setattr(dashboard_figures, "warm_place", broken)
    monkeypatch.setattr(threading, "excepthook", lambda _args: None)
    thread = dashboard_figures.warm_in_background(None, "east")
    assert thread is not None
    thread.join(5)
    time.sleep(0.01)
    monkeypatch.setattr(dashboard_figures, "warm_place", lambda _s, _p: None)
    assert dashboard_figures.warm_in_background(None, "east") is not None
