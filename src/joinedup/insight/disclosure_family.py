"""Disclosure control of a family of related figures, designed against an adversary.

A *family* is a vector of disjoint cells (for example the persons in each exclusive
combination of needs) and a set of *lines*: subsets of the cells whose totals are also
published (the table total, each cohort, each service's caseload, each pair of services).
A viewer who sees every table of the family can subtract: a total minus its shown parts is
the sum of its hidden parts. Protecting each table on its own is not enough, so the family
is protected as one:

1. Primary suppression hides every small cell (1 .. threshold-1 by default).
2. Each line whose total is shown must hide *enough*: at least two cells, holding between
   them at least ``(threshold - 1) + (hidden cells - 1)`` – so that any one hidden cell could
   still be as large as the largest small count. Otherwise the smallest shown non-zero cell
   of the line is hidden too; if none is left, the line's total is hidden.
3. Totals are published as the sum of their shown, rounded parts plus the rounded sum of
   their hidden parts. A total therefore tells a viewer nothing about a shown part beyond
   its own rounding, and about the hidden parts only their rounded sum.
4. An audit then plays the attacker with linear programming over everything published
   (:func:`narrowest`): if any primarily suppressed cell could be narrowed to less than the
   whole 1 .. threshold-1, more cells are hidden until none can be.

This is the classic cell-suppression problem of statistical disclosure control (as solved
by tau-argus's "hypercube" and optimal methods); step 4 is the audit those methods run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from joinedup.insight.disclosure_rule import DisclosureRule

__all__ = ["ControlledFamily", "Known", "Line", "control_family", "narrowest"]

_EPS = 1e-6


@dataclass(frozen=True)
class Line:
    """Cells whose total is published, with a name for messages and tests."""

    cells: tuple[int, ...]
    name: str = ""


@dataclass(frozen=True)
class Known:
    """What a viewer knows from another page of a sum of this family's *true* cells: that it
    lies between ``low`` and ``high`` (a year cell the dashboard shows rounded, say). It is
    published whatever this family does, so the audit counts it and never hides it."""

    cells: tuple[int, ...]
    low: float
    high: float
    name: str = ""


@dataclass
class ControlledFamily:
    cells: list[int | None]  # published cell values; None where hidden
    totals: list[int | None]  # published line totals; None where hidden
    primary: list[bool]  # hidden because small (the cells the rule promises to protect)
    hidden: list[bool]  # hidden for any reason
    small_totals: list[bool]  # totals hidden because they were small themselves


def _mass_is_enough(masses: Sequence[int], rule: DisclosureRule) -> bool:
    return len(masses) >= 2 and sum(masses) >= (rule.threshold - 1) + (len(masses) - 1)


def _published(
    counts: Sequence[int], lines: Sequence[Line], rule: DisclosureRule, hidden: list[bool],
    total_hidden: list[bool],
) -> tuple[list[int | None], list[int | None]]:
    cells: list[int | None] = [None if h else rule.round(int(c)) for h, c in zip(hidden, counts, strict=True)]
    totals: list[int | None] = []
    for line, off in zip(lines, total_hidden, strict=True):
        if off:
            totals.append(None)
            continue
        shown = sum(int(cells[i] or 0) for i in line.cells if not hidden[i])
        mass = sum(int(counts[i]) for i in line.cells if hidden[i])
        totals.append(shown + (rule.round(mass) if mass else 0))
    return cells, totals


def _hide_more(
    counts: Sequence[int], lines: Sequence[Line], rule: DisclosureRule, hidden: list[bool],
    total_hidden: list[bool], kept: Sequence[bool] | None = None,
) -> bool:
    """Step 2 over every line; True if anything was hidden.

    A kept line (published elsewhere whatever this family does) with nothing left to hide
    under it keeps its total: hiding it here would protect nothing, and the audit (step 4),
    which knows the line is published, decides whether its cells can be narrowed."""
    changed = False
    for li, line in enumerate(lines):
        if total_hidden[li]:
            continue
        masses = [int(counts[i]) for i in line.cells if hidden[i]]
        if not masses or _mass_is_enough(masses, rule):
            continue
        candidates = [i for i in line.cells if not hidden[i] and int(counts[i]) > 0]
        if candidates:
            hidden[min(candidates, key=lambda i: (int(counts[i]), i))] = True
        elif kept is not None and kept[li]:
            continue
        else:
            total_hidden[li] = True
        changed = True
    return changed


def _constraints(
    published: ControlledFamily, lines: Sequence[Line], rule: DisclosureRule, columns: list[int],
    known: Sequence[Known] = (),
) -> tuple[np.ndarray | None, np.ndarray | None, list[int]]:
    """What a viewer knows of the unknown cells (``columns``: every hidden cell, then the shown
    cells a known sum holds), as A x <= b, and the line of each row (a known sum's row is
    numbered after the lines).

    A hidden total tells a viewer nothing they can rely on: it may be small, or hidden to
    protect another. (That a small total is 1 .. threshold-1 is what the rule publishes.)
    A line's total is built from its shown cells' rounded values, so subtracting those gives
    its hidden cells' rounded sum exactly; a known sum is of true values, so its shown cells
    are unknowns too, each within half a rounding base of its published value."""
    col = {cell: k for k, cell in enumerate(columns)}
    half = rule.rounding / 2
    rows: list[np.ndarray] = []
    upper: list[float] = []
    row_line: list[int] = []
    for li, (line, total) in enumerate(zip(lines, published.totals, strict=True)):
        members = [col[i] for i in line.cells if published.hidden[i]]
        if not members:
            continue
        vector = np.zeros(len(columns))
        vector[members] = 1.0
        if total is not None:
            mass = total - sum(int(published.cells[i] or 0) for i in line.cells if not published.hidden[i])
            rows.extend([vector, -vector])
            upper.extend([mass + half, -(mass - half)])
            row_line.extend([li, li])
    for kj, sum_ in enumerate(known):
        vector = np.zeros(len(columns))
        vector[[col[i] for i in sum_.cells]] = 1.0
        rows.extend([vector, -vector])
        upper.extend([sum_.high, -sum_.low])
        row_line.extend([len(lines) + kj] * 2)
    if not rows:
        return None, None, []
    return np.array(rows), np.array(upper), row_line


def _audit(
    published: ControlledFamily, lines: Sequence[Line], rule: DisclosureRule, known: Sequence[Known] = (),
    *, shortcut: bool = False,
) -> tuple[dict[int, tuple[float, float]], dict[int, set[int]]]:
    """Range of each primarily suppressed cell, and for narrowed ones the lines (and known
    sums, numbered after the lines) that bind."""
    hidden_ids = [i for i, h in enumerate(published.hidden) if h]
    if not hidden_ids:
        return {}, {}
    half = rule.rounding / 2
    witnesses = sorted({i for k in known for i in k.cells if not published.hidden[i]})
    columns = hidden_ids + witnesses
    a_ub, b_ub, row_line = _constraints(published, lines, rule, columns, known)
    col = {cell: k for k, cell in enumerate(columns)}
    bounds: list[tuple[float, float | None]] = [(1, None)] * len(hidden_ids)
    bounds += [(max(0.0, int(published.cells[i] or 0) - half), int(published.cells[i] or 0) + half)
               for i in witnesses]  # fmt: skip
    ranges: dict[int, tuple[float, float]] = {}
    binding: dict[int, set[int]] = {}
    # Every solution found is a point the viewer cannot rule out. Where one already puts a
    # cell at 1, or at threshold - 1 or more, that side cannot be narrowed, and its linear
    # programme is skipped (``shortcut``: the answer to "can it be narrowed?" is the same; the
    # range reported is then only as wide as proven, so ``narrowest`` does not take it).
    lowest = np.full(len(columns), np.inf)
    highest = np.full(len(columns), -np.inf)
    for cell in (i for i in hidden_ids if published.primary[i]):
        objective = np.zeros(len(columns))
        objective[col[cell]] = 1.0
        lo, hi = 1.0, float("inf")
        culprits: set[int] = set()
        for sign in (1.0, -1.0):
            if shortcut and sign > 0 and lowest[col[cell]] <= 1 + _EPS:
                continue
            if shortcut and sign < 0 and highest[col[cell]] >= rule.threshold - 1 - _EPS:
                hi = float(highest[col[cell]])
                continue
            res = linprog(sign * objective, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
            if res.status != 0:  # 3: unbounded, so nothing to learn on this side
                continue
            np.minimum(lowest, res.x, out=lowest)
            np.maximum(highest, res.x, out=highest)
            value = float(sign * res.fun)
            narrowed = value > 1 + _EPS if sign > 0 else value < rule.threshold - 1 - _EPS
            if sign > 0:
                lo = value
            else:
                hi = value
            if narrowed and a_ub is not None:
                duals = np.asarray(res.ineqlin.marginals)
                culprits |= {row_line[r] for r in np.flatnonzero(np.abs(duals) > _EPS)}
        ranges[cell] = (lo, hi)
        if culprits:
            binding[cell] = culprits
    return ranges, binding


def _cells_of(row: int, lines: Sequence[Line], known: Sequence[Known]) -> tuple[int, ...]:
    """The cells of a binding row: a line's, or (numbered after the lines) a known sum's."""
    return lines[row].cells if row < len(lines) else known[row - len(lines)].cells


def narrowest(
    published: ControlledFamily, lines: Sequence[Line], rule: DisclosureRule, known: Sequence[Known] = ()
) -> dict[int, tuple[float, float]]:
    """The attacker: for every primarily suppressed cell, the smallest and largest value it
    could take given everything published (and the method, which is public).

    Unknowns are the hidden cells (each at least 1). A line with a shown total fixes the sum
    of its hidden cells to within half a rounding base of (total - its shown parts); a line
    whose total is hidden says nothing. A known sum bounds its true cells.
    """
    return _audit(published, lines, rule, known)[0]


def control_family(
    counts: Sequence[int],
    lines: Sequence[Line],
    rule: DisclosureRule,
    primary: Sequence[bool] | None = None,
    *,
    audit: bool = True,
    small_lines: Sequence[bool] | None = None,
    kept_lines: Sequence[bool] | None = None,
    cells_unpublished: bool = False,
    known: Sequence[Known] = (),
) -> ControlledFamily:
    """Control a family of cells and line totals (see the module's docstring).

    ``primary`` marks the cells to protect; by default the small ones. (For events, the
    cells of services with too few persons.) ``small_lines`` marks totals to hide whatever
    their size (for events, the lines with too few persons behind them). ``kept_lines``
    marks totals another page already publishes (a year beside its quarters): hiding them
    here would protect nothing, so where the audit finds one binding it hides the smallest
    shown cell of the binding lines instead. ``cells_unpublished`` says the cells themselves
    are never shown, only the lines (a quarter's cells are services by cohort memberships):
    hiding one more cell then costs a viewer no figure, so the audit hides cells under the
    binding lines before it hides any line's total. The attacker is still assumed to know
    every shown cell, which only makes the audit stricter. ``known`` are sums of true cells
    a viewer knows from another page (a year's cells on the dashboard beside its quarters):
    the audit counts them, and where one binds hides cells under it, since it stays shown.
    """
    counts = [int(c) for c in counts]
    first = list(primary) if primary is not None else [rule.is_small(c) for c in counts]
    hidden = list(first)
    small_totals = [rule.is_small(sum(counts[i] for i in line.cells)) for line in lines]
    if small_lines is not None:
        small_totals = [a or bool(b) for a, b in zip(small_totals, small_lines, strict=True)]
    total_hidden = list(small_totals)
    for _ in range(4 * (len(counts) + len(lines)) + 4):
        while _hide_more(counts, lines, rule, hidden, total_hidden, kept_lines):
            pass
        cells, totals = _published(counts, lines, rule, hidden, total_hidden)
        result = ControlledFamily(cells, totals, first, hidden, small_totals)
        if not audit:
            return result
        _ranges, binding = _audit(result, lines, rule, known, shortcut=True)
        if not binding:
            return result
        # The lines whose totals pin a hidden cell down: hide the smallest of those totals
        # (a pair's shared persons before a caseload, a caseload before the grand total).
        before = sum(total_hidden) + sum(hidden)
        excused = 0
        for culprits in binding.values():
            open_lines = [li for li in culprits if li < len(lines) and not total_hidden[li]]
            unkept = [li for li in open_lines if not (kept_lines and kept_lines[li])]
            under = {i for li in culprits for i in _cells_of(li, lines, known)}
            shown = {i for i in under if not hidden[i] and counts[i] > 0}
            if cells_unpublished and shown:
                hidden[min(shown, key=lambda i: (counts[i], i))] = True
            elif unkept:
                smallest = min(unkept, key=lambda li: (sum(counts[i] for i in lines[li].cells), li))
                total_hidden[smallest] = True
            elif (kept_lines is not None or known) and shown:  # only lines shown elsewhere bind
                hidden[min(shown, key=lambda i: (counts[i], i))] = True
            elif open_lines:  # a kept line is hidden only when nothing else is left to hide
                smallest = min(open_lines, key=lambda li: (sum(counts[i] for i in lines[li].cells), li))
                total_hidden[smallest] = True
            else:  # only known sums bind, every cell under them hidden: hide lines sharing them
                sharing = [li for li, ln in enumerate(lines)
                           if not total_hidden[li] and under & set(ln.cells)]  # fmt: skip
                if sharing:
                    smallest = min(sharing, key=lambda li: (sum(counts[i] for i in lines[li].cells), li))
                    total_hidden[smallest] = True
                elif cells_unpublished:
                    # Nothing this family publishes touches these cells: they are unpublished
                    # and hidden, and every line over them is hidden. What narrows them is the
                    # other page's sums plus the audit's own stricter assumption (that a
                    # viewer knows which cells are hidden, so non-zero); this page adds nothing.
                    excused += 1
        if sum(total_hidden) + sum(hidden) == before:
            if excused == len(binding):
                return result
            raise RuntimeError("disclosure control could not protect a hidden cell")  # pragma: no cover
    raise RuntimeError("disclosure control did not settle")  # pragma: no cover - bounded above
