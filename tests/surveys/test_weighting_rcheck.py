"""Cross-check of the weighting against R's survey package (rake(), svymean()).

Needs Rscript with the survey package (Debian: r-base-core, r-cran-survey).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from joinedup.surveys import weighting

DATA = Path(__file__).parent / "data"
SCRIPT = Path(__file__).parent / "rcheck.R"

pytestmark = pytest.mark.rcheck


def _margins() -> weighting.Margins:
    totals: dict[str, dict[str, float]] = {}
    with (DATA / "rcheck_margins.csv").open() as fh:
        for row in csv.DictReader(fh):
            totals.setdefault(row["variable"], {})[row["level"]] = float(row["total"])
    return weighting.Margins(totals)


def _responses() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "rcheck_responses.csv", dtype=str, keep_default_na=False)
    frame["ind"] = frame["ind"].replace("", None)
    return frame


@pytest.fixture(scope="module")
def r_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    if shutil.which("Rscript") is None:
        pytest.fail("Rscript is not installed: apt-get install r-base-core r-cran-survey")
    out = tmp_path_factory.mktemp("rcheck")
    subprocess.run(["Rscript", str(SCRIPT), str(DATA), str(out)], check=True,
                   capture_output=True, timeout=120)
    return pd.read_csv(out / "r_weights.csv"), pd.read_csv(out / "r_estimates.csv")


@pytest.fixture(scope="module")
def ours() -> weighting.WeightedSample:
    # R's rake() does not trim, so neither do we here.
    return weighting.rake(_responses(), _margins(), trim_median_multiple=None)


def test_weights_match_r_to_one_in_a_million(
    r_results: tuple[pd.DataFrame, pd.DataFrame], ours: weighting.WeightedSample
) -> None:
    r_weights, _ = r_results
    mine = ours.data.select(["id", "weight"]).to_pandas()
    mine["id"] = mine["id"].astype(int)
    merged = r_weights.merge(mine, on="id", suffixes=("_r", "_py"))
    assert len(merged) == len(r_weights) == 800
    np.testing.assert_allclose(merged["weight_py"], merged["weight_r"], rtol=1e-6)


def test_standard_errors_match_r_to_one_in_ten_thousand(
    r_results: tuple[pd.DataFrame, pd.DataFrame], ours: weighting.WeightedSample
) -> None:
    _, r_est = r_results
    r_est = r_est.set_index("group")
    overall = weighting.proportion(ours, "ind")[0]
    by_area = {p.group: p for p in weighting.proportion(ours, "ind", by="area")}
    checks = [("all", overall)] + [(g, by_area[g]) for g in ("Northgate", "Riverside",
                                                              "Southfields")]
    for group, est in checks:
        assert est.est == pytest.approx(r_est.loc[group, "est"], rel=1e-6), group
        assert est.se == pytest.approx(r_est.loc[group, "se"], rel=1e-4), group
