"""The persons list for analysts: search, paging, a cohort's persons and an audited export;
the person page shows each name once. Person-level: analysts only, every view audited."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import name_and_date
from joinedup.insight.person_search import PAGE_SIZE, SearchError, parse_query
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from tests.insight.test_web import BASE, SLUG, _as, insight, linked_place  # noqa: F401
from tests.support.client import PageClient
from tests.support.demo_like import demo  # noqa: F401

_PERSON_LINK = re.compile(r'href="/places/northbrook/insight/persons/(P[0-9]{8})"')


def _store(settings: Settings) -> duckdb.DuckDBPyConnection:
    return connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)


def _listed(page_text: str) -> list[str]:
    return _PERSON_LINK.findall(page_text)


def _events(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_pages_of_fifty_cover_everyone_once_in_a_stable_order(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    with _store(settings) as con:
        (everyone,) = con.execute("SELECT count(DISTINCT person_id) FROM person_links").fetchall()[0]
    assert everyone > 2 * PAGE_SIZE  # more than the old list's stop at 200 is shown below
    _as(client, Role.ANALYST)
    first = client.get(BASE + "/persons")
    assert first.status_code == 200
    assert len(_listed(first.text)) == PAGE_SIZE
    assert "govuk-pagination" in first.text and f"of {everyone:,}" in first.text
    pages = -(-everyone // PAGE_SIZE)
    seen: list[str] = []
    for n in range(1, pages + 1):
        seen += _listed(client.get(BASE + f"/persons?page={n}").text)
    assert len(seen) == everyone and len(set(seen)) == everyone
    assert _listed(client.get(BASE + "/persons?page=1").text) == _listed(first.text)  # stable
    # Edges: before the first page is the first; past the last is the last.
    assert _listed(client.get(BASE + "/persons?page=0").text) == _listed(first.text)
    last = _listed(client.get(BASE + f"/persons?page={pages}").text)
    assert _listed(client.get(BASE + f"/persons?page={pages + 7}").text) == last
    assert _listed(client.get(BASE + "/persons?page=x").text) == _listed(first.text)
    assert 0 < len(last) <= PAGE_SIZE


def _a_record(settings: Settings, column: str) -> tuple[str, object]:
    with _store(settings) as con:
        row = con.execute(
            f"SELECT l.person_id, r.{column} FROM person_links l JOIN records r USING (source, record_id) "  # noqa: S608
            f"WHERE r.{column} IS NOT NULL ORDER BY l.person_id LIMIT 1"
        ).fetchall()[0]
    return str(row[0]), row[1]


def test_search_reads_each_identifier_as_ingest_does(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    _as(client, Role.ANALYST)
    pid, nhs = _a_record(settings, "nhs_number")
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"  # as written on a letter
    assert pid in _listed(client.get(BASE + "/persons", params={"q": spaced}).text)
    pid, postcode = _a_record(settings, "postcode")
    squashed = str(postcode).replace(" ", "").lower()
    assert pid in _listed(client.get(BASE + "/persons", params={"q": squashed}).text)
    pid, born = _a_record(settings, "date_of_birth")
    uk = f"{born.day}/{born.month}/{born.year}"  # type: ignore[attr-defined]
    assert pid in _listed(client.get(BASE + "/persons", params={"q": uk}).text)
    with _store(settings) as con:
        pid, fore, sur = con.execute(
            "SELECT l.person_id, r.forename_raw, r.surname FROM person_links l "
            "JOIN records r USING (source, record_id) WHERE r.forename IS NOT NULL "
            "AND r.surname IS NOT NULL ORDER BY l.person_id LIMIT 1"
        ).fetchall()[0]
    # The whole forename as written, and the start of the surname in lower case.
    found = _listed(client.get(BASE + "/persons", params={"q": f"{fore} {sur[:3].lower()}"}).text)
    assert pid in found
    by_id = _listed(client.get(BASE + "/persons", params={"q": pid.lower()}).text)
    assert by_id == [pid]
    nobody = client.get(BASE + "/persons", params={"q": "Zzyzxq"})
    assert nobody.status_code == 200 and "No person matches" in nobody.text


def test_a_number_that_is_not_valid_gets_the_error_pattern(client: PageClient, insight: Path) -> None:  # noqa: F811
    _as(client, Role.ANALYST)
    page = client.get(BASE + "/persons", params={"q": "123 456 7890"})
    assert page.status_code == 400
    assert "govuk-error-summary" in page.text and 'href="#q"' in page.text
    assert "fails its check digit" in page.text and page.text.count("govuk-error-message") == 1


@pytest.mark.parametrize(("text", "kind"), [
    ("P00000012", "person_id"), ("943 476 5919", "nhs_number"), ("ab 12 34 56 c", "ni_number"),
    ("m11aa", "postcode"), ("1/2/1980", "date_of_birth"), ("1980-02-01", "date_of_birth"),
    ("O'Brien", "name"), ("", "all"),
])  # fmt: skip
def test_what_the_search_box_is_read_as(text: str, kind: str) -> None:
    assert parse_query(text).kind == kind
    assert parse_query("O'Brien").value == ("OBRIEN",)


def test_what_cannot_be_searched_for() -> None:
    for text in ("12", "M1 1A1 and more 7", "1234567890"):
        with pytest.raises(SearchError):
            parse_query(text)


def test_a_cohorts_persons(client: PageClient, insight: Path, settings: Settings) -> None:  # noqa: F811
    with _store(settings) as con:
        cohort = {c.name: c for c in cohort_mod.cohorts(con)}["any2"]
        sql, params = cohort_mod.cohort_members_sql(cohort)
        members = {r[0] for r in con.execute(sql, params).fetchall()}
    assert members
    _as(client, Role.ANALYST)
    page = client.get(BASE + "/persons?cohort=any2")
    assert page.status_code == 200 and cohort.label in html.unescape(page.text)
    listed = _listed(page.text)
    assert listed and set(listed) <= members
    assert f"of {len(members):,}" in page.text
    unknown = client.get(BASE + "/persons?cohort=nope")
    assert unknown.status_code == 400 and "Choose a cohort from the list" in unknown.text


def test_the_export_is_the_whole_list_and_is_audited(
    client: PageClient, insight: Path, session: Session  # noqa: F811
) -> None:
    _as(client, Role.ANALYST)
    response = client.get(BASE + "/persons.csv?cohort=any2")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["person_id", "services", "records"]
    page = client.get(BASE + "/persons?cohort=any2")
    assert f"of {len(rows) - 1:,}" in page.text  # every page, not only the first
    (event,) = _events(session, "insight.export.persons")
    assert event.detail["cohort"] == "any2" and event.detail["count"] == len(rows) - 1
    assert event.detail["query"] == ""


def test_every_view_is_audited_with_its_query(
    client: PageClient, insight: Path, session: Session, settings: Settings  # noqa: F811
) -> None:
    _as(client, Role.ANALYST)
    pid, _ = _a_record(settings, "surname")
    client.get(BASE + "/persons", params={"q": pid, "page": "1"})
    client.get(BASE + f"/persons/{pid}")
    (listing,) = _events(session, "insight.view.persons")
    assert listing.detail["query"] == pid and listing.detail["count"] == 1
    assert [e.subject for e in _events(session, "insight.view.person")] == [f"person:{pid}"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PARTNER, Role.LEAD])
def test_only_analysts_see_persons(client: PageClient, insight: Path, role: Role) -> None:  # noqa: F811
    _as(client, role)
    for path in ("/persons", "/persons?q=smith", "/persons.csv", "/persons/P00000001"):
        assert client.get(BASE + path).status_code == 403, path


def test_the_person_page_shows_each_name_once(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    with _store(settings) as con:
        pid, n = con.execute(
            "SELECT person_id, count(*) FROM person_links GROUP BY person_id "
            "ORDER BY count(*) DESC, person_id LIMIT 1"
        ).fetchall()[0]
        spellings = con.execute(
            "SELECT DISTINCT coalesce(r.forename, ''), coalesce(r.surname, '') FROM person_links l "
            "JOIN records r USING (source, record_id) WHERE l.person_id = ?", [pid],
        ).fetchall()  # fmt: skip
    assert n > len(spellings)  # several records share a name: today it repeats per record
    _as(client, Role.ANALYST)
    page = client.get(BASE + f"/persons/{pid}")
    names_table = page.text.split("Names</caption>")[1].split("</table>")[0]
    assert names_table.count("<tr") - 1 == len(spellings)  # one row per name, after the head


def test_the_person_page_says_which_records_joined_by_name_and_date_alone(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    with _store(settings) as con:
        first = con.execute(
            "SELECT person_id, source, record_id FROM person_links WHERE person_id IN ("
            "SELECT person_id FROM person_links GROUP BY 1 HAVING count(*) > 1) ORDER BY 1, 2, 3 LIMIT 1"
        )
        pid, source, rid = first.fetchone() or ("", "", "")
        (other,) = con.execute("SELECT max(person_id) FROM person_links").fetchone() or ("",)
        name_and_date.keep_joins(con, [(f"{source}|{rid}", "-")], replacing=None)
    _as(client, Role.ANALYST)
    try:
        text = re.sub(r"\s+", " ", client.get(BASE + f"/persons/{pid}").text)
        assert f"Record {rid} holds only a name and a date of birth" in text
        assert "the only ones in the place that agree with its name, sex and date of birth" in text
        assert "only a name and a date of birth" not in client.get(BASE + f"/persons/{other}").text
        # One click to the pair on the review pages, where "different people" undoes the join.
        (link,) = re.findall(r'href="([^"]*/review/pair\?[^"]*)">Review record ' + re.escape(rid), text)
        pair = client.get(link.replace("&amp;", "&"))
        assert pair.status_code == 200 and rid in pair.text and "Different people" in pair.text
        with _store(settings) as con:
            (second,) = con.execute(
                "SELECT source || '|' || record_id FROM person_links WHERE person_id = ? "
                "AND source || '|' || record_id <> ? ORDER BY 1 LIMIT 1",
                [pid, f"{source}|{rid}"],
            ).fetchone() or ("",)
            joins = [(f"{source}|{rid}", "-"), (second, "-")]
            name_and_date.keep_joins(con, joins, replacing=None)
        text = re.sub(r"\s+", " ", client.get(BASE + f"/persons/{pid}").text)
        assert "hold only a name and a date of birth" in text and "They were added to this person" in text
    finally:
        with _store(settings) as con:
            name_and_date.keep_joins(con, [], replacing=None)


def test_a_pair_opened_from_the_person_page_leads_back_to_it(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    with _store(settings) as con:
        pid, source, rid = con.execute(
            "SELECT person_id, source, record_id FROM person_links WHERE person_id IN ("
            "SELECT person_id FROM person_links GROUP BY 1 HAVING count(*) > 1) ORDER BY 1, 2, 3 LIMIT 1"
        ).fetchone() or ("", "", "")
        name_and_date.keep_joins(con, [(f"{source}|{rid}", "-")], replacing=None)
    _as(client, Role.ANALYST)
    try:
        text = client.get(BASE + f"/persons/{pid}").text
        (link,) = re.findall(r'href="([^"]*/review/pair\?[^"]*)">Review record ' + re.escape(rid), text)
        link = link.replace("&amp;", "&")
        pair = client.get(link)
        back = f'href="{BASE}/persons/{pid}"'
        assert f"Back to person {pid}" in pair.text and back in pair.text
        assert "Back to the queue" not in pair.text
        left = pair.text.split('name="l" value="', 1)[1].split('"', 1)[0]
        right = pair.text.split('name="r" value="', 1)[1].split('"', 1)[0]
        # The decision returns to the person, saying what was saved and when it takes effect.
        form = {"l": left, "r": right, "decision": "different", "person": pid}
        done = client.post_form(BASE + "/review/pair", form, token_from=link)
        assert done.status_code == 303 and done.headers["location"] == f"{BASE}/persons/{pid}"
        page = re.sub(r"\s+", " ", client.get(done.headers["location"]).text)
        assert "(different people) is saved. It changes the persons at the next link." in page
        assert "is saved" not in client.get(BASE + f"/persons/{pid}").text  # said once
        with _store(settings) as con:
            assert con.execute("SELECT decision FROM review_decisions").fetchall() == [("different",)]
        # Anything but a person id in the URL or the form is ignored: the queue as before.
        for bad in ('"><script>alert(1)</script>', "P1", "../../admin"):
            page = client.get(link.split("&person=")[0] + "&person=" + bad.replace("&", "%26"))
            assert "Back to the queue" in page.text and "<script>alert" not in page.text
            form = {"l": left, "r": right, "decision": "unsure", "person": bad}
            done = client.post_form(BASE + "/review/pair", form, token_from=link)
            assert done.headers["location"] == f"{BASE}/review#check"
        # "Not sure" changes nobody: the note says where the pair is instead.
        form = {"l": left, "r": right, "decision": "unsure", "person": pid}
        done = client.post_form(BASE + "/review/pair", form, token_from=link)
        page = re.sub(r"\s+", " ", client.get(done.headers["location"]).text)
        assert "(not sure) is saved. The pair stays in the review queue, marked not sure." in page
    finally:
        with _store(settings) as con:
            name_and_date.keep_joins(con, [], replacing=None)
            con.execute("DELETE FROM review_decisions")


def test_the_person_page_counts_the_records_of_a_merge_in_plain_words(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    with _store(settings) as con:
        (pid,) = con.execute("SELECT min(person_id) FROM person_links").fetchone() or ("",)
        (run,) = con.execute("SELECT max(run_id) FROM person_events").fetchone() or (0,)
        run = (run or 0) + 1000  # a run of its own, removed below
        con.executemany(
            "INSERT INTO person_events VALUES (?, ?, ?, ?, ?)",
            [(run, "merge", pid, "P-ONE", 1), (run + 1, "split", pid, "P-TWO", 2)],
        )
    _as(client, Role.ANALYST)
    try:
        text = re.sub(r"\s+", " ", client.get(BASE + f"/persons/{pid}").text)
        assert f"Run {run}: merged P-ONE into {pid} (1 record)" in text
        assert f"Run {run + 1}: split P-TWO from {pid} (2 records)" in text
    finally:
        with _store(settings) as con:
            con.execute("DELETE FROM person_events WHERE run_id >= ?", [run])
