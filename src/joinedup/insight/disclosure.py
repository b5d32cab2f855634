"""Disclosure control for every aggregate that leaves the analyst role.

The default follows NHS Digital's rule for sub-national counts of individuals: counts of
1 to 7 are suppressed and every other count is rounded to the nearest 5. Secondary
suppression then hides a further cell wherever a suppressed cell could be worked out from
a total that is shown (a row, a column, or a table total). The rule is configurable per
place (``Place.disclosure_threshold`` and ``Place.disclosure_rounding``).

Suppressed values are ``None``; :func:`shown` turns them into ``SUPPRESSED`` for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "SUPPRESSED",
    "DisclosureRule",
    "control_counts",
    "control_money",
    "control_table",
    "control_vector",
    "shown",
]

SUPPRESSED = "*"


@dataclass(frozen=True)
class DisclosureRule:
    threshold: int = 8  # counts 1 .. threshold-1 are suppressed
    rounding: int = 5  # other counts are rounded to the nearest multiple

    @classmethod
    def for_place(cls, place: object | None) -> DisclosureRule:
        if place is None:
            return cls()
        return cls(
            threshold=int(getattr(place, "disclosure_threshold", 8) or 8),
            rounding=int(getattr(place, "disclosure_rounding", 5) or 1),
        )

    def is_small(self, count: int) -> bool:
        return 0 < count < self.threshold

    def round(self, count: int) -> int:
        step = max(1, self.rounding)
        # Half up, so 12.5 → 15 as in NHS Digital's published tables.
        return int((count + step / 2) // step * step)

    def describe(self) -> str:
        return (
            f"Counts from 1 to {self.threshold - 1} are suppressed (shown as {SUPPRESSED}) and "
            f"other counts are rounded to the nearest {self.rounding}."
        )


def control_counts(counts: Sequence[int], rule: DisclosureRule) -> list[int | None]:
    """Primary suppression and rounding only (use when no total is shown)."""
    return [None if rule.is_small(int(c)) else rule.round(int(c)) for c in counts]


def _secondary(suppressed: list[bool], counts: Sequence[int]) -> bool:
    """If exactly one cell of a group with a shown total is suppressed, hide the smallest
    other non-zero cell too. Returns True if anything changed."""
    hidden = [i for i, s in enumerate(suppressed) if s]
    if len(hidden) != 1:
        return False
    candidates = [i for i, s in enumerate(suppressed) if not s and int(counts[i]) > 0]
    if not candidates:
        return False
    smallest = min(candidates, key=lambda i: (int(counts[i]), i))
    suppressed[smallest] = True
    return True


def control_vector(counts: Sequence[int], rule: DisclosureRule) -> tuple[list[int | None], int]:
    """Counts that add up to a shown total: primary and secondary suppression, rounding.

    Returns the controlled counts and the rounded total (computed from unrounded data).
    """
    suppressed = [rule.is_small(int(c)) for c in counts]
    _secondary(suppressed, counts)
    controlled = [None if s else rule.round(int(c)) for s, c in zip(suppressed, counts, strict=True)]
    total = sum(int(c) for c in counts)
    return controlled, (0 if total == 0 else rule.round(total))


def control_table(table: pd.DataFrame, rule: DisclosureRule, *, margins: bool = True) -> pd.DataFrame:
    """A two-way table of counts with row and column totals shown.

    Primary suppression, then secondary suppression across rows and columns repeated until
    no row or column has a single suppressed cell, then rounding. Totals are computed from
    the unrounded counts and then controlled themselves.
    """
    counts = table.fillna(0).astype(int)
    mask = counts.map(rule.is_small)
    changed = True
    while changed:
        changed = False
        for r in range(counts.shape[0]):
            row = list(mask.iloc[r])
            if _secondary(row, list(counts.iloc[r])):
                mask.iloc[r] = row
                changed = True
        for c in range(counts.shape[1]):
            col = list(mask.iloc[:, c])
            if _secondary(col, list(counts.iloc[:, c])):
                mask.iloc[:, c] = col
                changed = True
    out = counts.map(rule.round).astype(object).where(~mask, None)
    if margins:
        row_totals = counts.sum(axis=1)
        col_totals = counts.sum(axis=0)
        out["Total"] = [None if rule.is_small(int(t)) else rule.round(int(t)) for t in row_totals]
        total_row = [None if rule.is_small(int(t)) else rule.round(int(t)) for t in col_totals]
        grand = int(counts.to_numpy().sum())
        out.loc["Total"] = [*total_row, None if rule.is_small(grand) else rule.round(grand)]
    return out


def control_money(value: float, persons: int, rule: DisclosureRule) -> float | None:
    """A cost is shown only when the persons behind it could be shown; to the nearest £100."""
    if rule.is_small(int(persons)):
        return None
    return float(round(value / 100.0) * 100)


def shown(value: object) -> object:
    return SUPPRESSED if value is None or (isinstance(value, float) and value != value) else value
