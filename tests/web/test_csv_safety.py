"""joinedup.csvsafe: text that starts like a formula is neutralised as OWASP advises, numbers
stay numbers, and no module writes CSV except through it."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import joinedup
from joinedup.csvsafe import frame_to_csv, is_formula, neutralise, rows_to_csv
from joinedup.insight.export import write_table

HOSTILE = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2+3", "\t=1+1", "\r=1+1",
           " =1+1", "\n@A1", "＝1+1", "-1e5", "+44 20 7946 0000", "-", "="]
SAFE_TEXT = ["Northbrook Borough Council", "O'Brien", "", "a=b", "1+1", "3", "-3", "-0.25",
             "2024-01-01", "*"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_starts_like_a_formula_is_prefixed_and_round_trips(text: str) -> None:
    assert is_formula(text)
    cell = neutralise(text)
    assert cell == "'" + text
    # Written and read back as CSV, it is one cell, the original behind one quote.
    body = rows_to_csv(["name", "n"], [[text, 1]])
    rows = list(csv.reader(io.StringIO(body)))
    assert rows == [["name", "n"], ["'" + text, "1"]]


@pytest.mark.parametrize("text", SAFE_TEXT)
def test_ordinary_text_and_plain_numbers_as_text_are_left_alone(text: str) -> None:
    assert not is_formula(text)
    assert neutralise(text) == text


@pytest.mark.parametrize("number", [-3, -0.25, 0, 12_300.0, np.int64(-4), np.float64(-1.5),
                                    Decimal("-2.50"), True])
def test_numbers_stay_numbers_even_when_negative(number: object) -> None:
    assert neutralise(number) is number
    body = rows_to_csv(["n"], [[number]])
    assert body == f"n\r\n{number}\r\n"  # not quoted, not prefixed: a spreadsheet sees a number


@pytest.mark.parametrize("blank", [None, float("nan"), np.nan, pd.NaT, pd.NA])
def test_blanks_are_empty_cells(blank: object) -> None:
    assert neutralise(blank) == ""


def test_data_text_is_quoted_numbers_are_not_and_the_header_stays_plain() -> None:
    body = rows_to_csv(["partner", "persons"], [["+1", -3], ['Say "hi"', 5]])
    assert body == 'partner,persons\r\n"\'+1",-3\r\n"Say ""hi""",5\r\n'


def test_a_dataframe_with_hostile_names_is_written_safely() -> None:
    frame = pd.DataFrame({"partner": ["=cmd|' /C calc'!A0", "Council"], "cost": [-1200.0, None]})
    rows = list(csv.reader(io.StringIO(frame_to_csv(frame))))
    assert rows == [["partner", "cost"], ["'=cmd|' /C calc'!A0", "-1200.0"], ["Council", ""]]


def test_write_table_neutralises_csv_but_keeps_parquet_exact(tmp_path: Path) -> None:
    frame = pd.DataFrame({"source": ["@SUM(A1)", "housing"], "record_id": ["-2+3", "H1"],
                          "persons": [None, -4]})
    write_table(frame, tmp_path / "t.csv")
    with (tmp_path / "t.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["source", "record_id", "persons"], ["'@SUM(A1)", "'-2+3", "*"],
                    ["housing", "H1", "-4.0"]]
    write_table(frame, tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["source"].tolist() == ["@SUM(A1)", "housing"]  # data, not a spreadsheet


# --- no module writes CSV except through joinedup.csvsafe ----------------------------------

SRC = Path(joinedup.__file__).parent
# synth writes made-up partner extracts (input for ingest, in the partners' own formats),
# not exports of anyone's data.
EXEMPT = {SRC / "csvsafe.py", SRC / "synth"}


def _csv_writers(path: Path, root: Path = SRC) -> list[str]:
    where = path.relative_to(root)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours = {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("joinedup")
            for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"writer", "DictWriter"} and (
            isinstance(node.value, ast.Name) and node.value.id == "csv"
        ):
            found.append(f"{where}:{node.lineno} csv.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "to_csv" and not (
            isinstance(node.value, ast.Name) and node.value.id in ours
        ):  # pandas' to_csv; our own modules' to_csv (surveys.results) write through csvsafe
            found.append(f"{where}:{node.lineno} .to_csv")
        elif isinstance(node, ast.ImportFrom) and node.module == "csv" and any(
            a.name in {"writer", "DictWriter"} for a in node.names
        ):
            found.append(f"{where}:{node.lineno} from csv import writer")
    return found


def test_no_module_writes_csv_except_through_csvsafe() -> None:
    found: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if path in EXEMPT or any(parent in EXEMPT for parent in path.parents):
            continue
        found.extend(_csv_writers(path))
    assert not found, "write CSV through joinedup.csvsafe:\n" + "\n".join(found)


def test_the_scan_finds_a_csv_writer(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import csv\nfrom csv import DictWriter\nw = csv.writer(f)\n"
                     "frame.to_csv(out)\nfrom joinedup.surveys import results\n"
                     "results.to_csv(body, key)\n", encoding="utf-8")
    assert len(_csv_writers(probe, tmp_path)) == 3
