"""The collections pages: a signed-in user makes a collection, uploads packages (one of them
tampered), and sees the others compared with the tampered one named; nobody else sees it;
the demo collection is seen by everyone and changed by nobody on the web."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from joinedup.config import Settings
from joinedup.places.roles import Role
from joinedup.state import collections as store
from joinedup.state.publish import zip_package
from joinedup.synth.places import write_demo_places
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return {p.name: zip_package(p) for p in write_demo_places(tmp_path_factory.mktemp("places"))}


def tampered(data: bytes) -> bytes:
    """The package with a hidden count put back in the demand table."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            body = source.read(name)
            if name == "demand.csv":
                rows = list(csv.reader(io.StringIO(body.decode())))
                rows[1][3] = "4"
                text = io.StringIO()
                csv.writer(text, lineterminator="\r\n").writerows(rows)
                body = text.getvalue().encode()
            target.writestr(name, body)
    return out.getvalue()


def _make(client: PageClient, name: str) -> str:
    made = client.post_form("/collections", {"name": name}, token_from="/collections")
    assert made.status_code == 303
    return str(made.headers["location"])


def test_upload_compare_and_a_tampered_package_named(
    client: PageClient, demo: DemoLike, zips: dict[str, bytes]  # noqa: F811
) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    page = client.get("/collections")
    assert page.status_code == 200 and "Make a collection" in page.text
    empty = client.post_form("/collections", {"name": ""}, token_from="/collections")
    assert empty.status_code == 400 and "Enter a name for the collection" in empty.text
    url = _make(client, "North of England")
    files = [("packages", ("eastmere.zip", zips["eastmere"], "application/zip")),
             ("packages", ("lowdale.zip", zips["lowdale"], "application/zip")),
             ("packages", ("harrowfield.zip", tampered(zips["harrowfield"]), "application/zip"))]
    added = client.post(f"{url}/packages", data={"csrf_token": client.csrf(url)}, files=files,
                        follow_redirects=False)
    assert added.status_code == 303
    shown = client.get(url).text
    assert "Eastmere" in shown and "Lowdale" in shown
    left_out = re.findall(r'<li class="app-left-out">(.*?)</li>', shown, re.S)
    assert len(left_out) == 1 and left_out[0].startswith("harrowfield.zip: demand.csv row 2")
    assert "a count the rule hides" in left_out[0]
    assert "Harrowfield</th>" not in shown
    # Collaborations and their measured value, side by side (Eastmere's and Lowdale's).
    assert "Collaborations and their measured value" in shown
    assert "Public value return (95% interval)" in shown and "Withheld: " in shown
    assert "Hospital discharge" in shown
    nothing = client.post(f"{url}/packages", data={"csrf_token": client.csrf(url)},
                          follow_redirects=False)
    assert nothing.status_code == 400 and "Select one or more packages" in nothing.text
    comparison = client.get(f"{url}/comparison.csv")
    assert comparison.status_code == 200 and "eastmere" in comparison.text
    assert "public_value_return" in comparison.text


def test_a_collection_is_its_owners_and_the_demo_is_everyones(
    client: PageClient, demo: DemoLike, zips: dict[str, bytes], settings: Settings  # noqa: F811
) -> None:
    store.replace_demo(Path(settings.data_dir), {f"{k}.zip": v for k, v in zips.items()})
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    url = _make(client, "Mine")
    client.post("/sign-out", data={"csrf_token": client.csrf("/collections")})
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/comparison.csv").status_code == 404
    listing = client.get("/collections").text
    assert "Demo places" in listing and "Mine" not in listing
    demo_page = client.get("/collections/demo")
    assert demo_page.status_code == 200 and "Saltmarsh Coast" in demo_page.text
    assert "Add packages" not in demo_page.text
    refused = client.post("/collections/demo/packages",
                          data={"csrf_token": client.csrf("/collections/demo")},
                          files=[("packages", ("x.zip", zips["lowdale"], "application/zip"))],
                          follow_redirects=False)
    assert refused.status_code == 403


def test_signed_out_people_are_sent_to_sign_in(client: PageClient) -> None:
    response = client.get("/collections", follow_redirects=False)
    assert response.status_code in {302, 303} and "/sign-in" in response.headers["location"]


def test_the_demo_collection_holds_six_places_with_the_users_own_highlighted(
    client: PageClient, demo: DemoLike, settings: Settings  # noqa: F811
) -> None:
    from joinedup.synth.places import load_demo_collection

    load_demo_collection(settings, demo.place_slug)
    demo_collection = store.find(Path(settings.data_dir), store.DEMO_ID)
    assert demo_collection is not None
    loaded = store.load_packages(demo_collection)
    assert len(loaded) == 6 and all(p.ok for p in loaded), [p.problems for p in loaded]
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    page = client.get("/collections/demo").text
    assert 'app-own-place">Northbrook (your place)' in page
    assert "Eastmere (your place)" not in page


def test_a_lead_downloads_the_place_s_package_and_a_viewer_cannot(
    client: PageClient, demo: DemoLike  # noqa: F811
) -> None:
    from joinedup.state.load import load_zip

    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert f"/places/{demo.place_slug}/state/package.zip" in client.get("/collections").text
    response = client.get(f"/places/{demo.place_slug}/state/package.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    loaded = load_zip(response.content, "northbrook.zip")
    assert loaded.ok and loaded.slug == demo.place_slug
    assert len(loaded.tables["collaborations"]) == len(demo.collaboration_slugs)
    audit = client.get(f"/places/{demo.place_slug}/audit").text
    assert "state.package_downloaded" in audit
    client.post("/sign-out", data={"csrf_token": client.csrf("/collections")})
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    assert "state/package.zip" not in client.get("/collections").text
    assert client.get(f"/places/{demo.place_slug}/state/package.zip").status_code == 403
