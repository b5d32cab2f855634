"""Building a mapping in the browser (issue 8): upload an extract without a mapping, check
its suggested columns, save and ingest; bad choices keep the file and ingest nothing; saved
mappings download and are reused; a source can be deleted, and the persons are re-linked."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import html5lib
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight import staging
from joinedup.insight.mapping import parse_mapping
from joinedup.insight.runs import run_status
from joinedup.insight.store import open_store
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

from .test_web import SLUG, insight, linked_place  # noqa: F401

BASE = f"/places/{SLUG}/insight"
_NS = {"h": "http://www.w3.org/1999/xhtml"}


def _as(client: PageClient, role: Role) -> PageClient:
    client.sign_in(email_for(role), DEMO_PASSWORD)
    return client


def form_values(html: str, action_ends: str = "") -> dict[str, str]:
    """What the page's form would submit as it stands (selects, inputs, ticked boxes)."""
    doc = html5lib.parse(html)
    form = next(f for f in doc.iterfind(".//h:form", _NS)
                if f.get("method") == "post" and f.get("action", "").endswith(action_ends))  # fmt: skip
    values: dict[str, str] = {}
    for el in form.iterfind(".//h:input", _NS):
        kind = el.get("type", "text")
        if kind in {"radio", "checkbox"}:
            if el.get("checked") is not None:
                values[el.get("name", "")] = el.get("value", "")
        elif kind != "file":
            values[el.get("name", "")] = el.get("value", "")
    for sel in form.iterfind(".//h:select", _NS):
        chosen = [o for o in sel.iterfind(".//h:option", _NS) if o.get("selected") is not None]
        values[sel.get("name", "")] = chosen[0].get("value", "") if chosen else ""
    return values


def column_of(html: str, header: str) -> int:
    match = re.search(rf"Column (\d+): {re.escape(header)}</h3>", html)
    assert match, f"no column {header!r} on the page"
    return int(match.group(1)) - 1


def upload(client: PageClient, path: Path, name: str | None = None, **data: str) -> Any:
    token = client.csrf(BASE + "/upload")
    return client.post(BASE + "/upload", data={"csrf_token": token, **data},
                       files={"extract": (name or path.name, path.read_bytes(), "text/csv")},
                       follow_redirects=False)  # fmt: skip


def sources(settings: Settings) -> dict[str, int]:
    with open_store(Path(settings.insight_dir), SLUG) as con:
        return dict(con.execute("SELECT name, n_records FROM sources").fetchall())


def staged_tokens(settings: Settings) -> set[str]:
    root = staging.staging_dir(Path(settings.insight_dir), SLUG)
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action)))


@pytest.fixture
def analyst(client: PageClient, insight: Path) -> PageClient:  # noqa: F811
    return _as(client, Role.ANALYST)


def test_upload_check_columns_save_and_ingest(
    analyst: PageClient, insight: Path, settings: Settings, session: Session  # noqa: F811
) -> None:
    extract = insight / "extracts" / "housing_options.csv"
    sent = upload(analyst, extract, "housing March.csv")
    assert sent.status_code == 303 and "/upload/" in sent.headers["location"]
    page = analyst.get(sent.headers["location"])
    assert page.status_code == 200 and "Check the columns" in page.text
    assert "insight.view.columns" in actions(session)
    values = form_values(page.text, sent.headers["location"])
    # The suggestion is the generator's own mapping, and the registry fills [source].
    assert values[f"col-{column_of(page.text, 'Client Ref')}"] == "record_id"
    assert values[f"col-{column_of(page.text, 'DOB')}"] == "date_of_birth"
    assert values[f"order-{column_of(page.text, 'DOB')}"] == "day"
    assert values["service"] == "Housing Options" and values["partner"] == "Northbrook Borough Council"
    values.update(source_name="housing_web", legal_basis="UK GDPR 6(1)(e)", retain_until="2027-03-31")
    assert "one_record_per_person" not in values, "not said unless the analyst says it"
    values["one_record_per_person"] = "yes"
    saved = analyst.post(sent.headers["location"], data=values, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:3000]
    assert saved.headers["location"].startswith(BASE + "/sources/housing_web")
    assert sources(settings)["housing_web"] == sources(settings)["housing_options"]
    assert not staged_tokens(settings), "the staged file is deleted after ingest"
    assert "insight.upload" in actions(session)

    toml = analyst.get(BASE + "/sources/housing_web/mapping.toml")
    assert toml.status_code == 200 and "attachment" in toml.headers["content-disposition"]
    mapping = parse_mapping(toml.text, "housing_web.toml")
    original = parse_mapping((insight / "extracts" / "housing_options.toml").read_text())
    assert {(c.field, c.column, c.format) for c in mapping.columns} == {
        (c.field, c.column, c.format) for c in original.columns
    }
    assert mapping.legal_basis == "UK GDPR 6(1)(e)" and str(mapping.retain_until) == "2027-03-31"
    assert mapping.one_record_per_person is True
    listed = analyst.get(BASE + "/sources").text
    assert listed.count("Yes: the partner holds each person at most once") == 1
    assert "Download mapping (TOML)" in analyst.get(BASE + "/sources/housing_web").text

    # Next month's file: the saved mapping is reused, and the source replaced.
    again = upload(analyst, extract, "housing April.csv", reuse="housing_web")
    assert again.status_code == 303 and "reuse=housing_web" in again.headers["location"]
    page = analyst.get(again.headers["location"])
    values = form_values(page.text, again.headers["location"].split("?")[0])
    assert values["source_name"] == "housing_web" and values["replace"] == "yes"
    assert values["legal_basis"] == "UK GDPR 6(1)(e)" and values["one_record_per_person"] == "yes"
    assert values[f"col-{column_of(page.text, 'NI Number')}"] == "ni_number"
    replaced = analyst.post(again.headers["location"].split("?")[0], data=values, follow_redirects=False)
    assert replaced.status_code == 303
    assert set(sources(settings)) >= {"housing_web", "housing_options"}


