"""Fixtures for insight tests: an empty store and a small extract with its mapping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from joinedup.insight.store import connect

MAPPING = """[source]
partner = "Northbrook Borough Council"
service = "Housing Options"
need = "homelessness"
legal_basis = "UK GDPR 6(1)(e); 9(2)(g) with DPA 2018 Sch.1"
dsa_reference = "DSA-2025-014"
retain_until = 2027-03-31

[columns]
record_id = "Client Ref"
forename = "First Name"
surname = "Last Name"
date_of_birth = { column = "DOB", format = "%d/%m/%Y" }
postcode = "Postcode"
ni_number = "NI Number"
event_date = { column = "Approach Date", format = "%d/%m/%Y" }
"""

ROWS = [
    ["Client Ref", "First Name", "Last Name", "DOB", "Postcode", "NI Number", "Approach Date"],
    ["H1", "Bill", "Smith", "01/02/1980", "m1 1aa", "AB123456C", "03/04/2024"],
    ["H2", "Zoë", "O'Brien", "31/12/1975", "", "", ""],
    ["H3", "Peggy", "Jones", "02/03/1990", "DN55 1PT", "QQ123456A", "04/05/2024"],
    ["H4", "Ann", "Lee", "05/06/1970", "W1A 1HQ", "", "06/07/2024"],
]


def write_csv(path: Path, rows: list[list[str]], *, sep: str = ",", encoding: str = "utf-8") -> Path:
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    yield con
    con.close()


@pytest.fixture
def mapping_path(tmp_path: Path) -> Path:
    path = tmp_path / "housing.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path
