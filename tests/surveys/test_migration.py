"""The surveys migration creates exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import joinedup.db.models  # noqa: F401  (the whole metadata)
from joinedup.config import Settings
from joinedup.db.base import Base


def test_survey_tables_match_the_models(settings: Settings) -> None:
    engine = create_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()

    def about_surveys(entry: object) -> bool:
        return "survey_" in repr(entry)

    assert [d for d in diff if about_surveys(d)] == []
