"""The valuation chain, following HM Treasury's Green Book and the HMT/PSTN/New Economy
cost benefit analysis guidance for local partnerships (2014).

For each measure: the effect per person per quarter becomes a change per year for the
cohort; deadweight, attribution and optimism bias reduce it; the unit cost, uprated with
the GDP deflator to the price year, values it; persistence and drop-off spread it over the
years; the Green Book discount rate brings each year to present value. Year 0 is the first
year and is not discounted (Green Book: discount factor 1/(1+r)^t).

The arithmetic is written once, on numpy arrays, so that the account, the tornado and the
Monte Carlo all use the same formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from joinedup.value.account import CostLine, ValuationStep
from joinedup.value.catalogue import AgencySplit

__all__ = [
    "Assumptions",
    "MeasureValueInput",
    "chain",
    "discount_factors",
    "net_units",
    "payback_years",
    "pv_factor",
    "pv_of_costs",
]


@dataclass(frozen=True)
class MeasureValueInput:
    key: str
    label: str
    effect: float  # per person per quarter (negative = fewer)
    se: float
    n_persons: int
    cost_code: str | None
    cost_published: float  # £ per unit, in cost_price_year prices
    cost_price_year: str
    price_factor: float  # deflator[price_year] / deflator[cost_price_year]
    unit_cost_scale: float
    split: AgencySplit
    economic_per_unit: float  # £ per unit of improvement, price year
    social_per_unit: float
    economic_source: str
    social_source: str
    better_sign: float  # +1 when lower is better (a fall is an improvement), −1 otherwise


@dataclass(frozen=True)
class Assumptions:
    deadweight: float
    deadweight_source: str
    attribution: float
    evidence_grade: int
    optimism_bias: float
    persistence_years: int
    drop_off: float
    discount_rate: float
    price_year: str


def net_units(
    effect: np.ndarray | float,
    n: int,
    deadweight: np.ndarray | float,
    attribution: np.ndarray | float,
    optimism_bias: np.ndarray | float,
) -> np.ndarray:
    """Units of the measure avoided per year by the cohort, after deadweight, attribution
    and optimism bias: −effect × 4 quarters × persons × (1−dw) × attribution × (1−OB)."""
    return np.asarray(
        -np.asarray(effect)
        * 4
        * n
        * (1 - np.asarray(deadweight))
        * np.asarray(attribution)
        * (1 - np.asarray(optimism_bias))
    )


def discount_factors(rate: float, years: int) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + rate) ** np.arange(years))


def pv_factor(years: np.ndarray | int, drop_off: np.ndarray | float, rate: np.ndarray | float) -> np.ndarray:
    """Σ over t = 0 … years−1 of (1 − drop-off)^t / (1 + r)^t: the present value of a
    benefit of 1 a year that loses a share each year after the first."""
    years_a = np.atleast_1d(np.asarray(years))
    t = np.arange(int(years_a.max()))
    ratio = (1 - np.atleast_1d(np.asarray(drop_off, dtype=float)))[:, None] / (
        1 + np.atleast_1d(np.asarray(rate, dtype=float))
    )[:, None]
    terms = ratio**t * (t[None, :] < years_a[:, None])
    return np.asarray(terms.sum(axis=1))


def pv_of_costs(costs: Sequence[CostLine], rate: float) -> float:
    return float(sum(c.amount_gbp / (1 + rate) ** c.year for c in costs))


def payback_years(yearly_benefit: np.ndarray, costs: Sequence[CostLine], rate: float) -> float | None:
    """Years until discounted fiscal benefits first cover discounted costs, counting year
    t as running from t to t+1 and interpolating within the year; None if they never do
    within the horizon."""
    horizon = max(len(yearly_benefit), 1 + max((c.year for c in costs), default=0))
    benefit = np.zeros(horizon)
    benefit[: len(yearly_benefit)] = yearly_benefit
    cost = np.zeros(horizon)
    for c in costs:
        cost[c.year] += c.amount_gbp
    net = (benefit - cost) * discount_factors(rate, horizon)
    cumulative = 0.0
    for t, value in enumerate(net):
        if cumulative + value >= 0 and value > 0:
            return float(t + (-cumulative / value if cumulative < 0 else 0.0))
        cumulative += value
    return None


def _gbp(x: float) -> str:
    return f"£{x:,.2f}"


def chain(m: MeasureValueInput, a: Assumptions) -> tuple[list[ValuationStep], dict[str, float]]:
    """The steps for one measure, each with its value, formula in words and source; and the
    measure's present values (fiscal, economic, social) and first-year fiscal value."""
    units = float(-m.effect * 4 * m.n_persons)
    net = float(net_units(m.effect, m.n_persons, a.deadweight, a.attribution, a.optimism_bias)[()])
    unit_cost = m.cost_published * m.price_factor * m.unit_cost_scale
    first_year = net * unit_cost
    factor = float(pv_factor(a.persistence_years, a.drop_off, a.discount_rate)[0])
    pv_fiscal = first_year * factor
    improvement = net * m.better_sign
    pv_economic = improvement * m.economic_per_unit * factor
    pv_social = improvement * m.social_per_unit * factor
    k = m.key
    steps = [
        ValuationStep(
            k,
            "Effect per person per quarter",
            m.effect,
            "per person per quarter",
            "Difference in differences (or before/after) estimate",
            "This account",
        ),
        ValuationStep(
            k,
            "Change in a year for the cohort",
            units,
            "units a year (fewer is positive)",
            f"minus the effect × 4 quarters × {m.n_persons} persons",
            "This account",
        ),
        ValuationStep(
            k,
            "Deadweight",
            a.deadweight,
            "share",
            "Share that would have happened anyway",
            a.deadweight_source,
        ),
        ValuationStep(
            k,
            "Attribution",
            a.attribution,
            "share",
            "Share of the change credited to this collaboration",
            "Entered (HMT/New Economy guidance: attribution)",
        ),
        ValuationStep(
            k,
            f"Optimism bias (evidence grade {a.evidence_grade})",
            a.optimism_bias,
            "share",
            "Reduction for the confidence in the evidence",
            "HMT/PSTN/New Economy (2014) grade table, as entered",
        ),
        ValuationStep(
            k,
            "Net change in a year",
            net,
            "units a year",
            "change × (1 − deadweight) × attribution × (1 − optimism bias)",
            "This account",
        ),
        ValuationStep(
            k,
            f"Unit cost {m.cost_code or '(none)'}, as published",
            m.cost_published,
            f"£ per unit, {m.cost_price_year} prices",
            "Published unit cost",
            "GMCA Unit Cost Database v1.4 (or the place's edit)",
        ),
        ValuationStep(
            k,
            "Uprating to the price year",
            m.price_factor,
            "factor",
            f"GDP deflator {a.price_year} ÷ GDP deflator {m.cost_price_year}",
            "HM Treasury GDP deflators (March 2026)",
        ),
        ValuationStep(
            k,
            f"Unit cost in {a.price_year} prices",
            unit_cost,
            "£ per unit",
            f"published cost × uprating × {m.unit_cost_scale:g} (units of the measure)",
            "This account",
        ),
        ValuationStep(
            k, "Fiscal value in the first year", first_year, "£", "net change × unit cost", "This account"
        ),
        ValuationStep(
            k,
            "Present value factor",
            factor,
            "factor",
            f"sum over {a.persistence_years} years of (1 − {a.drop_off:g} drop-off)^t ÷ "
            f"(1 + {a.discount_rate:g})^t, year 0 undiscounted",
            "HM Treasury Green Book (discounting); drop-off as entered",
        ),
        ValuationStep(
            k,
            "Present value of the fiscal benefit",
            pv_fiscal,
            "£",
            "first-year value × present value factor",
            "This account",
        ),
    ]
    if m.economic_per_unit:
        steps.append(
            ValuationStep(
                k,
                "Present value of the economic benefit",
                pv_economic,
                "£",
                f"net improvement × {_gbp(m.economic_per_unit)} × factor",
                m.economic_source,
            )
        )
    if m.social_per_unit:
        steps.append(
            ValuationStep(
                k,
                "Present value of the social benefit",
                pv_social,
                "£",
                f"net improvement × {_gbp(m.social_per_unit)} × factor",
                m.social_source,
            )
        )
    return steps, {
        "pv_fiscal": pv_fiscal,
        "pv_economic": pv_economic,
        "pv_social": pv_social,
        "first_year": first_year,
        "factor": factor,
    }
