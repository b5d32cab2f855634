"""Every CSV the web app serves is safe to open in a spreadsheet, and is never cached.

A hostile place: a partner, services, a cohort, record ids, a survey round and survey areas
named like formulas. Every route that answers with CSV is found by walking the route table
(so a new one cannot be forgotten), fetched, and each cell checked: nothing a spreadsheet
could run as a formula, the hostile names still there behind a single quote, and
``Cache-Control: no-store``.
"""

from __future__ import annotations

import csv
import inspect
import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from httpx import Response
from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.insight import export
from joinedup.insight.cohorts import define_cohort
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.places.models import Sector
from joinedup.places.roles import Role
from joinedup.places.service import add_partner, get_place
from joinedup.surveys.rounds import create_round
from joinedup.synth.insight import generate_place
from joinedup.synth.surveys import _store as store_answers
from joinedup.synth.surveys import citizen_rows, readiness_rows
from joinedup.web.app import create_app
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401
from tests.web.test_route_rules import api_routes

SLUG = "northbrook"
HYPERLINK = '=HYPERLINK("http://x")'
PAYLOADS = (HYPERLINK, "+1", "@SUM(A1)", "-2+3")
# A cell a spreadsheet could run: it starts with one of OWASP's characters and is not a
# plain number (numbers, negative ones included, must stay numbers).
_STARTS = set("=+-@\t\r＝＋－＠")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def dangerous(cell: str) -> bool:
    return (cell[:1] in _STARTS or cell.lstrip(" \n")[:1] in _STARTS) and not _NUMBER.fullmatch(
        cell.strip()
    )


def _rename_source(mapping: Path, partner: str, service: str) -> None:
    # TOML literal strings ('...') may hold double quotes as they are.
    text = re.sub(r'^partner = ".*"$', f"partner = '{partner}'", mapping.read_text(), flags=re.M)
    text = re.sub(r'^service = ".*"$', f"service = '{service}'", text, flags=re.M)
    mapping.write_text(text, encoding="utf-8")


def _rename_records(extract: Path, ids: tuple[str, ...]) -> None:
    with extract.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    for row, new_id in zip(rows[1:], ids, strict=False):
        row[0] = new_id
    with extract.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linked synthetic place whose names are formulas, built once per module."""
    root = tmp_path_factory.mktemp("csv-hostile")
    extracts = root / "extracts"
    generate_place(200, extracts, seed=5, formats="csv")
    _rename_source(extracts / "housing_options.toml", HYPERLINK, "@SUM(A1)")
    _rename_source(extracts / "police_custody.toml", "+1", "-2+3")
    _rename_records(extracts / "housing_options.csv", PAYLOADS)
    path = root / f"{SLUG}.duckdb"
    con = connect(path, memory_limit="1GB", threads=2)
    seed_reference(con)
    ingest_directory(con, extracts)
    link_place(con, work_dir=root / "work")
    define_cohort(con, "hostile", HYPERLINK, ["homelessness"], 1)
    con.close()
    return path


@dataclass(frozen=True)
class Hostile:
    readiness_id: int
    voice_id: int


@pytest.fixture
def hostile(settings: Settings, session: Session, demo: DemoLike, hostile_store: Path) -> Hostile:  # noqa: F811
    target = Path(settings.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(hostile_store, target / f"{SLUG}.duckdb")
    place = get_place(session, SLUG)
    assert place is not None
    add_partner(session, place, name="+1", sector=Sector.VOLUNTARY_AND_COMMUNITY)
    add_partner(session, place, name=HYPERLINK, sector=Sector.VOLUNTARY_AND_COMMUNITY)
    ready = create_round(session, place, instrument_key="readiness", title=HYPERLINK,
                         opens_on=date(2020, 1, 1), closes_on=date(2099, 1, 1))
    store_answers(session, ready, readiness_rows(place, 60, seed=3), ready.created_at)
    areas = ["@SUM(A1)", "-2+3"]
    voice = create_round(session, place, instrument_key="citizen_voice", title="+1",
                         opens_on=date(2020, 1, 1), closes_on=date(2099, 1, 1),
                         areas=dict.fromkeys(areas, 20_000))
    rows, _themes = citizen_rows(200, seed=4, areas=areas)
    store_answers(session, voice, rows, voice.created_at)
    session.commit()
    return Hostile(ready.id, voice.id)


def _sign_in(client: PageClient, role: Role) -> None:
    client.cookies.clear()
    client.sign_in(email_for(role), DEMO_PASSWORD)


def _insight_exports(client: PageClient, h: Hostile) -> list[Response]:
    _sign_in(client, Role.ANALYST)
    return [client.get(f"/places/{SLUG}/insight/export/{name}.csv") for name in export.TABLES]


def _persons_export(client: PageClient, h: Hostile) -> list[Response]:
    _sign_in(client, Role.ANALYST)
    return [client.get(f"/places/{SLUG}/insight/persons.csv"),
            client.get(f"/places/{SLUG}/insight/persons.csv", params={"q": "a"})]


def _survey_links(client: PageClient, h: Hostile) -> list[Response]:
    _sign_in(client, Role.LEAD)
    url = f"/places/{SLUG}/surveys/{h.readiness_id}"
    return [client.post_form(f"{url}/links", {"count": "2"}, token_from=url)]


def _survey_template(client: PageClient, h: Hostile) -> list[Response]:
    _sign_in(client, Role.LEAD)
    return [client.get(f"/places/{SLUG}/surveys/{i}/import/template.csv")
            for i in (h.readiness_id, h.voice_id)]


def _survey_results(client: PageClient, h: Hostile) -> list[Response]:
    _sign_in(client, Role.ANALYST)
    return [client.get(f"/places/{SLUG}/surveys/{i}/results.csv")
            for i in (h.readiness_id, h.voice_id)]


def _collection_comparison(client: PageClient, h: Hostile) -> list[Response]:
    """Issue 11: a package whose place and cohort are named like formulas, compared."""
    from dataclasses import replace

    from joinedup.state.collections import replace_demo
    from joinedup.state.publish import zip_package
    from joinedup.synth.places import PLACES, place_package

    settings = client.app.state.settings  # type: ignore[attr-defined]
    work = Path(settings.data_dir) / "hostile-package"
    package = place_package(replace(PLACES[2], name=HYPERLINK), work)
    replace_demo(Path(settings.data_dir), {"hostile.zip": zip_package(package)})
    _sign_in(client, Role.VIEWER)
    return [client.get("/collections/demo/comparison.csv")]


# Every route that answers with CSV, and how to fetch it. A new CSV route fails
# test_every_csv_route_is_walked until it is added here.
CSV_ROUTES: dict[tuple[str, str], Callable[[PageClient, Hostile], list[Response]]] = {
    ("GET", "/places/{place}/insight/export/{name}.csv"): _insight_exports,
    ("GET", "/places/{place}/insight/persons.csv"): _persons_export,
    ("POST", "/places/{place}/surveys/{round_id}/links"): _survey_links,
    ("GET", "/places/{place}/surveys/{round_id}/import/template.csv"): _survey_template,
    ("GET", "/places/{place}/surveys/{round_id}/results.csv"): _survey_results,
    ("GET", "/collections/{cid}/comparison.csv"): _collection_comparison,
}


def _csv_routes(settings: Settings) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in api_routes(create_app(settings).routes):
        source = inspect.getsource(route.endpoint)
        if route.path.endswith(".csv") or "text/csv" in source or "csv" in route.name:
            found |= {(method, route.path) for method in route.methods}
    return found


def _registry_exports(client: PageClient, h: Hostile) -> list[Response]:
    """Issue 8: the place's partners (two named like formulas) and services."""
    _sign_in(client, Role.LEAD)
    return [client.get(f"/places/{SLUG}/{what}/export.csv") for what in ("partners", "services")]


