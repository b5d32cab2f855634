"""How much the result depends on what is uncertain: a tornado of the parameters that move
the net present value most, and a seeded Monte Carlo interval.

Both re-run the same formulas as the account (:mod:`joinedup.value.valuation`) on numpy
arrays. The Monte Carlo draws each measure's effect from its estimate and standard error
(normal, cut at ±4 standard errors so no draw is wild) and every entered parameter
uniformly within its range (bounded by construction); the discount rate and the optimism
bias grade are policy choices, not uncertainties, and stay fixed there (the tornado shows
them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from joinedup.value.account import CostLine, MonteCarloResult, Parameters, TornadoBar
from joinedup.value.valuation import Assumptions, MeasureValueInput, net_units, pv_factor

__all__ = ["DEFAULT_RANGES", "Model", "monte_carlo", "ranges_for", "tornado"]

# Entered defaults: wide enough to be honest about entered values, each shown on the page.
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "deadweight": (0.0, 0.4),  # Additionality Guide's generic range (econstack-data)
    "unit_costs": (0.8, 1.2),  # factor on every unit cost: the UCD values are old and uprated
    "costs": (0.9, 1.2),  # factor on the collaboration's costs: overruns more likely than savings
    "discount_rate": (0.015, 0.05),
}

LABELS = {
    "deadweight": "Deadweight",
    "attribution": "Attribution",
    "drop_off": "Drop-off a year",
    "persistence_years": "Years the effect lasts",
    "discount_rate": "Discount rate",
    "unit_costs": "Unit costs (factor)",
    "costs": "Collaboration costs (factor)",
    "optimism_bias": "Optimism bias",
}


@dataclass(frozen=True)
class Model:
    """The account's central inputs as arrays, one entry per measure."""

    keys: tuple[str, ...]
    labels: tuple[str, ...]
    effects: np.ndarray
    ses: np.ndarray
    n_persons: np.ndarray
    unit_costs: np.ndarray  # £ per unit, price year
    extra_per_unit: np.ndarray  # economic + social £ per unit avoided (sign applied)
    costs_by_year: np.ndarray
    central: Assumptions
    deadweight_used: bool

    @classmethod
    def build(
        cls,
        inputs: Sequence[MeasureValueInput],
        costs: Sequence[CostLine],
        central: Assumptions,
        deadweight_used: bool,
    ) -> Model:
        horizon = 1 + max((c.year for c in costs), default=0)
        by_year = np.zeros(horizon)
        for c in costs:
            by_year[c.year] += c.amount_gbp
        return cls(
            tuple(m.key for m in inputs),
            tuple(m.label for m in inputs),
            np.array([m.effect for m in inputs], dtype=float),
            np.array([m.se for m in inputs], dtype=float),
            np.array([m.n_persons for m in inputs], dtype=float),
            np.array([m.cost_published * m.price_factor * m.unit_cost_scale for m in inputs], dtype=float),
            np.array(
                [(m.economic_per_unit + m.social_per_unit) * m.better_sign for m in inputs], dtype=float
            ),
            by_year,
            central,
            deadweight_used,
        )

    def evaluate(self, draws: int = 1, **given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """NPV and public value return for ``draws`` settings; anything not given is central."""
        c = self.central

        def pick(name: str, value: float) -> np.ndarray:
            return np.broadcast_to(np.asarray(given.get(name, value), dtype=float), (draws,))

        effects = np.broadcast_to(given.get("effects", self.effects), (draws, len(self.effects)))
        deadweight = pick("deadweight", c.deadweight)
        rate = pick("discount_rate", c.discount_rate)
        years = pick("persistence_years", c.persistence_years).astype(int)
        factor = pv_factor(years, pick("drop_off", c.drop_off), rate)
        units = (
            net_units(
                effects,
                1,
                deadweight[:, None],
                pick("attribution", c.attribution)[:, None],
                pick("optimism_bias", c.optimism_bias)[:, None],
            )
            * self.n_persons
        )
        value_per_unit = self.unit_costs[None, :] * pick("unit_costs", 1.0)[:, None] + self.extra_per_unit
        benefits = (units * value_per_unit).sum(axis=1) * factor
        t = np.arange(len(self.costs_by_year))
        pv_costs = (self.costs_by_year[None, :] / (1 + rate[:, None]) ** t).sum(axis=1)
        pv_costs = pv_costs * pick("costs", 1.0)
        npv = benefits - pv_costs
        with np.errstate(divide="ignore", invalid="ignore"):
            roi = np.where(pv_costs > 0, benefits / np.where(pv_costs > 0, pv_costs, 1), np.nan)
        return npv, roi


def ranges_for(params: Parameters, central: Assumptions) -> dict[str, tuple[float, float]]:
    """Each parameter's (low, high): the analyst's, else a default around the central value."""
    out = dict(DEFAULT_RANGES)
    out["attribution"] = (max(0.0, central.attribution - 0.25), min(1.0, central.attribution))
    out["drop_off"] = (max(0.0, central.drop_off - 0.1), min(1.0, central.drop_off + 0.1))
    out["persistence_years"] = (
        float(max(1, central.persistence_years - 2)),
        float(central.persistence_years + 2),
    )
    g = central.evidence_grade
    lower = params.optimism_bias.get(g - 1, central.optimism_bias)
    upper = params.optimism_bias.get(g + 1, central.optimism_bias)
    out["optimism_bias"] = (lower, upper)
    out.update({k: (float(v[0]), float(v[1])) for k, v in params.ranges.items()})
    return out


def tornado(model: Model, ranges: dict[str, tuple[float, float]], top: int = 8) -> list[TornadoBar]:
    """NPV at each parameter's low and high with every other at its central value, the
    widest swings first. Each measure's effect runs over its 95% interval."""
    bars: list[TornadoBar] = []
    for i, key in enumerate(model.keys):
        low_high = []
        for bound in (-1.959963984540054, 1.959963984540054):
            effects = model.effects.copy()
            effects[i] = effects[i] + bound * model.ses[i]
            low_high.append((float(effects[i]), float(model.evaluate(effects=effects)[0][0])))
        bars.append(
            TornadoBar(
                f"effect:{key}",
                f"Effect on {model.labels[i]}",
                low_high[0][0],
                low_high[1][0],
                low_high[0][1],
                low_high[1][1],
            )
        )
    for name, (low, high) in ranges.items():
        if name == "deadweight" and not model.deadweight_used:
            continue  # the comparison group stands in for deadweight
        if name not in LABELS:
            continue
        npv_low = float(model.evaluate(1, **{name: np.array([low])})[0][0])
        npv_high = float(model.evaluate(1, **{name: np.array([high])})[0][0])
        bars.append(TornadoBar(name, LABELS[name], low, high, npv_low, npv_high))
    bars.sort(key=lambda b: -abs(b.npv_high - b.npv_low))
    return bars[:top]


def monte_carlo(
    model: Model, ranges: dict[str, tuple[float, float]], draws: int, seed: int
) -> MonteCarloResult:
    rng = np.random.default_rng(seed)
    noise = np.clip(rng.standard_normal((draws, len(model.effects))), -4, 4)
    given: dict[str, np.ndarray] = {"effects": model.effects + noise * model.ses}
    for name in ("attribution", "drop_off", "unit_costs", "costs") + (
        ("deadweight",) if model.deadweight_used else ()
    ):
        low, high = ranges[name]
        given[name] = rng.uniform(low, high, draws)
    npv, roi = model.evaluate(draws, **given)
    finite = roi[np.isfinite(roi)]

    def pct(values: np.ndarray, q: float) -> float | None:
        return float(np.percentile(values, q)) if len(values) else None

    return MonteCarloResult(
        draws=draws,
        seed=seed,
        npv_low=float(np.percentile(npv, 2.5)),
        npv_median=float(np.percentile(npv, 50)),
        npv_high=float(np.percentile(npv, 97.5)),
        roi_low=pct(finite, 2.5),
        roi_median=pct(finite, 50),
        roi_high=pct(finite, 97.5),
        probability_positive=float(np.mean(npv > 0)),
    )
