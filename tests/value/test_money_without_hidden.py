"""One measure too few events to publish leaves the rest of the money published.

The published money is the account worked out again without the hidden measure, the page
says which measure is left out and why, and no view or export a lead can read holds a total
that includes the hidden measure (which, less the total without it, would give it away)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from joinedup.collaborations.charters import get_collaboration
from joinedup.config import Settings
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.value.present import EXPORTS
from joinedup.value.published import publish
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

RARE = {
    "key": "rare_contacts",
    "label": "Rare service contacts",
    "services": ["Rare Service"],
    "statistic": "count",
    "direction": "lower",
    "unit_cost_code": "HE16.0",
    "unit_cost_scale": 1.0,
}


def _add_rare_events(settings: Settings, events: int) -> None:
    """A service with a handful of events, each a programme person's a month after entry."""
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb")
    try:
        con.execute(
            "INSERT INTO sources (name, partner, service) VALUES "
            "('rare_service', 'Northbrook Borough Council', 'Rare Service')"
        )
        con.execute(
            f"""
            INSERT INTO records (source, record_id, event_date)
            SELECT 'rare_service', 'R' || row_number() OVER (), r.event_date + INTERVAL 30 DAY
            FROM records r WHERE r.source = 'fulfilling_lives' ORDER BY r.record_id LIMIT {events}
            """
        )
        con.execute(
            f"""
            INSERT INTO person_links
            SELECT 'rare_service', 'R' || row_number() OVER (), l.person_id
            FROM records r JOIN person_links l ON l.source = r.source AND l.record_id = r.record_id
            WHERE r.source = 'fulfilling_lives' ORDER BY r.record_id LIMIT {events}
            """
        )
    finally:
        con.close()


def _with_rare_measure(client: PageClient, session: Session) -> tuple[dict, dict]:  # type: ignore[type-arg]
    set_up_account(client, session, compute=False)
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, COLLAB)
    assert collab is not None
    account = account_of(session, collab)
    assert account is not None
    account.measures = [*account.measures, dict(RARE)]
    session.commit()
    r = client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT)
    assert r.status_code == 303, r.text
    session.expire_all()
    account = account_of(session, collab)
    assert account is not None and account.result is not None
    return account.result.account, account.result.published


def test_one_hidden_measure_leaves_the_rest_of_the_money_published(
    client: PageClient, session: Session, settings: Settings, value_place: DemoLike  # noqa: F811
) -> None:
    _add_rare_events(settings, 3)
    exact, published = _with_rare_measure(client, session)
    rare = next(m for m in published["measures"] if m["key"] == RARE["key"])
    assert rare["hidden"] and rare["effect"] is None
    # The money is published, and says plainly which measure it leaves out and why.
    assert published["totals"] is not None
    reason = published["hidden"]["money"]
    assert "Rare service contacts" in reason and "too few" in reason
    # Without the measure: the money is not the whole account's (which includes it).
    with_all = publish(exact, DisclosureRule())
    assert with_all["totals"] is None  # the old rule: everything hidden
    scale = published["n_programme"] / exact["n_programme"]
    assert abs(published["totals"]["pv_fiscal"] - exact["totals"]["pv_fiscal"] * scale) > 50
    assert not [s for s in published["steps"] if s["measure_key"] == RARE["key"]]
    assert not [a for a in published["agency_values"] if a["measure_key"] == RARE["key"]]

    # A lead reads the page and every export: the reason is on the page, and no figure
    # anywhere is the total with the hidden measure in it.
    sign_in_as(client, Role.LEAD)
    page = client.get(ACCOUNT)
    assert page.status_code == 200
    assert "Rare service contacts" in page.text and "too few to publish" in page.text
    whole = f"{round(exact['totals']['pv_fiscal'] * scale / 100) * 100:,.0f}"
    views = [page.text] + [client.get(f"{ACCOUNT}/export/{name}.csv").text for name in EXPORTS]
    for text in views:
        assert whole not in text and whole.replace(",", "") not in text


def test_the_sentence_says_which_measure_the_money_leaves_out(
    client: PageClient, session: Session, settings: Settings, value_place: DemoLike  # noqa: F811
) -> None:
    from joinedup.value.present import headline

    _add_rare_events(settings, 3)
    _, published = _with_rare_measure(client, session)
    assert "leaving out rare service contacts" in headline(published)
