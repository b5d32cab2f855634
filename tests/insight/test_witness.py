"""The linked data as a third witness on the staff-beside-citizen page: figures derived only
from what the dashboard publishes, close to the truth, and shown to those who read results."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from joinedup.config import Settings
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.export import network_table
from joinedup.insight.store import connect
from joinedup.insight.witness import data_witnesses
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

SLUG = "northbrook"


# Persons by the services they are known to: exact truth, no linkage needed.
MEMBERSHIP = {"A": range(0, 300), "B": range(150, 330), "C": range(280, 420), "D": range(100, 140)}


def _build(path: Path, membership: dict[str, range]) -> Path:
    con = connect(path, memory_limit="500MB", threads=1)
    for source, people in membership.items():
        con.execute("INSERT INTO sources (name, partner, service) VALUES (?, ?, ?)",
                    [source, f"Partner {source}", f"Service {source}"])
        for k in people:
            con.execute("INSERT INTO records (source, record_id) VALUES (?, ?)", [source, str(k)])
            con.execute("INSERT INTO person_links VALUES (?, ?, ?)", [source, str(k), f"P{k}"])
    con.close()
    return path


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("witness") / f"{SLUG}.duckdb", MEMBERSHIP)


CTX = PlaceContext(slug=SLUG, rule=DisclosureRule(threshold=8, rounding=5))


def test_services_per_shared_person_is_close_to_the_truth(linked: Path) -> None:
    con = duckdb.connect(str(linked), read_only=True)
    witnesses = data_witnesses(con, CTX)
    (true_mean,) = con.execute(
        "SELECT avg(n) FROM (SELECT person_id, count(DISTINCT source) AS n FROM person_links "
        "GROUP BY person_id) WHERE n >= 2"
    ).fetchone() or (None,)
    shown = witnesses["services_per_shared_person"].value
    assert shown and true_mean is not None
    # From rounded published totals only, yet within a tenth of a service of the truth.
    assert abs(float(shown) - true_mean) < 0.1, (shown, true_mean)
    net = network_table(con, CTX)
    assert witnesses["ships_in_the_night"].value == f"{int(net['ships_in_the_night'].sum()):,}"
    con.close()


def test_a_hidden_caseload_hides_the_mean_rather_than_guessing(tmp_path: Path) -> None:
    small = {**MEMBERSHIP, "E": range(400, 403)}  # three persons: a caseload that must be hidden
    con = duckdb.connect(str(_build(tmp_path / "small.duckdb", small)), read_only=True)
    witness = data_witnesses(con, CTX)["services_per_shared_person"]
    assert witness.value == "" and "hidden" in witness.detail


def test_the_compare_page_shows_the_linked_data(
    client: PageClient, settings: Settings, demo: DemoLike, linked: Path  # noqa: F811
) -> None:
    target = Path(settings.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(linked, target / f"{SLUG}.duckdb")
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    page = client.get(f"/places/{SLUG}/surveys/compare")
    assert page.status_code == 200
    assert "services the average shared person is known to" in page.text
    assert "No linked records yet." not in page.text
