"""`joinedup cohorts define|list|delete`, as a user would type them, on the small place."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings
from tests.support.small_place import build_small_place


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UserError):
        return 2, str(result.exception)
    return result.exit_code, result.output


def test_define_list_and_delete_cohorts_with_every_kind_of_rule(cli_env: Settings) -> None:
    build_small_place(Path(cli_env.insight_dir) / "smalltown.duckdb")
    code, text = _run("cohorts", "define", "--place", "smalltown", "--name", "Ymen",
                      "--min-services", "3", "--age-band", "18-24", "--sex", "M")  # fmt: skip
    assert code == 0 and "ymen" in text, text
    code, text = _run("cohorts", "define", "--place", "smalltown", "--name", "police",
                      "--partner", "Police", "--need", "offending", "--min-partners", "1")  # fmt: skip
    assert code == 0, text
    code, text = _run("cohorts", "define", "--place", "smalltown", "--name", "elsewhere",
                      "--partner", "Southbrook Council")  # fmt: skip
    assert code == 2 and "not a partner of this place" in text
    code, text = _run("cohorts", "list", "--place", "smalltown")
    assert code == 0
    for name in ("services3", "ymen", "police", "smd2"):
        assert name in text
    assert "elsewhere" not in text
    code, text = _run("cohorts", "delete", "--place", "smalltown", "--name", "services3")
    assert code == 2 and "built in" in text
    code, text = _run("cohorts", "delete", "--place", "smalltown", "--name", "police")
    assert code == 0 and "Deleted" in text
    code, text = _run("cohorts", "list", "--place", "smalltown")
    assert "police" not in text.replace("Police", "")
