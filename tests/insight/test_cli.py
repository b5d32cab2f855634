"""The insight commands, run as a user would: synth → ingest → link → insight → export →
evaluate → purge, with one-line errors for mistakes."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup.audit import AuditEvent
from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings


def _run(*args: str) -> tuple[int, str]:
    """Exit code and output; a UserError (exit status 2 under `joinedup`) gives its message."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UserError):
        return 2, str(result.exception)
    return result.exit_code, result.output


def test_the_whole_pipeline_from_the_command_line(
    cli_env: Settings, tmp_path: Path, session: Session
) -> None:
    assert _run("places", "create", "Clitown", "--slug", "clitown")[0] == 0
    out = tmp_path / "place"
    code, text = _run("synth", "--people", "300", "--out", str(out), "--seed", "4")
    assert code == 0 and "truth.csv" in text
    for mapping in sorted(out.glob("*.toml")):
        if mapping.name == "place.toml":  # the manifest, tried in test_manifest
            continue
        extract = next(p for p in out.glob(f"{mapping.stem}.*") if p.suffix != ".toml")
        code, text = _run("ingest", str(extract), "--place", "clitown", "--mapping", str(mapping))
        assert code == 0, text
        assert "ingested" in text
    code, text = _run("ingest", str(extract), "--place", "clitown", "--mapping", str(mapping))
    assert code == 0 and "nothing changed" in text

    code, text = _run("link", "--place", "clitown", "--seed", "7")
    assert code == 0, text
    assert "persons" in text and "comparisons per second" in text
    # The rule joining records with only a name and a date: off for this run and those to come.
    code, text = _run("link", "--place", "clitown", "--name-and-date", "maybe")
    assert code == 2 and "--name-and-date must be on or off, not 'maybe': nothing was changed" in text
    code, text = _run("link", "--place", "clitown", "--name-and-date", "off")
    said = " ".join(text.split())
    assert code == 0 and "(full)" in said and "are no longer joined to the one person" in said
    code, text = _run("link", "--place", "clitown")
    assert code == 0 and "(incremental, stored model)" in text and "no longer joined" not in text
    code, text = _run("link", "--place", "clitown", "--name-and-date", "on")
    said = " ".join(text.split())
    assert code == 0 and "(full)" in said and "are now joined to the one person" in said

    code, text = _run("evaluate", "--place", "clitown", "--truth", str(out / "truth.csv"))
    assert code == 0 and "pairwise precision" in text

    code, text = _run("insight", "--place", "clitown")
    assert code == 0 and "Severe multiple" in text and "suppressed" in text
    # The count the model expects, rounded as the linked count is (or hidden, as "*").
    assert re.search(r"known to 3 or more as the model expects them: about (\*|\d[\d,]*)\n", text), text

    links = tmp_path / "links.csv"
    code, text = _run("export", "links", "--place", "clitown", "--out", str(links))
    assert code == 0, text
    with links.open() as handle:
        assert next(csv.reader(handle)) == ["source", "record_id", "person_id"]
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "insight.export.links"))

    for table in ("cohorts", "overlaps", "costs", "demand", "network"):
        target = tmp_path / f"{table}.csv"
        code, text = _run("export", table, "--place", "clitown", "--out", str(target))
        assert code == 0, text
        assert target.stat().st_size > 0

    code, text = _run("purge", "--place", "clitown", "--today", "2030-01-01")
    assert code == 0 and "Removed 9 sources" in text


