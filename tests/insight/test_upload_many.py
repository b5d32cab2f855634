"""Several extracts uploaded at once (issue 9): each file whole or not at all, one bad file
does not stop the others, and the summary names each file and its problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight.ingest import ingest_with_mapping
from joinedup.insight.mapping import parse_mapping
from joinedup.insight.store import connect
from joinedup.insight.upload_many import match_source
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

from .conftest import MAPPING, ROWS

SLUG = "northbrook"
PAGE = f"/places/{SLUG}/insight/upload-several"
NEXT = ROWS + [["H5", "Mo", "Khan", "07/08/1985", "LS1 4AP", "", "09/10/2024"]]


def _csv(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in rows) + "\n").encode()


def _held(settings: Settings) -> dict[str, tuple[str, int]]:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        rows = con.execute("SELECT name, content_hash, n_records FROM sources").fetchall()
    finally:
        con.close()
    return {name: (digest, n) for name, digest, n in rows}


@pytest.fixture
def analyst(client: PageClient, demo: DemoLike, settings: Settings, tmp_path: Path) -> PageClient:  # noqa: F811
    """Two sources, housing and outreach, held with their mappings, as last month left them."""
    Path(settings.insight_dir).mkdir(parents=True, exist_ok=True)
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    extract = tmp_path / "last-month.csv"
    extract.write_bytes(_csv(ROWS))
    for source in ("housing", "outreach"):
        ingest_with_mapping(con, extract, parse_mapping(MAPPING, f"{source}.toml"), source=source)
    con.close()
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    return client


def _post(client: PageClient, files: list[tuple[str, bytes]]) -> Any:
    token = client.csrf(PAGE)
    return client.post(PAGE, data={"csrf_token": token},
                       files=[("extracts", (n, b, "text/csv")) for n, b in files])  # fmt: skip


def test_file_names_match_the_longest_source_name() -> None:
    sources = ["housing", "housing_options", "dwp"]
    assert match_source("housing.csv", sources) == "housing"
    assert match_source("Housing_2026-01.CSV", sources) == "housing"
    assert match_source("housing_options 2026-01.csv", sources) == "housing_options"
    assert match_source("housingx.csv", sources) is None
    assert match_source("police.csv", sources) is None


def test_both_files_go_in_with_their_stored_mappings(
    analyst: PageClient, settings: Settings, session: Session
) -> None:
    response = _post(analyst, [("housing_2024-11.csv", _csv(NEXT)), ("outreach.csv", _csv(NEXT))])
    assert response.status_code == 200, response.text
    assert "2 extracts ingested" in response.text and "Link the new records" in response.text
    assert 'action="/places/northbrook/insight/link"' in response.text
    held = _held(settings)
    assert held["housing"][1] == 5 and held["outreach"][1] == 5
    session.expire_all()
    uploads = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "insight.upload")))
    assert sorted(e.subject for e in uploads) == ["source:housing", "source:outreach"]


def test_a_file_holding_fewer_records_says_what_left(analyst: PageClient, settings: Settings) -> None:
    response = _post(analyst, [("housing.csv", _csv(ROWS[:-1]))])
    assert response.status_code == 200, response.text
    assert "Replaced the previous extract: 1 record held before is not in this extract" in response.text
    assert _held(settings)["housing"][1] == len(ROWS) - 2


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        (_csv([["Ref", "Name"], ["1", "Ann"]]), "its columns are not the ones that source"),
        (b"PK\x03\x04 not really a workbook", "outreach.xlsx"),
        ("\n".join(",".join(r) for r in NEXT).encode("utf-16"), "UTF-16 text"),
        (_csv(NEXT) + b"H9,Al,Bo,01/01/1980,,," * 70_000, "JOINEDUP_INGEST_MAX_UPLOAD_MB"),
        (_csv(NEXT + [[f"H{i}", "Al", "Bo", "01/01/1980", "", "", ""] for i in range(6, 20)]),
         "JOINEDUP_INGEST_MAX_ROWS"),
    ],
    ids=["other columns", "not a workbook", "wrong encoding", "over the size limit", "over the row limit"],
)
def test_a_bad_second_file_is_reported_and_the_first_still_goes_in(
    analyst: PageClient, settings: Settings, second: bytes, problem: str
) -> None:
    settings.ingest_max_rows = 10
    settings.ingest_max_upload_mb = 1
    before = _held(settings)
    name = "outreach.xlsx" if second.startswith(b"PK") else "outreach.csv"
    response = _post(analyst, [("housing.csv", _csv(NEXT)), (name, second)])
    assert response.status_code == 200
    assert "1 extract ingested; 1 could not be used" in response.text
    assert problem in response.text and f"{name}:" in response.text
    after = _held(settings)
    assert after["housing"] != before["housing"] and after["housing"][1] == 5
    assert after["outreach"] == before["outreach"]  # the bad file changed nothing


def test_more_files_than_the_limit_are_refused_and_nothing_goes_in(
    analyst: PageClient, settings: Settings
) -> None:
    settings.ingest_max_upload_files = 2
    before = _held(settings)
    files = [("housing.csv", _csv(NEXT)), ("outreach.csv", _csv(NEXT)), ("new.csv", _csv(NEXT))]
    response = _post(analyst, files)
    assert response.status_code == 400
    assert "You chose 3 files; one upload takes at most 2" in response.text
    assert "JOINEDUP_INGEST_MAX_UPLOAD_FILES" in response.text
    assert _held(settings) == before


def test_a_file_named_after_another_source_with_other_columns_is_refused_clearly(
    analyst: PageClient, settings: Settings
) -> None:
    before = _held(settings)
    other = _csv([["Case", "Opened", "Worker"], ["C1", "2024-01-01", "Jo"]])
    response = _post(analyst, [("Housing.csv", other)])
    assert response.status_code == 200
    assert "Housing.csv: its name matches the source housing, but its columns are not" in response.text
    assert "rename the file" in response.text
    assert _held(settings) == before


def test_unmatched_files_wait_for_the_column_check_and_two_files_cannot_feed_one_source(
    analyst: PageClient, settings: Settings
) -> None:
    response = _post(analyst, [("police.csv", _csv(NEXT)), ("housing.csv", _csv(NEXT)),
                               ("housing_again.csv", _csv(NEXT))])  # fmt: skip
    assert response.status_code == 200
    assert "Waiting for its columns to be checked" in response.text
    assert "housing_again.csv: the source housing is already fed by housing.csv" in response.text
    token = response.text.split("/insight/upload/", 1)[1].split('"', 1)[0]
    columns = analyst.get(f"/places/{SLUG}/insight/upload/{token}?reuse=housing")
    assert columns.status_code == 200 and "police.csv" in columns.text
    assert "police" not in _held(settings)


def test_no_file_chosen_and_viewers_are_refused(client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    response = _post(client, [])
    assert response.status_code == 400 and "Choose the partners" in response.text
    client.post_form("/sign-out", token_from=PAGE)
    client.cookies.clear()
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    assert client.get(PAGE).status_code == 403
