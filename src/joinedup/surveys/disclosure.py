"""Disclosure control of survey results: the one place that decides which groups are shown.

Respondents are told that results are shown only for groups of at least the place's minimum
group size. Hiding a small group's own row is not enough: the whole round's figure is
published, so with one group hidden, "total minus the groups shown" gives it back (a mean
times its n, less every shown group's mean times its n, leaves the hidden group's sum). The
rule here is built against that attack, for every breakdown of a round (readiness by partner
and by level, citizen voice by area, by service used, and themes):

1. A group with fewer than the minimum number of people behind any of its figures is
   hidden, with its size: nobody sees how many people it holds.
2. People who did not say which group they belong to are never shown as a group; they are
   part of what the total leaves over, like a hidden group.
3. While anything is hidden, more groups are hidden (the smallest shown group first) until
   what the total leaves over is safe: at least two groups, at least the minimum number of
   people together (so the pooled figure is one the rule would publish anyway), enough
   people that a small group's size could still be anything below the minimum, and for each
   small hidden group, the other hidden groups carry at least as much weight as it does, so
   the total alone leaves its figure free to lie anywhere on the scale. For weighted citizen
   figures the weight is the area's share of the weighted total, not its number of answers.

A group hidden to protect another is shown exactly like a small one, so nobody can tell
which of the hidden groups is the small one. The rule is applied once to the stored
results of a round, so every page, chart, CSV and printable report shows the same, and
applies to every role: respondents were promised it without exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from joinedup.surveys.scoring import SPLIT_RANGE

#: What a hidden figure looks like in stored results: no value and no size.
HIDDEN_ESTIMATE: dict[str, Any] = {
    "n": None, "mean": None, "lci": None, "uci": None, "sd": None, "se": None,
    "suppressed": True, "band": None, "shown": False,
}
HIDDEN_PROPORTION: dict[str, Any] = {
    "n": None, "est": None, "se": None, "lci": None, "uci": None, "suppressed": True,
    "shown": False,
}


@dataclass(frozen=True)
class Table:
    """One breakdown of one published figure: people behind it in each group, the people in
    no group (they count in the total but not in any group), and, for weighted figures, each
    group's weight in the total."""

    counts: Mapping[str, int]
    unstated: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)
    unstated_weight: float = 0.0

    def weight(self, group: str) -> float:
        return float(self.weights.get(group, self.counts.get(group, 0)))


def hidden_groups(tables: Sequence[Table], min_size: int) -> frozenset[str]:
    """The groups to hide in every one of `tables` (one breakdown, several figures).

    The same groups are hidden in every figure of a breakdown: hiding a group in one figure
    only would let figures that add up to each other (a strand and its components) give it
    back, and its size would show through the others.
    """
    groups = sorted({g for t in tables for g in t.counts})
    size = {g: max((t.counts.get(g, 0) for t in tables), default=0) for g in groups}
    hidden = {g for t in tables for g, n in t.counts.items() if 0 < n < min_size}
    while True:
        unsafe = [t for t in tables if not _safe(t, hidden, min_size)]
        if not unsafe:
            return frozenset(hidden)
        shown = [g for g in groups if g not in hidden and size[g] > 0]
        if not shown:
            return frozenset(hidden)
        hidden.add(_complement(unsafe[0], hidden, shown, min_size, size))


def _pool(table: Table, hidden: Iterable[str]) -> list[tuple[int, float]]:
    """People and weight of each part of what the total leaves over once the shown groups are
    taken away: every hidden group with people in this figure, and the people in no group."""
    pool = [(table.counts[g], table.weight(g)) for g in hidden if table.counts.get(g, 0) > 0]
    if table.unstated > 0:
        pool.append((table.unstated, table.unstated_weight or float(table.unstated)))
    return pool


def _safe(table: Table, hidden: Iterable[str], min_size: int) -> bool:
    pool = _pool(table, hidden)
    if not pool:
        return True
    people = sum(n for n, _w in pool)
    if len(pool) < 2 or people < min_size:
        return False
    # Each hidden part holds at least one person, so the others' count caps each part's
    # size: a small group's size must still be free to be anything below the minimum.
    if people - (len(pool) - 1) < min_size - 1:
        return False
    total = sum(w for _n, w in pool)
    return all(total - w >= w for n, w in pool if n < min_size)


