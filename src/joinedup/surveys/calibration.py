"""Raking with bounds on the weights, and the smallest cap that any weighting could keep.

svy (0.35) rakes and calibrates, but its `bounds=` are only checked after raking and its
`calibrate(bounds=)` refuses them ("not supported yet"); its trim-and-rake cycle alternates
trimming and re-raking and can fail to converge even when weights within the cap exist.
So bounded raking is done here, by the well-known method: the "raking" calibration function
of Deville and Särndal (1992, "Calibration estimators in survey sampling", JASA 87, 376–382)
truncated to bounds L ≤ g ≤ U on the g-weights g = w / d (final over starting weight). That is
exactly what R's `survey::calibrate(design, formula, population, calfun = "raking",
bounds = c(L, U))` solves, and the R cross-check (tests/surveys/test_weighting_rcheck.py)
compares the weights with it.

The weights minimise the raking distance sum d·(g log g − g + 1) over L ≤ g ≤ U subject to
meeting every margin; the solution is g = clip(exp(x'λ), L, U). λ solves the convex dual
min Σ d·Φ(x'λ) − λ'T (Φ' = the clipped exponential), by Newton's method with a small
Levenberg–Marquardt damping and a backtracking line search, so it converges whenever the
bounds leave room to meet the margins; a linear programme checks that room first.

Respondents with the same level on every margin have the same x, hence the same g: the
work is done on those few patterns (14 age × sex cells × areas), not on every respondent,
so a million responses cost the same as a hundred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

CAL_TOL = 1e-11
CAL_MAX_ITER = 200
#: Seconds the mixed-integer programmes may take: choosing the patterns under a floor needs
#: only a good choice, not the best; the smallest cap stops with a proven range.
MEDIAN_SET_SECONDS = 2.0
SMALLEST_CAP_SECONDS = 5.0


class BoundsInfeasible(ValueError):
    """No weights within the bounds meet the margins."""


@dataclass(frozen=True)
class Patterns:
    """Respondents grouped by their levels on every margin.

    `inverse[i]` is respondent i's pattern; `x` (patterns × all levels) has a 1 where the
    pattern has that level; `d` sums the starting weights and `n` counts respondents.
    """

    inverse: np.ndarray
    x: np.ndarray
    d: np.ndarray
    n: np.ndarray
    targets: np.ndarray
    #: (margin, level index) of each column of `x`, to name a level in messages.
    columns: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, codes: Sequence[np.ndarray], targets: Sequence[np.ndarray],
           d: np.ndarray) -> Patterns:
        """`codes[m][i]` is respondent i's level (0..k-1) on margin m, `targets[m]` its totals."""
        sizes = [len(t) for t in targets]
        key = np.zeros(len(d), dtype=np.int64)
        for c, k in zip(codes, sizes, strict=True):
            key = key * k + np.asarray(c, dtype=np.int64)
        uniq, inverse = np.unique(key, return_inverse=True)
        # Decode each pattern's levels back out of the mixed-radix key.
        levels = np.zeros((len(uniq), len(sizes)), dtype=np.int64)
        rest = uniq.copy()
        for m in range(len(sizes) - 1, -1, -1):
            levels[:, m] = rest % sizes[m]
            rest //= sizes[m]
        x = np.zeros((len(uniq), sum(sizes)))
        offset = 0
        columns: list[tuple[int, int]] = []
        for m, k in enumerate(sizes):
            x[np.arange(len(uniq)), offset + levels[:, m]] = 1.0
            columns += [(m, j) for j in range(k)]
            offset += k
        return cls(
            inverse=inverse,
            x=x,
            d=np.bincount(inverse, weights=d, minlength=len(uniq)),
            n=np.bincount(inverse, minlength=len(uniq)).astype(float),
            targets=np.concatenate([np.asarray(t, dtype=float) for t in targets]),
            columns=tuple(columns),
        )


Bound = float | np.ndarray


def _clipped_exp(u: np.ndarray, lower: Bound, upper: Bound) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """F(u) = clip(exp(u), L, U), its derivative, and Φ with Φ' = F (convex, C¹)."""
    with np.errstate(divide="ignore"):
        hi = np.log(np.broadcast_to(np.asarray(upper, dtype=float), u.shape))
        lo = np.log(np.broadcast_to(np.asarray(lower, dtype=float), u.shape))
    inside = np.clip(u, lo, hi)
    e = np.exp(np.minimum(inside, 700.0))
    g = e
    dg = np.where((u > lo) & (u < hi), e, 0.0)
    # Φ continues linearly beyond the bounds, with slope U (or L): convex and C¹.
    phi = e + g * (u - inside)
    return g, dg, phi


