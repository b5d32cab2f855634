"""The CLI: each command works, and a user error is one line with a non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.clikit import missing_table
from joinedup.config import Settings
from tests.support.database import POSTGRES_URL


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_places_and_users_round_trip(cli_env: Settings) -> None:
    code, out = run("init")
    assert code == 0 and "Database ready" in out
    code, out = run("places", "create", "Riverton", "--adult-population", "90000")
    assert code == 0, out
    code, out = run("places", "list")
    assert "riverton" in out and "90,000" in out
    code, out = run("users", "add", "ana@riverton.example", "--name", "Ana Analyst", "--place", "riverton",
                    "--role", "analyst", "--password", "a long enough password")
    assert code == 0, out
    code, out = run("users", "set-role", "ana@riverton.example", "--place", "riverton", "--role", "lead")
    assert code == 0 and "Partnership lead" in out
    code, out = run("users", "list", "--place", "riverton")
    assert "riverton: lead" in out
    code, out = run("users", "remove", "ana@riverton.example", "--place", "riverton")
    assert code == 0


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "joinedup", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "set-role", "nobody@x.example", "--place", "riverton", "--role", "lead"),
         "No user with email address nobody@x.example"),
        (("users", "add", "x@x.example", "--name", "X", "--role", "chief", "--password", "p" * 12),
         "Unknown role 'chief'"),
        (("places", "create", "Bad", "--slug", "Not A Slug"), "Short name must use only"),
        (("purge", "--place", "riverton", "--today", "soon"), "--today must be a date"),
    ],
)
def test_user_errors_are_one_line_without_traceback(cli_env: Settings, args: tuple[str, ...],
                                                     message: str) -> None:
    env = {"JOINEDUP_DATABASE_URL": cli_env.resolved_database_url, "JOINEDUP_DATA_DIR": str(cli_env.data_dir)}
    result = _cli(env, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {"JOINEDUP_DATABASE_URL": "postgresql+psycopg://u:secret@127.0.0.1:1/none",
           "JOINEDUP_DATA_DIR": str(tmp_path)}
    result = _cli(env, "init")
    assert result.returncode == 2
    assert "Cannot reach the database" in result.stderr
    assert "secret" not in result.stderr  # the password is masked
    assert "Traceback" not in result.stderr


def test_a_database_never_set_up_says_to_run_init(tmp_path: Path) -> None:
    """A new data directory before `joinedup init`: the command names what to do, rather
    than saying the database "could not be reached" (it was reached: it has no tables)."""
    env = {"JOINEDUP_DATA_DIR": str(tmp_path), "JOINEDUP_DATABASE_URL": ""}  # SQLite in the directory
    result = _cli(env, "places", "create", "Riverton")
    assert result.returncode == 2
    assert "Run `joinedup init` first (no such table: places)" in result.stderr
    assert "could not be reached" not in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_a_postgres_database_never_set_up_says_to_run_init(tmp_path: Path) -> None:
    """The same on PostgreSQL, whose words differ: a schema with no tables stands for a
    database no one has run `joinedup init` on."""
    if not POSTGRES_URL:
        pytest.skip("needs JOINEDUP_TEST_DATABASE_URL")
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS never_set_up CASCADE"))
        conn.execute(text("CREATE SCHEMA never_set_up"))
    try:
        url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?") + "options=-csearch_path%3Dnever_set_up"
        env = {"JOINEDUP_DATA_DIR": str(tmp_path), "JOINEDUP_DATABASE_URL": url}
        result = _cli(env, "places", "create", "X")
        assert result.returncode == 2, result.stderr
        assert 'Run `joinedup init` first (relation "places" does not exist)' in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS never_set_up CASCADE"))
        engine.dispose()


@pytest.mark.parametrize(
    ("reason", "missing"),
    [
        ("no such table: places", True),  # SQLite
        ('relation "places" does not exist', True),  # PostgreSQL
        ('column "slug" does not exist', False),
        ("database is locked", False),
    ],
)
def test_which_database_errors_mean_a_missing_table(reason: str, missing: bool) -> None:
    assert missing_table(reason) is missing


def test_every_command_has_help() -> None:
    for args in (["--help"], ["users", "--help"], ["places", "--help"], ["init", "--help"],
                 ["serve", "--help"], ["demo", "--help"]):
        code, out = run(*args)
        assert code == 0 and "Usage" in out
