"""The demo-like place with its survey rounds, published and compared: the comparison shows
each readiness component and citizen measure with exactly the estimate and interval of the
place's own results page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.places.service import get_place
from joinedup.state.compare import Comparison, compare
from joinedup.state.load import check_package
from joinedup.state.package import frictionless_errors
from joinedup.state.publish import publish_place
from joinedup.surveys import results
from joinedup.surveys.comparison import latest_round
from joinedup.synth.places import write_demo_places
from joinedup.synth.surveys import load_demo_surveys
from tests.support.demo_like import DemoLike, demo  # noqa: F401

pytestmark = pytest.mark.slow  # the demo's survey rounds take about 20 s to make


def _cell(comparison: Comparison, section: str, row: str, place: str) -> Any:
    sec = next(s for s in comparison.sections if s.key == section)
    return next(c for c in next(r for r in sec.rows if r.key == row).cells if c.place == place)


def test_the_comparison_shows_each_place_s_own_page_figures(
    settings: Settings, session: Session, demo: DemoLike, tmp_path: Path  # noqa: F811
) -> None:
    load_demo_surveys(session, demo.place_slug)
    session.commit()
    package = publish_place(settings, demo.place_slug, tmp_path / "northbrook")
    assert frictionless_errors(package) == []
    others = write_demo_places(tmp_path / "others")
    loaded = [check_package(package), *(check_package(p) for p in others)]
    assert all(p.ok for p in loaded), [p.problems for p in loaded]
    comparison = compare(loaded, own=[demo.place_slug])
    assert [p.own for p in comparison.places] == [True, False, False, False, False, False]

    place = get_place(session, demo.place_slug)
    assert place is not None
    staff = latest_round(session, place.id, "readiness")
    voice = latest_round(session, place.id, "citizen_voice")
    assert staff is not None and voice is not None
    page = results.results(session, staff)  # what the round's results page shows
    checked = 0
    for line in page["lines"]:
        if line["kind"] == "strand":
            continue  # the comparison shows components and the overall score
        cell = _cell(comparison, "readiness", line["key"], demo.place_slug)
        practice = line["practice"]
        assert (cell.value, cell.lci, cell.uci) == (practice["mean"], practice["lci"], practice["uci"])
        assert cell.n == practice["n"]
        checked += 1
    voice_page = results.results(session, voice)
    for m in voice_page["measures"]:
        cell = _cell(comparison, "citizen", m["key"], demo.place_slug)
        w = m["weighted"]
        assert (cell.value, cell.lci, cell.uci, cell.n) == (w["est"], w["lci"], w["uci"], w["n"])
        checked += 1
    assert checked > 10