def test_mistakes_give_one_line_errors(cli_env: Settings, tmp_path: Path) -> None:
    code, text = _run("link", "--place", "nowhere")
    assert code == 2 and "has no insight yet" in text
    mapping = tmp_path / "m.toml"
    mapping.write_text('[source]\npartner = "P"\nservice = "S"\n[columns]\nrecord_id = "Ref"\n')
    extract = tmp_path / "e.csv"
    extract.write_text("Reference,Name\n1,Jo\n")
    # A mistyped place: nothing made for it, and the places there are named.
    assert _run("places", "create", "Clitown", "--slug", "clitown")[0] == 0
    code, text = _run("ingest", str(extract), "--place", "clitwon", "--mapping", str(mapping))
    assert code == 2 and "no place called 'clitwon' (the places are clitown)" in text
    assert not list(Path(cli_env.insight_dir).glob("clitwon*"))
    code, text = _run("ingest", "--place", "clitwon", "--manifest", str(tmp_path / "place.toml"))
    assert code == 2 and "no place called 'clitwon'" in text
    code, text = _run("ingest", str(extract), "--place", "clitown", "--mapping", str(mapping))
    assert code == 2 and "m.toml line 5: column 'Ref' for record_id is not in e.csv" in text
    code, text = _run("link", "--place", "clitown", "--backend", "oracle")
    assert code == 2 and "--backend must be duckdb or spark" in text


def test_the_engine_on_its_own_takes_any_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before `joinedup init` there is no app database to check a place against: the engine is
    used on its own (as the benchmarks do) and a store is made under the name given."""
    from joinedup.config import get_settings

    monkeypatch.setenv("JOINEDUP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", "")
    get_settings.cache_clear()
    try:
        out = tmp_path / "place"
        assert _run("synth", "--people", "40", "--out", str(out), "--seed", "4")[0] == 0
        code, text = _run("ingest", "--place", "anywhere", "--manifest", str(out / "place.toml"))
        assert code == 0, text
        assert (Path(get_settings().insight_dir) / "anywhere.duckdb").exists()
    finally:
        get_settings.cache_clear()


def test_an_error_naming_a_table_in_brackets_is_printed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rich reads "[source]" as markup and printed "the mapping needs a  table": the error
    that should say what to put right said nothing. Errors are printed as plain text."""
    from joinedup import cli
    from joinedup.config import get_settings

    monkeypatch.setenv("JOINEDUP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", "")
    get_settings.cache_clear()
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nrecord_id = "Ref"\n')
    extract = tmp_path / "e.csv"
    extract.write_text("Ref\n1\n")
    argv = ["joinedup", "ingest", str(extract), "--place", "p", "--mapping", str(mapping)]
    monkeypatch.setattr("sys.argv", argv)
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 2
    assert "the mapping needs a [source] table" in " ".join(capsys.readouterr().err.split())


def test_the_engine_on_its_own_makes_nothing_for_a_bad_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before `joinedup init`, a mapping that cannot be read leaves no store behind; and no
    command makes an empty app database as a side effect of looking for one."""
    from joinedup.config import get_settings

    data = tmp_path / "data"
    monkeypatch.setenv("JOINEDUP_DATA_DIR", str(data))
    monkeypatch.setenv("JOINEDUP_DATABASE_URL", "")
    get_settings.cache_clear()
    try:
        bad = tmp_path / "bad.toml"
        bad.write_text('[columns]\nrecord_id = "Ref"\n')
        extract = tmp_path / "e.csv"
        extract.write_text("Ref\n1\n")
        code, text = _run("ingest", str(extract), "--place", "p", "--mapping", str(bad))
        assert code == 2 and "needs a [source] table" in text
        assert not (Path(get_settings().insight_dir) / "p.duckdb").exists()
        out = tmp_path / "place"
        assert _run("synth", "--people", "40", "--out", str(out), "--seed", "4")[0] == 0
        assert _run("ingest", "--place", "p", "--manifest", str(out / "place.toml"))[0] == 0
        assert (Path(get_settings().insight_dir) / "p.duckdb").exists()
        assert not list(data.glob("*.sqlite3")), "an app database was made by looking for one"
    finally:
        get_settings.cache_clear()


def test_names_with_brackets_are_printed_as_given(cli_env: Settings) -> None:
    """A place's own name is printed whole: "[pilot]" is not a style to apply and drop."""
    code, text = _run("places", "create", "Clitown [pilot]", "--slug", "clitown")
    assert code == 0 and "Created Clitown [pilot] (clitown)" in text
