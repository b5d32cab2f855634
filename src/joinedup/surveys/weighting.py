"""Weighted estimates for the citizen-voice survey: raking with svy.

Respondents are raked to the place's population margins (age × sex, and area) with svy.
When a raked weight exceeds 8 × the median weight, the respondents are raked again with
bounds on the weights (surveys/calibration.py: what R's calibrate(calfun = "raking",
bounds =) does, which svy does not offer), so that no weight exceeds the cap and the
margins still hold; when no weighting can do both, the margins win and the page says why.
Every proportion comes from svy's Taylor linearisation, which accounts for the raking or
the bounded calibration as R's survey package does (rake() or calibrate(), then
svyciprop()).

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

from joinedup.surveys import calibration
from joinedup.surveys.instrument import PREFER_NOT
from joinedup.surveys.representation import (
    AGE_SEX,
    Representation,
    group_label,
    representation,
)

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
#: No weight may exceed this multiple of the median weight, where a weighting allows it.
DEFAULT_TRIM_MEDIAN_MULTIPLE = 8.0
RAKE_TOL = 1e-6
RAKE_MAX_ITER = 500
#: Relative slack in comparing a weight with the cap (rounding, not policy).
CAP_SLACK = 1e-9


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


@dataclass(frozen=True)
class Capping:
    """What the cap did: how many weights it held at the cap, and how far the largest
    raked weight (as a multiple of the median) was brought down."""

    multiple: float
    capped: int
    largest_before: float
    #: The bound on g = weight / mean weight that bounded raking used (R's `bounds`).
    upper: float
    #: Respondents held up at a floor so that the median could not fall with the cap
    #: (only when capping the largest weights alone could not keep it), and that floor
    #: as a multiple of the median weight.
    floored: int = 0
    floor: float | None = None


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
    #: Set only when the cap bit: some raked weight exceeded it and bounded raking held it.
    capping: Capping | None = None
    cap_multiple: float | None = None
    notes: list[str] = field(default_factory=list)
    representation: list[Representation] = field(default_factory=list)
    #: Each respondent's bounds (lower, upper) on g = weight / (N / n) when bounded raking
    #: was used, as R's calibrate(bounds =) takes them; 0 means no lower bound.
    g_bounds: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def trimmed(self) -> bool:
        """Whether any weight was capped (not merely whether a cap was asked for)."""
        return self.capping is not None and self.capping.capped > 0

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


def cap_summary(ws: WeightedSample) -> str:
    """What the cap did to the weights, for the page: capped (how many, from how high),
    not needed, or not possible."""
    c, multiple = ws.capping, ws.cap_multiple
    if c is not None and c.capped:
        were = "weight was" if c.capped == 1 else "weights were"
        text = (f"{c.capped:,} {were} capped at {c.multiple:g} times the median weight (the "
                f"largest had been {c.largest_before:.1f} times the median)")
        if c.floored and c.floor is not None:
            text += (f", and {c.floored:,} raised to {c.floor:.2f} times the median so that "
                     "the median stays up")
        return text
    if multiple is None:
        return "not capped"
    median = float(np.median(ws.weights))
    if ws.weight_max <= multiple * median * (1 + CAP_SLACK):
        return f"none above {multiple:g} times the median weight, so none capped"
    return f"not capped, though above {multiple:g} times the median weight (see the note above)"


def _codes(data: pl.DataFrame, reachable: Mapping[str, Mapping[str, float]]
           ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each respondent's level index on every margin, and each margin's totals."""
    codes, targets = [], []
    for var, totals in reachable.items():
        index = {level: i for i, level in enumerate(totals)}
        codes.append(data.get_column(var).cast(pl.Utf8)
                     .replace_strict(index, return_dtype=pl.Int64).to_numpy())
        targets.append(np.array(list(totals.values()), dtype=float))
    return codes, targets


def _calibrated_sample(data: pl.DataFrame, weights: np.ndarray,
                       codes: Sequence[np.ndarray], sizes: Sequence[int]) -> svy.Sample:
    """A svy sample with the bounded weights, recorded as a calibration on the margins'
    indicators, so that svy's Taylor variance takes residuals on them, as R's
    calibrate() does (its variance does not depend on the calibration function)."""
    aux: list[pl.Series] = []
    for m, (c, k) in enumerate(zip(codes, sizes, strict=True)):
        # All levels of the first margin, all but one of the others: the same span as
        # R's model matrix (intercept + k - 1 dummies each), without a singular column.
        for j in range(0 if m == 0 else 1, k):
            aux.append(pl.Series(f"_cal_{m}_{j}", (c == j).astype(np.float64)))
    data = data.with_columns([pl.Series("weight", weights), *aux])
    design = svy.Design(wgt="weight", wgt_adjustment=svy.WgtAdjustment(
        kind="calibration", prev_wgt="base_wgt", new_wgt="weight",
        aux=tuple(s.name for s in aux)))
    return svy.Sample(data, design)


