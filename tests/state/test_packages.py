"""Packages: the synthetic places' validate; bad, old and tampered ones are named and left out,
and the comparison shows the rest; packages load from directories, zips and web addresses."""

from __future__ import annotations

import contextlib
import csv
import http.server
import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from joinedup.state.compare import Cell, compare, rank
from joinedup.state.load import check_package, load_any, load_url, load_zip
from joinedup.state.package import frictionless_errors
from joinedup.state.publish import zip_package
from joinedup.synth.places import PLACES, write_demo_places


@pytest.fixture(scope="module")
def demo_places(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_demo_places(tmp_path_factory.mktemp("places"))


@pytest.fixture
def places(demo_places: list[Path], tmp_path: Path) -> list[Path]:
    """A copy for each test to spoil."""
    out = []
    for p in demo_places:
        shutil.copytree(p, tmp_path / p.name)
        out.append(tmp_path / p.name)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def test_the_five_synthetic_places_validate_with_frictionless(demo_places: list[Path]) -> None:
    assert len(demo_places) == 5 == len({p.adults for p in PLACES})
    for path in demo_places:
        assert frictionless_errors(path) == [], path.name
        loaded = check_package(path)
        assert loaded.ok, loaded.problems
        assert loaded.meta["method"] == "joinedup-state/2"
        desc = json.loads((path / "datapackage.json").read_text())
        assert "value_accounts" in {r["name"] for r in desc["resources"]}
        fields = desc["resources"][0]["schema"]
        assert fields["missingValues"] == ["", "*"]
        assert all("description" in f for r in desc["resources"] for f in r["schema"]["fields"])


def test_a_count_the_rule_hides_is_refused_and_the_rest_compared(places: list[Path]) -> None:
    target = places[1] / "demand.csv"
    rows = _rows(target)
    rows[0]["persons"] = "3"  # a count from 1 to 7 the rule would hide
    _write(target, rows)
    loaded = [check_package(p) for p in places]
    assert not loaded[1].ok
    assert any("demand.csv row 2: persons is 3" in m and m.startswith(places[1].name)
               for m in loaded[1].problems), loaded[1].problems
    result = compare(loaded)
    assert [p.slug for p in result.places] == [p.name for p in places if p != places[1]]
    assert any(places[1].name in m for m in result.problems)


def test_an_unrounded_count_or_cost_is_refused(places: list[Path]) -> None:
    target = places[0] / "prevalence.csv"
    rows = _rows(target)
    rows[0]["persons"] = str(int(rows[0]["persons"]) + 1)
    _write(target, rows)
    problems = check_package(places[0]).problems
    assert any("not rounded to the nearest 5" in m for m in problems), problems
    target = places[2] / "demand.csv"
    rows = _rows(target)
    rows[0]["cost"] = str(float(rows[0]["cost"]) + 37)
    _write(target, rows)
    assert any("not rounded to £100" in m for m in check_package(places[2]).problems)


def test_a_rate_that_does_not_follow_from_its_count_is_refused(places: list[Path]) -> None:
    target = places[0] / "prevalence.csv"
    rows = _rows(target)
    rows[0]["per_1000_adults"] = str(float(rows[0]["per_1000_adults"]) + 1)
    _write(target, rows)
    assert any("does not follow" in m for m in check_package(places[0]).problems)


def test_a_survey_figure_on_too_few_people_is_refused(places: list[Path]) -> None:
    target = places[0] / "citizen.csv"
    rows = _rows(target)
    rows[0]["n"] = "4"
    _write(target, rows)
    assert any("fewer people than the minimum group" in m for m in check_package(places[0]).problems)


def test_another_method_version_is_refused_with_a_clear_message(places: list[Path]) -> None:
    desc_path = places[0] / "datapackage.json"
    desc = json.loads(desc_path.read_text())
    desc["joinedup"]["method"] = "joinedup-state/3"
    desc_path.write_text(json.dumps(desc))
    problems = check_package(places[0]).problems
    assert problems == [f"{places[0].name}: it was made with method version 'joinedup-state/3', "
                        "and this joinedup reads 'joinedup-state/1' and 'joinedup-state/2' "
                        "only: ask the place to publish it again with 'joinedup-state/2'"]
    result = compare([check_package(p) for p in places])
    assert len(result.places) == 4 and result.problems == problems


def test_a_csv_that_breaks_its_schema_is_refused(places: list[Path]) -> None:
    target = places[0] / "readiness.csv"
    rows = _rows(target)
    rows[0]["practice"] = "very good"
    _write(target, rows)
    problems = check_package(places[0]).problems
    assert any("readiness.csv row 2: practice 'very good' is not a number" in m for m in problems)
    # The frictionless library agrees.
    assert frictionless_errors(places[0])


def test_a_loosened_schema_or_a_weaker_rule_is_refused(places: list[Path]) -> None:
    desc_path = places[0] / "datapackage.json"
    desc = json.loads(desc_path.read_text())
    desc["resources"][2]["schema"]["fields"][3]["type"] = "string"
    desc_path.write_text(json.dumps(desc))
    assert any("schema is not the one" in m for m in check_package(places[0]).problems)
    desc_path = places[1] / "datapackage.json"
    desc = json.loads(desc_path.read_text())
    desc["joinedup"]["disclosure"]["threshold"] = 1
    desc_path.write_text(json.dumps(desc))
    assert any("weaker than joinedup allows" in m for m in check_package(places[1]).problems)


def test_not_a_package_at_all(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert "not a zip file" in load_any(str(tmp_path / "notes.txt")).problems[0]
    assert "no datapackage.json" in load_any(str(tmp_path)).problems[0]
    assert "no such directory" in load_any(str(tmp_path / "missing")).problems[0]


def test_a_zipped_package_loads_like_its_directory(demo_places: list[Path]) -> None:
    zipped = load_zip(zip_package(demo_places[0]), "eastmere.zip")
    direct = check_package(demo_places[0])
    assert zipped.ok and zipped.tables == direct.tables


def test_ranks_only_where_intervals_do_not_overlap() -> None:
    cells = [Cell("a", 50, 45, 55), Cell("b", 52, 47, 57), Cell("c", 70, 66, 74), Cell("d", None)]
    rank(cells)
    assert [c.rank for c in cells] == [2, 2, 1, None]
    assert (cells[2].clearly_above, cells[0].clearly_below) == (2, 1)
    overlapping = [Cell("a", 50, 40, 60), Cell("b", 55, 45, 65)]
    rank(overlapping)
    assert [c.rank for c in overlapping] == [None, None]
    lower_is_better = [Cell("a", 0.2, 0.15, 0.25), Cell("b", 0.5, 0.45, 0.55)]
    rank(lower_is_better, descending=False)
    assert [c.rank for c in lower_is_better] == [1, 2]


# ── From a web address ─────────────────────────────────────────────────────────────────


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path.startswith("/slow"):
            time.sleep(2)
        body = self.files.get(self.path.split("?")[0])
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The reader may give up on purpose (the size limit or the timeout).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(demo_places: list[Path]) -> Iterator[str]:
    files = {"/eastmere.zip": zip_package(demo_places[0]), "/slow/eastmere.zip": b"x"}
    for name in ["datapackage.json", *(p.name for p in demo_places[1].iterdir())]:
        files[f"/harrowfield/{name}"] = (demo_places[1] / name).read_bytes()
    _Handler.files = files
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_packages_load_from_web_addresses(server: str) -> None:
    zipped = load_url(f"{server}/eastmere.zip")
    assert zipped.ok and zipped.slug == "eastmere"
    described = load_url(f"{server}/harrowfield/datapackage.json")
    assert described.ok and described.slug == "harrowfield"
    assert "could not be fetched" in load_url(f"{server}/missing.zip").problems[0]


def test_a_web_address_has_a_size_limit_and_a_timeout(server: str) -> None:
    big = load_url(f"{server}/eastmere.zip", max_bytes=1000)
    assert "larger than" in big.problems[0]
    slow = load_url(f"{server}/slow/eastmere.zip", timeout=0.5)
    assert "did not answer within 0.5 seconds" in slow.problems[0]
    assert "only http and https" in load_url("file:///etc/passwd").problems[0]
