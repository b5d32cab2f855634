"""`joinedup mapping suggest`: the suggested mapping as TOML, for command-line users."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.insight.mapping import MappingError, load_mapping, parse_mapping
from joinedup.synth.insight import generate_place


def test_suggest_writes_the_generators_mapping(tmp_path: Path) -> None:
    place = generate_place(120, tmp_path / "place", seed=8)
    for source in place.sources:
        out = tmp_path / f"{source}.toml"
        result = CliRunner().invoke(app, ["mapping", "suggest", str(place.extract(source)), "--out",
                                          str(out), "--partner", "P", "--service", "S"])  # fmt: skip
        assert result.exit_code == 0, result.output
        written, original = load_mapping(out), load_mapping(place.mapping(source))
        assert {(c.field, c.column, c.format) for c in written.columns} == {
            (c.field, c.column, c.format) for c in original.columns
        }, source
        assert written.name == source and written.partner == "P"


def test_uncertain_choices_are_marked_and_the_order_of_dates_never_guessed(tmp_path: Path) -> None:
    extract = tmp_path / "clients.csv"
    extract.write_text("Ref,Name,Born\nR1,Ann Lee,01/02/1980\nR2,Bob Ray,03/04/1990\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["mapping", "suggest", str(extract)])
    assert result.exit_code == 0
    text = result.stdout
    assert "# CHECK (medium confidence)" in text
    assert '# date_of_birth = { column = "Born", format = "%d/%m/%Y" }' in text
    assert '# date_of_birth = { column = "Born", format = "%m/%d/%Y" }' in text
    assert "day first or month first" in result.stderr and "to decide" not in text
    with pytest.raises(MappingError, match="partner"):
        parse_mapping(text)  # not usable until the partner and service are filled in
    filled = text.replace('partner = ""', 'partner = "P"').replace('service = ""', 'service = "S"')
    assert parse_mapping(filled).spec("date_of_birth") is None