def _complement(table: Table, hidden: set[str], shown: list[str], min_size: int,
                size: Mapping[str, int]) -> str:
    """The shown group to hide next: the smallest one heavy enough to cover the heaviest
    small hidden group, else the heaviest (which brings the pool closest to safe)."""
    small = [w for n, w in _pool(table, hidden) if n < min_size]
    need = max(small, default=0.0)
    heavy = [g for g in shown if table.weight(g) >= need]
    if heavy:
        return min(heavy, key=lambda g: (size[g], g))
    return max(shown, key=lambda g: (table.weight(g), -size[g], g))


# ── Applying the rule to a round's stored results ───────────────────────────────────────


def protect(body: dict[str, Any], instrument_key: str, min_size: int,
            area_weights: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """The round's results with every breakdown under the rule; changes `body` in place.

    `area_weights` gives, for each citizen measure, each area's weight in the weighted
    figure of that measure (the sum of its respondents' weights).
    """
    if instrument_key == "readiness":
        for by in ("by_partner", "by_level"):
            if body.get(by):
                _protect_readiness_groups(body, body[by], min_size)
    else:
        _protect_citizen(body, min_size, area_weights or {})
    body["disclosure"] = {"min_group_size": min_size}
    return body


def _protect_readiness_groups(body: dict[str, Any], group: dict[str, Any], min_size: int
                              ) -> None:
    names: list[str] = group["groups"]
    lines = {line["key"]: line for line in body.get("lines", [])}
    counts = {g: int(group["counts"][g]) for g in names}
    tables = [Table(counts, unstated=max(0, int(body.get("n", 0)) - sum(counts.values())))]
    for figure, per_group in (("practice", group["scores"]), ("gap", group["gaps"])):
        for key, line in lines.items():
            line_counts = {g: int(per_group[g][key]["n"] or 0) for g in names}
            total = int(line[figure]["n"] or 0)
            tables.append(Table(line_counts, unstated=max(0, total - sum(line_counts.values()))))
    hidden = hidden_groups(tables, min_size)
    for g in hidden:
        group["counts"][g] = None
        for per_group in (group["scores"], group["gaps"]):
            per_group[g] = {k: dict(HIDDEN_ESTIMATE) for k in per_group[g]}
    group["hidden"] = [g for g in names if g in hidden]
    # Range and split compare shown groups only, so they say nothing about hidden ones.
    for key in group.get("ranges", {}):
        values = [group["scores"][g][key]["mean"] for g in names
                  if g not in hidden and group["scores"][g][key]["shown"]]
        spread = (max(values) - min(values)) if len(values) >= 2 else None
        group["ranges"][key] = spread
        group["split"][key] = spread is not None and spread >= SPLIT_RANGE


def _protect_citizen(body: dict[str, Any], min_size: int,
                     area_weights: Mapping[str, Mapping[str, float]]) -> None:
    measures: list[dict[str, Any]] = body.get("measures", [])
    # By area: the areas split the weighted respondents, so the total gives back a lone
    # hidden area (weighted by its share of the total): complementary suppression.
    tables = []
    for m in measures:
        counts = {p["group"]: int(p["n"] or 0) for p in m.get("by_area", [])}
        total = int(m["weighted"]["n"] or 0)
        tables.append(Table(counts, unstated=max(0, total - sum(counts.values())),
                            weights=area_weights.get(m["key"], {})))
    hidden = hidden_groups(tables, min_size)
    for m in measures:
        m["by_area"] = [_hide(p) if p["group"] in hidden else p for p in m.get("by_area", [])]
    body["hidden_areas"] = sorted(hidden)
    # By service used: people may use several services, so the services do not add up to
    # the total and cannot be differenced from it; a service is hidden, with its share of
    # residents, when any of its figures rests on fewer than the minimum.
    small_services = {
        p["service"] for m in measures for p in m.get("by_service", [])
        if p["n"] is not None and 0 < p["n"] < min_size
    }
    for m in measures:
        m["by_service"] = [_hide(p) if p["service"] in small_services else p
                           for p in m.get("by_service", [])]
    body["services"] = [_hide(s) if s["service"] in small_services else s
                        for s in body.get("services", [])]
    # Themes: shares of those who wrote an answer; hidden, with their quotes, on too few.
    body["themes"] = [
        {**_hide(t), "quotes": []} if t["n"] is not None and 0 < t["n"] < min_size else t
        for t in body.get("themes", [])
    ]


def _hide(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, **HIDDEN_PROPORTION}
