"""End to end on the synthetic place with "Fulfilling lives in Northbrook" planted in it
(slow tier): extracts written, ingested and linked like any partner's, the programme taken
from its caseload source, the starter catalogue of measures. The comparison group's
estimate of the change in crisis mental health contacts covers the planted effect; the
programme's own before/after overstates the fall (it credits the trend and the settling of
the chance peaks the programme selected people on)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from joinedup.insight.pipeline import ingest_directory, link_with_settings
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import open_store
from joinedup.synth.demo_value import DEMO_PEOPLE, DEMO_PROGRAMME_SIZE, DEMO_SEED
from joinedup.synth.programme import (
    PROGRAMME_SOURCE,
    WINDOW_QUARTERS,
    generate_place_with_programme,
    read_truth,
)  # fmt: skip
from joinedup.value.account import CostLine, Parameters, compute_account, programme_from_source
from joinedup.value.catalogue import STARTER_MEASURES

pytestmark = pytest.mark.slow


def test_demo_programme_effect_recovered_and_before_after_overstates(tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    # The demo's own place and programme: its account must tell the true story.
    generate_place_with_programme(DEMO_PEOPLE, extracts, seed=DEMO_SEED, size=DEMO_PROGRAMME_SIZE)
    truth = read_truth(extracts)
    settings = SimpleNamespace(insight_dir=tmp_path, duckdb_memory_limit="1GB", duckdb_threads=2)
    with open_store(tmp_path, "northbrook") as con:
        seed_reference(con)
        reports = ingest_directory(con, extracts)
        assert PROGRAMME_SOURCE in {r.source for r in reports}
        link_with_settings(con, settings, "northbrook", seed=2025)
        programme = programme_from_source(con, PROGRAMME_SOURCE)
        before, after = WINDOW_QUARTERS
        params = Parameters(window_before=before, window_after=after,
                            costs=(CostLine("Northbrook Borough Council", 0, 250_000.0),))  # fmt: skip
        account = compute_account(con, programme, STARTER_MEASURES, params)
    assert account.n_programme >= 0.9 * truth.size
    assert account.comparison_credible, account.warnings
    crisis = next(m for m in account.measures if m.key == "crisis_mental_health")
    planted = truth.planted_effect(after)
    assert planted < 0
    assert crisis.ci_low <= planted <= crisis.ci_high
    # Large enough to find: the interval excludes zero, so the demo's sentence is credible.
    assert crisis.ci_high < 0, (crisis.effect, crisis.ci_low, crisis.ci_high)
    assert crisis.naive_effect < planted
    assert crisis.naive_effect < crisis.effect
