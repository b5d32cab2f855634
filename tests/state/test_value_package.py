"""Value accounts in the package (method joinedup-state/2): a real account of the demo-like
place validates with frictionless and carries exactly what a viewer reads; differencing it
against the other tables, or against the package published after a recompute a few people
apart, recovers no exact or hidden figure; withheld accounts and hidden measures give
nothing; tampered rows are refused naming the package and the row; /1 packages still load."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from joinedup.collaborations.charters import get_collaboration
from joinedup.config import Settings
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.state.compare import NO_VALUE_VERSION, compare
from joinedup.state.load import check_package
from joinedup.state.package import frictionless_errors
from joinedup.state.publish import publish_place
from joinedup.state.report import to_csv, to_html
from joinedup.state.value_figures import account_row
from joinedup.synth.places import PLACES, write_demo_places
from joinedup.value.published import withhold
from joinedup.value.settings import account_of
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike
from tests.support.value_place import (  # noqa: F401  (fixtures)
    ACCOUNT,
    COLLAB,
    PROGRAMME_SIZE,
    SLUG,
    programme_store,
    set_up_account,
    sign_in_as,
    value_place,
)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _stored(session: Session) -> Any:
    session.expire_all()
    place = get_place(session, SLUG)
    assert place is not None
    collab = get_collaboration(session, place, COLLAB)
    assert collab is not None
    account = account_of(session, collab)
    assert account is not None and account.result is not None
    return account.result


def _numbers(text: str) -> set[float]:
    out = set()
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            with contextlib.suppress(ValueError):
                out.add(float(cell))
    return out


def test_a_real_account_is_published_as_a_viewer_reads_it_and_validates(
    client: PageClient, session: Session, settings: Settings, value_place: DemoLike,  # noqa: F811
    tmp_path: Path,
) -> None:
    set_up_account(client, session)
    stored = _stored(session)
    package = publish_place(settings, SLUG, tmp_path / "package")
    assert frictionless_errors(package) == []
    loaded = check_package(package)
    assert loaded.ok, loaded.problems
    (row,) = loaded.tables["value_accounts"]
    published, exact = stored.published, stored.account
    assert row["collaboration"] == COLLAB and row["state"] == "published"
    # The size is the published one (153 people rounded to 155), never the exact one.
    assert row["programme_persons"] == published["n_programme"] == 155 != PROGRAMME_SIZE
    totals = published["totals"]
    assert row["npv"] == totals["npv"] and row["npv"] % 100 == 0
    assert row["fiscal_return"] == totals["fiscal_roi"]
    assert row["public_value_return"] == totals["public_value_roi"]
    mc = published["monte_carlo"]
    if row["public_value_return_lci"] is not None:
        assert (row["public_value_return_lci"], row["public_value_return_uci"]) == (
            mc["roi_low"], mc["roi_high"])
    shown = {m["label"] for m in published["measures"] if m.get("effect") is not None}
    assert row["headline_measure"] in shown
    # No exact figure of the analyst's account is anywhere in the table.
    text = (package / "value_accounts.csv").read_text(encoding="utf-8")
    numbers = _numbers(text)
    exact_totals = exact["totals"]
    for key in ("npv", "pv_fiscal", "fiscal_npv", "pv_economic", "pv_social"):
        assert round(exact_totals[key]) not in numbers, key
    assert PROGRAMME_SIZE not in numbers


def test_differencing_the_value_table_recovers_no_exact_size(
    client: PageClient, session: Session, settings: Settings, value_place: DemoLike,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The attacker holds two packages, published before and after five people joined the
    programme (153 → 158: five is a count the rule hides), and every other table of them.
    Every figure of the value table is the same in both, so subtracting gives 0, which is
    consistent with every hidden count; money divided by the per-person value gives the
    published size, not the true one."""
    set_up_account(client, session)
    first_dir = publish_place(settings, SLUG, tmp_path / "first")
    first = check_package(first_dir)
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        outside = [r[0] for r in con.execute(
            "SELECT DISTINCT person_id FROM person_links WHERE person_id NOT IN "
            "(SELECT person_id FROM person_links WHERE source = 'fulfilling_lives') "
            "ORDER BY person_id LIMIT 5").fetchall()]
        for i, pid in enumerate(outside):
            con.execute("INSERT INTO records (source, record_id, event_date) VALUES "
                        "('fulfilling_lives', ?, DATE '2024-03-01')", [f"EXTRA{i}"])
            con.execute("INSERT INTO person_links VALUES ('fulfilling_lives', ?, ?)",
                        [f"EXTRA{i}", pid])
    finally:
        con.close()
    sign_in_as(client, Role.LEAD)
    assert client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT).status_code == 303
    stored = _stored(session)
    assert stored.account["n_programme"] == PROGRAMME_SIZE + 5
    second = check_package(publish_place(settings, SLUG, tmp_path / "second"))
    assert first.ok and second.ok, first.problems + second.problems
    (a,) = first.tables["value_accounts"]
    (b,) = second.tables["value_accounts"]
    assert a["programme_persons"] == b["programme_persons"] == 155
    # Money ÷ (money per person of the exact account) is the published size, within the
    # rounding of money to £100, and never the exact size of either publication.
    exact = stored.account["totals"]
    per_person = (exact["npv"] + exact["pv_costs"]) / (PROGRAMME_SIZE + 5)
    implied = (b["npv"] + stored.published["totals"]["pv_costs"]) / per_person
    assert abs(implied - 155) < 1 and abs(implied - (PROGRAMME_SIZE + 5)) > 2
    # No count in any other table of either package equals an exact programme size.
    for pkg in (first, second):
        for name, rows in pkg.tables.items():
            for r in rows:
                for key in ("persons", "programme_persons"):
                    assert r.get(key) not in (PROGRAMME_SIZE, PROGRAMME_SIZE + 5), (name, r)


