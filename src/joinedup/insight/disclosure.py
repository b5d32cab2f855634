"""Disclosure control for every aggregate that leaves the analyst role.

The rule (:mod:`joinedup.insight.disclosure_rule`) hides small counts and rounds the rest.
Figures that add up – a table and its totals, cohorts made of combinations of needs, a
partner's demand made of its services' – are controlled together as one family
(:mod:`joinedup.insight.disclosure_family`), so that no total minus its shown parts narrows
a hidden cell. Money is rounded to the rounding base times its unit cost, so that cost
divided by a unit cost gives back no more than the rounded count. Periods are fixed
financial years (:mod:`joinedup.insight.periods`), so that no two published periods can be
subtracted; a year's quarters are controlled as one family with the year
(:mod:`joinedup.insight.quarterly`).

Suppressed values are ``None``; :func:`shown` turns them into ``SUPPRESSED`` for display.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from joinedup.insight.disclosure_family import ControlledFamily, Line, control_family
from joinedup.insight.disclosure_rule import MIN_ROUNDING, MIN_THRESHOLD, SUPPRESSED, DisclosureRule

__all__ = [
    "MIN_ROUNDING",
    "MIN_THRESHOLD",
    "SUPPRESSED",
    "ControlledFamily",
    "DisclosureRule",
    "Line",
    "control_counts",
    "control_family",
    "control_money",
    "control_table",
    "control_vector",
    "shown",
]


def control_counts(counts: Sequence[int], rule: DisclosureRule) -> list[int | None]:
    """Primary suppression and rounding only (use when no total or sum of them is shown)."""
    return [None if rule.is_small(int(c)) else rule.round(int(c)) for c in counts]


def control_vector(counts: Sequence[int], rule: DisclosureRule) -> tuple[list[int | None], int | None]:
    """Counts that add up to a shown total, controlled as one family.

    Returns the controlled counts and the published total: the sum of the shown, rounded
    counts plus the rounded sum of the hidden ones (None if the total itself is small).
    """
    family = control_family(counts, [Line(tuple(range(len(counts))), "total")], rule)
    total = family.totals[0]
    return family.cells, (0 if sum(int(c) for c in counts) == 0 else total)


def control_table(table: pd.DataFrame, rule: DisclosureRule, *, margins: bool = True) -> pd.DataFrame:
    """A two-way table of counts with row, column and grand totals, controlled as one family."""
    counts = table.fillna(0).astype(int)
    n_rows, n_cols = counts.shape
    flat = [int(v) for v in counts.to_numpy().ravel()]
    rows = [Line(tuple(r * n_cols + c for c in range(n_cols)), f"row {r}") for r in range(n_rows)]
    cols = [Line(tuple(r * n_cols + c for r in range(n_rows)), f"column {c}") for c in range(n_cols)]
    lines = [*rows, *cols, Line(tuple(range(len(flat))), "total")] if margins else [*rows, *cols]
    family = control_family(flat, lines, rule)
    values = [family.cells[r * n_cols : (r + 1) * n_cols] for r in range(n_rows)]
    out = pd.DataFrame(values, index=counts.index, columns=counts.columns, dtype=object)
    if margins:
        out["Total"] = family.totals[:n_rows]
        out.loc["Total"] = [*family.totals[n_rows : n_rows + n_cols], family.totals[-1]]
    return out


def control_money(value: float, persons: int, rule: DisclosureRule, unit: float = 1.0) -> float | None:
    """A cost is shown only when the persons behind it could be shown, rounded to the rounding
    base times ``unit`` (the largest unit cost behind it)."""
    if rule.is_small(int(persons)) or value != value:
        return None
    return rule.round_money(float(value), unit)


def shown(value: object) -> object:
    return SUPPRESSED if value is None or (isinstance(value, float) and value != value) else value
