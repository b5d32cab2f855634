"""Weighted estimates for the citizen-voice survey: raking with svy, never hand-rolled.

Respondents are raked to the place's population margins (age × sex, and area), extreme
weights are trimmed inside svy's trim-and-rake cycle (so the last step is always a rake and
the margins still hold), and every proportion comes from svy's Taylor linearisation, which
accounts for the raking as R's survey package does (rake() then svyciprop()).

Respondents who preferred not to give a weighting variable cannot be raked; they are left
out of the weighted estimates and counted in `excluded`, so the page can say so.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, cast

import numpy as np
import pandas as pd
import polars as pl
import svy

from joinedup.surveys.instrument import PREFER_NOT

AGE_SEX = "age_sex"
AREA = "area"
#: Survey age bands, each the union of ONS bands in the shipped estimates.
AGE_BANDS: dict[str, tuple[str, ...]] = {
    "16-24": ("16-17", "18-24"),
    "25-34": ("25-34",),
    "35-44": ("35-44",),
    "45-54": ("45-54",),
    "55-64": ("55-64",),
    "65-74": ("65-74",),
    "75+": ("75-84", "85+"),
}
SEXES = ("female", "male")
#: No weight may exceed this multiple of the median weight after trimming.
DEFAULT_TRIM_MEDIAN_MULTIPLE = 8.0
RAKE_TOL = 1e-6
RAKE_MAX_ITER = 500
TRIM_MAX_CYCLES = 100


class WeightingError(ValueError):
    """The responses cannot be weighted to these margins; the message says why."""


def age_sex_level(age_band: str, sex: str) -> str:
    return f"{age_band} {sex}"


@cache
def ons_age_sex_shares() -> dict[str, float]:
    """Shares of England's adults (16+) by survey age band × sex, ONS mid-2023.

    Read from the copy shipped in surveys/reference (see its README for the source).
    """
    path = resources.files("joinedup.surveys.reference") / (
        "ons_mye_mid2023_england_adults_age_sex.csv"
    )
    counts: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            counts[(row["age_band"], row["sex"])] = int(row["population"])
    totals = {
        age_sex_level(band, sex): sum(counts[(ons, sex)] for ons in ons_bands)
        for band, ons_bands in AGE_BANDS.items()
        for sex in SEXES
    }
    grand = sum(totals.values())
    return {k: v / grand for k, v in totals.items()}


@dataclass(frozen=True)
class Margins:
    """Population totals for each raking variable, keyed by its level."""

    totals: dict[str, dict[str, float]]

    @classmethod
    def default(cls, adult_population: int, areas: Mapping[str, float] | None) -> Margins:
        """ONS age × sex shares scaled to the place, and the area shares the lead gave.

        `areas` maps each area to its population or share; equal shares when only names.
        """
        totals: dict[str, dict[str, float]] = {
            AGE_SEX: {k: v * adult_population for k, v in ons_age_sex_shares().items()}
        }
        if areas:
            whole = sum(areas.values())
            totals[AREA] = {a: v / whole * adult_population for a, v in areas.items()}
        return cls(totals)

    @classmethod
    def entered(cls, age_sex: Mapping[str, float], areas: Mapping[str, float] | None) -> Margins:
        """Margins a place entered: its own age × sex counts, and areas scaled to their total.

        Area populations often come from another source or year than the age × sex counts;
        raking needs both margins to add up to the same adults, so areas count as shares.
        """
        total = float(sum(age_sex.values()))
        if total <= 0:
            raise WeightingError("the age and sex counts add up to nothing")
        totals: dict[str, dict[str, float]] = {AGE_SEX: {k: float(v) for k, v in age_sex.items()}}
        if areas:
            whole = float(sum(areas.values()))
            totals[AREA] = {a: float(v) / whole * total for a, v in areas.items()}
        return cls(totals)

    def to_json(self) -> dict[str, dict[str, float]]:
        return {k: dict(v) for k, v in self.totals.items()}


@dataclass
class WeightedSample:
    """A raked svy sample and the facts a reader needs to trust it."""

    sample: svy.Sample
    data: pl.DataFrame
    n_used: int
    excluded: int
    deff: float
    ess: float
    weight_min: float
    weight_max: float
    trimmed: bool
    notes: list[str] = field(default_factory=list)

    @property
    def weights(self) -> np.ndarray:
        wgt = self.sample.design.wgt
        assert wgt is not None
        return np.asarray(self.data.get_column(wgt).to_numpy(), dtype=float)


@dataclass(frozen=True)
class Proportion:
    """A weighted proportion with its 95% interval (logit, as R's svyciprop)."""

    group: str | None
    est: float | None
    se: float | None
    lci: float | None
    uci: float | None
    n: int
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return not self.suppressed and self.est is not None


def prepare(frame: pd.DataFrame | pl.DataFrame, margins: Margins
            ) -> tuple[pl.DataFrame, int, list[str]]:
    """Respondents complete on the raking variables, with the margin columns added.

    `frame` holds one row per response with `age_band`, `sex` and (when raking on area)
    `area`; other columns pass through. Done in polars: a million rows take a fraction of
    a second, where pandas string work took seconds.
    """
    df = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(
        frame.reset_index(drop=True))
    needed = ["age_band", "sex"] + (["area"] if AREA in margins.totals else [])
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise WeightingError(f"responses have no {', '.join(missing_cols)} column")
    df = df.with_columns([pl.col(c).cast(pl.Utf8) for c in needed])
    complete = pl.all_horizontal([
        pl.col(c).is_not_null() & (pl.col(c) != PREFER_NOT) & (pl.col(c) != "") for c in needed
    ])
    total = df.height
    df = df.filter(complete)
    excluded = total - df.height
    df = df.with_columns(
        pl.concat_str([pl.col("age_band"), pl.col("sex")], separator=" ").alias(AGE_SEX),
        pl.lit(1.0).alias("base_wgt"),
    )
    notes = []
    for var, totals in margins.totals.items():
        seen = df.get_column(var).cast(pl.Utf8).unique().to_list()
        unknown = sorted(str(v) for v in seen if v not in totals)
        if unknown:
            raise WeightingError(f"the margins for {var} have no total for {', '.join(unknown)}")
    if excluded:
        notes.append(
            f"{excluded} respondents preferred not to give their age, sex or area, so they are "
            "not in the weighted estimates."
        )
    return df, excluded, notes


def _reachable(data: pl.DataFrame, margins: Margins) -> tuple[dict[str, dict[str, float]],
                                                                list[str]]:
    """Margins without levels nobody answered, each rescaled to the same grand total.

    A level with no respondents cannot be reached by any weight; dropping it and
    rescaling keeps the margins consistent, and the page says which groups were missing.
    """
    grand = sum(next(iter(margins.totals.values())).values())
    out: dict[str, dict[str, float]] = {}
    notes = []
    for var, totals in margins.totals.items():
        seen = set(data.get_column(var).cast(pl.Utf8).unique().to_list())
        kept = {k: v for k, v in totals.items() if k in seen and v > 0}
        gone = sorted(set(totals) - set(kept))
        if gone:
            notes.append(f"Nobody answered from {', '.join(gone)}, so weights cannot reach them.")
        whole = sum(kept.values())
        out[var] = {k: v / whole * grand for k, v in kept.items()}
    return out, notes


def rake(frame: pd.DataFrame | pl.DataFrame, margins: Margins, *,
         trim_median_multiple: float | None = DEFAULT_TRIM_MEDIAN_MULTIPLE) -> WeightedSample:
    """Rake the respondents to `margins` with svy, trimming weights above a multiple of the
    median inside svy's trim-and-rake cycle. Pass None to rake without trimming."""
    data, excluded, notes = prepare(frame, margins)
    if data.height == 0:
        raise WeightingError("no respondent gave all of the weighting variables")
    reachable, reach_notes = _reachable(data, margins)
    controls = cast(Any, reachable)  # svy's ControlsType is invariant in its key type
    notes += reach_notes
    sample = svy.Sample(data, svy.Design(wgt="base_wgt"))
    raked = None
    trimmed = False
    if trim_median_multiple is not None:
        trimming = svy.TrimConfig(upper=svy.Threshold("median", trim_median_multiple),
                                  max_iter=TRIM_MAX_CYCLES)
        try:
            raked = sample.weighting.rake(
                controls=controls, wgt_name="weight", tol=RAKE_TOL, max_iter=RAKE_MAX_ITER,
                trimming=trimming,
            )
            trimmed = True
        except svy.SvyError:
            # The cap and the margins cannot both hold: some group is so under-represented
            # that meeting its margin needs weights above the cap. The margins win, since
            # trimming them away would bring back the bias weighting exists to remove.
            notes.append(
                f"Weights could not be capped at {trim_median_multiple:g} times the median "
                "without missing the population margins, so they are not trimmed."
            )
    if raked is None:
        try:
            raked = sample.weighting.rake(
                controls=controls, wgt_name="weight", tol=RAKE_TOL, max_iter=RAKE_MAX_ITER,
            )
        except svy.SvyError as exc:
            raise WeightingError(
                f"the weights could not be made to fit the margins: {exc}"
            ) from exc
    check = raked.check().weights
    assert check is not None
    raked_data = raked.data
    assert isinstance(raked_data, pl.DataFrame)
    w = raked_data.get_column("weight").to_numpy()
    return WeightedSample(
        sample=raked, data=raked_data, n_used=data.height, excluded=excluded,
        deff=float(check.deff or math.nan), ess=float(check.ess or math.nan),
        weight_min=float(w.min()), weight_max=float(w.max()),
        trimmed=trimmed, notes=notes,
    )


def indicator_column(values: pd.Series, positive: Sequence[str],
                     leave_out: Sequence[str]) -> pd.Series:
    """'yes' where the answer counts, 'no' where it does not, None where it is left out."""
    out = pd.Series("no", index=values.index, dtype=object)
    out[values.isin(list(positive))] = "yes"
    out[values.isna() | values.isin(list(leave_out)) | (values == "")] = None
    return out


def proportion(ws: WeightedSample, column: str, *, by: str | None = None,
               where: tuple[str, str] | None = None, min_group_size: int = 5,
               ) -> list[Proportion]:
    """Weighted share of 'yes' in `column` (nulls left out), overall or by group.

    `where=(col, value)` estimates within the domain where `col == value` (a domain, not a
    filter, so the variance still sees every respondent, as R's subset() of a design does).
    Groups with fewer than `min_group_size` respondents in the base are suppressed.
    """
    sample = ws.sample
    svy_where = svy.col(where[0]) == where[1] if where is not None else None
    result = sample.estimation.prop(column, by=by, where=svy_where, drop_nulls=True,
                                    ci_method="logit")
    assert not isinstance(result, list)
    rows = result.to_polars()
    out: list[Proportion] = []
    # n in svy's output counts the domain's respondents; suppress on the base size.
    base = ws.data.filter(pl.col(column).is_not_null())
    if where is not None:
        base = base.filter(pl.col(where[0]) == where[1])
    groups: list[str | None] = (
        [str(g) for g in sorted(base.get_column(by).unique().to_list())] if by else [None]
    )
    counts: dict[str | None, int] = (
        {str(k): int(v) for k, v in base.group_by(by).len().iter_rows()} if by
        else {None: base.height}
    )
    for g in groups:
        n = counts.get(g, 0)
        sel = rows.filter(pl.col(column) == "yes")
        if by:
            sel = sel.filter(pl.col(by).cast(pl.Utf8) == g)
        if n < min_group_size:
            out.append(Proportion(g, None, None, None, None, n, suppressed=True))
            continue
        if sel.height == 0:  # nobody said yes: svy has no 'yes' level to report
            out.append(Proportion(g, 0.0, None, None, None, n))
            continue
        r = sel.row(0, named=True)
        out.append(Proportion(g, float(r["est"]), float(r["se"]), float(r["lci"]),
                              float(r["uci"]), n))
    return out