def test_a_withheld_account_or_a_hidden_measure_gives_nothing() -> None:
    class _C:
        slug, name = "c", "Collab"

    published = {
        "n_programme": 155, "data_start": "2023-04-01", "data_end": "2025-03-31",
        "parameters": {"headline_measure": "secret", "discount_rate": 0.035},
        "measures": [
            {"key": "secret", "label": "Secret measure", "effect": None, "ci_low": None,
             "ci_high": None, "hidden": "Fewer than 10 events"},
            {"key": "arrests", "label": "Arrests", "effect": -0.2, "ci_low": -0.3,
             "ci_high": -0.1, "method": "did"}],
        "totals": {"npv": 12300.0, "fiscal_roi": 0.8, "public_value_roi": 1.4,
                   "payback_years": 3.5},
        "monte_carlo": {"roi_low": 1.1, "roi_high": 1.7},
        "hidden": {"money": "The money leaves out Secret measure."},
    }
    row = account_row(_C(), published, 2)  # type: ignore[arg-type]
    assert row["headline_measure"] == "Arrests"
    assert "Secret measure" not in json.dumps({k: v for k, v in row.items() if k != "note"})
    gone = account_row(_C(), withhold(published, "Withheld: too near."), 2)  # type: ignore[arg-type]
    assert gone["state"] == "withheld"
    assert set(gone) == {"collaboration", "name", "state", "settings_version", "note"}


def _places(tmp_path: Path) -> list[Path]:
    return write_demo_places(tmp_path / "places")


def test_a_tampered_value_account_is_refused_naming_package_and_row(tmp_path: Path) -> None:
    places = _places(tmp_path)
    target = places[0] / "value_accounts.csv"
    rows = _rows(target)
    published = next(i for i, r in enumerate(rows) if r["state"] == "published")
    rows[published]["programme_persons"] = "7"
    _write(target, rows)
    problems = check_package(places[0]).problems
    line = published + 2
    assert f"eastmere: value_accounts.csv row {line}: programme_persons is 7, a count the rule " \
           f"hides (1 to 7), so the package has been altered" in problems
    rows[published]["programme_persons"] = "150"
    rows[published]["public_value_return"] = str(float(rows[published]["public_value_return_uci"]) + 1)
    _write(target, rows)
    problems = check_package(places[0]).problems
    assert any(p.startswith(f"eastmere: value_accounts.csv row {line}: public_value_return")
               and "outside its interval" in p for p in problems), problems
    # A withheld account that carries figures is refused too.
    rows = _rows(places[0] / "value_accounts.csv")
    withheld = next(r for r in rows if r["state"] == "withheld")
    withheld["npv"] = "1000"
    _write(places[0] / "value_accounts.csv", rows)
    assert any("a withheld account carries figures" in p
               for p in check_package(places[0]).problems)
    # The comparison leaves the tampered package out, names it, and shows the rest.
    result = compare([check_package(p) for p in places])
    assert len(result.places) == 4 and all(p.startswith("eastmere:") for p in result.problems)
    assert {v.place for v in result.value} == {"harrowfield", "lowdale", "kingsbridge-vale"}


def test_an_older_package_is_read_without_value_accounts(tmp_path: Path) -> None:
    places = _places(tmp_path)
    old = places[1]
    desc = json.loads((old / "datapackage.json").read_text())
    desc["joinedup"]["method"] = "joinedup-state/1"
    desc["resources"] = [r for r in desc["resources"] if r["name"] != "value_accounts"]
    (old / "datapackage.json").write_text(json.dumps(desc))
    (old / "value_accounts.csv").unlink()
    assert frictionless_errors(old) == []
    loaded = check_package(old)
    assert loaded.ok, loaded.problems
    assert loaded.tables["value_accounts"] == [] and loaded.missing == ["value_accounts"]
    result = compare([check_package(p) for p in places])
    assert result.problems == [] and result.value_notes == {"harrowfield": NO_VALUE_VERSION}
    assert "Harrowfield: No value accounts in this package&#39;s method version" in to_html(result)
    assert NO_VALUE_VERSION in to_csv(result)


def test_the_comparison_ranks_returns_only_where_intervals_part(tmp_path: Path) -> None:
    result = compare([check_package(p) for p in _places(tmp_path)])
    shown = [v for v in result.value if v.public_value.value is not None]
    assert len(shown) >= 4 and any(v.state == "withheld" for v in result.value)
    for v in shown:
        assert v.fiscal.rank is None  # no interval, so never ranked
        c = v.public_value
        assert c.lci is not None and c.uci is not None and c.lci <= c.value <= c.uci
        others = [o.public_value for o in shown if o is not v]
        parted = [o for o in others if o.lci > c.uci or o.uci < c.lci]  # type: ignore[operator]
        assert (c.rank is not None) == bool(parted)
    html = to_html(result)
    assert "Collaborations and their measured value" in html and "Withheld" in html
    assert len(PLACES) == 5
    shutil.rmtree(tmp_path / "places")