def _bad(analyst: PageClient, url: str, values: dict[str, str], field: str, text: str,
         settings: Settings, before: dict[str, int]) -> str:  # fmt: skip
    response = analyst.post(url, data=values, follow_redirects=False)
    assert response.status_code == 400
    assert f'href="#{field}"' in response.text, response.text[:2000]  # the summary links to it
    assert f'id="{field}-error"' in response.text, f"no error on {field}"
    error = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', response.text, re.S)
    assert error and text in error.group(1), error and error.group(1)
    assert sources(settings) == before, "nothing is ingested"
    assert url.rsplit("/", 1)[-1] in staged_tokens(settings), "the file is kept"
    return response.text


def test_bad_choices_put_the_error_on_the_field_and_keep_the_file(
    analyst: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    before = sources(settings)
    sent = upload(analyst, insight / "extracts" / "emergency_department.csv")
    url = sent.headers["location"]
    page = analyst.get(url).text
    good = form_values(page, url) | {"source_name": "ed_web", "legal_basis": "UK GDPR 6(1)(e)"}
    nhs, surname = column_of(page, "NHSNumber"), column_of(page, "PatientSurname")
    forename = column_of(page, "PatientForename")
    record = column_of(page, "AttendanceID")

    # The NHS number overridden with a column of names: how many fail, and a row.
    wrong = good | {f"col-{nhs}": "", f"col-{surname}": "nhs_number"}
    text = _bad(analyst, url, wrong, f"col-{surname}", "cannot be the NHS number", settings, before)
    shown = text.replace("&#39;", "'")
    assert re.search(r"[\d,]+ of its [\d,]+ values fail its check, for example '[^']+' in row \d+", shown)
    # Two columns for one field.
    _bad(analyst, url, good | {f"col-{forename}": "surname"}, f"col-{forename}", "already feeds",
         settings, before)  # fmt: skip
    # No record id.
    _bad(analyst, url, good | {f"col-{record}": ""}, "columns", "record id", settings, before)
    # A source name that exists, not replacing it.
    _bad(analyst, url, good | {"source_name": "emergency_department"}, "source_name",
         "already a source", settings, before)  # fmt: skip
    # A postcode column chosen as a date.
    post = column_of(page, "PostcodeAtAttendance")
    _bad(analyst, url, good | {f"col-{post}": "event_end_date"}, f"col-{post}", "are not ISO dates",
         settings, before)  # fmt: skip
    # And then the corrected form is saved, with the same file.
    ok = analyst.post(url, data=good, follow_redirects=False)
    assert ok.status_code == 303 and "ed_web" in sources(settings)


def test_a_date_order_the_values_do_not_fit_or_cannot_decide(
    analyst: PageClient, insight: Path, settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    before = sources(settings)
    sent = upload(analyst, insight / "extracts" / "housing_options.csv")
    url = sent.headers["location"]
    page = analyst.get(url).text
    good = form_values(page, url) | {"source_name": "housing_dates"}
    dob = column_of(page, "DOB")
    _bad(analyst, url, good | {f"order-{dob}": "month"}, f"order-{dob}", "format %m/%d/%Y",
         settings, before)  # fmt: skip

    rows = ["Ref,Surname,Born"] + [f"R{i},Lee,0{1 + i % 9}/1{i % 3}/19{50 + i}" for i in range(20)]
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("\n".join(rows) + "\n", encoding="utf-8")
    sent = upload(analyst, ambiguous)
    url = sent.headers["location"]
    page = analyst.get(url).text
    born = column_of(page, "Born")
    assert "cannot say" in page
    values = form_values(page, url) | {"source_name": "ambiguous", "partner": "Northshire Police",
                                       "service": "Integrated Offender Management"}  # fmt: skip
    assert f"order-{born}" not in values, "never guessed"
    _bad(analyst, url, values, f"order-{born}", "day first or month first", settings, before)
    ok = analyst.post(url, data=values | {f"order-{born}": "day"}, follow_redirects=False)
    assert ok.status_code == 303
    with open_store(Path(settings.insight_dir), SLUG) as con:
        text = con.execute("SELECT mapping_text FROM sources WHERE name = 'ambiguous'").fetchone()[0]
    assert parse_mapping(text).spec("date_of_birth").format == "%d/%m/%Y"


def test_the_column_view_is_for_analysts_only(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    _as(client, Role.ANALYST)
    url = upload(client, insight / "extracts" / "work_coach.csv").headers["location"]
    for role in (Role.LEAD, Role.VIEWER, Role.PARTNER):
        _as(client, role)
        assert client.get(url).status_code == 403, role
        assert client.get(BASE + "/sources/work_coach/mapping.toml").status_code == 403
        assert client.get(BASE + "/sources/work_coach/delete").status_code == 403
    token = url.rsplit("/", 1)[-1]
    other_user = staging.find(Path(settings.insight_dir), SLUG, token, user_id=10_000)
    assert other_user is None, "only the analyst who uploaded it can use a staged file"


def test_a_mapping_error_keeps_the_file(analyst: PageClient, insight: Path, settings: Settings) -> None:  # noqa: F811
    extracts = insight / "extracts"
    token = analyst.csrf(BASE + "/upload")
    bad_mapping = (extracts / "work_coach.toml").read_text().replace('"Claim Ref"', '"Claim Number"')
    first = analyst.post(BASE + "/upload", data={"csrf_token": token, "source": "wc2"},
                         files={"extract": ("wc.csv", (extracts / "work_coach.csv").read_bytes(), "text/csv"),
                                "mapping_file": ("wc.toml", bad_mapping.encode(), "text/plain")})  # fmt: skip
    assert first.status_code == 400 and 'id="mapping_file-error"' in first.text
    assert "Claim Number" in first.text and "is kept" in first.text
    kept = re.search(r'name="kept" value="([^"]+)"', first.text)
    assert kept and kept.group(1) in staged_tokens(settings)
    fixed = analyst.post(BASE + "/upload",
                         data={"csrf_token": token, "source": "wc2", "kept": kept.group(1)},
                         files={"mapping_file": ("wc.toml", (extracts / "work_coach.toml").read_bytes(),
                                                 "text/plain")},
                         follow_redirects=False)  # fmt: skip
    assert fixed.status_code == 303 and "wc2" in sources(settings)
    assert kept.group(1) not in staged_tokens(settings)


def test_cancel_deletes_the_staged_file(analyst: PageClient, insight: Path, settings: Settings) -> None:  # noqa: F811
    url = upload(analyst, insight / "extracts" / "work_coach.csv").headers["location"]
    assert url.rsplit("/", 1)[-1] in staged_tokens(settings)
    done = analyst.post_form(url + "/cancel", token_from=url)
    assert done.status_code == 303 and not staged_tokens(settings)
    assert analyst.get(url).status_code == 404


@pytest.mark.slow  # waits for the linkage run the deletion starts
def test_delete_a_source(analyst: PageClient, insight: Path, settings: Settings, session: Session) -> None:  # noqa: F811
    page = analyst.get(BASE + "/sources/domestic_abuse_support/delete")
    assert page.status_code == 200 and "Persons known only through it" in page.text
    refused = analyst.post_form(BASE + "/sources/domestic_abuse_support/delete",
                                token_from=BASE + "/sources/domestic_abuse_support/delete")  # fmt: skip
    assert refused.status_code == 400 and 'id="confirm-error"' in refused.text
    assert "domestic_abuse_support" in sources(settings)
    done = analyst.post_form(BASE + "/sources/domestic_abuse_support/delete", {"confirm": "yes"},
                             token_from=BASE + "/sources/domestic_abuse_support/delete")  # fmt: skip
    assert done.status_code == 303
    assert "insight.delete.source" in actions(session)
    listing = analyst.get(done.headers["location"]).text
    assert "domestic_abuse_support was deleted" in listing
    run = re.search(r"/runs/(\d+)", listing)
    assert run, "a linkage run was started"
    deadline = time.monotonic() + 120
    while (status := run_status(settings, SLUG, int(run.group(1)))) and status["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert status and status["status"] == "done", status
    with open_store(Path(settings.insight_dir), SLUG) as con:
        for table in ("records", "quarantine", "person_links"):
            gone = ["domestic_abuse_support"]
            n = con.execute(f"SELECT count(*) FROM {table} WHERE source = ?", gone).fetchone()
            assert n == (0,), table
        orphans = con.execute("SELECT count(*) FROM person_links l ANTI JOIN records r "
                              "ON l.source = r.source AND l.record_id = r.record_id").fetchone()
        assert orphans == (0,), "no person keeps a record that no longer exists"
    assert "domestic_abuse_support" not in sources(settings)
    assert analyst.get(BASE + "/sources/domestic_abuse_support").status_code == 404
