"""The public value account: what a collaboration changed for its people, what that is
worth, and who pays and who gains.

This module is the engine's public face (the web pages, the CLI and the demo use only what
is here): the programme cohort, the outcome measures, the parameters of the valuation, and
:func:`compute_account`, which returns an :class:`Account` that serialises to plain JSON
(``to_dict`` / ``from_dict``) so that results can be stored and served without recomputing.

The steps live in their own modules: ``panel`` (person × quarter counts in DuckDB),
``matching`` (the comparison group), ``did`` (difference in differences), ``valuation``
(the Green Book / HMT–New Economy chain) and ``sensitivity`` (tornado and Monte Carlo).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar

import duckdb

__all__ = [
    "OPTIMISM_BIAS_BY_GRADE",
    "Account",
    "AgencyValue",
    "BalanceRow",
    "CostLine",
    "ExtraValue",
    "GainShareRow",
    "MatrixRow",
    "MeasureResult",
    "MeasureSpec",
    "MonteCarloResult",
    "Parameters",
    "Programme",
    "TornadoBar",
    "Totals",
    "ValuationStep",
    "ValueInputError",
    "compute_account",
    "programme_from_cohort",
    "programme_from_source",
    "validate_measure",
]

Statistic = Literal["count", "nights"]
Direction = Literal["lower", "higher"]


class ValueInputError(ValueError):
    """Input the account cannot use. ``message`` is plain English for the page or the CLI;
    ``field`` names the form field it belongs to (for the GOV.UK error summary)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Programme:
    """Who the collaboration serves and from when: linked persons with an entry date each.

    ``origin`` says where it came from ("source:<name>" or "cohort:<name>") and
    ``n_unlinked`` how many of the source's records did not link to a person (they cannot be
    followed and are left out)."""

    name: str
    entries: tuple[tuple[str, date], ...]  # (person_id, entry_date), one per person
    origin: str
    n_unlinked: int = 0

    @property
    def n_persons(self) -> int:
        return len(self.entries)

    def to_dict(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], _encode(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Programme:
        return typing.cast(Programme, _decode(cls, data))


@dataclass(frozen=True)
class MeasureSpec:
    """An outcome measure: per person per quarter, the count of events (or the nights they
    span, ``event_end_date - event_date``) of the named services.

    ``services`` holds service names as partners call them (``sources.service``); a source
    name is accepted too. ``unit_cost_code`` values one unit of the measure (an event or a
    night); ``unit_cost_scale`` turns the cost's own unit into one unit of the measure (for
    example 12/365 for a cost per month valued per night)."""

    key: str
    label: str
    services: tuple[str, ...]
    statistic: Statistic = "count"
    direction: Direction = "lower"
    unit_cost_code: str | None = None
    unit_cost_scale: float = 1.0
    period: Literal["quarter"] = "quarter"
    event_types: tuple[str, ...] = ()  # empty = every event type

    def to_dict(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], _encode(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasureSpec:
        return typing.cast(MeasureSpec, _decode(cls, data))


@dataclass(frozen=True)
class CostLine:
    """What a partner puts into the collaboration in one year (year 0 is the first year of
    the appraisal, undiscounted), in the account's price year."""

    partner: str
    year: int
    amount_gbp: float
    note: str = ""


@dataclass(frozen=True)
class ExtraValue:
    """An economic or social value per unit of a measure's change, entered by the place
    with its source (joinedup ships none: the openly licensed ones are for the place to
    choose). In the account's price year."""

    measure_key: str
    kind: Literal["economic", "social"]
    value_gbp: float
    source: str


# HMT/PSTN/New Economy (2014) grade of the evidence → optimism-bias reduction to benefits.
# RECALLED, NOT VERIFIED against the guidance: see the reference README; the account flags
# it until the place confirms or edits the table.
OPTIMISM_BIAS_BY_GRADE: dict[int, float] = {1: 0.0, 2: 0.05, 3: 0.10, 4: 0.15, 5: 0.25, 6: 0.40}


@dataclass(frozen=True)
class Parameters:
    """Everything the analyst can change. Defaults are the Green Book's where it has one,
    otherwise an entered default that the account shows as such."""

    window_before: int = 4  # quarters before entry
    window_after: int = 4  # quarters after entry
    price_year: str = "2024-25"
    discount_rate: float = 0.035  # Green Book social time preference rate, years 0–30
    deadweight: float = 0.20  # used only without a credible comparison group
    attribution: float = 1.0
    evidence_grade: int | None = None  # None: 2 with a credible comparison group, else 4
    optimism_bias: dict[int, float] = field(default_factory=lambda: dict(OPTIMISM_BIAS_BY_GRADE))
    optimism_bias_verified: bool = False
    persistence_years: int = 5
    drop_off: float = 0.20  # share of the effect lost each year after the first
    extra_values: tuple[ExtraValue, ...] = ()
    costs: tuple[CostLine, ...] = ()
    # unit cost code → {agency: share}; overrides the shipped split (see catalogue.py).
    agency_splits: dict[str, dict[str, float]] = field(default_factory=dict)
    # agency → partner that bears it; missing agencies are taken from the place's sources.
    agency_partners: dict[str, str] = field(default_factory=dict)
    # agency → share of its saving that is cashable (0 unless entered).
    cashable: dict[str, float] = field(default_factory=dict)
    gain_share_rule: Literal["contribution", "equal"] = "contribution"
    mc_draws: int = 10_000
    seed: int = 20250401
    # parameter → (low, high) for the tornado and the Monte Carlo; missing ones use defaults.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    min_persons: int = 8  # the place's disclosure threshold: smaller cohorts are refused
    caliper_sd: float = 0.2  # of the logit of the propensity score
    max_smd: float = 0.1
    # The measure the account's sentence leads with, chosen by the analyst; "" lets the
    # sentence choose (the largest change whose interval excludes zero) and say so.
    headline_measure: str = ""

    def validate(self) -> None:
        """Raise :class:`ValueInputError` (with the form field) on anything out of range."""
        from joinedup.value.inputs import check_parameters

        check_parameters(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, for storing the analyst's settings."""
        return typing.cast(dict[str, Any], _encode(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Parameters:
        return typing.cast(Parameters, _decode(cls, data))


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceRow:
    """Standardised mean difference of one pre-entry characteristic, before and after
    matching; ``flagged`` when after-matching |SMD| > the threshold (0.1)."""

    variable: str
    smd_before: float
    smd_after: float
    flagged: bool


@dataclass(frozen=True)
class MeasureResult:
    key: str
    label: str
    direction: Direction
    unit_cost_code: str | None
    programme_before: float  # mean per person per quarter
    programme_after: float
    comparison_before: float | None
    comparison_after: float | None
    effect: float  # per person per quarter: DiD, or before/after without a comparison
    se: float
    ci_low: float
    ci_high: float
    method: Literal["did", "before_after"]
    naive_effect: float  # the programme's own before/after change, for contrast
    improved: bool  # the effect lies in the measure's better direction


@dataclass(frozen=True)
class ValuationStep:
    measure_key: str  # "" for steps of the whole account
    name: str
    value: float
    unit: str
    formula: str  # in words
    source: str


@dataclass(frozen=True)
class AgencyValue:
    measure_key: str
    agency: str
    partner: str | None
    share: float
    share_source: str
    pv_fiscal: float


@dataclass(frozen=True)
class Totals:
    pv_fiscal: float
    pv_economic: float
    pv_social: float
    pv_costs: float
    npv: float  # all benefits (fiscal + economic + social) less costs
    fiscal_npv: float
    fiscal_roi: float | None  # fiscal benefit ÷ cost; None without costs
    public_value_roi: float | None
    payback_years: float | None  # None unless the fiscal return is positive within the horizon


@dataclass(frozen=True)
class MatrixRow:
    """Who pays and who gains: one partner (or an agency that is not a partner)."""

    name: str
    kind: Literal["partner", "agency"]
    puts_in: float  # present value of its costs
    saves: float  # present value of fiscal benefits it bears
    cashable: float
    net: float


@dataclass(frozen=True)
class GainShareRow:
    partner: str
    contribution: float
    share: float  # of the net fiscal benefit
    gain_due: float
    saves: float
    transfer: float  # positive: receives this from partners who gain more than their share


@dataclass(frozen=True)
class TornadoBar:
    parameter: str
    label: str
    low: float
    high: float
    npv_low: float
    npv_high: float


@dataclass(frozen=True)
class MonteCarloResult:
    draws: int
    seed: int
    npv_low: float  # 2.5th percentile
    npv_median: float
    npv_high: float  # 97.5th percentile
    roi_low: float | None  # public value return
    roi_median: float | None
    roi_high: float | None
    probability_positive: float  # share of draws with NPV > 0


@dataclass(frozen=True)
class Account:
    programme_name: str
    programme_origin: str
    n_programme: int
    n_comparison: int  # candidates before matching
    n_matched: int
    n_outside_window: int  # programme persons whose window does not fit the data
    data_start: date
    data_end: date
    comparison_credible: bool
    warnings: tuple[str, ...]
    measures: tuple[MeasureResult, ...]
    balance: tuple[BalanceRow, ...]
    steps: tuple[ValuationStep, ...]
    agency_values: tuple[AgencyValue, ...]
    totals: Totals
    matrix: tuple[MatrixRow, ...]
    gain_share: tuple[GainShareRow, ...]
    tornado: tuple[TornadoBar, ...]
    monte_carlo: MonteCarloResult
    parameters: Parameters
    flags: tuple[str, ...] = ()  # entered or unverified values the page must show as such

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (dates as ISO strings)."""
        return typing.cast(dict[str, Any], _encode(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Account:
        return typing.cast(Account, _decode(cls, data))


# --- entry points -------------------------------------------------------------------------


def programme_from_source(con: duckdb.DuckDBPyConnection, source_name: str) -> Programme:
    """The programme's own caseload extract: each linked person enters on the earliest
    ``event_date`` of their records in that source. Raises :class:`ValueInputError` (field
    ``source``) when the source is unknown or none of its persons link."""
    from joinedup.value.inputs import from_source

    return from_source(con, source_name)


def programme_from_cohort(con: duckdb.DuckDBPyConnection, cohort_name: str, entry_date: date) -> Programme:
    """Everyone in a cohort (``cohort_definitions``), all entering on one date. Raises
    :class:`ValueInputError` (field ``cohort`` or ``entry_date``)."""
    from joinedup.value.inputs import from_cohort

    return from_cohort(con, cohort_name, entry_date)


def validate_measure(con: duckdb.DuckDBPyConnection, spec: MeasureSpec) -> None:
    """Raise :class:`ValueInputError` when a measure cannot be computed: no services, a
    service with no events, an unknown unit cost, or nights asked of events without end
    dates."""
    from joinedup.value.inputs import measure_problem

    problem = measure_problem(con, spec)
    if problem is not None:
        raise problem


def compute_account(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    measures: typing.Sequence[MeasureSpec],
    params: Parameters | None = None,
) -> Account:
    """The whole account: panel, comparison group, DiD, valuation, sensitivity.

    Raises :class:`ValueInputError` for input it cannot use (measures, entry dates outside
    the data window, a cohort below ``params.min_persons``, parameters out of range)."""
    from joinedup.value.compute import compute

    return compute(con, programme, measures, params or Parameters())


# --- JSON ---------------------------------------------------------------------------------

T = TypeVar("T")


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], data) if len(inner) == 1 else data
    if origin is Literal or kind is Any:
        return data
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _decode(hints[f.name], data[f.name])
                       for f in dataclasses.fields(kind) if f.name in data})  # fmt: skip
    if kind is date:
        return date.fromisoformat(data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is dict:
        key_kind, value_kind = args
        return {_decode(key_kind, k): _decode(value_kind, v) for k, v in data.items()}
    if kind is int:
        return int(data)
    if kind is float:
        return float(data)
    return data
