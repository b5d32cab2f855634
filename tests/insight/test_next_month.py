"""Next month's extracts of a synthetic place (issue 9): the same sources with last month's
rows unchanged and the month's new rows added, deterministic by seed, and linked
incrementally with the persons of untouched people left as they were."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from joinedup.insight.link import LinkResult, link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from joinedup.synth.next_month import month_start, next_month

PEOPLE, SEED = 300, 7


def _truth(folder: Path) -> dict[str, int]:
    with (folder / "truth.csv").open(encoding="utf-8") as handle:
        return {f"{r['source']}|{r['record_id']}": int(r["person"]) for r in csv.DictReader(handle)}


def _persons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT source || '|' || record_id, person_id FROM person_links").fetchall())


def test_month_one_is_last_month_and_more_and_the_same_each_time(tmp_path: Path) -> None:
    generate_place(PEOPLE, tmp_path / "now", SEED, formats="csv")
    next_month(PEOPLE, tmp_path / "a", SEED, 1, formats="csv")
    next_month(PEOPLE, tmp_path / "b", SEED, 1, formats="csv")
    next_month(PEOPLE, tmp_path / "two", SEED, 2, formats="csv")
    for path in sorted((tmp_path / "now").glob("*.csv")):
        if path.name == "truth.csv":
            continue
        before = path.read_bytes().splitlines()
        after = (tmp_path / "a" / path.name).read_bytes().splitlines()
        assert after[: len(before)] == before, f"{path.name}: last month's rows changed"
        assert (tmp_path / "b" / path.name).read_bytes() == (tmp_path / "a" / path.name).read_bytes()
        # Month 2's extract holds month 1's rows too, as a partner's cumulative extract does.
        assert (tmp_path / "two" / path.name).read_bytes().splitlines()[: len(after)] == after
        assert (tmp_path / "a" / path.with_suffix(".toml").name).read_text() == path.with_suffix(
            ".toml").read_text()  # the stored mappings reuse  # fmt: skip
    now, month = _truth(tmp_path / "now"), _truth(tmp_path / "a")
    assert set(now) < set(month) and all(month[k] == v for k, v in now.items())
    added = {k: v for k, v in month.items() if k not in now}
    assert any(p in set(now.values()) for p in added.values()), "no returning people"
    assert any(p > PEOPLE for p in added.values()), "no new people"
    assert month_start(1).isoformat() == "2025-04-01" and month_start(10).isoformat() == "2026-01-01"


@dataclass
class Linked:
    before: dict[str, str]
    after: dict[str, str]
    now: dict[str, int]
    month: dict[str, int]
    result: LinkResult


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    root = tmp_path_factory.mktemp("next-month")
    generate_place(PEOPLE, root / "now", SEED, formats="csv")
    next_month(PEOPLE, root / "next", SEED, 1, formats="csv")
    con = connect(root / "place.duckdb", memory_limit="500MB", threads=1)
    try:
        ingest_directory(con, root / "now")
        link_place(con, work_dir=root / "work", seed=42)
        before = _persons(con)
        ingest_directory(con, root / "next")
        result = link_place(con, work_dir=root / "work", seed=42)
        yield Linked(before, _persons(con), _truth(root / "now"), _truth(root / "next"), result)
    finally:
        con.close()


def test_next_month_links_incrementally(linked: Linked) -> None:
    assert linked.result.mode == "incremental"
    added = set(linked.month) - set(linked.now)
    assert linked.result.new_records == len(added & set(linked.after))


def test_untouched_people_keep_their_persons(linked: Linked) -> None:
    touched = {linked.month[k] for k in set(linked.month) - set(linked.now)}
    untouched = [k for k in linked.before if linked.now.get(k) not in touched]
    assert untouched
    # A person of untouched people's records keeps its id, unless a new record joined
    # one of its records to another person (a merge the run page explains): few.
    moved = [k for k in untouched if linked.after.get(k) != linked.before[k]]
    assert len(moved) <= 0.01 * len(untouched), moved[:10]


def test_new_records_of_known_people_join_their_persons(linked: Linked) -> None:
    held: dict[int, Counter[str]] = {}
    for key, person in linked.now.items():
        if key in linked.before:
            held.setdefault(person, Counter())[linked.before[key]] += 1
    returning = [k for k in set(linked.month) - set(linked.now)
                 if linked.month[k] in held and k in linked.after]  # fmt: skip
    assert returning
    joined = [k for k in returning if linked.after[k] == held[linked.month[k]].most_common(1)[0][0]]
    # Linkage is not perfect (nicknames, typos, moves): most, not all, join their person.
    assert len(joined) >= 0.75 * len(returning), (len(joined), len(returning))


def test_the_demo_command_writes_next_months_extracts_with_a_manifest(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app
    from joinedup.insight.manifest import load_manifest

    result = CliRunner().invoke(app, ["demo-next-month", "--out", str(tmp_path), "--month", "1"])
    assert result.exit_code == 0, result.output
    assert "April 2025" in result.output
    entries = load_manifest(tmp_path / "manifest.toml")
    assert {e.source for e in entries} == {"housing_options", "rough_sleeper_outreach",
        "emergency_department", "community_mental_health", "work_coach", "police_custody",
        "offender_management", "drug_alcohol_recovery", "domestic_abuse_support"}  # fmt: skip
    refused = CliRunner().invoke(app, ["demo-next-month", "--out", str(tmp_path), "--month", "0"])
    assert refused.exit_code != 0


def test_the_demos_next_month_repeats_the_demos_own_rows(tmp_path: Path) -> None:
    """`joinedup demo` loads a place with the value account's programme planted in it (its
    events thinned by the background trend, fewer crisis contacts after entry). Next month's
    files must carry those rows, not the same place without the programme: otherwise the
    incremental link finds hundreds of "new" records that are last month's, altered."""
    from joinedup.synth.demo_value import DEMO_PEOPLE, DEMO_PROGRAMME_SIZE, DEMO_SEED, write_demo_next_month
    from joinedup.synth.programme import generate_place_with_programme

    demo = tmp_path / "demo"
    generate_place_with_programme(DEMO_PEOPLE, demo, seed=DEMO_SEED, size=DEMO_PROGRAMME_SIZE)
    later = tmp_path / "later"
    write_demo_next_month(later, 1)
    for name in ("emergency_department.csv", "housing_options.csv", "police_custody.csv"):
        before = (demo / name).read_text(encoding="utf-8").splitlines()
        after = (later / name).read_text(encoding="utf-8").splitlines()
        assert after[: len(before)] == before, f"{name}: last month's rows changed"
        assert len(after) > len(before), f"{name}: no new rows"
