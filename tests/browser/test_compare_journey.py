"""Places compared, in a real browser: a lead makes a collection, uploads four places'
packages (one of them tampered), reads the comparison with the tampered one named, and the
pages pass axe and do not scroll sideways on a 320 px screen; the demo collection too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from joinedup.places.roles import Role
from joinedup.state import collections as store
from joinedup.state.publish import zip_package
from joinedup.synth.places import write_demo_places
from tests.state.test_collections_web import tampered
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import email_for
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("upload")
    for path in write_demo_places(root / "dirs"):
        data = zip_package(path)
        (root / f"{path.name}.zip").write_bytes(tampered(data) if path.name == "lowdale" else data)
    return root


def _no_sideways_scroll(page: Any, where: str) -> None:
    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, where
    check_accessibility(page, f"{where} at 320 px")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_upload_and_compare_places(page: Any, server: RunningServer, packages: Path) -> None:
    sign_in(page, email_for(Role.LEAD))
    page.goto("/collections")
    check_accessibility(page, "collections")
    submit(page, page.get_by_role("button", name="Make collection"))
    assert page.locator(".govuk-error-summary").is_visible()
    check_accessibility(page, "collections with an error")
    page.get_by_label("Name").fill("North of England")
    submit(page, page.get_by_role("button", name="Make collection"))
    assert page.get_by_role("heading", name="North of England").is_visible()
    page.get_by_label("Packages (zip files made by joinedup publish)").set_input_files(
        [str(packages / f"{n}.zip") for n in ("eastmere", "harrowfield", "lowdale", "saltmarsh")])
    submit(page, page.get_by_role("button", name="Add packages"))
    left_out = page.locator(".app-left-out")
    expect(left_out).to_have_count(1)
    assert left_out.first.inner_text().startswith("lowdale.zip: demand.csv row 2: persons is 4")
    table = page.get_by_role("table", name="Severe multiple disadvantage (all three)")
    assert table.get_by_role("rowheader").count() == 3
    assert "Eastmere" in table.inner_text() and "Lowdale" not in table.inner_text()
    check_accessibility(page, "a collection compared")
    screenshot(page, "collection-compared")
    _no_sideways_scroll(page, "a collection compared")


def test_the_demo_collection_highlights_nothing_for_a_stranger(page: Any, server: RunningServer,
                                                               packages: Path) -> None:
    zips = {p.name: p.read_bytes() for p in packages.glob("*.zip") if p.name != "lowdale.zip"}
    store.replace_demo(Path(server.settings.data_dir), zips)
    sign_in(page, email_for(Role.VIEWER))
    page.goto("/collections")
    submit(page, page.get_by_role("link", name="Demo places"))
    assert page.get_by_role("heading", name="Demo places").is_visible()
    assert page.get_by_text("(your place)").count() == 0
    assert page.get_by_role("button", name="Add packages").count() == 0
    check_accessibility(page, "the demo collection")
    _no_sideways_scroll(page, "the demo collection")
