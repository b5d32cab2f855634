"""Every bad input the issue lists gives a GOV.UK error on the page that takes it, and saves
nothing: a measure naming a service with no events, a programme source whose persons do not
link, an entry date outside the data, a cost or a discount rate out of range, and a cohort too
small to publish."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from joinedup.collaborations.charters import get_collaboration
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.value.settings import account_of
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike
from tests.support.value_place import (  # noqa: F401  (fixtures)
    ACCOUNT,
    COLLAB,
    SLUG,
    programme_store,
    set_up_account,
    sign_in_as,
    value_place,
)

SETTINGS = ACCOUNT + "/settings"


def _snapshot(session: Session) -> Any:
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, COLLAB)
    assert collab is not None
    account = account_of(session, collab)
    if account is None:
        return None
    return (
        account.version,
        account.programme,
        account.measures,
        account.parameters,
        [(c.partner_id, c.year, c.amount_gbp) for c in account.costs],
    )


def _refused(response: Any, message: str, field: str) -> None:
    assert response.status_code == 400, response.text[:500]
    assert "There is a problem" in response.text
    assert f'href="#{field}"' in response.text, field  # the summary links to the field
    assert message in response.text, message


@pytest.mark.parametrize(
    ("form", "message", "field"),
    [
        ({"kind": "source", "source": "unlinked_caseload"}, "link", "source"),
        ({"kind": "source", "source": "tiny_caseload"}, "too few to publish", "source"),
        ({"kind": "source", "source": ""}, "Choose the source", "source"),
        (
            {
                "kind": "cohort",
                "cohort": "smd2",
                "entry_date-day": "1",
                "entry_date-month": "1",
                "entry_date-year": "2031",
            },
            "",
            "entry_date",
        ),
        (
            {
                "kind": "cohort",
                "cohort": "smd2",
                "entry_date-day": "31",
                "entry_date-month": "2",
                "entry_date-year": "2024",
            },
            "real date",
            "entry_date",
        ),
    ],
)
def test_a_programme_that_cannot_be_used_is_refused_and_nothing_is_saved(
    client: PageClient,
    session: Session,
    value_place: DemoLike,  # noqa: F811
    form: dict[str, str],
    message: str,
    field: str,
) -> None:
    sign_in_as(client, Role.ANALYST)
    r = client.post_form(SETTINGS + "/programme", form, token_from=SETTINGS)
    _refused(r, message, field)
    assert _snapshot(session) is None  # not even the account's row was made


def test_a_measure_naming_a_service_with_no_events_is_refused(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session, compute=False)
    before = _snapshot(session)
    page = client.get(SETTINGS + "/measures/new").text
    index = re.search(r'name="(service-\d+)" type="checkbox" value="Empty Service"', page)
    assert index, "the empty service is offered (it is a source of the store)"
    r = client.post_form(
        SETTINGS + "/measures/new",
        {
            "label": "Empty things",
            index.group(1): "Empty Service",
            "statistic": "count",
            "direction": "lower",
        },
        token_from=SETTINGS,
    )
    _refused(r, "Empty Service", "service-0")
    assert _snapshot(session) == before


@pytest.mark.parametrize(
    ("changes", "message", "field"),
    [
        ({"discount_rate": "50"}, "between 0% and 10%", "discount_rate"),
        ({"discount_rate": "three"}, "as a number", "discount_rate"),
        ({"attribution": "120"}, "between 0% and 100%", "attribution"),
        ({"price_year": "2024"}, "like 2024-25", "price_year"),
        (
            {"range-drop_off-low": "40", "range-drop_off-high": "10"},
            "must not be more than",
            "range-drop_off-low",
        ),
    ],
)
def test_parameters_out_of_range_are_refused(
    client: PageClient,
    session: Session,
    value_place: DemoLike,  # noqa: F811
    changes: dict[str, str],
    message: str,
    field: str,
) -> None:
    set_up_account(client, session, compute=False)
    sign_in_as(client, Role.LEAD)
    before = _snapshot(session)
    form = client.get(SETTINGS + "/parameters").text
    values = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', form))
    values.pop("csrf_token", None)
    values.update(gain_share_rule="contribution", **changes)
    _refused(client.post_form(SETTINGS + "/parameters", values, token_from=SETTINGS), message, field)
    assert _snapshot(session) == before


@pytest.mark.parametrize(
    ("amount", "year", "message", "field"),
    [
        ("1000000000000", "0", "between 0 and 1e+08", "costs-0-amount"),
        ("-5", "0", "between 0 and", "costs-0-amount"),
        ("5000", "99", "between 0 and 30", "costs-0-year"),
        ("12.50", "0", "whole pounds", "costs-0-amount"),
    ],
)
def test_a_cost_out_of_range_is_refused_and_no_row_is_half_saved(
    client: PageClient,
    session: Session,
    value_place: DemoLike,  # noqa: F811
    amount: str,
    year: str,
    message: str,
    field: str,
) -> None:
    set_up_account(client, session, compute=False)
    sign_in_as(client, Role.LEAD)
    before = _snapshot(session)
    council = re.search(
        r'<option value="(\d+)"[^>]*>Northbrook Borough Council', client.get(SETTINGS + "/costs").text
    )
    assert council
    form = {
        "costs-0-partner": council.group(1),
        "costs-0-year": year,
        "costs-0-amount": amount,
        "costs-1-partner": council.group(1),
        "costs-1-year": "1",
        "costs-1-amount": "200000",
    }
    _refused(client.post_form(SETTINGS + "/costs", form, token_from=SETTINGS), message, field)
    assert _snapshot(session) == before


def test_costs_start_from_the_charters_pooled_money_and_save_whole(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    sign_in_as(client, Role.LEAD)
    page = client.get(SETTINGS + "/costs").text
    assert 'value="450000"' in page and "From the charter: Pooled housing-first budget" in page
    council = re.search(r'<option value="(\d+)"[^>]*selected[^>]*>Northbrook Borough Council', page)
    assert council
    form = {
        "costs-0-partner": council.group(1),
        "costs-0-year": "0",
        "costs-0-amount": "450000",
        "costs-1-partner": council.group(1),
        "costs-1-year": "1",
        "costs-1-amount": "300000",
    }
    assert client.post_form(SETTINGS + "/costs", form, token_from=SETTINGS).status_code == 303
    snapshot = _snapshot(session)
    assert snapshot is not None and [c[1:] for c in snapshot[4]] == [(0, 450000), (1, 300000)]


def test_computing_without_settings_says_what_to_do(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session, compute=False)
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, COLLAB)
    assert collab is not None
    account = account_of(session, collab)
    assert account is not None
    account.parameters = {**account.parameters, "window_before": 12, "window_after": 12}
    session.commit()
    r = client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT)
    assert r.status_code == 400 and "The account could not be computed" in r.text
    assert "quarters" in r.text
    assert account.result is None


def test_an_analyst_chooses_the_headline_measure_and_an_unknown_one_is_refused(
    client: PageClient,
    session: Session,
    value_place: DemoLike,  # noqa: F811
) -> None:
    set_up_account(client, session, compute=False)  # as an analyst
    form = client.get(SETTINGS + "/parameters").text
    assert 'name="headline_measure"' in form and "Crisis mental health contacts" in form
    values = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', form))
    values.pop("csrf_token", None)
    values.update(gain_share_rule="contribution")
    before = _snapshot(session)
    bad = {**values, "headline_measure": "no_such_measure"}
    _refused(
        client.post_form(SETTINGS + "/parameters", bad, token_from=SETTINGS),
        "Choose one of the account",
        "headline_measure",
    )
    assert _snapshot(session) == before
    good = {**values, "headline_measure": "crisis_mental_health"}
    assert client.post_form(SETTINGS + "/parameters", good, token_from=SETTINGS).status_code == 303
    session.expire_all()
    assert _snapshot(session) != before
    assert 'value="crisis_mental_health" selected' in client.get(SETTINGS + "/parameters").text
