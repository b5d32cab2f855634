"""The attacker's view of survey results: everything a lead or partner can see, then
total-minus-parts recovery of every hidden group.

For each breakdown and figure, the attacker takes the whole round's figure and size, takes
away every shown group (figure × size), and solves what is left for the hidden groups. A
small group (fewer than the place's minimum) fails the test if its figure or size is shown,
if it is the only thing left over (recovered exactly), if what is left over holds fewer than
the minimum, or if its figure or size can be narrowed further than the rule itself allows:
its size must stay anywhere from 1 to the minimum less one, and its figure must not be pinned
to an interval narrower than MIN_WIDTH of the scale.

The truth (every group's real figure) is the engine's own result with the minimum set to 1.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import html5lib
from html5lib.constants import namespaces
from sqlalchemy.orm import Session

from joinedup.framework import COMPONENTS, STRANDS
from joinedup.places.models import Place
from joinedup.places.roles import Role
from joinedup.surveys import results
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.rounds import create_round, instrument_of
from joinedup.synth.surveys import _store, citizen_rows, load_demo_surveys, readiness_rows
from tests.support.client import PageClient
from tests.support.demo_like import (
    DEMO_PASSWORD,
    DemoLike,
    demo,  # noqa: F401 (fixture)
    email_for,
)
from tests.support.factories import make_user, partner_named

#: A hidden figure must stay free over at least this share of its scale.
MIN_WIDTH = 0.10
_NS = {"h": namespaces["html"]}
_LINE_KEY = {c.name: c.key for c in COMPONENTS} | {s.name: s.key for s in STRANDS} | {
    "Overall": "overall"}


# ── What the attacker collects ──────────────────────────────────────────────────────────


@dataclass
class Cell:
    n: float | None
    value: float | None


@dataclass
class Breakdown:
    """One figure broken down by groups, as published: the total and each listed group."""

    name: str
    total: Cell
    groups: dict[str, Cell] = field(default_factory=dict)
    weights: dict[str, float] | None = None  # citizen areas: each area's share of the total


def _num(text: str) -> float | None:
    text = text.strip().lstrip("'")  # CSV cells may be neutralised against formulas
    if not text:
        return None
    return float(text)


def _csv(client: PageClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    return list(csv.DictReader(io.StringIO(response.text)))


def _tables(html: str) -> dict[str, list[list[str]]]:
    """Every table of a page by its caption: rows of cell texts (header row left out)."""
    doc = html5lib.HTMLParser(namespaceHTMLElements=True).parse(html)
    out = {}
    for table in doc.iterfind(".//h:table", _NS):
        caption = table.find("h:caption", _NS)
        title = " ".join("".join(caption.itertext()).split()) if caption is not None else ""
        rows = [[" ".join("".join(c.itertext()).split()) for c in tr
                 if c.tag.endswith(("td", "th"))] for tr in table.iterfind(".//h:tbody/h:tr", _NS)]
        out[title] = rows
    return out


def readiness_breakdowns(client: PageClient, base: str) -> list[Breakdown]:
    rows = _csv(client, f"{base}/results.csv")
    totals = {_LINE_KEY[r["line"]]: r for r in rows if r["group"] == "all"}
    found: dict[tuple[str, str], Breakdown] = {}
    for r in rows:
        if r["group"] == "all":
            continue
        by, _, g = r["group"].partition(": ")
        for figure in ("practice", "gap"):
            total = totals[r["line"]]
            key = (f"{by} {figure}", r["line"])
            bd = found.setdefault(key, Breakdown(
                f"{by} {figure} {r['line']}", Cell(_num(total["n"]), _num(total[figure]))))
            bd.groups[g] = Cell(_num(r["n"]), _num(r[figure]))
    return list(found.values())


def citizen_breakdowns(client: PageClient, base: str, area_shares: dict[str, float]
                       ) -> list[Breakdown]:
    rows = _csv(client, f"{base}/results.csv")
    out: dict[str, Breakdown] = {}
    for r in rows:
        if r["group"] == "all":
            out[r["measure"]] = Breakdown(f"area {r['measure']}",
                                          Cell(_num(r["n"]), _num(r["weighted"])),
                                          weights=area_shares)
    for r in rows:
        if r["group"].startswith("area: "):
            out[r["measure"]].groups[r["group"][6:]] = Cell(_num(r["n"]), _num(r["weighted"]))
    return list(out.values())


# ── The attack ──────────────────────────────────────────────────────────────────────────


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    attacked: int = 0  # small hidden groups the attacker tried to recover


def attack(bd: Breakdown, truth: dict[str, Cell], small: set[str], min_size: int,
           scale: float, found: Findings) -> None:
    """Adds to `found` what one breakdown gives away: small groups shown, or recovered from
    the total."""
    problems = found.problems
    for g in sorted(small & set(bd.groups)):
        if bd.groups[g].n is not None:
            problems.append(f"{bd.name}: size of small group {g} shown ({bd.groups[g].n:g})")
        if bd.groups[g].value is not None:
            problems.append(f"{bd.name}: figure of small group {g} shown")
    total = bd.total
    if total.n is None or total.value is None:
        return
    shown = {g: c for g, c in bd.groups.items() if c.value is not None and c.n is not None}
    hidden = [g for g, c in bd.groups.items() if c.value is None and truth[g].n]
    if not hidden:
        return
    rest_n = total.n - sum(c.n for c in shown.values() if c.n is not None)
    if bd.weights is None:  # a plain mean: the sum of the rest is known exactly
        left = total.n * total.value - sum(c.n * c.value for c in shown.values()
                                           if c.n is not None and c.value is not None)
        share = {g: float(truth[g].n or 0) for g in hidden}
        rest_w = rest_n
    else:  # a weighted share: each area weighs its share of the population
        left = total.value - sum(bd.weights[g] * c.value for g, c in shown.items()
                                 if c.value is not None)
        share = {g: bd.weights[g] for g in hidden}
        rest_w = sum(share.values())
    for g in hidden:
        if g not in small:
            continue
        found.attacked += 1
        known_n = bd.groups[g].n
        if known_n is None and rest_n - (len(hidden) - 1) < min_size - 1:
            problems.append(f"{bd.name}: size of {g} narrowed to 1–{rest_n - len(hidden) + 1:g}")
        if rest_n < min_size:
            problems.append(f"{bd.name}: the hidden groups hold only {rest_n:g} people")
        own = share[g]
        others = rest_w - own
        lo, hi = max(0.0, (left - others * scale) / own), min(scale, left / own)
        true = truth[g].value
        if len(hidden) == 1 and true is not None and abs(left / own - true) < MIN_WIDTH * scale:
            problems.append(f"{bd.name}: {g} recovered as {left / own:.3g} (truly {true:.3g})")
        elif hi - lo < MIN_WIDTH * scale:
            problems.append(f"{bd.name}: {g} narrowed to {lo:.3g}–{hi:.3g}")


# ── The truth, from the engine with no minimum ──────────────────────────────────────────


def _unprotected(session: Session, place: Place, round_: SurveyRound) -> dict[str, Any]:
    kept = place.min_group_size
    place.min_group_size = 1
    try:
        return results.compute(session, round_)
    finally:
        place.min_group_size = kept
        session.commit()  # the engine's reads flushed the change: end that write at once


def readiness_truth(session: Session, place: Place, round_: SurveyRound
                    ) -> tuple[dict[str, dict[str, Cell]], set[str]]:
    """Real group cells, keyed by breakdown name as `readiness_breakdowns` names them, and
    the groups that are small by the rule (in any figure)."""
    body = _unprotected(session, place, round_)
    labels = {"by_partner": "partner", "by_level": "level"}
    truth: dict[str, dict[str, Cell]] = {}
    small: set[str] = set()
    for by, label in labels.items():
        group = body[by]
        for g in group["groups"]:
            if group["counts"][g] < place.min_group_size:
                small.add(g)
            for figure, per in (("practice", group["scores"]), ("gap", group["gaps"])):
                for key, e in per[g].items():
                    cell = truth.setdefault(f"{label} {figure} {key}", {})
                    cell[g] = Cell(e["n"], e["mean"])
                    if 0 < e["n"] < place.min_group_size:
                        small.add(g)
    return truth, small


def check_readiness(client: PageClient, session: Session, place: Place,
                    round_: SurveyRound, found: Findings) -> None:
    base = f"/places/{place.slug}/surveys/{round_.id}"
    truth, small = readiness_truth(session, place, round_)
    problems = found.problems
    for bd in readiness_breakdowns(client, base):
        attack(bd, truth[bd.name], small, place.min_group_size, 100.0, found)
    levels = {o.value: o.label for o in instrument_of(round_).levels}
    for page in ("results", "report"):
        tables = _tables(client.get(f"{base}/{page}").text)
        for caption, rows in tables.items():
            if not caption.startswith(("Practice score by partner", "Overall practice and gap")):
                continue
            for row in rows:
                name = next((g for g in small if row[0] in (g, levels.get(g))), None)
                if name is not None and any(any(ch.isdigit() for ch in c) for c in row[1:]):
                    problems.append(f"{page}: small group {name} has figures: {row}")
    # The staff-beside-citizen page shows whole rounds only: no group may appear on it.
    compare = client.get(f"/places/{place.slug}/surveys/compare")
    assert compare.status_code == 200
    problems += [f"comparison page names small group {g}" for g in small
                 if levels.get(g, g) in compare.text]
    for chart in ("partners", "levels"):
        svg = client.get(f"{base}/charts/{chart}.svg").text
        problems += [f"chart {chart} draws small group {g}" for g in small
                     if f">{levels.get(g, g)}<" in svg]


def check_citizen(client: PageClient, session: Session, place: Place,
                  round_: SurveyRound, found: Findings) -> None:
    base = f"/places/{place.slug}/surveys/{round_.id}"
    body = _unprotected(session, place, round_)
    areas = (round_.settings or {})["areas"]
    shares = {a: v / sum(areas.values()) for a, v in areas.items()}
    min_size = place.min_group_size
    problems = found.problems
    by_label = {m["label"]: m for m in body["measures"]}
    small_areas = {p["group"] for m in body["measures"] for p in m["by_area"]
                   if 0 < p["n"] < min_size}
    for bd in citizen_breakdowns(client, base, shares):
        truth = {p["group"]: Cell(p["n"], p["est"]) for p in by_label[bd.name[5:]]["by_area"]}
        attack(bd, truth, small_areas, min_size, 1.0, found)
    small_services = {p["label"] for m in body["measures"] for p in m["by_service"]
                      if 0 < p["n"] < min_size}
    for r in _csv(client, f"{base}/results.csv"):
        if r["group"].startswith("used: ") and r["group"][6:] in small_services and (
                r["n"] or r["weighted"]):
            problems.append(f"CSV shows small service group {r}")
    tables = _tables(client.get(f"{base}/results").text)
    for row in tables.get("Weighted share by service used", []):
        if row[0] in small_services and any("%" in c for c in row[1:]):
            problems.append(f"results page shows small service group {row}")


# ── The rounds ──────────────────────────────────────────────────────────────────────────


PARTNER_SIZES = {"Testville Council": 9, "Testville NHS Trust": 6, "Testville Police": 4}
LEVEL_SIZES = {"system_leader": 2, "manager": 12, "front_line": 5}


def adversarial_readiness(session: Session, place: Place) -> SurveyRound:
    """Partner groups of 4, 6 and 9 people; level groups of 2, 12 and 5."""
    round_ = create_round(session, place, instrument_key="readiness", title="Small groups",
                          opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
    rows = readiness_rows(place, sum(PARTNER_SIZES.values()), seed=7)
    partners = [str(partner_named(place, name).id)
                for name, n in PARTNER_SIZES.items() for _ in range(n)]
    levels = [level for level, n in LEVEL_SIZES.items() for _ in range(n)]
    random.Random(7).shuffle(levels)
    for row, partner, level in zip(rows, partners, levels, strict=True):
        row["partner"], row["level"] = partner, level
    _store(session, round_, rows, datetime.now(UTC))
    session.commit()
    return round_


def adversarial_citizen(session: Session, place: Place) -> SurveyRound:
    """300 residents, two of them in the small area East; two used drug and alcohol services."""
    round_ = create_round(session, place, instrument_key="citizen_voice", title="Small area",
                          opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1),
                          areas={"North": 26_000, "South": 20_000, "East": 4_000})
    rows, _ = citizen_rows(300, seed=11, areas=["North", "South"])
    # Two residents of different middle-aged groups, so that raking can reach East's total.
    east = [next(r for r in rows if r["age_band"] == band and r["sex"] == sex
                 and r["area"] != "prefer_not") for band, sex in (("45-54", "female"),
                                                                  ("55-64", "male"))]
    for row in east:
        row["area"] = "East"
    for i, row in enumerate(rows):
        used = [s for s in row["services_used"].split("|") if s not in ("drug_alcohol", "none")]
        if i < 2:
            used.append("drug_alcohol")
        row["services_used"] = "|".join(used) or "none"
    _store(session, round_, rows, datetime.now(UTC))
    session.commit()
    return round_


def _viewers(session: Session, place: Place) -> Iterator[str]:
    for role in (Role.LEAD, Role.PARTNER):
        yield make_user(session, place, role).email


def test_viewers_cannot_read_survey_results_at_all(client: PageClient, session: Session,
                                                     place: Place) -> None:
    round_ = adversarial_readiness(session, place)
    viewer = make_user(session, place, Role.VIEWER)
    session.commit()
    client.sign_in(viewer.email)
    base = f"/places/{place.slug}/surveys"
    for url in (f"{base}/{round_.id}/results", f"{base}/{round_.id}/results.csv",
                f"{base}/{round_.id}/report", f"{base}/{round_.id}/charts/partners.svg",
                f"{base}/compare"):
        assert client.get(url).status_code == 403, url


def test_small_readiness_groups_cannot_be_recovered(client: PageClient, session: Session,
                                                    place: Place) -> None:
    round_ = adversarial_readiness(session, place)
    emails = list(_viewers(session, place))
    session.commit()
    for email in emails:
        client.cookies.clear()
        client.sign_in(email)
        found = Findings()
        check_readiness(client, session, place, round_, found)
        assert found.problems == [], (f"{len(found.problems)} leaks as {email}:\n"
                                      + "\n".join(found.problems))
        # Police (4) in each of 17 lines, practice and gap; system leaders (2) the same.
        assert found.attacked == 2 * 2 * 17


def test_small_citizen_areas_and_services_cannot_be_recovered(
        client: PageClient, session: Session, place: Place) -> None:
    round_ = adversarial_citizen(session, place)
    emails = list(_viewers(session, place))
    session.commit()
    for email in emails:
        client.cookies.clear()
        client.sign_in(email)
        found = Findings()
        check_citizen(client, session, place, round_, found)
        assert found.problems == [], (f"{len(found.problems)} leaks as {email}:\n"
                                      + "\n".join(found.problems))
        assert found.attacked == 5  # East, in each of the five measures


def test_demo_survey_results_cannot_be_recovered(client: PageClient, session: Session,
                                                 demo: DemoLike) -> None:  # noqa: F811
    load_demo_surveys(session, demo.place_slug)
    session.commit()
    place = session.query(Place).filter_by(slug=demo.place_slug).one()
    found = Findings()
    client.sign_in(email_for(Role.PARTNER), DEMO_PASSWORD)
    rounds = session.query(SurveyRound).filter_by(place_id=place.id).all()
    assert len(rounds) == 3
    for round_ in rounds:
        check = check_readiness if round_.instrument_key == "readiness" else check_citizen
        check(client, session, place, round_, found)
    assert found.problems == [], f"{len(found.problems)} leaks:\n" + "\n".join(found.problems)
    assert found.attacked > 0  # the demo has small partner groups to attack
