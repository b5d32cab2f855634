"""No page scrolls sideways at 320 px (WCAG 1.4.10 reflow), and each passes axe.

The walk takes every GET route of the app that answers with HTML from the route table, fills
its path parameters from the demo place (partners, collaborations, surveys and linked insight
data), visits it as a role that may see it, in a 320 px wide window, and fails if the page is
wider than the window, listing every page that is. A route it cannot fill must be named in
UNFILLABLE with the reason, so a new page is walked (or explained), never skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from joinedup.collaborations.models import Collaboration
from joinedup.config import Settings
from joinedup.db.session import make_session
from joinedup.insight.store import connect
from joinedup.places.models import Place
from joinedup.places.roles import GRANTS, Capability, Role
from joinedup.places.users import find_user
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.rounds import instrument_of
from joinedup.value.models import ValueAccount
from joinedup.web.app import create_app
from tests.support.axe import describe, run_axe
from tests.support.browser import sign_in
from tests.support.demo_like import email_for
from tests.support.server import RunningServer, running_server
from tests.web.test_route_rules import _rules, api_routes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTH = 320

# Routes the walk cannot visit as a page of joinedup, and why.
# Pages whose rule lets more roles in than the page itself does.
ROLE_OVERRIDES = {
    "/places/new": Role.ADMIN,  # any signed-in user reaches it; only administrators create places
}

UNFILLABLE = {
    "/places/{place}/insight/upload/{token}": (
        "a staged upload exists only for the analyst who uploaded it; the column check is "
        "walked at 320 px with axe by tests/browser/test_mapping_journey.py"
    ),
    "/places/{place}/insight/review/pair": (
        "needs a pair in the review band, chosen in the address; walked at 320 px with axe by "
        "tests/browser/test_review_journey.py"
    ),
    "/places/{place}/insight/explain/{name}.html": (
        "Splink's own offline report, served sandboxed as a third-party document; "
        "it is not a joinedup page and is not laid out by joinedup's styles"
    ),
    "/s/{token}/done": (
        "shown only once every question of a survey is answered and sent (the survey journey "
        "in test_surveys_journey.py reaches it); before that it is a 404, which is walked"
    ),
}

# Who visits a page that a capability guards: the first role here that has it (the roles
# that see most come first, since more columns and links are more to reflow).
_ROLE_ORDER = (Role.ADMIN, Role.ANALYST, Role.LEAD, Role.PARTNER, Role.VIEWER)


@dataclass(frozen=True)
class Visit:
    route: str
    url: str
    role: Role | None  # None: signed out


def _seed(settings: Settings) -> None:
    """The whole demo place, and a survey round open today (the demo's have closed), so
    that the answering pages can be walked."""
    from joinedup.places.service import get_place
    from joinedup.surveys.rounds import create_round
    from joinedup.synth.demo import load_demo

    load_demo(settings)
    with make_session(settings) as session:
        place = get_place(session, "northbrook")
        assert place is not None
        create_round(session, place, instrument_key="citizen_voice", title="Your say on services",
                     opens_on=date.today(), closes_on=date.today() + timedelta(days=30))  # fmt: skip
        session.commit()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("reflow-server"), seed=_seed, timeout=300) as running:
        yield running


def html_routes() -> list[tuple[str, str]]:
    """(path, rule) of every GET route answering with an HTML page."""
    app = create_app(Settings(data_dir=Path("/nonexistent")))
    found = []
    for route in api_routes(app.routes):
        if route.methods and "GET" in route.methods and route.response_class is HTMLResponse:
            (rule,) = _rules(route.dependant)
            found.append((route.path, rule))
    return found


def _values(settings: Settings) -> dict[str, list[str]]:
    """Values for each path parameter, from the demo place."""
    with make_session(settings) as session:
        place = session.scalars(select(Place)).first()
        assert place is not None
        collabs = [c.slug for c in session.scalars(
            select(Collaboration).where(Collaboration.place_id == place.id).order_by(Collaboration.id)
        )]  # fmt: skip
        viewer = find_user(session, email_for(Role.VIEWER))
        assert viewer is not None
        rounds = list(session.scalars(
            select(SurveyRound).where(SurveyRound.place_id == place.id).order_by(SurveyRound.id)
        ))  # fmt: skip
        open_round = next(r for r in rounds if r.status == "open")
        section = instrument_of(open_round).sections[0].key
        slug, token = place.slug, open_round.open_token
        round_ids = [str(r.id) for r in rounds]
        viewer_id = str(viewer.id)
        partner_ids = [str(p.id) for p in place.partners]
        service_ids = [str(sv.id) for sv in place.services]
    con = connect(Path(settings.insight_dir) / f"{slug}.duckdb", memory_limit="500MB", threads=1)
    try:
        (source,) = con.execute("SELECT min(name) FROM sources").fetchall()[0]
        (run_id,) = con.execute("SELECT max(run_id) FROM link_runs").fetchall()[0]
        (person,) = con.execute(
            "SELECT person_id FROM person_links GROUP BY person_id ORDER BY count(*) DESC, person_id LIMIT 1"
        ).fetchall()[0]
    finally:
        con.close()
    with make_session(settings) as session:
        account = session.scalars(select(ValueAccount)).first()
        measure_keys = [str(m["key"]) for m in account.measures][:1] if account else []
        valued = [account.collaboration.slug] if account else []
    return {
        "place": [slug], "collab": valued or collabs[:1], "user_id": [viewer_id], "round_id": round_ids,
        "token": [token], "section_key": [section], "source": [str(source)],
        "run_id": [str(run_id)], "person_id": [str(person)],
        # Issues 8, 10 and 11: the built-in cohort, the demo's value account, the demo collection.
        "name": ["services3"], "key": measure_keys, "cid": ["demo"],
        "partner_id": partner_ids[:1], "service_id": service_ids[:1],
    }  # fmt: skip


def _role_for(rule: str) -> Role | None:
    if rule == "public":
        return None
    if rule == "signed_in":
        return Role.VIEWER
    capability = Capability(rule.removeprefix("requires:"))
    return next(r for r in _ROLE_ORDER if capability in GRANTS[r])


PARAM = re.compile(r"{(\w+)(:\w+)?}")  # {name} or {name:int}


def _expand(path: str, values: dict[str, list[str]]) -> list[str]:
    urls = [path]
    for name, converter in PARAM.findall(path):
        token = "{" + name + converter + "}"
        urls = [u.replace(token, v) for u in urls for v in values[name]]
    return urls


def plan(values: dict[str, list[str]]) -> tuple[list[Visit], list[str]]:
    """The visits, and the routes that could be neither filled nor are in UNFILLABLE."""
    visits, unfilled = [], []
    for path, rule in html_routes():
        if path in UNFILLABLE:
            continue
        missing = [n for n, _c in PARAM.findall(path) if not values.get(n)]
        if missing:
            unfilled.append(f"{path} (no value for {', '.join(missing)})")
            continue
        role = ROLE_OVERRIDES.get(path, _role_for(rule))
        visits += [Visit(path, url, role) for url in _expand(path, values)]
    # Error pages are page types too.
    visits.append(Visit("404 page", "/places/northbrook/no-such-page", Role.VIEWER))
    return visits, unfilled


def _overflow(page: Any) -> tuple[int, int]:
    width, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return int(width), int(client)


def test_no_page_scrolls_sideways_at_320px(demo_server: RunningServer, browser: Any) -> None:
    values = _values(demo_server.settings)
    visits, unfilled = plan(values)
    assert not unfilled, (
        "routes the reflow walk cannot fill: add a value in _values or a reason in UNFILLABLE:\n"
        + "\n".join(unfilled)
    )
    wide: list[str] = []
    opened: dict[str, bool] = {}  # route → whether any of its pages opened
    failures: list[str] = []
    inaccessible: list[str] = []
    by_role: dict[Role | None, list[Visit]] = {}
    for visit in visits:
        by_role.setdefault(visit.role, []).append(visit)
    for role, group in by_role.items():
        context = browser.new_context(base_url=demo_server.url, viewport={"width": WIDTH, "height": 800},
                                      locale="en-GB")  # fmt: skip
        context.set_default_timeout(90_000)  # the first dashboard view computes its figures
        page = context.new_page()
        if role is not None:
            sign_in(page, email_for(role))
        for visit in group:
            if visit.route.startswith("/s/{token}/") and visit.route != "/s/{token}/done":
                page.goto(visit.url.split("/", 3)[0] + "/s/" + values["token"][0])
                start = page.locator("form[action$='/start'] button")
                if start.count():
                    start.first.click()
                    page.wait_for_load_state()
            response = page.goto(visit.url)
            status = response.status if response else 0
            # Some pages exist for some values only (margins: rounds with areas to weight).
            opened[visit.route] = opened.get(visit.route, False) or status < 400 or visit.route == "404 page"
            if status >= 400 and visit.route != "404 page":
                failures.append(f"{visit.url} as {role}: {status}")
                continue
            page.wait_for_load_state("load")
            width, client = _overflow(page)
            if width > client:
                wide.append(f"{visit.route} ({visit.url} as {role}): {width} px wide in {client} px")
            violations = run_axe(page)
            if violations:
                inaccessible.append(f"{visit.url} as {role}:\n{describe(violations)}")
        context.close()
    broken = [f for f in failures if not opened[next(v.route for v in visits if f.startswith(v.url + " "))]]
    assert not broken, "pages the walk could not open:\n" + "\n".join(broken)
    assert not wide, f"{len(wide)} of {len(visits)} pages scroll sideways at {WIDTH} px:\n" + "\n".join(wide)
    assert not inaccessible, "axe found problems:\n" + "\n\n".join(inaccessible)
