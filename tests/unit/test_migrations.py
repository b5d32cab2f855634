"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import joinedup.db.models  # noqa: F401
from joinedup.config import Settings
from joinedup.db.base import Base
from joinedup.db.session import get_engine


def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    with get_engine(settings).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_every_area_branch_is_at_its_head(settings: Settings) -> None:
    from alembic.script import ScriptDirectory

    from joinedup.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(settings.resolved_database_url))
    with get_engine(settings).connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    assert current == set(script.get_heads())
