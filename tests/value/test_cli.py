"""`joinedup value compute|show|export`: the same account as the pages, controlled unless
--exact, which is audited; user errors are one line."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup.audit import AuditEvent
from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike
from tests.support.value_place import (  # noqa: F401  (fixtures)
    COLLAB,
    PROGRAMME_SIZE,
    SLUG,
    programme_store,
    set_up_account,
    value_place,
)

WHERE = ["--place", SLUG, "--collaboration", COLLAB]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UserError):  # exit status 2 under `joinedup`
        return 2, str(result.exception)
    return result.exit_code, result.output


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action)))


def test_compute_show_and_export_the_controlled_account(
    cli_env: Settings, client: PageClient, session: Session, value_place: DemoLike, tmp_path: Path  # noqa: F811
) -> None:
    set_up_account(client, session, compute=False)
    code, out = _run("value", "compute", *WHERE)
    assert code == 0, out
    assert "For 155 people" in out and "than for similar people" in out
    assert _actions(session).count("value.compute") == 1
    code, out = _run("value", "show", *WHERE)
    assert code == 0 and "people followed: 155" in out and str(PROGRAMME_SIZE) not in out, out
    code, out = _run("value", "export", *WHERE, "--out", str(tmp_path / "out"))
    assert code == 0, out
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert f"{COLLAB}-value-matrix.csv" in files and len(files) == 7
    with (tmp_path / "out" / f"{COLLAB}-value-measures.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["key"] for r in rows} >= {"ae_attendances", "crisis_mental_health"}
    assert "value.export" in _actions(session)


def test_exact_figures_are_audited_first(
    cli_env: Settings, client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    assert "value.view.exact" not in _actions(session)
    code, out = _run("value", "show", *WHERE, "--exact")
    assert code == 0 and f"people followed: {PROGRAMME_SIZE}" in out, out
    assert "value.view.exact" in _actions(session)


def test_user_errors_are_one_line(cli_env: Settings, session: Session, value_place: DemoLike) -> None:  # noqa: F811
    code, out = _run("value", "show", "--place", SLUG, "--collaboration", "no-such-thing")
    assert code == 2 and "there is no collaboration 'no-such-thing'" in out
    code, out = _run("value", "compute", *WHERE)
    assert code == 2 and "the account has no settings yet" in out
    code, out = _run("value", "show", *WHERE)
    assert code == 2 and "not been computed yet" in out
