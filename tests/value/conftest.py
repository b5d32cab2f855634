"""A small place written straight into a store (no extracts, no linkage), with a programme,
a planted effect on crisis mental health contacts and a background trend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from joinedup.insight.store import connect
from joinedup.synth.programme import STORE_SERVICES, StoreTruth, write_programme_store
from joinedup.value.account import CostLine, MeasureSpec, Parameters

COUNCIL = "Northbrook Borough Council"
TRUST = "Northbrook and Vale NHS Foundation Trust"


def store_measures() -> list[MeasureSpec]:
    return [
        MeasureSpec(s.source, s.service, (s.service,), unit_cost_code=s.cost_item) for s in STORE_SERVICES
    ]


def store_params(**changes: object) -> Parameters:
    costs = (CostLine(COUNCIL, 0, 300_000.0), CostLine(COUNCIL, 1, 300_000.0), CostLine(TRUST, 0, 100_000.0))
    base: dict[str, object] = {"window_before": 3, "window_after": 3, "mc_draws": 2_000, "costs": costs}
    base.update(changes)
    return Parameters(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def small_place(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, StoreTruth]]:
    path: Path = tmp_path_factory.mktemp("value") / "place.duckdb"
    con = connect(path)
    truth = write_programme_store(con, persons=12_000, programme=600, seed=5)
    yield con, truth
    con.close()
