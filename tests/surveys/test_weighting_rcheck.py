"""Cross-check of the weighting against R's survey package (rake(), calibrate(), svymean()).

Needs Rscript with the survey package and MASS, which calibrate() uses (Debian:
r-base-core, r-cran-survey, r-cran-mass).
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
def ours() -> weighting.WeightedSample:
    # R's rake() does not cap the weights, so neither do we here.
    return weighting.rake(_responses(), _margins(), trim_median_multiple=None)


@pytest.fixture(scope="module")
def ours_bounded() -> weighting.WeightedSample:
    """The shipped data with the default cap of 8 × the median: plain raking puts five
    weights above it, so bounded raking does the work (capping alone suffices here)."""
    ws = weighting.rake(_responses(), _margins())
    assert ws.capping is not None and ws.capping.capped > 0 and ws.capping.floored == 0
    return ws


def _rscript(out: Path, *extra: str) -> None:
    if shutil.which("Rscript") is None:
        pytest.fail("Rscript is not installed: apt-get install r-base-core r-cran-survey "
                    "r-cran-mass")
    subprocess.run(["Rscript", str(SCRIPT), str(DATA), str(out), *extra], check=True,
                   capture_output=True, timeout=300)


def _r_bounded(out: Path, ws: weighting.WeightedSample, suffix: str
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """R solves the bounded raking itself, from the bounds on g = weight / (N / n) that
    ours found for the cap: the weights, the cap and the estimates must all agree."""
    assert ws.g_bounds is not None
    lower, upper = ws.g_bounds
    bounds = pd.DataFrame({"id": ws.data.get_column("id").cast(int).to_numpy(),
                           "lower": [repr(v) if v > 0 else "-Inf" for v in lower],
                           "upper": upper})
    path = out / f"bounds_{suffix}.csv"
    bounds.to_csv(path, index=False, float_format="%.17g")
    _rscript(out, str(path), suffix)
    return (pd.read_csv(out / f"r_weights_{suffix}.csv"),
            pd.read_csv(out / f"r_estimates_{suffix}.csv"))


@pytest.fixture(scope="module")
def r_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("rcheck")
    _rscript(out)
    return pd.read_csv(out / "r_weights.csv"), pd.read_csv(out / "r_estimates.csv")


@pytest.fixture(scope="module")
def r_bounded(tmp_path_factory: pytest.TempPathFactory, ours_bounded: weighting.WeightedSample
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _r_bounded(tmp_path_factory.mktemp("rcheck"), ours_bounded, "capped")


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


def _weights_agree(r_weights: pd.DataFrame, ws: weighting.WeightedSample,
                   multiple: float) -> None:
    mine = ws.data.select(["id", "weight"]).to_pandas()
    mine["id"] = mine["id"].astype(int)
    merged = r_weights.merge(mine, on="id", suffixes=("_r", "_py"))
    assert len(merged) == len(r_weights) == 800
    np.testing.assert_allclose(merged["weight_py"], merged["weight_r"], rtol=1e-6)
    # R's own weights, from the same bounds, keep the cap of `multiple` × their median.
    w = merged["weight_r"].to_numpy()
    assert w.max() == pytest.approx(multiple * np.median(w), rel=1e-6)
    assert ws.capping is not None
    assert int(np.sum(w >= w.max() * (1 - 1e-6))) == ws.capping.capped


def _estimates_agree(r_est: pd.DataFrame, ws: weighting.WeightedSample) -> None:
    r_est = r_est.set_index("group")
    overall = weighting.proportion(ws, "ind")[0]
    by_area = {p.group: p for p in weighting.proportion(ws, "ind", by="area")}
    checks = [("all", overall)] + [(g, by_area[g]) for g in ("Northgate", "Riverside",
                                                              "Southfields")]
    for group, est in checks:
        assert est.est == pytest.approx(r_est.loc[group, "est"], rel=1e-6), group
        assert est.se == pytest.approx(r_est.loc[group, "se"], rel=1e-6), group


def test_bounded_weights_match_r_calibrate_and_keep_the_cap(
    r_bounded: tuple[pd.DataFrame, pd.DataFrame], ours_bounded: weighting.WeightedSample
) -> None:
    _weights_agree(r_bounded[0], ours_bounded, 8.0)


def test_bounded_estimates_and_standard_errors_match_r(
    r_bounded: tuple[pd.DataFrame, pd.DataFrame], ours_bounded: weighting.WeightedSample
) -> None:
    _estimates_agree(r_bounded[1], ours_bounded)

