"""The review band and the name-and-date rule changed on the web: analysts only, every change
audited, and a bad value named and nothing changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight import name_and_date, review, review_check
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from tests.insight.test_web import BASE, SLUG, _as, insight, linked_place  # noqa: F401
from tests.support.client import PageClient
from tests.support.demo_like import demo  # noqa: F401

PAGE = BASE + "/linkage-rules"


def _held(settings: Settings) -> tuple[tuple[float, float], bool, int]:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        drawn = review_check.estimate(con, review.current_threshold(con)).drawn
        return review.band(con), name_and_date.rule_on(con), drawn
    finally:
        con.close()


def _text(page_text: str) -> str:
    return re.sub(r"\s+", " ", page_text)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PARTNER, Role.LEAD])
def test_only_analysts_change_how_records_are_joined(client: PageClient, insight: Path, role: Role) -> None:  # noqa: F811
    _as(client, role)
    assert client.get(PAGE).status_code == 403
    form = {"low": "10", "high": "99", "name_and_date": "off"}
    assert client.post_form(PAGE, form, token_from=BASE).status_code == 403  # a valid token, no right


def test_an_analyst_changes_the_band_and_turns_the_rule_off(
    client: PageClient, insight: Path, settings: Settings, session: Session  # noqa: F811
) -> None:
    _as(client, Role.ANALYST)
    runs = client.get(BASE + "/runs").text
    assert f'href="{PAGE}"' in runs  # reached from the runs page
    page = client.get(PAGE)
    assert page.status_code == 200 and 'value="50"' in page.text and 'value="95"' in page.text
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        drawn = [review_check.draw(con) for _ in range(3)]
    finally:
        con.close()
    assert all(drawn)
    done = client.post_form(PAGE, {"low": "40", "high": "99.9%", "name_and_date": "off"}, token_from=PAGE)
    assert done.status_code == 303 and done.headers["location"] == f"{BASE}/runs#rules"
    assert _held(settings) == ((0.4, 0.999), False, 0)
    runs = _text(client.get(done.headers["location"]).text)
    assert "How records are joined here is saved." in runs
    assert "the check sample starts again (3 earlier draws set aside; decisions are kept)" in runs
    assert "The next link runs in full once, with the stored model" in runs
    assert "Pairs scored between 40% and 99.9% are offered for review" in runs
    assert "How records are joined here is saved." not in client.get(BASE + "/runs").text  # said once
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "insight.linkage_rules")).all()
    assert event.detail == {"band_low": 0.4, "band_high": 0.999, "name_and_date": "off"}
    # Narrower, the rule on again before any link: the persons follow it already.
    done = client.post_form(PAGE, {"low": "45", "high": "99", "name_and_date": "on"}, token_from=PAGE)
    runs = _text(client.get(done.headers["location"]).text)
    assert "is saved." in runs and "starts again" not in runs and "runs in full" not in runs
    assert _held(settings) == ((0.45, 0.99), True, 0)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"low": "95", "high": "50", "name_and_date": "on"}, "low",
         "The low end of the band must be below the high end"),
        ({"low": "half", "high": "95", "name_and_date": "on"}, "low",
         "Enter the low end of the band as a percentage from 0 to 100, for example 50"),
        ({"low": "50", "high": "150", "name_and_date": "on"}, "high",
         "Enter the high end of the band as a percentage from 0 to 100, for example 95"),
        ({"low": "50", "high": "95"}, "name_and_date",
         "Choose whether a record with only a name and a date of birth is joined"),
        ({"low": "50", "high": "95", "name_and_date": "sometimes"}, "name_and_date",
         "Choose whether a record with only a name and a date of birth is joined"),
    ],
)
def test_a_bad_value_is_named_and_changes_nothing(
    client: PageClient, insight: Path, settings: Settings,  # noqa: F811
    form: dict[str, str], field: str, message: str,
) -> None:  # fmt: skip
    _as(client, Role.ANALYST)
    before = _held(settings)
    page = client.post_form(PAGE, form, token_from=PAGE)
    assert page.status_code == 400 and page.text.count(message) == 2  # the summary and the field
    assert f'href="#{field}"' in page.text and "<title>Error: " in page.text
    assert _held(settings) == before
