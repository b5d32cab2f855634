"""The overview's headline of what changed between two linkage runs: merges, splits and new
persons, exact for analysts with a link to the run page, controlled for everyone else."""

from __future__ import annotations

from pathlib import Path

import pytest

from joinedup.board.run_changes import latest_changes, run_changes_section
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.store import connect


def _store(tmp_path: Path, runs: list[tuple[int, str, int, int, int]]) -> object:
    con = connect(tmp_path / "p.duckdb", memory_limit="256MB", threads=1)
    for run_id, status, persons, merges, splits in runs:
        con.execute("INSERT INTO link_runs (run_id, status, n_persons, n_merges, n_splits) "
                    "VALUES (?, ?, ?, ?, ?)", [run_id, status, persons, merges, splits])
    return con


def test_one_run_says_there_is_nothing_to_compare(tmp_path: Path) -> None:
    con = _store(tmp_path, [(1, "done", 500, 0, 0)])
    section = run_changes_section(con, PlaceContext(slug="p"), analyst=True)  # type: ignore[arg-type]
    assert not section.figures and "linked twice" in section.empty


def test_new_persons_take_merges_and_splits_back_out(tmp_path: Path) -> None:
    # 500 persons, then 7 merges (7 fewer), 3 splits (3 more) and 40 new: 536.
    con = _store(tmp_path, [(1, "done", 500, 0, 0), (2, "done", 536, 7, 3), (3, "failed", 1, 0, 0)])
    changes = latest_changes(con)  # type: ignore[arg-type]
    assert changes is not None
    got = (changes.run_id, changes.previous_run_id, changes.merged, changes.split, changes.new)
    assert got == (2, 1, 7, 3, 40)


@pytest.mark.parametrize("analyst", [True, False])
def test_analysts_see_exact_counts_and_the_run_others_see_them_controlled(
    tmp_path: Path, analyst: bool
) -> None:
    rule = DisclosureRule(threshold=10, rounding=5)
    con = _store(tmp_path, [(1, "done", 500, 0, 0), (2, "done", 536, 7, 3), (4, "done", 600, 12, 1)])
    # Run 4 against run 2: 12 merged, 1 split, 600 - 536 + 12 - 1 = 75 new.
    section = run_changes_section(con, PlaceContext(slug="p", rule=rule), analyst=analyst)  # type: ignore[arg-type]
    values = [f.value for f in section.figures]
    links = {f.link for f in section.figures}
    if analyst:
        assert values == ["12", "1", "75"] and links == {"/places/p/insight/runs/4"}
    else:
        assert values == [str(rule.round(12)), "Not shown", str(rule.round(75))] and links == {""}
