"""Locust users for bench/load_platform.py: signed-in people browsing a place and its charters.

Run through bench/load_platform.py, which starts the server and reads the figures. Each
user signs in once (as one of the demo roles; sign-ins are reported apart from browsing),
then browses the place, its partners, services and people, the collaborations list, and
the charters, their history and print views, with a think time between pages.

Browsing is measured from the moment every user has signed in (BENCH_USERS); pages served
while others were still signing in are only counted.

Environment: BENCH_WAIT_MIN / BENCH_WAIT_MAX (think time in seconds), BENCH_MAX_REQUESTS
(stop the whole run after this many browsing requests), BENCH_COLLABS (comma-separated
collaboration slugs), BENCH_PASSWORD.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, events, task

PLACE = "/places/northbrook"
COLLABS = os.environ.get("BENCH_COLLABS", "fulfilling-lives-in-northbrook").split(",")
PASSWORD = os.environ.get("BENCH_PASSWORD", "")
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "0"))
EMAILS = itertools.cycle(["lead@northbrook.example", "viewer@northbrook.example",
                          "partner@northbrook.example", "analyst@northbrook.example",
                          "admin@northbrook.example"])
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMES_FILE = os.environ.get("BENCH_TIMES_FILE", "")
USERS = int(os.environ.get("BENCH_USERS", "1"))
_state: dict[str, Any] = {"browse": 0, "runner": None, "times": [], "errors": 0, "start": 0.0, "end": 0.0,
                          "signed_in": 0, "warm_up": 0, "at": []}


@events.init.add_listener
def _keep_runner(environment: Any, **_kwargs: Any) -> None:
    _state["runner"] = environment.runner


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: Any = None, **_kwargs: Any) -> None:
    """Keep every browsing response time, and bound the run in requests as well as in time."""
    if name == "sign in":
        return
    if _state["signed_in"] < USERS:
        # Measure the steady state: browsing while others are still signing in (argon2id
        # hashing on purpose, about 0.1 s of CPU each) is counted apart.
        _state["warm_up"] += 1
        return
    if not _state["start"]:
        _state["start"] = time.monotonic()
    _state["end"] = time.monotonic()
    _state["times"].append(response_time)
    _state["at"].append(round(_state["end"] - _state["start"], 3))
    _state["errors"] += 1 if exception else 0
    _state["browse"] += 1
    if MAX_REQUESTS and _state["browse"] == MAX_REQUESTS and _state["runner"] is not None:
        gevent.spawn(_state["runner"].quit)


@events.quitting.add_listener
def _write_times(**_kwargs: Any) -> None:
    if TIMES_FILE:
        Path(TIMES_FILE).write_text(json.dumps({
            "times_ms": _state["times"], "at_s": _state["at"], "errors": _state["errors"],
            "warm_up": _state["warm_up"],
            "seconds": _state["end"] - _state["start"],
        }))


class PlaceBrowser(HttpUser):
    wait_time = between(float(os.environ.get("BENCH_WAIT_MIN", "0.5")),
                        float(os.environ.get("BENCH_WAIT_MAX", "1.5")))

    def on_start(self) -> None:
        page = self.client.get("/sign-in", name="sign in")
        match = TOKEN.search(page.text)
        token = match.group(1) if match else ""
        with self.client.post("/sign-in", name="sign in", allow_redirects=False, catch_response=True,
                              data={"csrf_token": token, "email": next(EMAILS), "password": PASSWORD}) as r:
            if r.status_code != 303:
                r.failure(f"sign-in answered {r.status_code}")
            else:
                _state["signed_in"] += 1

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{path} answered {r.status_code}")

    @task(2)
    def overview(self) -> None:
        self._get(PLACE, "place overview")

    @task(1)
    def partners(self) -> None:
        self._get(PLACE + "/partners", "partners")

    @task(1)
    def services(self) -> None:
        self._get(PLACE + "/services", "services")

    @task(1)
    def people(self) -> None:
        self._get(PLACE + "/people", "people")

    @task(3)
    def collaborations(self) -> None:
        self._get(PLACE + "/collaborations", "collaborations list")

    @task(5)
    def charter(self) -> None:
        self._get(f"{PLACE}/collaborations/{random.choice(COLLABS)}", "charter")

    @task(1)
    def history(self) -> None:
        self._get(f"{PLACE}/collaborations/{random.choice(COLLABS)}/history", "charter history")

    @task(1)
    def printed(self) -> None:
        self._get(f"{PLACE}/collaborations/{random.choice(COLLABS)}/print", "charter print view")
