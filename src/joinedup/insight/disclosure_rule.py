"""The disclosure rule of a place: which counts are too small to show, and the rounding.

The default follows NHS Digital's rule for sub-national counts of individuals: counts of
1 to 7 are suppressed and every other count is rounded to the nearest 5. A place may make
the rule stricter, but not weaker than the floor below: a rounding base of 1 with a
threshold of 1 would turn control off for everyone, and whoever needs exact figures is an
analyst, who has person-level access (audited) for that.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIN_ROUNDING", "MIN_THRESHOLD", "SUPPRESSED", "DisclosureRule"]

SUPPRESSED = "*"
# The weakest rule a place may choose: counts of 1 and 2 always hidden, rounding to 3 or more.
MIN_THRESHOLD = 3
MIN_ROUNDING = 3


@dataclass(frozen=True)
class DisclosureRule:
    threshold: int = 8  # counts 1 .. threshold-1 are suppressed
    rounding: int = 5  # other counts are rounded to the nearest multiple

    def __post_init__(self) -> None:
        if self.threshold < MIN_THRESHOLD or self.rounding < MIN_ROUNDING:
            raise ValueError(
                f"a disclosure rule needs a threshold of at least {MIN_THRESHOLD} and a rounding "
                f"base of at least {MIN_ROUNDING}"
            )

    @classmethod
    def for_place(cls, place: object | None) -> DisclosureRule:
        """The place's rule, never weaker than the floor (older databases may hold less)."""
        if place is None:
            return cls()
        threshold = int(getattr(place, "disclosure_threshold", 8) or 8)
        rounding = int(getattr(place, "disclosure_rounding", 5) or 5)
        return cls(threshold=max(MIN_THRESHOLD, threshold), rounding=max(MIN_ROUNDING, rounding))

    def is_small(self, count: int) -> bool:
        return 0 < count < self.threshold

    def round(self, count: int) -> int:
        step = self.rounding
        # Half up, so 12.5 → 15 as in NHS Digital's published tables.
        return int((count + step / 2) // step * step)

    def round_money(self, value: float, unit: float) -> float:
        """Money is rounded to the rounding base times the largest unit cost behind it, so
        that dividing it by a unit cost gives back no more than the rounded count of events;
        then to the nearest £100, so that it does not look more exact than it is."""
        step = self.rounding * max(float(unit), 1.0)
        return float(round(((value + step / 2) // step * step) / 100.0) * 100)

    def describe(self) -> str:
        return (
            f"Counts from 1 to {self.threshold - 1} are suppressed (shown as {SUPPRESSED}) and "
            f"other counts are rounded to the nearest {self.rounding}. Costs are rounded to "
            f"{self.rounding} times the unit cost behind them."
        )
