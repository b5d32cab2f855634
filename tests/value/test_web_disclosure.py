"""Attacks on the published account: a viewer who changes windows or measures in the address,
who subtracts two stored accounts of one collaboration computed a few people apart, or who
divides money by what is published, learns no suppressed or exact count."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from joinedup.collaborations.charters import get_collaboration
from joinedup.config import Settings
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.value.published import HIDDEN_MONEY, publish, sticky_size
from joinedup.value.settings import account_of
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike
from tests.support.value_place import (  # noqa: F401  (fixtures)
    ACCOUNT,
    COLLAB,
    PROGRAMME_SIZE,
    SLUG,
    programme_store,
    set_up_account,
    sign_in_as,
    value_place,
)

_VOLATILE = re.compile(r'(name="csrf_token" value="[^"]+"|nonce="[^"]+")')


def _stored(session: Session) -> Any:
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, COLLAB)
    assert collab is not None
    account = account_of(session, collab)
    assert account is not None and account.result is not None
    return account.result


def _words(html: str) -> list[str]:
    return re.sub(r"<[^>]+>", " ", html).replace(",", "").split()


def test_windows_and_measures_in_the_address_change_nothing_a_viewer_sees(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    sign_in_as(client, Role.VIEWER)
    plain = _VOLATILE.sub("", client.get(ACCOUNT).text)
    for query in (
        "window_before=1&window_after=1",
        "measures=arrests",
        "window_before=12&exact=1",
        "programme=tiny_caseload",
        "year=2024-25&from=2024-01-01&to=2024-03-31",
    ):
        assert _VOLATILE.sub("", client.get(f"{ACCOUNT}?{query}").text) == plain, query
        for name in ("measures", "steps"):
            assert (
                client.get(f"{ACCOUNT}/export/{name}.csv?{query}").text
                == client.get(f"{ACCOUNT}/export/{name}.csv").text
            ), (query, name)


def test_two_accounts_a_few_people_apart_cannot_be_subtracted(
    client: PageClient, session: Session, settings: Settings, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    first = _stored(session).published
    sign_in_as(client, Role.VIEWER)
    seen_first = client.get(ACCOUNT).text
    # Five more people join the programme (a re-ingested caseload) and the account is
    # recomputed: the true size moves from 153 to 158 (rounded on their own, 155 and 160),
    # by 5, a count the rule would hide.
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        outside = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT person_id FROM person_links WHERE person_id NOT IN "
                "(SELECT person_id FROM person_links WHERE source = 'fulfilling_lives') "
                "ORDER BY person_id LIMIT 5"
            ).fetchall()
        ]
        for i, pid in enumerate(outside):
            con.execute(
                "INSERT INTO records (source, record_id, event_date) VALUES ('fulfilling_lives', ?, "
                "DATE '2024-03-01')",
                [f"EXTRA{i}"],
            )
            con.execute("INSERT INTO person_links VALUES ('fulfilling_lives', ?, ?)", [f"EXTRA{i}", pid])
    finally:
        con.close()
    sign_in_as(client, Role.LEAD)
    assert "the place&#39;s linked data has changed" in client.get(ACCOUNT).text
    assert client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT).status_code == 303
    second = _stored(session)
    assert second.account["n_programme"] == PROGRAMME_SIZE + 5
    sign_in_as(client, Role.VIEWER)
    seen_second = client.get(ACCOUNT).text
    # Every size the viewer can read is the same in both: the difference is 0, which is
    # consistent with every hidden count from 1 to 7, so it narrows none of them.
    for key in ("n_programme", "n_matched"):
        assert second.published[key] == first[key], key
    people = re.compile(r"For ([\d,]+) people")
    assert people.findall(seen_first) == people.findall(seen_second)
    for exact in (str(PROGRAMME_SIZE), str(PROGRAMME_SIZE + 5)):
        assert exact not in _words(seen_first) + _words(seen_second), exact


def test_money_is_valued_for_the_published_number_of_people(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    """Money ÷ the per-person value (which the viewer can work out from the published effect,
    unit cost, discounting and shares) gives the published size, never the exact one."""
    set_up_account(client, session)
    stored = _stored(session)
    exact, published = stored.account, stored.published
    assert exact["n_programme"] == PROGRAMME_SIZE and published["n_programme"] == 155
    scale = published["n_programme"] / exact["n_programme"]
    pairs = [(e, p) for e, p in zip(exact["steps"], published["steps"], strict=True) if e["unit"] == "£"]
    assert pairs, "the value chain has money steps"
    for e, p in pairs:
        assert abs(p["value"] - e["value"] * scale) <= 50 + 1e-6, e["name"]
    assert abs(published["totals"]["pv_fiscal"] - exact["totals"]["pv_fiscal"] * scale) <= 50 + 1e-6
    assert (
        published["totals"]["pv_costs"] == round(exact["totals"]["pv_costs"] / 100) * 100
    )  # costs as entered
    # The engine's words carry no exact count either ("× 153 persons").
    text = " ".join(s["formula"] for s in published["steps"]) + " ".join(
        published["warnings"] + published["flags"]
    )
    assert str(PROGRAMME_SIZE) not in text.split()


def _account(events_before: int, n: int = 40) -> dict[str, Any]:
    quarters = 3
    return {
        "n_programme": n,
        "n_comparison": 500,
        "n_matched": n,
        "n_outside_window": 0,
        "comparison_credible": True,
        "warnings": [],
        "flags": [],
        "balance": [],
        "parameters": {"window_before": quarters, "window_after": quarters},
        "measures": [
            {
                "key": "evictions",
                "label": "Evictions",
                "programme_before": events_before / (n * quarters),
                "programme_after": 0.0,
                "comparison_before": 0.5,
                "comparison_after": 0.5,
                "effect": -0.02,
                "se": 0.01,
                "ci_low": -0.04,
                "ci_high": 0.0,
                "naive_effect": -0.02,
                "method": "did",
            }
        ],
        "steps": [
            {
                "measure_key": "evictions",
                "name": "Present value of the fiscal benefit",
                "value": 12345.0,
                "unit": "£",
                "formula": "",
                "source": "",
            }
        ],
        "agency_values": [],
        "matrix": [],
        "gain_share": [],
        "tornado": [],
        "monte_carlo": None,
        "totals": {
            "pv_fiscal": 12345.0,
            "pv_economic": 0.0,
            "pv_social": 0.0,
            "pv_costs": 1000.0,
            "npv": 11345.0,
            "fiscal_npv": 11345.0,
            "fiscal_roi": 12.3,
            "public_value_roi": 12.3,
            "payback_years": 0.1,
        },
    }


def test_a_measure_resting_on_a_few_events_is_hidden_and_so_is_the_money() -> None:
    rule = DisclosureRule()
    few = publish(_account(events_before=3), rule)
    row = few["measures"][0]
    assert row["programme_before"] is None and row["effect"] is None and "too few" in row["hidden"]
    # Totals less the other measures would give this one's money: the money is for analysts.
    assert few["totals"] is None and few["hidden"]["money"] == HIDDEN_MONEY
    assert not [s for s in few["steps"] if s["unit"] == "£"]
    many = publish(_account(events_before=30), rule)
    assert many["measures"][0]["programme_before"] == round(30 / (40 * 3), 2)
    assert many["totals"] is not None


def test_sticky_sizes_move_only_by_the_threshold() -> None:
    rule = DisclosureRule()
    published, basis = sticky_size(153, None, rule)
    assert (published, basis) == (155, 153)
    for true in range(146, 161):  # within 7 of the basis: the same figure
        assert sticky_size(true, {"published": published, "basis": basis}, rule)[0] == 155
    assert sticky_size(161, {"published": published, "basis": basis}, rule) == (160, 161)
    assert sticky_size(5, None, rule) == (None, 5)
