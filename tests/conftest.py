"""Fixtures shared by every test. Kept small: helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import joinedup.db.models  # noqa: F401  (the whole metadata)
from joinedup.config import Settings, get_settings
from joinedup.db.session import make_session
from joinedup.web.app import create_app
from tests.support.client import PageClient
from tests.support.database import fresh_settings, migrate_template


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrate_template(tmp_path_factory.mktemp("db-template"))


@pytest.fixture
def settings(db_template: str, tmp_path: Path) -> Settings:
    return fresh_settings(db_template, tmp_path)


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    s = make_session(settings)
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the `joinedup` command (which reads the environment) at this test's database."""
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("JOINEDUP_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()  # later tests must not see this test's settings


@pytest.fixture
def client(settings: Settings) -> Iterator[PageClient]:
    with PageClient(create_app(settings), base_url="http://testserver") as c:
        yield c
