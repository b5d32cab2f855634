"""Who answered, against the adults they stand for: the sentence on the results page.

Computed from the respondents used in the weighting and the margins they are weighted to,
never written by hand: which groups answered more often and which less, and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

AGE_SEX = "age_sex"
AGE = "age_band"
SEX = "sex"
AREA = "area"
#: A group whose share of respondents is this far (in proportion) from its share of the
#: population is named in the sentence on who answered more or less often.
REPRESENTATION_MIN_GAP = 0.02


@dataclass(frozen=True)
class Representation:
    """One group's share of the respondents against its share of the adults."""

    variable: str
    level: str
    label: str
    sample_share: float
    population_share: float


def group_label(var: str, level: str) -> str:
    """A margin level as a page says it: 'men aged 16-24', 'women', 'North'."""
    if var == AGE_SEX:
        band, _, sex = level.rpartition(" ")
        return f"{'women' if sex == 'female' else 'men'} aged {band}"
    if var == SEX:
        return "women" if level == "female" else "men"
    if var == AGE:
        return f"people aged {level}"
    if var == AREA:
        return f"people in {level}"
    return level


def representation(data: pl.DataFrame, totals: Mapping[str, Mapping[str, float]]
                   ) -> list[Representation]:
    """Each group's share of the weighted respondents against its share of the margins:
    by age band and by sex (from an age × sex margin) and by every other margin."""
    n = data.height
    out: list[Representation] = []
    for var, margin in totals.items():
        grand = float(sum(margin.values()))
        counts = {str(k): int(v) for k, v in
                  data.get_column(var).cast(pl.Utf8).value_counts().iter_rows()}
        if var == AGE_SEX:
            for part, pick in ((AGE, 0), (SEX, 1)):
                pop: dict[str, float] = {}
                seen: dict[str, int] = {}
                for level, total in margin.items():
                    key = level.rsplit(" ", 1)[pick]
                    pop[key] = pop.get(key, 0.0) + total
                    seen[key] = seen.get(key, 0) + counts.get(level, 0)
                out += [Representation(part, k, group_label(part, k), seen[k] / n,
                                       pop[k] / grand) for k in pop]
        else:
            out += [Representation(var, level, group_label(var, level),
                                   counts.get(level, 0) / n, total / grand)
                    for level, total in margin.items()]
    return out


def representation_sentence(groups: Sequence[Representation]) -> str:
    """Who answered more often and who less, against the adults, in one plain sentence:
    the two groups most over- and the two most under-represented, by percentage points."""
    def gap(r: Representation) -> float:
        return r.sample_share - r.population_share

    over = sorted((r for r in groups if gap(r) >= REPRESENTATION_MIN_GAP), key=gap,
                  reverse=True)[:2]
    under = sorted((r for r in groups if -gap(r) >= REPRESENTATION_MIN_GAP), key=gap)[:2]
    if not over and not under:
        return (f"Here each group weighted on was within {REPRESENTATION_MIN_GAP:.0%} "
                "(in percentage points) of its share of adults among those who answered.")
    first = True

    def say(rs: list[Representation]) -> str:
        nonlocal first
        parts = []
        for r in rs:
            of = " of answers, " if first else ", "
            end = " of adults" if first else ""
            parts.append(f"{r.label} ({r.sample_share:.0%}{of}{r.population_share:.0%}{end})")
            first = False
        return " and ".join(parts)

    clauses = []
    if over:
        clauses.append(f"more of those who answered were {say(over)}")
    if under:
        clauses.append(f"fewer were {say(under)}")
    return "Here " + "; ".join(clauses) + "."
