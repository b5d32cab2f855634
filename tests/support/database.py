"""A fresh, migrated app database for each test: SQLite by default, PostgreSQL when
JOINEDUP_TEST_DATABASE_URL is set (CI runs the suite both ways)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text

from joinedup.config import Settings
from joinedup.db.base import Base
from joinedup.db.migrate import upgrade_to_head
from joinedup.db.session import engine_for

POSTGRES_URL = os.environ.get("JOINEDUP_TEST_DATABASE_URL", "")


def migrate_template(directory: Path) -> str:
    """Migrate once per test session; returns the SQLite template path or the PostgreSQL URL."""
    if POSTGRES_URL:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade_to_head(Settings(database_url=POSTGRES_URL, data_dir=directory))
        return POSTGRES_URL
    template = directory / "template.sqlite3"
    upgrade_to_head(Settings(database_url=f"sqlite:///{template}", data_dir=directory))
    engine_for(f"sqlite:///{template}").dispose()
    return str(template)


def fresh_settings(template: str, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "var"
    data_dir.mkdir(exist_ok=True)
    if POSTGRES_URL:
        engine = engine_for(POSTGRES_URL)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        url = POSTGRES_URL
    else:
        db = tmp_path / "joinedup.sqlite3"
        shutil.copyfile(template, db)
        url = f"sqlite:///{db}"
    return Settings(database_url=url, data_dir=data_dir, secret_key="test-secret-key-" + "x" * 16)
