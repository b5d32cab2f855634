"""`joinedup publish` and `joinedup compare` end to end, including a place with no insight and
no survey rounds yet, and a package that is not one."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings
from joinedup.state.load import check_package
from joinedup.synth.places import write_demo_places
from tests.support.demo_like import DemoLike, demo  # noqa: F401


def test_publish_and_compare_from_the_command_line(
    cli_env: Settings, demo: DemoLike, tmp_path: Path  # noqa: F811
) -> None:
    runner = CliRunner()
    out = tmp_path / "northbrook"
    done = runner.invoke(app, ["publish", "--place", demo.place_slug, "--out", str(out)])
    assert done.exit_code == 0, done.output
    # A place with no insight and no survey rounds yet still publishes, and says so.
    notes = check_package(out).meta["notes"]
    assert any("no readiness survey rounds" in n for n in notes)
    others = write_demo_places(tmp_path / "others")
    broken = tmp_path / "broken"
    broken.mkdir()
    report = tmp_path / "report.html"
    done = runner.invoke(app, ["compare", str(out), *map(str, others), str(broken),
                               "--out", str(report)])
    assert done.exit_code == 0, done.output
    assert "Left out: broken: there is no datapackage.json" in " ".join(done.output.split())
    html = report.read_text()
    assert "Saltmarsh Coast" in html and "Northbrook" in html
    csv_out = tmp_path / "report.csv"
    assert runner.invoke(app, ["compare", *map(str, others), "--out", str(csv_out)]).exit_code == 0
    assert csv_out.read_text().startswith("section,row,label,place")
    missing = runner.invoke(app, ["publish", "--place", "nowhere", "--out", str(tmp_path / "x")])
    assert isinstance(missing.exception, UserError)
    assert str(missing.exception) == "there is no place 'nowhere'"
