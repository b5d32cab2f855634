"""Every audited action names who did it: the analyst for insight actions in the web app,
the operating-system account for commands, and the analyst who read free-text answers."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup import audit
from joinedup.audit import AuditEvent
from joinedup.cli import app as cli_app
from joinedup.config import Settings
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.places.models import User
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.surveys.rounds import create_round
from joinedup.synth.insight import generate_place
from joinedup.synth.surveys import _store as store_answers
from joinedup.synth.surveys import citizen_rows
from tests.insight.conftest import MAPPING, ROWS, write_csv
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401
from tests.web.test_audit_page import rows

SLUG = "northbrook"
BASE = f"/places/{SLUG}/insight"
AUDIT = f"/places/{SLUG}/audit"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit-actors")
    generate_place(150, root / "extracts", seed=8, formats="csv")
    con = connect(root / f"{SLUG}.duckdb", memory_limit="1GB", threads=2)
    seed_reference(con)
    ingest_directory(con, root / "extracts")
    link_place(con, work_dir=root / "work")
    con.close()
    return root


@pytest.fixture
def store(settings: Settings, demo: DemoLike, linked: Path) -> Path:  # noqa: F811
    target = Path(settings.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(linked / f"{SLUG}.duckdb", target / f"{SLUG}.duckdb")
    return linked / "extracts"


def _user(session: Session, role: Role) -> User:
    user = session.scalar(select(User).where(User.email == email_for(role)))
    assert user is not None
    return user


def _events(session: Session, prefix: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix))))


def test_insight_actions_in_the_web_app_name_the_analyst(
    client: PageClient, session: Session, store: Path
) -> None:
    analyst = _user(session, Role.ANALYST)
    client.sign_in(analyst.email, DEMO_PASSWORD)
    persons = client.get(BASE + "/persons?cohort=smd2")
    assert persons.status_code == 200
    client.get(BASE + "/persons/P00000001")
    assert client.get(BASE + "/export/links.csv").status_code == 200
    token = client.csrf(BASE + "/cohorts")
    defined = client.post(BASE + "/cohorts", data={
        "csrf_token": token, "name": "Homeless", "needs": ["homelessness"], "min_needs": "1"},
        follow_redirects=False)
    assert defined.status_code == 303
    upload = client.post(BASE + "/upload", data={"csrf_token": client.csrf(BASE + "/upload"),
                                                 "source": "police_custody_2"},
                         files={"extract": ("police.csv", (store / "police_custody.csv").read_bytes(),
                                            "text/csv"),
                                "mapping_file": ("police_custody.toml",
                                                 (store / "police_custody.toml").read_bytes(),
                                                 "text/plain")},
                         follow_redirects=False)
    assert upload.status_code == 303
    started = client.post_form(BASE + "/link", token_from=BASE + "/runs")
    assert started.status_code == 303
    deadline = time.monotonic() + 90  # let the run finish before the store is removed
    while "Linking finished" not in client.get(started.headers["location"]).text:
        assert time.monotonic() < deadline
        time.sleep(0.5)

    events = _events(session, "insight.")
    assert {e.action for e in events} >= {
        "insight.view.persons", "insight.view.person", "insight.export.links",
        "insight.cohort.define", "insight.upload", "insight.link"}
    assert {(e.actor_id, e.actor_label) for e in events} == {(analyst.id, analyst.email)}

    client.cookies.clear()
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    shown = rows(client.get(AUDIT, params={"action": "insight."}).text)
    assert len(shown) == len(events)
    assert {r[2] for r in shown} == {analyst.email}  # the "By" column; never "–"


def test_free_text_answers_page_is_audited(client: PageClient, session: Session,
                                           demo: DemoLike) -> None:  # noqa: F811
    place = get_place(session, SLUG)
    assert place is not None
    voice = create_round(session, place, instrument_key="citizen_voice", title="Voice",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1),
                         areas={"North": 30_000, "South": 20_000})
    answers, _themes = citizen_rows(120, seed=2, areas=["North", "South"])
    store_answers(session, voice, answers, voice.created_at)
    session.commit()
    analyst = _user(session, Role.ANALYST)
    client.sign_in(analyst.email, DEMO_PASSWORD)
    page = client.get(f"/places/{SLUG}/surveys/{voice.id}/themes")
    assert page.status_code == 200
    [event] = _events(session, "survey.view.free_text")
    assert (event.actor_id, event.actor_label, event.place_id) == (analyst.id, analyst.email,
                                                                  place.id)
    assert event.subject == f"round {voice.id}" and event.detail["answers"] > 0
    client.cookies.clear()
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    shown = rows(client.get(AUDIT, params={"action": "free_text"}).text)
    assert [(r[1], r[2]) for r in shown] == [("survey.view.free_text", analyst.email)]


def test_commands_name_the_operating_system_account(
    cli_env: Settings, session: Session, demo: DemoLike, tmp_path: Path  # noqa: F811
) -> None:
    mapping = tmp_path / "housing.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    extract = write_csv(tmp_path / "housing.csv", ROWS)
    result = CliRunner().invoke(cli_app, ["ingest", str(extract), "--place", SLUG,
                                          "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    [event] = _events(session, "insight.ingest")
    assert event.actor_label == audit.operator_label()
    assert event.actor_label.startswith("command line (") and event.actor_label != "command line ()"


def test_record_names_an_account_given_only_by_id(session: Session, demo: DemoLike) -> None:  # noqa: F811
    analyst = _user(session, Role.ANALYST)
    event = audit.record(session, "insight.view.person", actor_id=analyst.id, subject="person:P1")
    assert event.actor_label == analyst.email
    anonymous = audit.record(session, "sign_in.failed", subject="someone@example.org")
    assert anonymous.actor_label == ""  # nobody signed in: nothing is made up
