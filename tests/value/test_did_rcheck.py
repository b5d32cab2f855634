"""The DiD estimate and its person-clustered standard error against R: lm() with
sandwich::vcovCL(type = "HC1", cadjust = TRUE), on a shipped panel, to 1e-6 relative.

Needs Rscript with the sandwich package (Debian: r-base-core, r-cran-sandwich; see
scripts/system-deps.sh)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from joinedup.value import did

DATA = Path(__file__).parent / "data" / "did_panel.csv"
SCRIPT = Path(__file__).parent / "did_rcheck.R"

pytestmark = pytest.mark.rcheck


@pytest.fixture(scope="module")
def r_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[float, float]]:
    if shutil.which("Rscript") is None:
        pytest.fail("Rscript is not installed: apt-get install r-base-core r-cran-sandwich")
    out = tmp_path_factory.mktemp("rcheck") / "did.csv"
    subprocess.run(
        ["Rscript", str(SCRIPT), str(DATA), str(out)], check=True, capture_output=True, timeout=300
    )
    with out.open() as fh:
        return {row["model"]: (float(row["estimate"]), float(row["se"])) for row in csv.DictReader(fh)}


def test_did_matches_r(r_results: dict[str, tuple[float, float]]) -> None:
    panel = pd.read_csv(DATA, dtype={"person_id": str})
    ours = did.diff_in_diff(panel, "y")
    estimate, se = r_results["did"]
    assert ours.effect == pytest.approx(estimate, rel=1e-6)
    assert ours.se == pytest.approx(se, rel=1e-6)
    assert ours.n_clusters == panel["person_id"].nunique()


def test_before_after_matches_r(r_results: dict[str, tuple[float, float]]) -> None:
    panel = pd.read_csv(DATA, dtype={"person_id": str})
    ours = did.before_after(panel[panel["treated"] == 1], "y")
    estimate, se = r_results["before_after"]
    assert ours.effect == pytest.approx(estimate, rel=1e-6)
    assert ours.se == pytest.approx(se, rel=1e-6)
