"""The surveys commands, run as a user would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.config import Settings
from joinedup.places.models import Place
from joinedup.surveys.models import SurveyRound
from joinedup.synth.surveys import _store, citizen_rows


def test_rounds_import_results_and_close(cli_env: Settings, session: Session, place: Place,
                                         voice_round: SurveyRound, tmp_path: Path) -> None:
    rows, _ = citizen_rows(40, seed=1, areas=["North", "South"])
    _store(session, voice_round, rows, datetime.now(UTC))
    session.commit()
    runner = CliRunner()
    listed = runner.invoke(app, ["surveys", "rounds", "--place", "testville"])
    assert listed.exit_code == 0 and "Voice test" in listed.output
    csv_file = tmp_path / "paper.csv"
    csv_file.write_text("services_used,dignity,age_band,sex,area\ngp,always,25-34,male,North\n"
                        "gp,whenever,25-34,male,North\n")
    imported = runner.invoke(app, ["surveys", "import", "--place", "testville",
                                   str(voice_round.id), str(csv_file)])
    assert imported.exit_code == 0, imported.output
    assert "1 imported, 1 rejected" in imported.output and "line 3" in imported.output
    shown = runner.invoke(app, ["surveys", "results", "--place", "testville",
                                str(voice_round.id)])
    assert shown.exit_code == 0 and "41 answers" in shown.output
    assert "personalised" in shown.output
    closed = runner.invoke(app, ["surveys", "close", "--place", "testville", str(voice_round.id)])
    assert closed.exit_code == 0 and "Closed Voice test" in closed.output
    missing = runner.invoke(app, ["surveys", "results", "--place", "testville", "999"])
    assert missing.exit_code != 0
