"""An attacker of published aggregates: linear programmes over what a viewer can see.

Written apart from the engine's own audit so that each checks the other. Unknowns are the
true figures; what is published bounds them (a shown count v means v ± half the rounding
base, a hidden one is at least 1, a total bounds the sum of its parts), and the attacker
knows the method, so a total minus its shown parts bounds the sum of its hidden parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog


@dataclass
class Attacker:
    half: float  # half the rounding base
    names: list[str] = field(default_factory=list)
    bounds: list[tuple[float, float | None]] = field(default_factory=list)
    rows: list[dict[int, float]] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)

    def var(self, name: str, low: float = 0.0, high: float | None = None) -> int:
        if name in self.names:
            k = self.names.index(name)
            lo, hi = self.bounds[k]
            new_hi = hi if high is None else (high if hi is None else min(hi, high))
            self.bounds[k] = (max(lo, low), new_hi)
            return k
        self.names.append(name)
        self.bounds.append((low, high))
        return len(self.names) - 1

    def shown(self, name: str, value: float | None) -> int:
        """A published count: None (hidden) means at least 1."""
        if value is None:
            return self.var(name, 1.0)
        return self.var(name, max(0.0, value - self.half), value + self.half)

    def between(self, terms: Iterable[tuple[str, float]], low: float, high: float) -> None:
        row: dict[int, float] = {}
        for name, coef in terms:
            k = self.var(name)
            row[k] = row.get(k, 0.0) + coef
        self.rows += [row, {k: -c for k, c in row.items()}]
        self.upper += [high, -low]

    def range(self, name: str) -> tuple[float, float]:
        k = self.names.index(name)
        n = len(self.names)
        a = np.zeros((len(self.rows), n))
        for r, row in enumerate(self.rows):
            for j, c in row.items():
                a[r, j] = c
        out = []
        for sign in (1.0, -1.0):
            objective = np.zeros(n)
            objective[k] = sign
            res = linprog(objective, A_ub=a if self.rows else None,
                          b_ub=np.array(self.upper) if self.rows else None,
                          bounds=self.bounds, method="highs")  # fmt: skip
            assert res.status in (0, 3), f"published figures contradict each other: {res.message}"
            out.append(sign * res.fun if res.status == 0 else (float("inf") if sign < 0 else 0.0))
        return out[0], out[1]

    def feasible(self) -> bool:
        """Whether the published figures are consistent (a check of the attacker's model)."""
        n = len(self.names)
        a = np.zeros((len(self.rows), n))
        for r, row in enumerate(self.rows):
            for j, c in row.items():
                a[r, j] = c
        res = linprog(np.zeros(n), A_ub=a if self.rows else None,
                      b_ub=np.array(self.upper) if self.rows else None, bounds=self.bounds, method="highs")
        return bool(res.status == 0)
