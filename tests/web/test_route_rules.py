"""Every route declares who may use it: exactly one authorisation dependency."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from joinedup.config import Settings
from joinedup.web.app import create_app
from joinedup.web.authz import RULE_ATTR


def _rules(dependant: Dependant) -> list[str]:
    found: list[str] = []
    for dep in dependant.dependencies:
        if dep.call is not None and hasattr(dep.call, RULE_ATTR):
            found.append(getattr(dep.call, RULE_ATTR))
        found.extend(_rules(dep))
    return found


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, including those inside included routers (FastAPI wraps them)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def test_every_route_has_exactly_one_authorisation_rule(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    routes = api_routes(app.routes)
    assert len(routes) >= 8
    problems = []
    for route in routes:
        rules = _rules(route.dependant)
        if len(rules) != 1:
            problems.append(f"{sorted(route.methods)} {route.path}: {rules or 'no rule'}")
    assert not problems, "routes without exactly one rule:\n" + "\n".join(problems)


def test_capability_routes_are_scoped_to_a_place(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    for route in api_routes(app.routes):
        if any(r.startswith("requires:") for r in _rules(route.dependant)):
            assert "{place}" in route.path, route.path