def _unreachable_note(multiple: float, exc: calibration.CapUnreachable,
                      data: pl.DataFrame, reachable: Mapping[str, Mapping[str, float]]) -> str:
    """Why the cap cannot hold, with the group that most needs large weights."""
    n = data.height
    worst: tuple[float, str, int, float] | None = None
    for var, totals in reachable.items():
        grand = sum(totals.values())
        counts = dict(data.get_column(var).cast(pl.Utf8).value_counts().iter_rows())
        for level, total in totals.items():
            ratio = (total / grand) / (counts[level] / n)
            if worst is None or ratio > worst[0]:
                worst = (ratio, group_label(var, level), int(counts[level]), total / grand)
    assert worst is not None
    _, label, count, share = worst
    who = f"{count} of the {n:,} who answered" if count > 1 else f"1 of the {n:,} who answered"
    why = (f"The group that needs the largest weights is {label}: {share:.0%} of adults but "
           f"{who}.")
    if exc.at_least > multiple:
        about = (f"about {exc.smallest:.1f}" if exc.smallest <= exc.at_least * 1.05 else
                 f"between {exc.at_least:.1f} and {exc.smallest:.1f}")
        return (f"No weighting meets the population margins with every weight within "
                f"{multiple:g} times the median weight: the smallest cap that works is {about} "
                f"times the median. {why} The weights are not capped, so the figures still "
                "match the population.")
    could = ("though some weighting could" if exc.smallest <= multiple else
             "and the search could not tell whether any weighting could")
    return (f"Raking with bounds did not find weights within {multiple:g} times the median "
            f"weight that meet the population margins, {could} (the smallest cap that works "
            f"is between {exc.at_least:.1f} and {exc.smallest:.1f} times the median). {why} "
            "The weights are not capped, so the figures still match the population.")


def rake(frame: pd.DataFrame | pl.DataFrame, margins: Margins, *,
         trim_median_multiple: float | None = DEFAULT_TRIM_MEDIAN_MULTIPLE) -> WeightedSample:
    """Rake the respondents to `margins` with svy; when a weight then exceeds
    `trim_median_multiple` × the median weight, rake with bounds instead (see
    surveys/calibration.py) so that none does and the margins still hold. Pass None to rake
    without a cap."""
    data, excluded, notes = prepare(frame, margins)
    if data.height == 0:
        raise WeightingError("no respondent gave all of the weighting variables")
    reachable, reach_notes = _reachable(data, margins)
    controls = cast(Any, reachable)  # svy's ControlsType is invariant in its key type
    notes += reach_notes
    sample = svy.Sample(data, svy.Design(wgt="base_wgt"))
    try:
        raked = sample.weighting.rake(
            controls=controls, wgt_name="weight", tol=RAKE_TOL, max_iter=RAKE_MAX_ITER,
        )
    except svy.SvyError as exc:
        raise WeightingError(f"the weights could not be made to fit the margins: {exc}") from exc
    raked_data = raked.data
    assert isinstance(raked_data, pl.DataFrame)
    w = raked_data.get_column("weight").to_numpy()
    capping: Capping | None = None
    g_bounds: tuple[np.ndarray, np.ndarray] | None = None
    median = float(np.median(w))
    multiple = trim_median_multiple
    if multiple is not None and w.max() > multiple * median * (1 + CAP_SLACK):
        codes, targets = _codes(data, reachable)
        # Starting weights d = N / n, the mean weight, so that g = w / d is the weight
        # relative to the mean, R's calibrate() needs no rescaling, and the cap on the
        # median becomes a bound on g (see calibration.cap_to_median_multiple).
        mean = float(targets[0].sum()) / data.height
        patterns = calibration.Patterns.of(codes, targets, np.full(data.height, mean))
        g_raked = np.zeros(len(patterns.d))
        g_raked[patterns.inverse] = w / mean
        try:
            capped = calibration.cap_to_median_multiple(patterns, multiple, g_raked)
        except calibration.CapUnreachable as exc:
            notes.append(_unreachable_note(multiple, exc, data, reachable))
        else:
            g = capped.g[patterns.inverse]
            bounded = g * mean
            lower = np.broadcast_to(np.asarray(capped.lower, dtype=float),
                                    capped.g.shape)[patterns.inverse]
            at_floor = (lower > 0) & (g <= lower * (1 + CAP_SLACK))
            capping = Capping(
                multiple=multiple, upper=capped.upper,
                capped=int(np.sum(g >= capped.upper * (1 - CAP_SLACK))),
                largest_before=float(w.max() / median),
                floored=int(at_floor.sum()),
                floor=float(lower.max() / np.median(g)) if at_floor.any() else None,
            )
            g_bounds = (lower, np.full(data.height, capped.upper))
            raked = _calibrated_sample(data, bounded, codes, [len(t) for t in targets])
            raked_data = raked.data
            assert isinstance(raked_data, pl.DataFrame)
            w = bounded
    check = raked.check().weights
    assert check is not None
    return WeightedSample(
        sample=raked, data=raked_data, n_used=data.height, excluded=excluded,
        deff=float(check.deff or math.nan), ess=float(check.ess or math.nan),
        weight_min=float(w.min()), weight_max=float(w.max()),
        capping=capping, cap_multiple=multiple, notes=notes, g_bounds=g_bounds,
        representation=representation(data, margins.totals),
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
