"""Differencing across collaborations: an analyst defines two programmes of one place whose
analysed cohorts differ by a few people, and a lead reads both controlled accounts. Whatever
the lead subtracts (sizes, event counts, rates × sizes, money) must say nothing about the
people in the difference: the later account's controlled copy is withheld, with a plain
reason, while the two cohorts are nearer than the place's disclosure threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from joinedup.collaborations.charters import get_collaboration
from joinedup.config import Settings
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.value.settings import account_of
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike
from tests.support.value_place import (  # noqa: F401  (fixtures)
    COLLAB,
    SLUG,
    TEST_DRAWS,
    programme_store,
    set_up_account,
    sign_in_as,
    value_place,
)

THRESHOLD = DisclosureRule().threshold
_SIZES = ("n_programme", "n_matched", "n_comparison", "n_outside_window")
_RATES = ("programme_before", "programme_after", "comparison_before", "comparison_after", "effect")


def _fewer_people_source(settings: Settings, drop: int) -> None:
    """``fulfilling_lives_b``: the programme's caseload less its first ``drop`` people."""
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb")
    try:
        con.execute(
            "INSERT INTO sources (name, partner, service) SELECT 'fulfilling_lives_b', partner, "
            "'Fulfilling Lives B' FROM sources WHERE name = 'fulfilling_lives'"
        )
        con.execute(
            """
            CREATE TEMP TABLE kept AS
            SELECT r.record_id, r.event_date, l.person_id FROM records r
            JOIN person_links l ON l.source = r.source AND l.record_id = r.record_id
            WHERE r.source = 'fulfilling_lives'
              AND l.person_id NOT IN (
                  SELECT DISTINCT person_id FROM person_links WHERE source = 'fulfilling_lives'
                  ORDER BY person_id LIMIT ?)
            """,
            [drop],
        )
        con.execute(
            "INSERT INTO records (source, record_id, event_date) "
            "SELECT 'fulfilling_lives_b', 'B' || record_id, event_date FROM kept"
        )
        con.execute(
            "INSERT INTO person_links SELECT 'fulfilling_lives_b', 'B' || record_id, person_id FROM kept"
        )
    finally:
        con.close()


def _account(session: Session, slug: str) -> Any:
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, slug)
    assert collab is not None
    return account_of(session, collab)


def _second_account(client: PageClient, session: Session, slug: str) -> None:
    """As an analyst, the second collaboration's account on the smaller caseload."""
    sign_in_as(client, Role.ANALYST)
    base = f"/places/{SLUG}/collaborations/{slug}/value"
    r = client.post_form(
        base + "/settings/programme",
        {"kind": "source", "source": "fulfilling_lives_b"},
        token_from=base + "/settings",
    )
    assert r.status_code == 303, r.text
    assert client.post_form(base + "/settings/starter", token_from=base + "/settings").status_code == 303
    account = _account(session, slug)
    account.parameters = {**account.parameters, "mc_draws": TEST_DRAWS, "window_before": 3, "window_after": 3}
    session.commit()
    assert client.post_form(base + "/recompute", token_from=base).status_code == 303


def _figures(acc: dict[str, Any]) -> list[Any]:
    """Everything a subtraction could use."""
    out: list[Any] = [acc.get(k) for k in _SIZES]
    for m in acc.get("measures", []):
        out += [m.get(k) for k in _RATES]
    out.append(acc.get("totals"))
    out += [s.get("value") for s in acc.get("steps", [])]
    out += [a.get("pv_fiscal") for a in acc.get("agency_values", [])]
    return out


@pytest.mark.parametrize("drop", [1, THRESHOLD // 2, THRESHOLD - 1])
def test_two_collaborations_a_few_people_apart_cannot_be_differenced(
    client: PageClient,
    session: Session,
    settings: Settings,
    value_place: DemoLike,  # noqa: F811
    drop: int,
) -> None:
    set_up_account(client, session)  # the first account, on the whole caseload
    _fewer_people_source(settings, drop)
    other = next(s for s in value_place.collaboration_slugs if s != COLLAB)
    _second_account(client, session, other)
    first, second = _account(session, COLLAB).result, _account(session, other).result
    # The analyst's exact accounts do differ by the dropped people.
    assert first.account["n_programme"] - second.account["n_programme"] == drop
    # A lead reading both controlled copies: the later one publishes nothing to subtract.
    assert first.published["n_programme"] is not None
    assert all(v is None for v in _figures(second.published) if not isinstance(v, str)), second.published
    assert "withheld" in second.published["hidden"]["nearby"]
    sign_in_as(client, Role.LEAD)
    page = client.get(f"/places/{SLUG}/collaborations/{other}/value")
    assert page.status_code == 200 and f"fewer than {THRESHOLD} people" in page.text
    # The analyst sees why on the settings page.
    sign_in_as(client, Role.ANALYST)
    settings_page = client.get(f"/places/{SLUG}/collaborations/{other}/value/settings")
    assert f"fewer than {THRESHOLD} people" in settings_page.text


@pytest.mark.parametrize("drop", [0, THRESHOLD])
def test_cohorts_the_same_or_the_threshold_apart_are_both_published(
    client: PageClient,
    session: Session,
    settings: Settings,
    value_place: DemoLike,  # noqa: F811
    drop: int,
) -> None:
    set_up_account(client, session)
    _fewer_people_source(settings, drop)
    other = next(s for s in value_place.collaboration_slugs if s != COLLAB)
    _second_account(client, session, other)
    second = _account(session, other).result
    assert second.published["n_programme"] is not None and "nearby" not in second.published["hidden"]
