"""`joinedup partners` and `joinedup services`: the registry from the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from joinedup.audit import AuditEvent
from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings
from joinedup.db.session import make_session
from joinedup.places.models import Partner, Service


def run(*args: str, stdin: str | None = None) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output, result.exception


def _setup() -> None:
    assert run("places", "create", "Riverton", "--adult-population", "90000")[0] == 0


def _count(settings: Settings, model: type) -> int:
    with make_session(settings) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_partners_and_services_round_trip(cli_env: Settings, tmp_path: Path) -> None:
    _setup()
    code, out, _ = run("partners", "add", "Riverton Council", "--place", "riverton",
                       "--sector", "local government")
    assert code == 0 and "Added Riverton Council" in out, out
    code, out, _ = run("partners", "add", "River Homes", "--place", "riverton", "--sector", "housing",
                       "--website", "https://homes.example")
    assert code == 0, out
    code, out, _ = run("services", "add", "Housing advice", "--place", "riverton", "--partner", "river homes",
                       "--description", "Advice on tenancies", "--status", "temporarily closed")
    assert code == 0 and "Added Housing advice to River Homes" in out, out
    code, out, _ = run("partners", "edit", "River Homes", "--place", "riverton", "--name", "Riverton Homes")
    assert code == 0 and "Changed name" in out, out
    code, out, _ = run("services", "retire", "Housing advice", "--place", "riverton",
                       "--partner", "Riverton Homes")
    assert code == 0 and "retired" in out
    code, out, _ = run("partners", "retire", "Riverton Council", "--place", "riverton")
    assert code == 0
    code, out, _ = run("partners", "list", "--place", "riverton")
    assert "Riverton Homes" in out and "retired" in out
    code, out, _ = run("services", "list", "--place", "riverton")
    assert "Housing advice" in out and "temporarily closed" in out
    exported = tmp_path / "partners.csv"
    code, out, _ = run("partners", "export", "--place", "riverton", "--out", str(exported))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert [(r["name"], r["retired"]) for r in rows] == [("Riverton Council", "yes"), ("Riverton Homes", "")]
    code, out, _ = run("services", "export", "--place", "riverton")
    assert out.splitlines()[0] == "partner,name,description,status,email,url,retired"
    with make_session(cli_env) as s:
        actors = set(s.scalars(select(AuditEvent.actor_label).where(AuditEvent.action.like("partner.%"))))
    assert actors and all(a.startswith("command line") for a in actors)


def test_a_name_that_exists_is_one_line_and_changes_nothing(cli_env: Settings) -> None:
    _setup()
    run("partners", "add", "Riverton Council", "--place", "riverton", "--sector", "local government")
    before = _count(cli_env, Partner)
    code, _out, exc = run("partners", "add", "RIVERTON COUNCIL", "--place", "riverton", "--sector", "housing")
    assert code != 0 and isinstance(exc, UserError)
    assert "Riverton already has a partner called Riverton Council" in str(exc)
    assert _count(cli_env, Partner) == before


def test_a_service_without_a_known_partner_is_refused(cli_env: Settings) -> None:
    _setup()
    code, _out, exc = run("services", "add", "Outreach", "--place", "riverton", "--partner", "Nobody")
    assert isinstance(exc, UserError) and "has no partner called 'Nobody'" in str(exc)
    assert _count(cli_env, Service) == 0


def test_import_checks_every_row_and_names_row_and_column(cli_env: Settings, tmp_path: Path) -> None:
    _setup()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,sector\nGood,housing\nBad,church\n,housing\n", encoding="utf-8")
    code, _out, exc = run("partners", "import", str(bad), "--place", "riverton")
    assert isinstance(exc, UserError)
    assert "Row 3, column sector" in str(exc) and "Row 4, column name" in str(exc)
    assert _count(cli_env, Partner) == 0
    good = "name,sector,website\nGood,housing,\nBetter,NHS,https://nhs.example\n"
    code, out, _ = run("partners", "import", "-", "--place", "riverton", stdin=good)
    assert code == 0 and "2 added, 0 changed, 0 unchanged" in out, out
    services = tmp_path / "services.csv"
    services.write_text("partner,name,status\nGood,Drop-in,active\nMissing,Outreach,active\n",
                        encoding="utf-8")
    code, _out, exc = run("services", "import", str(services), "--place", "riverton")
    assert isinstance(exc, UserError) and "Row 3, column partner" in str(exc)
    assert _count(cli_env, Service) == 0


def test_delete_removes_a_partner_added_by_mistake(cli_env: Settings) -> None:
    _setup()
    run("partners", "add", "Typo", "--place", "riverton", "--sector", "housing")
    code, out, _ = run("partners", "delete", "Typo", "--place", "riverton", "--yes")
    assert code == 0 and "Deleted Typo" in out
    code, _out, exc = run("partners", "delete", "Typo", "--place", "nowhere", "--yes")
    assert isinstance(exc, UserError) and "No place called 'nowhere'" in str(exc)
