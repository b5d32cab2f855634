"""A missing optional value never breaks a page: a source without a retention date, legal
basis or data sharing agreement is shown as "Not recorded", to everyone."""

from __future__ import annotations

from pathlib import Path

import pytest

from joinedup.config import Settings
from joinedup.insight.governance import sources
from joinedup.insight.ingest import ingest_file
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from tests.insight.conftest import MAPPING, ROWS, write_csv
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

SLUG = "northbrook"
BASE = f"/places/{SLUG}/insight"
OPTIONAL = ("legal_basis", "dsa_reference", "retain_until")


def _bare_mapping(tmp_path: Path, leave_out: tuple[str, ...]) -> Path:
    lines = [line for line in MAPPING.splitlines() if line.split(" = ")[0] not in leave_out]
    path = tmp_path / "housing.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def bare_source(settings: Settings, demo: DemoLike, tmp_path: Path) -> None:  # noqa: F811
    """The demo place's store with one source missing every optional governance value."""
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        ingest_file(con, write_csv(tmp_path / "housing.csv", ROWS), _bare_mapping(tmp_path, OPTIONAL))
    finally:
        con.close()


def test_sources_lists_missing_values_as_none(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb", memory_limit="500MB", threads=1)
    try:
        ingest_file(con, write_csv(tmp_path / "housing.csv", ROWS), _bare_mapping(tmp_path, OPTIONAL))
        row = sources(con).to_dict("records")[0]
    finally:
        con.close()
    # None, not NaN or NaT (both of which are "true" in a template's if, and then break it).
    assert all(row[key] is None for key in OPTIONAL), row
    assert row["n_records"] == len(ROWS) - 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PARTNER, Role.ANALYST, Role.LEAD])
def test_sources_page_shows_a_source_with_no_optional_values(
    client: PageClient, bare_source: None, role: Role
) -> None:
    client.sign_in(email_for(role), DEMO_PASSWORD)
    page = client.get(BASE + "/sources")
    assert page.status_code == 200
    assert page.text.count("Not recorded") == 3  # legal basis, agreement, keep until
    assert ">nan<" not in page.text.lower() and ">NaT<" not in page.text  # not a nonce's letters


def test_validation_report_shows_a_source_with_no_optional_values(
    client: PageClient, bare_source: None
) -> None:
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    page = client.get(BASE + "/sources/housing")
    assert page.status_code == 200
    assert "Not recorded: add it to the mapping before linking" in page.text


def test_sources_page_with_every_value_recorded(
    client: PageClient, settings: Settings, demo: DemoLike, tmp_path: Path  # noqa: F811
) -> None:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        ingest_file(con, write_csv(tmp_path / "housing.csv", ROWS), _bare_mapping(tmp_path, ()))
    finally:
        con.close()
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    page = client.get(BASE + "/sources")
    assert page.status_code == 200 and "Not recorded" not in page.text
    assert "31 March 2027" in page.text and "DSA-2025-014" in page.text


def test_the_source_page_shows_what_the_ingest_noticed(
    client: PageClient, settings: Settings, demo: DemoLike, tmp_path: Path  # noqa: F811
) -> None:
    # Dates written both day-first and month-first: the ingest says so in a note.
    rows = [*ROWS, ["H5", "Eve", "Ray", "05/06/1980", "", "", "12/31/2024"]]
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        report = ingest_file(con, write_csv(tmp_path / "housing.csv", rows), _bare_mapping(tmp_path, ()))
    finally:
        con.close()
    assert report.notes
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    page = client.get(BASE + "/sources/housing")
    assert page.status_code == 200 and "What the ingest noticed" in page.text
    assert report.notes[0].split("(")[0].strip().replace("'", "&#39;") in page.text
