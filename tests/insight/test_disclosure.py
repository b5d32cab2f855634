"""Disclosure control: primary suppression, rounding and secondary suppression."""

from __future__ import annotations

import itertools

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.insight.disclosure import (
    DisclosureRule,
    control_counts,
    control_money,
    control_table,
    control_vector,
)

RULE = DisclosureRule()


def test_default_rule_suppresses_one_to_seven_and_rounds_to_five() -> None:
    assert control_counts([0, 1, 7, 8, 12, 13, 102], RULE) == [0, None, None, 10, 10, 15, 100]


def test_rule_is_configurable() -> None:
    rule = DisclosureRule(threshold=10, rounding=10)
    assert control_counts([9, 10, 14, 15], rule) == [None, 10, 10, 20]
    assert "1 to 9" in rule.describe()


def test_single_suppressed_cell_gets_a_partner() -> None:
    controlled, total = control_vector([3, 40, 20, 55], RULE)
    assert controlled == [None, 40, None, 55]
    assert total == 120


def test_table_secondary_suppression_protects_rows_and_columns() -> None:
    table = pd.DataFrame([[3, 20, 30], [25, 40, 50], [30, 45, 60]], columns=["a", "b", "c"])
    out = control_table(table, RULE)
    body = out.iloc[:3, :3]
    for r in range(3):
        assert sum(v is None for v in body.iloc[r]) != 1
    for c in range(3):
        assert sum(v is None for v in body.iloc[:, c]) != 1
    assert out.loc["Total", "Total"] == 305


@settings(deadline=None)  # each table is audited with linear programmes
@given(st.lists(st.lists(st.integers(0, 60), min_size=3, max_size=3), min_size=2, max_size=5))
def test_no_row_or_column_has_a_lone_suppressed_cell(rows: list[list[int]]) -> None:
    out = control_table(pd.DataFrame(rows), RULE, margins=False)
    for r, c in itertools.product(range(out.shape[0]), range(out.shape[1])):
        value = out.iat[r, c]
        assert value is None or value % 5 == 0
    for r in range(out.shape[0]):
        row = [out.iat[r, c] is None for c in range(out.shape[1])]
        nonzero_others = [rows[r][c] > 0 for c in range(out.shape[1]) if not row[c]]
        assert sum(row) != 1 or not any(nonzero_others)


def test_money_follows_persons() -> None:
    assert control_money(12_345.0, 3, RULE) is None
    # Rounded to 5 × the unit cost behind it: cost ÷ unit cost gives back only the rounded count.
    assert control_money(12_345.0, 30, RULE, unit=650.0) == 13_000.0
    assert control_money(19 * 650.0, 30, RULE, unit=650.0) / 650.0 == RULE.round(19)


def test_rule_for_place() -> None:
    class Place:
        disclosure_threshold = 11
        disclosure_rounding = 10

    assert DisclosureRule.for_place(Place()) == DisclosureRule(11, 10)
    assert DisclosureRule.for_place(None) == DisclosureRule()
