"""A worked example of the valuation chain, computed by hand below and reproduced to the penny.

The same table is in docs/guide-value-account.md ("A worked example").

    Effect (DiD)                       −0.25 A&E attendances per person per quarter
    Persons                            100
    Change in a year                   0.25 × 4 × 100                  = 100 attendances
    Deadweight                         20%  (entered: no comparison group in this example)
    Attribution                        80%
    Optimism bias, evidence grade 3    10%
    Net change in a year               100 × 0.8 × 0.8 × 0.9           = 57.6 attendances
    Unit cost HE4.0                    £109 in 2011-12 prices
    Uprating to 2024-25                100 ÷ 70.3261                   = 1.421947186…
    Unit cost in 2024-25 prices        109 × 1.421947186…              = £154.9922433
    Fiscal value in the first year     57.6 × £154.9922433             = £8,927.553213
    Persistence 3 years, drop-off 25%, discount rate 3.5%, year 0 not discounted:
        factor = 1 + 0.75 ÷ 1.035 + 0.5625 ÷ 1.035²
               = 1 + 0.724637681 + 0.525099769                       = 2.249737450
    PV of the fiscal benefit           £8,927.553213 × 2.249737450      = £20,084.65
    Economic value £50 an attendance avoided (entered):
                                       57.6 × £50 × 2.249737450          = £6,479.24
    Costs £12,000 in year 0 and £6,000 in year 1:
                                       12,000 + 6,000 ÷ 1.035            = £17,797.10
    NPV                                20,084.65 + 6,479.24 − 17,797.10  = £8,766.79
    Fiscal return                      20,084.65 ÷ 17,797.10             = 1.1285 (£1.13 per £1)
    Public value return                26,563.89 ÷ 17,797.10             = 1.4926 (£1.49 per £1)
    Payback (fiscal, discounted):
        year 0: 8,927.55 − 12,000                                      = −3,072.45
        year 1: (8,927.55 × 0.75 − 6,000) ÷ 1.035 = 695.66 ÷ 1.035     =    672.13 → −2,400.31
        year 2: 8,927.55 × 0.5625 ÷ 1.035² = 5,021.75 ÷ 1.071225       =  4,687.86 → covers it
        payback = 2 + 2,400.31 ÷ 4,687.86                              = 2.51 years
"""

from __future__ import annotations

from pathlib import Path

import pytest

from joinedup.insight.demand import price_factor
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.value.account import CostLine
from joinedup.value.appraisal import totals_for
from joinedup.value.catalogue import AgencySplit
from joinedup.value.valuation import Assumptions, MeasureValueInput, chain


def _penny(x: float) -> float:
    return round(x + 0.0, 2)


@pytest.fixture
def deflator_factor(tmp_path: Path) -> float:
    con = connect(tmp_path / "w.duckdb")
    seed_reference(con)
    factor = price_factor(con, "2011-12", "2024-25")
    con.close()
    return factor


def test_worked_example_to_the_penny(deflator_factor: float) -> None:
    assert deflator_factor == pytest.approx(100 / 70.3261, rel=1e-12)
    measure = MeasureValueInput(
        key="ae", label="A&E attendances", effect=-0.25, se=0.1, n_persons=100, cost_code="HE4.0",
        cost_published=109.0, cost_price_year="2011-12", price_factor=deflator_factor, unit_cost_scale=1.0,
        split=AgencySplit({"NHS": 1.0}, "UCD", False), economic_per_unit=50.0, social_per_unit=0.0,
        economic_source="entered", social_source="", better_sign=1.0,
    )  # fmt: skip
    a = Assumptions(
        deadweight=0.2, deadweight_source="entered", attribution=0.8, evidence_grade=3, optimism_bias=0.10,
        persistence_years=3, drop_off=0.25, discount_rate=0.035, price_year="2024-25",
    )  # fmt: skip
    steps, values = chain(measure, a)
    by_name = {s.name: s.value for s in steps}
    assert by_name["Change in a year for the cohort"] == pytest.approx(100.0)
    assert by_name["Net change in a year"] == pytest.approx(57.6)
    assert _penny(by_name["Unit cost in 2024-25 prices"]) == 154.99
    assert _penny(values["first_year"]) == 8927.55
    assert values["factor"] == pytest.approx(2.249737450, abs=1e-9)
    assert _penny(values["pv_fiscal"]) == 20084.65
    assert _penny(values["pv_economic"]) == 6479.24
    totals = totals_for(values["pv_fiscal"], values["pv_economic"], values["pv_social"], values["first_year"],
                        a, [CostLine("Council", 0, 12_000.0), CostLine("Council", 1, 6_000.0)])  # fmt: skip
    assert _penny(totals.pv_costs) == 17797.10
    assert _penny(totals.npv) == 8766.79
    assert _penny(totals.fiscal_npv) == 2287.55
    assert totals.fiscal_roi is not None and round(totals.fiscal_roi, 4) == 1.1285
    assert totals.public_value_roi is not None and round(totals.public_value_roi, 4) == 1.4926
    assert totals.payback_years is not None and round(totals.payback_years, 2) == 2.51


def test_no_payback_without_a_positive_fiscal_return() -> None:
    a = Assumptions(0.0, "", 1.0, 2, 0.05, 3, 0.0, 0.035, "2024-25")
    # £1,000 a year of fiscal benefit for three years against £5,000 spent: never pays back.
    totals = totals_for(2_898.30, 0.0, 0.0, 1_000.0, a, [CostLine("Council", 0, 5_000.0)])
    assert totals.fiscal_npv < 0
    assert totals.payback_years is None
