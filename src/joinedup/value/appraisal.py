"""From measured effects to the account: value each change, sum to present values and
returns, split the fiscal value among agencies and partners (who pays, who gains, the
proposed gain-share), and test how much it depends on what is uncertain."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from joinedup.insight.demand import price_factor
from joinedup.value import sensitivity
from joinedup.value.account import (
    Account,
    AgencyValue,
    BalanceRow,
    CostLine,
    GainShareRow,
    MatrixRow,
    MeasureResult,
    MeasureSpec,
    Parameters,
    Programme,
    Totals,
    ValuationStep,
)
from joinedup.value.catalogue import AgencySplit, agency_split, normalise_agency
from joinedup.value.panel import DataWindow
from joinedup.value.valuation import (
    Assumptions,
    MeasureValueInput,
    chain,
    payback_years,
    pv_of_costs,
)

__all__ = [
    "DEADWEIGHT_FROM_COMPARISON",
    "NOT_CREDIBLE",
    "assumptions_for",
    "balance_rows",
    "gain_share",
    "value_account",
]

NOT_CREDIBLE = (
    "There is no credible comparison group ({reason}). The effects shown are the programme's "
    "own before and after changes: they credit the programme with any change that would have "
    "happened anyway, so they overstate its effect."
)
DEADWEIGHT_FROM_COMPARISON = (
    "Taken from the comparison group: the difference in differences already removes the "
    "change that would have happened anyway, so no further deadweight is taken off"
)
DEADWEIGHT_ENTERED = (
    "Entered default (no comparison group): the Additionality Guide's generic 20%, range 0 to 40%"
)


def balance_rows(balance: pd.DataFrame, flag: float) -> tuple[BalanceRow, ...]:
    if balance.empty:
        return ()
    return tuple(
        BalanceRow(str(var), float(before), float(after), bool(abs(after) > flag))
        for var, before, after in zip(
            balance["variable"],
            balance["smd_before"].astype(float),
            balance["smd_after"].astype(float),
            strict=True,
        )
        if not (before == 0 and after == 0)
    )


def assumptions_for(p: Parameters, credible: bool) -> Assumptions:
    grade = p.evidence_grade if p.evidence_grade is not None else (2 if credible else 4)
    return Assumptions(
        deadweight=0.0 if credible else p.deadweight,
        deadweight_source=DEADWEIGHT_FROM_COMPARISON if credible else DEADWEIGHT_ENTERED,
        attribution=p.attribution,
        evidence_grade=grade,
        optimism_bias=p.optimism_bias[grade],
        persistence_years=p.persistence_years,
        drop_off=p.drop_off,
        discount_rate=p.discount_rate,
        price_year=p.price_year,
    )


def totals_for(
    pv_fiscal: float,
    pv_economic: float,
    pv_social: float,
    first_year_fiscal: float,
    a: Assumptions,
    costs: Sequence[CostLine],
) -> Totals:
    """Present values, NPV, both returns and the payback period (fiscal benefits against
    costs, only when the fiscal return is positive)."""
    pv_costs = pv_of_costs(costs, a.discount_rate)
    fiscal_npv = pv_fiscal - pv_costs
    npv = pv_fiscal + pv_economic + pv_social - pv_costs
    fiscal_roi = pv_fiscal / pv_costs if pv_costs > 0 else None
    pv_roi = (pv_fiscal + pv_economic + pv_social) / pv_costs if pv_costs > 0 else None
    yearly = first_year_fiscal * (1 - a.drop_off) ** np.arange(a.persistence_years)
    payback = payback_years(yearly, costs, a.discount_rate) if fiscal_npv > 0 and costs else None
    return Totals(pv_fiscal, pv_economic, pv_social, pv_costs, npv, fiscal_npv, fiscal_roi, pv_roi, payback)


def _agency_partners(con: duckdb.DuckDBPyConnection, given: dict[str, str]) -> dict[str, str]:
    """Each agency's partner: the analyst's, else the partner whose services' events most
    often carry a unit cost borne by that agency."""
    rows = con.execute(
        "SELECT u.agency, s.partner, count(*) AS n FROM records r JOIN sources s ON s.name = r.source "
        "JOIN unit_costs u ON u.code = coalesce(r.cost_item, s.cost_item) "
        "WHERE u.agency IS NOT NULL GROUP BY ALL ORDER BY n DESC, s.partner"
    ).fetchall()
    out: dict[str, str] = {}
    for agency, partner, _ in rows:
        name = normalise_agency(agency)
        if name.lower() != "multiple":
            out.setdefault(name, str(partner))
    out.update({normalise_agency(a): p for a, p in given.items()})
    return out


def _value_inputs(
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[MeasureSpec],
    results: Sequence[MeasureResult],
    p: Parameters,
    n_persons: int,
) -> list[MeasureValueInput]:
    out = []
    for spec, res in zip(specs, results, strict=True):
        cost, year, factor = 0.0, p.price_year, 1.0
        if spec.unit_cost_code:
            row = con.execute(
                "SELECT cost_gbp, price_year FROM unit_costs WHERE code = ?", [spec.unit_cost_code]
            ).fetchall()[0]
            cost, year = float(row[0]), str(row[1] or p.price_year)
            factor = price_factor(con, year, p.price_year)
        split = agency_split(con, spec.unit_cost_code, p.agency_splits) if spec.unit_cost_code else None
        extras = {e.kind: e for e in p.extra_values if e.measure_key == spec.key}
        out.append(
            MeasureValueInput(
                spec.key,
                spec.label,
                res.effect,
                res.se,
                n_persons,
                spec.unit_cost_code,
                cost,
                year,
                factor,
                spec.unit_cost_scale,
                split or AgencySplit({}, "No unit cost: not valued", False),
                extras["economic"].value_gbp if "economic" in extras else 0.0,
                extras["social"].value_gbp if "social" in extras else 0.0,
                extras["economic"].source if "economic" in extras else "",
                extras["social"].source if "social" in extras else "",
                1.0 if spec.direction == "lower" else -1.0,
            )
        )
    return out


def gain_share(rows: Sequence[MatrixRow], rule: str) -> tuple[GainShareRow, ...]:
    """Share the partners' net fiscal gain (what they save less what they put in) in
    proportion to what each puts in (or equally), and the transfers that would bring each
    partner to its share. Agencies that are not partners are left out: they put nothing in
    and the partners cannot bind them."""
    partners = [r for r in rows if r.kind == "partner"]
    pool = sum(r.saves for r in partners) - sum(r.puts_in for r in partners)
    total_in = sum(r.puts_in for r in partners)
    out = []
    for r in partners:
        share = 1 / len(partners) if rule == "equal" or total_in <= 0 else r.puts_in / total_in
        due = share * pool
        out.append(GainShareRow(r.name, r.puts_in, share, due, r.saves, r.puts_in + due - r.saves))
    return tuple(out)


def value_account(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    specs: Sequence[MeasureSpec],
    p: Parameters,
    results: Sequence[MeasureResult],
    n_prog: int,
    n_candidates: int,
    n_matched: int,
    n_outside: int,
    window: DataWindow,
    credible: bool,
    reason: str | None,
    balance: pd.DataFrame,
) -> Account:
    a = assumptions_for(p, credible)
    value_in = _value_inputs(con, specs, results, p, n_prog)
    steps: list[ValuationStep] = []
    agency_values: list[AgencyValue] = []
    partners_of = _agency_partners(con, p.agency_partners)
    flags: list[str] = []
    pv_fiscal = pv_economic = pv_social = 0.0
    first_year_total = 0.0
    saves_by_agency: dict[str, float] = {}
    for m in value_in:
        measure_steps, values = chain(m, a)
        steps.extend(measure_steps)
        pv_fiscal += values["pv_fiscal"]
        pv_economic += values["pv_economic"]
        pv_social += values["pv_social"]
        first_year_total += values["first_year"]
        if m.split.entered and m.cost_code:
            flags.append(
                f"The agency split of {m.cost_code} is entered, not from the Unit Cost Database: "
                f"{m.split.source}"
            )
        for agency, share in m.split.shares.items():
            value = values["pv_fiscal"] * share
            saves_by_agency[agency] = saves_by_agency.get(agency, 0.0) + value
            agency_values.append(
                AgencyValue(m.key, agency, partners_of.get(agency), share, m.split.source, value)
            )
    totals = totals_for(pv_fiscal, pv_economic, pv_social, first_year_total, a, p.costs)
    pv_costs, npv, fiscal_roi, pv_roi = (
        totals.pv_costs,
        totals.npv,
        totals.fiscal_roi,
        totals.public_value_roi,
    )
    steps.extend(
        [
            ValuationStep(
                "", "Present value of fiscal benefits", pv_fiscal, "£", "sum over measures", "This account"
            ),
            ValuationStep(
                "",
                "Present value of costs",
                pv_costs,
                "£",
                f"each year's cost ÷ (1 + {p.discount_rate:g})^year",
                "HM Treasury Green Book",
            ),
            ValuationStep(
                "",
                "Net present value",
                npv,
                "£",
                "fiscal + economic + social benefits − costs",
                "HM Treasury Green Book",
            ),
        ]
    )
    if fiscal_roi is not None and pv_roi is not None:
        steps.append(ValuationStep("", "Fiscal return on investment", fiscal_roi, "£ per £1 spent",
                                   "fiscal benefits ÷ costs", "HMT/New Economy (2014)"))  # fmt: skip
        steps.append(ValuationStep("", "Public value return on investment", pv_roi, "£ per £1 spent",
                                   "(fiscal + economic + social benefits) ÷ costs",
                                   "HMT/New Economy (2014)"))  # fmt: skip
    if totals.payback_years is not None:
        steps.append(ValuationStep("", "Payback period", totals.payback_years, "years",
                                   "years until discounted fiscal benefits cover discounted costs",
                                   "HMT/New Economy (2014)"))  # fmt: skip
    # Who pays and who gains.
    puts_in: dict[str, float] = {}
    for c in p.costs:
        puts_in[c.partner] = puts_in.get(c.partner, 0.0) + c.amount_gbp / (1 + p.discount_rate) ** c.year
    saves: dict[str, float] = {}
    cashable: dict[str, float] = {}
    orphans: dict[str, tuple[float, float]] = {}
    for agency, value in saves_by_agency.items():
        cash = value * p.cashable.get(agency, 0.0)
        partner = partners_of.get(agency)
        if partner:
            saves[partner] = saves.get(partner, 0.0) + value
            cashable[partner] = cashable.get(partner, 0.0) + cash
        else:
            orphans[agency] = (value, cash)
    matrix = [
        MatrixRow(
            name,
            "partner",
            puts_in.get(name, 0.0),
            saves.get(name, 0.0),
            cashable.get(name, 0.0),
            saves.get(name, 0.0) - puts_in.get(name, 0.0),
        )
        for name in sorted(set(puts_in) | set(saves))
    ]
    matrix += [MatrixRow(agency, "agency", 0.0, v, c, v) for agency, (v, c) in sorted(orphans.items())]
    # Sensitivity.
    model = sensitivity.Model.build(value_in, p.costs, a, deadweight_used=not credible)
    ranges = sensitivity.ranges_for(p, a)
    tornado = sensitivity.tornado(model, ranges)
    mc = sensitivity.monte_carlo(model, ranges, p.mc_draws, p.seed)
    warnings = []
    if not credible:
        warnings.append(NOT_CREDIBLE.format(reason=reason))
        flags.append(f"Deadweight of {p.deadweight:.0%} is an entered default, not measured")
    if n_outside:
        warnings.append(
            f"{n_outside} programme persons are left out: their entry date leaves less than the "
            "chosen windows inside the place's data"
        )
    if not p.costs:
        warnings.append("No costs are entered, so the returns and the payback period cannot be worked out")
    if not p.optimism_bias_verified:
        flags.append(
            "The optimism bias table by evidence grade is recalled, not verified against the "
            "HMT/New Economy (2014) guidance: confirm or edit it"
        )
    flags.append(
        f"Attribution ({p.attribution:.0%}), drop-off ({p.drop_off:.0%} a year) and persistence "
        f"({p.persistence_years} years) are entered values"
    )
    if any(a.agency for a in agency_values if a.partner is None):
        flags.append(
            "Some agencies that bear costs are not partners of the collaboration: they gain but "
            "put nothing in, and are left out of the gain-share"
        )
    return Account(
        programme.name,
        programme.origin,
        n_prog,
        n_candidates,
        n_matched,
        n_outside,
        window.start,
        window.end,
        credible,
        tuple(warnings),
        tuple(results),
        balance_rows(balance, p.max_smd),
        tuple(steps),
        tuple(agency_values),
        totals,
        tuple(matrix),
        gain_share(matrix, p.gain_share_rule),
        tuple(tornado),
        mc,
        p,
        tuple(flags),
    )