def _value_exports(client: PageClient, h: Hostile) -> list[Response]:
    """Issue 10: walked where an account can be computed, in
    tests/value/test_web_account.py::test_exports_neutralise_formulas_in_names."""
    return []


CSV_ROUTES[("GET", "/places/{place}/collaborations/{collab}/value/export/{name}.csv")] = _value_exports
CSV_ROUTES[("GET", "/places/{place}/partners/export.csv")] = _registry_exports
CSV_ROUTES[("GET", "/places/{place}/services/export.csv")] = _registry_exports


def test_every_csv_route_is_walked(settings: Settings) -> None:
    assert _csv_routes(settings) == set(CSV_ROUTES)


def _fetch_all(client: PageClient, h: Hostile) -> list[tuple[str, Response]]:
    out = []
    for (_method, path), fetch in CSV_ROUTES.items():
        out.extend((path, response) for response in fetch(client, h))
    return out


def test_every_csv_route_neutralises_formulas(client: PageClient, hostile: Hostile) -> None:
    cells: set[str] = set()
    for path, response in _fetch_all(client, hostile):
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/csv"), path
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows, path
        bad = [cell for row in rows for cell in row if dangerous(cell)]
        assert not bad, f"{path}: {bad[:5]}"
        cells |= {cell for row in rows for cell in row}
    # Each hostile name made it into an export, whole, behind a single quote.
    for payload in PAYLOADS:
        assert "'" + payload in cells, payload


def test_hostile_record_ids_round_trip_in_the_links_export(client: PageClient,
                                                         hostile: Hostile) -> None:
    _sign_in(client, Role.ANALYST)
    text = client.get(f"/places/{SLUG}/insight/export/links.csv").text
    ids = {row["record_id"] for row in csv.DictReader(io.StringIO(text))}
    assert {"'" + p for p in PAYLOADS} <= ids
    # The hostile cell is quoted as well as prefixed, as OWASP advises.
    assert '"\'=HYPERLINK(""http://x"")"' in text


def test_every_csv_route_is_not_cached(client: PageClient, hostile: Hostile) -> None:
    for path, response in _fetch_all(client, hostile):
        assert response.headers.get("cache-control") == "no-store", path


def test_only_static_assets_may_be_cached(client: PageClient, hostile: Hostile) -> None:
    _sign_in(client, Role.ANALYST)
    chart = client.get(f"/places/{SLUG}/surveys/{hostile.readiness_id}/charts/components.svg")
    assert chart.status_code == 200 and chart.headers["cache-control"] == "no-store"
    page = client.get(f"/places/{SLUG}/insight/sources")
    assert page.headers["cache-control"] == "no-store"
    asset = client.get("/static/build/app.css")
    assert asset.headers.get("cache-control") != "no-store"
