"""An NHS or National Insurance number a keying slip apart (one character wrong or two
swapped; for an NHS number, in its first nine digits) is a level of its own, weighing nought.

Without it, EM learned what a different number is worth from the slips as well: on the hard
place of a million records, where 2% of records carry a number mistyped yet valid, a different
NHS number cost 3.2 bits, though only 1% of one person's pairs of numbers differ by more than a
slip (4.2 bits with the level). A slip weighs nought rather than for the pair: a twin's number
may be the next one issued.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from joinedup.insight.link import link_place
from joinedup.insight.model import ALL_FIELDS, comparisons
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.support.model_levels import level_of
from tests.support.namesakes import nhs


@pytest.mark.parametrize(
    ("left", "right", "label"),
    [
        (nhs("401023456"), nhs("401023456"), "Same NHS number"),
        (nhs("401023456"), nhs("401028456"), "NHS numbers a keying slip apart"),  # check digit recomputed
        (nhs("401023456"), nhs("401032456"), "NHS numbers a keying slip apart"),  # two digits swapped
        (nhs("401023456"), nhs("401023456")[:9] + "9", "NHS numbers a keying slip apart"),  # check digit
        (nhs("401023456"), nhs("401023457"), "NHS numbers a keying slip apart"),  # the next number issued
        # The first three digits: only the last three of the nine are left to test first.
        (nhs("401023456"), nhs("501023456"), "NHS numbers a keying slip apart"),
        (nhs("401023456"), nhs("410023456"), "NHS numbers a keying slip apart"),
        (nhs("401023456"), nhs("401093856"), "Different NHS number"),  # two digits wrong
        (nhs("401023456"), nhs("943476512"), "Different NHS number"),
    ],
)
def test_nhs_numbers(left: str, right: str, label: str) -> None:
    assert level_of("nhs_number", left, right) == label


@pytest.mark.parametrize(
    ("left", "right", "label"),
    [
        ("JX123456A", "JX123456A", "Same National Insurance number"),
        ("JX123456A", "JX123457A", "National Insurance numbers a keying slip apart"),
        ("JX123456A", "JX124356A", "National Insurance numbers a keying slip apart"),
        ("JX123456A", "X123456A", "National Insurance numbers a keying slip apart"),  # a letter missing
        ("JX123456A", "JX123456", "National Insurance numbers a keying slip apart"),  # the suffix missing
        ("JX123456A", "JX923456B", "Different National Insurance number"),
        ("JX123456A", "PY654321B", "Different National Insurance number"),
    ],
)
def test_national_insurance_numbers(left: str, right: str, label: str) -> None:
    assert level_of("ni_number", left, right) == label


def test_a_slip_weighs_nought() -> None:
    for comparison in comparisons(ALL_FIELDS):
        for level in comparison.get_comparison("duckdb").comparison_levels:
            if "a keying slip apart" in str(level.label_for_charts):
                assert level.m_probability == level.u_probability
                assert level._fix_m_probability and level._fix_u_probability  # noqa: SLF001


def _mistype(con: duckdb.DuckDBPyConnection, every: int) -> int:
    """Mistype one of the first nine digits of every ``every``-th NHS number, its check digit
    recomputed (as the hard place's ``nhs_valid_typo``); return how many were changed."""
    rows = con.execute(
        "SELECT source, record_id, nhs_number FROM records WHERE nhs_number IS NOT NULL "
        "ORDER BY source, record_id"
    ).fetchall()
    changed = 0
    for i, (source, record_id, number) in enumerate(rows):
        if i % every:
            continue
        for step in range(1, 10):
            nine = number[:4] + str((int(number[4]) + step) % 10) + number[5:9]
            try:
                slipped = nhs(nine)
            except AssertionError:  # no valid number starts with these digits
                continue
            con.execute(
                "UPDATE records SET nhs_number = ? WHERE source = ? AND record_id = ?",
                [slipped, source, record_id],
            )
            changed += 1
            break
    return changed


def test_slips_do_not_teach_the_model_that_a_different_number_is_common(tmp_path: Path) -> None:
    generate_place(1500, tmp_path / "extracts", seed=7, formats="csv")
    con = connect(tmp_path / "place.duckdb", memory_limit="1GB", threads=2)
    ingest_directory(con, tmp_path / "extracts")
    assert _mistype(con, every=8) > 100
    link_place(con, work_dir=tmp_path / "work", seed=42)
    stored = con.execute("SELECT model_json FROM link_models ORDER BY model_id DESC LIMIT 1").fetchone()
    con.close()
    assert stored is not None
    levels = {
        level["label_for_charts"]: level
        for comparison in json.loads(stored[0])["comparisons"]
        if comparison["output_column_name"] == "nhs_number"
        for level in comparison["comparison_levels"] if "label_for_charts" in level
    }  # fmt: skip
    # One number in eight mistyped puts a slip in about one true pair in five that hold two
    # numbers. Without the slip's level EM counted them all as "different" (m about 0.2).
    assert levels["Different NHS number"]["m_probability"] < 0.05
