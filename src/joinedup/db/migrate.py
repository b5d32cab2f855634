"""Create or upgrade the app database with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from joinedup.config import Settings, get_settings
from joinedup.db.session import DatabaseUnavailable, describe_url, get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(settings: Settings | None = None) -> None:
    """Bring the schema up to date; each area has its own branch, so upgrade every head."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    check_reachable(settings)
    command.upgrade(alembic_config(url), "heads")


def check_reachable(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    try:
        with get_engine(settings).connect() as conn:
            inspect(conn).get_table_names()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise DatabaseUnavailable(
            f"Cannot reach the database at {describe_url(settings.resolved_database_url)}: {reason}"
        ) from exc
