"""The whole account on a small place written straight into a store: the comparison group
finds the planted effect, before/after overstates it, the fallback says so, the value is
shared among agencies as the Unit Cost Database splits it, and the result round-trips."""

from __future__ import annotations

import json

import duckdb
import pytest

from joinedup.synth.programme import PROGRAMME_SOURCE, StoreTruth
from joinedup.value.account import (
    Account,
    MeasureSpec,
    Parameters,
    Programme,
    compute_account,
    programme_from_source,
)  # fmt: skip
from joinedup.value.catalogue import shipped_splits
from tests.value.conftest import COUNCIL, TRUST, store_measures, store_params

Place = tuple[duckdb.DuckDBPyConnection, StoreTruth]


@pytest.fixture(scope="module")
def account(small_place: Place) -> Account:
    con, _ = small_place
    return compute_account(
        con, programme_from_source(con, PROGRAMME_SOURCE), store_measures(), store_params()
    )


def test_comparison_group_recovers_the_planted_effect(account: Account, small_place: Place) -> None:
    _, truth = small_place
    assert account.comparison_credible
    assert account.warnings == ()
    assert account.n_matched >= 0.9 * account.n_programme
    crisis = next(m for m in account.measures if m.key == "community_mental_health")
    assert crisis.method == "did"
    assert crisis.ci_low <= truth.planted_effect <= crisis.ci_high
    # Before/after credits the programme with the background trend and regression to the
    # mean of people chosen for their high use: it overstates the fall.
    assert crisis.naive_effect < truth.planted_effect
    assert crisis.naive_effect < crisis.ci_low
    deadweight = next(s for s in account.steps if s.name == "Deadweight")
    assert deadweight.value == 0.0 and "comparison group" in deadweight.source


def test_balance_is_shown_before_and_after_matching(account: Account) -> None:
    names = {b.variable for b in account.balance}
    assert "prior use: Community Mental Health Team" in names
    prior = next(b for b in account.balance if b.variable == "prior use: Community Mental Health Team")
    assert abs(prior.smd_before) > 0.1  # the programme chose heavy users
    assert abs(prior.smd_after) < abs(prior.smd_before)
    assert all(b.flagged == (abs(b.smd_after) > 0.1) for b in account.balance)


def test_multi_agency_cost_is_shared_as_the_unit_cost_database_splits_it(account: Account) -> None:
    rows = [a for a in account.agency_values if a.measure_key == "domestic_abuse_support"]
    shares = {a.agency: a.share for a in rows}
    # CR2.0 £2,470 = health £1,171 + criminal justice £581 + police £415 + children's
    # social care £193 + housing £110 (the last two both local authority).
    assert shares == pytest.approx({"NHS": 1171 / 2470, "Criminal Justice System": 581 / 2470,
                                    "Police": 415 / 2470, "Local authority": 303 / 2470})  # fmt: skip
    total = sum(a.pv_fiscal for a in rows)
    steps = {s.name: s.value for s in account.steps if s.measure_key == "domestic_abuse_support"}
    assert total == pytest.approx(steps["Present value of the fiscal benefit"])


def test_shipped_splits_come_from_components_or_are_flagged() -> None:
    splits = shipped_splits()
    assert not splits["CR2.0"].entered
    assert splits["E&E1.0"].shares == pytest.approx({"DWP": 9234 / 9800, "NHS": 566 / 9800})
    assert splits["CR8.0"].entered  # the UCD names several agencies but gives no shares
    for split in splits.values():
        assert sum(split.shares.values()) == pytest.approx(1.0)


def test_who_pays_who_gains_and_gain_share(account: Account) -> None:
    partners = {r.name: r for r in account.matrix if r.kind == "partner"}
    assert partners[COUNCIL].puts_in == pytest.approx(300_000 + 300_000 / 1.035)
    assert partners[TRUST].puts_in == pytest.approx(100_000)
    saved = sum(r.saves for r in account.matrix)
    assert saved == pytest.approx(account.totals.pv_fiscal)
    shares = {g.partner: g for g in account.gain_share}
    assert sum(g.transfer for g in account.gain_share) == pytest.approx(0.0, abs=1e-6)
    assert shares[COUNCIL].share == pytest.approx(shares[COUNCIL].contribution / (
        shares[COUNCIL].contribution + shares[TRUST].contribution))  # fmt: skip


def test_sensitivity_is_seeded_and_bounded(account: Account, small_place: Place) -> None:
    con, _ = small_place
    mc = account.monte_carlo
    assert mc.npv_low <= mc.npv_median <= mc.npv_high
    assert 0 <= mc.probability_positive <= 1
    again = compute_account(
        con, programme_from_source(con, PROGRAMME_SOURCE), store_measures(), store_params()
    )
    assert again.monte_carlo == mc
    assert len(account.tornado) <= 8
    swings = [abs(b.npv_high - b.npv_low) for b in account.tornado]
    assert swings == sorted(swings, reverse=True)


def test_account_round_trips_through_json(account: Account) -> None:
    text = json.dumps(account.to_dict(), allow_nan=False)
    assert Account.from_dict(json.loads(text)) == account


def test_without_a_credible_comparison_it_falls_back_and_says_so(small_place: Place) -> None:
    con, _ = small_place
    # A caliper this narrow leaves almost no one matched.
    fallback = compute_account(con, programme_from_source(con, PROGRAMME_SOURCE), store_measures(),
                               store_params(caliper_sd=1e-7))  # fmt: skip
    assert not fallback.comparison_credible
    assert any("overstate" in w for w in fallback.warnings)
    assert all(m.method == "before_after" and m.comparison_before is None for m in fallback.measures)
    assert all(m.effect == m.naive_effect for m in fallback.measures)
    deadweight = next(s for s in fallback.steps if s.name == "Deadweight")
    assert deadweight.value == 0.2 and "Entered" in deadweight.source
    assert any("Deadweight" in f for f in fallback.flags)


def test_inputs_round_trip_through_json(small_place: Place) -> None:
    con, _ = small_place
    params = store_params(agency_splits={"CR8.0": {"Police": 0.6, "Criminal Justice System": 0.4}},
                          ranges={"drop_off": (0.1, 0.4)}, cashable={"Police": 0.25})  # fmt: skip
    assert Parameters.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    for spec in store_measures():
        assert MeasureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    programme = programme_from_source(con, PROGRAMME_SOURCE)
    assert Programme.from_dict(json.loads(json.dumps(programme.to_dict()))) == programme
