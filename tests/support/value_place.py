"""A place with a programme for the value account's web, CLI and browser tests.

The store is written directly (the engine helper's ``write_programme_store``: no extracts,
no linkage, a few seconds) with a programme of 153 people (so that rounding moves the
published size off the true one), plus three sources for the bad-input tests: a service
with no events, a caseload whose records link to no one, and a caseload of 5 people (too
few to publish).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.synth.programme import write_programme_store
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, email_for, seed_demo_like

SLUG = "northbrook"
COLLAB = "fulfilling-lives-in-northbrook"
ACCOUNT = f"/places/{SLUG}/collaborations/{COLLAB}/value"
PROGRAMME_SIZE = 153
# Few draws keep tests quick; the demo and the benchmark use the full 10,000.
TEST_DRAWS = 300


def build_store(path: Path, *, persons: int = 2000, programme: int = PROGRAMME_SIZE, seed: int = 5) -> Any:
    con = connect(path, memory_limit="1GB", threads=2)
    try:
        truth = write_programme_store(con, persons=persons, programme=programme, seed=seed)
        council = "Northbrook Borough Council"
        con.execute(
            "INSERT INTO sources (name, partner, service) VALUES "
            "('empty_service', ?, 'Empty Service'), ('unlinked_caseload', ?, 'Unlinked Caseload'), "
            "('tiny_caseload', ?, 'Tiny Caseload')",
            [council, council, council],
        )
        con.execute(
            "INSERT INTO records (source, record_id, event_date) "
            "SELECT 'unlinked_caseload', 'U' || i, DATE '2024-02-01' FROM range(20) t(i)"
        )
        con.execute(
            "INSERT INTO records (source, record_id, event_date) "
            "SELECT 'tiny_caseload', 'T' || i, DATE '2024-02-01' FROM range(5) t(i)"
        )
        con.execute(
            "INSERT INTO person_links SELECT 'tiny_caseload', 'T' || i, "
            "'P' || lpad(CAST(1000 + i AS VARCHAR), 7, '0') "
            "FROM range(5) t(i)"
        )
    finally:
        con.close()
    return truth


@pytest.fixture(scope="session")
def programme_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("value-store") / f"{SLUG}.duckdb"
    build_store(path)
    return path


@pytest.fixture
def value_place(settings: Settings, session: Session, programme_store: Path) -> DemoLike:
    """The demo-like place with the programme store copied into this test's data dir."""
    demo = seed_demo_like(session)
    target = Path(settings.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(programme_store, target / f"{SLUG}.duckdb")
    return demo


def sign_in_as(client: PageClient, role: Role) -> PageClient:
    client.cookies.clear()
    client.sign_in(email_for(role), DEMO_PASSWORD)
    return client


def set_up_account(client: PageClient, session: Session, *, compute: bool = True) -> None:
    """As an analyst: the programme from its caseload, the starter measures, few draws, and
    (by default) the account computed."""
    from joinedup.collaborations.charters import get_collaboration
    from joinedup.places.service import get_place
    from joinedup.value.settings import account_of

    sign_in_as(client, Role.ANALYST)
    settings_url = ACCOUNT + "/settings"
    r = client.post_form(
        settings_url + "/programme", {"kind": "source", "source": "fulfilling_lives"}, token_from=settings_url
    )
    assert r.status_code == 303, r.text
    r = client.post_form(settings_url + "/starter", token_from=settings_url)
    assert r.status_code == 303, r.text
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, COLLAB)
    assert collab is not None
    account = account_of(session, collab)
    assert account is not None
    account.parameters = {**account.parameters, "mc_draws": TEST_DRAWS, "window_before": 3, "window_after": 3}
    session.commit()
    if compute:
        r = client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT)
        assert r.status_code == 303, r.text