def feasible(p: Patterns, lower: Bound, upper: Bound) -> bool:
    """Whether some weights with L·d ≤ w ≤ U·d (per pattern) meet every margin total."""
    lo = np.broadcast_to(np.asarray(lower, dtype=float), p.d.shape) * p.d
    hi = np.broadcast_to(np.asarray(upper, dtype=float), p.d.shape) * p.d
    res = linprog(np.zeros(len(p.d)), A_eq=p.x.T, b_eq=p.targets,
                  bounds=list(zip(lo, hi, strict=True)), method="highs")
    return bool(res.status == 0)


def bounded_raking(p: Patterns, lower: Bound, upper: Bound, *,
                   known_feasible: bool = False) -> np.ndarray:
    """g-weights per pattern: raking truncated to [lower, upper] (Deville & Särndal 1992).

    The bounds are one number, or one per pattern (as R's calibrate() takes a vector).
    Raises BoundsInfeasible when no weights within the bounds meet the margins (checked
    by a linear programme unless the caller `known_feasible` already).
    """
    return _solve(p, lower, upper, known_feasible, None)[0]


def _solve(p: Patterns, lower: Bound, upper: Bound, known_feasible: bool,
           start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """g per pattern and the λ that gives it; `start` is a λ to begin from, the previous
    solution's when a search moves the bounds a little."""
    if np.any(np.asarray(lower) >= np.asarray(upper)) or np.any(np.asarray(lower) < 0):
        raise ValueError("each lower bound must be at least 0 and below its upper bound")
    if not known_feasible and not feasible(p, lower, upper):
        raise BoundsInfeasible("no weights within the bounds meet the margins")
    lam = np.zeros(p.x.shape[1]) if start is None else start.copy()
    scale = np.maximum(np.abs(p.targets), 1.0)

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        g, dg, phi = _clipped_exp(p.x @ lam, lower, upper)
        return float(p.d @ phi - lam @ p.targets), p.x.T @ (p.d * g) - p.targets, dg, g

    f, grad, dg, g = dual(lam)
    mu = 1e-8
    for _ in range(CAL_MAX_ITER):
        if np.all(np.abs(grad) <= CAL_TOL * scale):
            return g, lam
        hess = (p.x * (p.d * dg)[:, None]).T @ p.x
        ridge = mu * max(float(np.max(np.diag(hess))), 1.0)
        step = np.linalg.solve(hess + ridge * np.eye(len(lam)), -grad)
        t, slope = 1.0, float(grad @ step)
        for _halving in range(20):
            f_new, grad_new, dg_new, g_new = dual(lam + t * step)
            if f_new <= f + 1e-4 * t * slope or np.all(np.abs(grad_new) <= CAL_TOL * scale):
                break
            t /= 2
        else:
            # No descent along Newton's direction (levels held at a bound leave the
            # Hessian near singular): damp it towards the gradient, as Levenberg–Marquardt
            # does, and try again.
            mu *= 100
            continue
        lam = lam + t * step
        f, grad, dg, g = f_new, grad_new, dg_new, g_new
        mu = mu * 10 if t < 1 else max(mu / 10, 1e-12)
    raise BoundsInfeasible("bounded raking did not converge")


def median_of(values: np.ndarray, counts: np.ndarray) -> float:
    """The median of the respondents' values, given each pattern's value and count."""
    order = np.argsort(values)
    v, c = values[order], np.cumsum(counts[order])
    total = int(c[-1])
    # The middle respondent (odd) or the mean of the middle two (even), as np.median.
    lo = v[np.searchsorted(c, (total + 1) // 2)]
    hi = v[np.searchsorted(c, total // 2 + 1)]
    return float((lo + hi) / 2)


def smallest_upper(p: Patterns) -> float:
    """The smallest U such that some weights with 0 ≤ g ≤ U meet the margins (a linear
    programme in the pattern totals W and U: X'W = T, 0 ≤ W ≤ U·d)."""
    k = len(p.d)
    cost = np.zeros(k + 1)
    cost[k] = 1.0
    a_ub = np.hstack([np.eye(k), -p.d[:, None]])
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(k),
                  A_eq=np.hstack([p.x.T, np.zeros((p.x.shape[1], 1))]), b_eq=p.targets,
                  bounds=[(0, None)] * (k + 1), method="highs")
    if res.status != 0:
        raise BoundsInfeasible("the margins cannot be met at all")
    return float(res.x[k])


@dataclass(frozen=True)
class Capped:
    """Bounded raking that keeps every weight within `multiple` × the median weight."""

    g: np.ndarray  # per pattern
    upper: float  # the bound U on g that achieves it
    #: and the lower bound L on g, one per pattern when a floor was needed
    lower: float | np.ndarray = 0.0


class CapUnreachable(ValueError):
    """Bounded raking cannot keep the weights within the cap. The smallest multiple of the
    median that any weighting could keep is at least `at_least` (proven) and at most
    `smallest` (a weighting that keeps it was found); the two agree unless the search
    ran out of time."""

    def __init__(self, bounds: tuple[float, float]) -> None:
        self.at_least, self.smallest = bounds
        super().__init__(f"the smallest cap that works is about {self.smallest:.3g}")


def cap_to_median_multiple(p: Patterns, multiple: float, g_unbounded: np.ndarray) -> Capped:
    """The bound U on g = w / d for which bounded raking has max g = U = multiple × median g.

    R's bounds (and ours) are on g, relative to the starting weights, while the cap is
    relative to the median of the final weights, which moves as the cap bites (capping the
    largest weights lifts others). With equal starting weights d = N/n (the mean weight),
    h(U) = U − multiple × median(g_U) is continuous in U: it is positive with no bound at
    all (the plain raking breaks the cap), so bisection between the smallest feasible U
    and the largest raked g finds the largest U where it turns non-positive, up to 1e-12.
    """
    hi = float(np.max(g_unbounded))
    lo = smallest_upper(p) * (1 + 1e-6)

    start: list[np.ndarray | None] = [None]

    def excess(upper: float) -> tuple[float, np.ndarray | None]:
        try:
            # Any U above the smallest feasible one is feasible too: no LP needed.
            g, start[0] = _solve(p, 0.0, upper, True, start[0])
        except BoundsInfeasible:
            return math.inf, None
        return upper - multiple * median_of(g, p.n), g

    h_lo, g_lo = excess(lo) if lo < hi else (math.inf, None)
    if g_lo is None or h_lo > 0:
        return _cap_with_floor(p, multiple, g_unbounded)
    while hi - lo > 1e-12 * hi:
        mid = (lo + hi) / 2
        h_mid, g_mid = excess(mid)
        if g_mid is not None and h_mid <= 0:
            lo, g_lo = mid, g_mid
        else:
            hi = mid
    return Capped(g=g_lo, upper=lo)


def _median_set(p: Patterns, multiple: float, g_raked: np.ndarray) -> np.ndarray | None:
    """Patterns that, held at or above the median, let every weight stay within
    `multiple` × it (a mixed-integer programme, as in smallest_median_multiple but with
    the multiple fixed), preferring those plain raking weights most; None if none can."""
    k = len(p.d)
    nvar = 2 * k + 1  # v (k), z (k), s
    rows, lo, hi = _median_rows(p, nvar, k, scale_index=2 * k)
    r = np.zeros(nvar)
    r[:k] = 1.0
    cost = np.zeros(nvar)
    cost[k:2 * k] = -p.n * np.log(np.maximum(g_raked, 1e-300) / np.max(g_raked) + 1e-9)
    upper = np.full(nvar, np.inf)
    upper[:k] = multiple
    upper[k:2 * k] = 1.0
    integrality = np.zeros(nvar)
    integrality[k:2 * k] = 1
    res = milp(-cost, constraints=LinearConstraint(np.array(rows), lo, hi),
               integrality=integrality, bounds=Bounds(np.zeros(nvar), upper),
               options={"time_limit": MEDIAN_SET_SECONDS})
    if res.x is None:
        return None
    return np.asarray(res.x[k:2 * k] > 0.5)


def _median_rows(p: Patterns, nvar: int, k: int, scale_index: int
                 ) -> tuple[list[np.ndarray], list[float], list[float]]:
    """Rows shared by both programmes: v ≥ z, half the respondents chosen, margins to scale."""
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    for q in range(k):
        r = np.zeros(nvar)
        r[q], r[k + q] = 1.0, -1.0  # v_q − z_q ≥ 0
        rows.append(r)
        lo.append(0.0)
        hi.append(np.inf)
    r = np.zeros(nvar)
    r[k:2 * k] = p.n  # Σ n z ≥ half the respondents
    rows.append(r)
    lo.append(math.ceil(p.n.sum() / 2))
    hi.append(np.inf)
    for col in range(p.x.shape[1]):
        r = np.zeros(nvar)
        r[:k] = p.n * p.x[:, col]
        r[scale_index] = -p.targets[col]  # Σ n v x − s T = 0
        rows.append(r)
        lo.append(0.0)
        hi.append(0.0)
    return rows, lo, hi


def _floor_range(p: Patterns, multiple: float, chosen: np.ndarray) -> tuple[float, float]:
    """The t for which some weights with g ≥ t on the chosen patterns and g ≤ multiple × t
    on all meet the margins: an interval, the constraints being linear in (W, t)."""
    k = len(p.d)
    eye = np.eye(k)
    a_ub = np.vstack([np.hstack([eye, -multiple * p.d[:, None]]),
                      np.hstack([-eye[chosen], p.d[chosen, None]])])
    a_eq = np.hstack([p.x.T, np.zeros((p.x.shape[1], 1))])
    ends = []
    for sign in (1.0, -1.0):
        cost = np.zeros(k + 1)
        cost[k] = sign
        res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(len(a_ub)), A_eq=a_eq, b_eq=p.targets,
                      bounds=[(0, None)] * (k + 1), method="highs")
        if res.status != 0:
            raise CapUnreachable(smallest_median_multiple(p))
        ends.append(sign * float(res.fun))
    return ends[0], ends[1]


def _distance(p: Patterns, g: np.ndarray) -> float:
    """The raking distance from the starting weights, Σ d (g log g − g + 1)."""
    return float(p.d @ (g * np.log(np.maximum(g, 1e-300)) - g + 1))


def _cap_with_floor(p: Patterns, multiple: float, g_raked: np.ndarray) -> Capped:
    """Bounded raking with a floor t under the patterns that hold the median and the cap
    multiple × t over all: at least half the respondents at t or more puts the median at
    t or more, so no weight is above multiple × the median, whatever the median turns out
    to be. Used when capping the largest weights alone cannot keep the cap (capping lowers
    the median with them). The patterns come from a mixed-integer programme; t is chosen,
    among those the margins allow, for the weights nearest the plain raking (golden-section
    search on the raking distance).
    """
    chosen = _median_set(p, multiple, g_raked)
    if chosen is None:
        raise CapUnreachable(smallest_median_multiple(p))
    a, b = _floor_range(p, multiple, chosen)
    a, b = a + 1e-6 * (b - a), b - 1e-6 * (b - a)
    found: dict[float, tuple[float, np.ndarray]] = {}
    start: list[np.ndarray | None] = [None]

    def cost(t: float) -> float:
        lower = np.where(chosen, t, 0.0)
        try:
            g, start[0] = _solve(p, lower, multiple * t, True, start[0])
        except BoundsInfeasible:
            return math.inf
        found[t] = (_distance(p, g), g)
        return found[t][0]

    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = cost(c), cost(d)
    while b - a > 1e-9 * b:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = cost(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = cost(d)
    if not found:
        raise CapUnreachable(smallest_median_multiple(p))
    best = min(found, key=lambda t: found[t][0])
    return Capped(g=found[best][1], upper=multiple * best,
                  lower=np.where(chosen, best, 0.0))


def smallest_median_multiple(p: Patterns) -> tuple[float, float]:
    """The smallest c for which some weighting meets the margins with every weight at
    most c × the median weight, among weightings that give respondents alike on every
    margin the same weight (as raking and every calibration do).

    A mixed-integer programme: with the median scaled to 1, pattern weights v ≤ c; the
    patterns chosen (z = 1) have v ≥ 1 and hold at least half the respondents, so the
    median is at least 1; the margins hold up to a free scale s. Minimise c. Returns the
    proven lower bound and the best c found (equal when solved in time; inf when none).
    """
    k = len(p.d)
    nvar = 2 * k + 2  # v (k), z (k), s, c
    ci = 2 * k + 1
    rows, lo, hi = _median_rows(p, nvar, k, scale_index=2 * k)
    for q in range(k):
        r = np.zeros(nvar)
        r[q], r[ci] = 1.0, -1.0  # v_q − c ≤ 0
        rows.append(r)
        lo.append(-np.inf)
        hi.append(0.0)
    cost = np.zeros(nvar)
    cost[ci] = 1.0
    integrality = np.zeros(nvar)
    integrality[k:2 * k] = 1
    upper = np.full(nvar, np.inf)
    upper[k:2 * k] = 1.0
    res = milp(cost, constraints=LinearConstraint(np.array(rows), lo, hi),
               integrality=integrality, bounds=Bounds(np.zeros(nvar), upper),
               options={"time_limit": SMALLEST_CAP_SECONDS})
    if res.x is None:
        return math.inf, math.inf
    found = float(res.x[ci])
    bound = getattr(res, "mip_dual_bound", None)
    return (found if res.status == 0 or bound is None else float(bound)), found
