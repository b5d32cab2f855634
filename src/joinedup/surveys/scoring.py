"""Readiness scores: 0 to 100 per component, strand and overall, with intervals and bands.

Staff rounds are not samples drawn to represent a population with weights, so every score
here is an unweighted mean over respondents with a t interval. Each respondent counts once
per component (the mean of the statements they answered), so a person who answers every
statement does not outweigh one who skipped a few.

Scale: an agreement answer of 1 to 5 maps to 0, 25, 50, 75, 100; "don't know" is left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from joinedup.framework import COMPONENTS, STRANDS, components_in
from joinedup.surveys.instrument import Instrument, Question, Role

#: Bands of a practice score, documented in docs/guide-leads-surveys.md. 50 is the
#: neutral point of the scale, 75 is "agree" on average.
STRENGTH_FROM = 70.0
CONCERN_BELOW = 50.0
#: Partners are "split" on a component when their mean practice scores span this much.
SPLIT_RANGE = 20.0
#: A respondent's component score needs at least this share of its statements answered.
MIN_ANSWERED_SHARE = 0.5
#: Strand and overall scores need this share of their components scored.
MIN_COMPONENTS_SHARE = 0.5
LEVEL_NAMES = ("system_leader", "manager", "front_line", "other")


def band(score: float | None) -> str | None:
    """Strength (70 or more), developing (50 to under 70) or concern (under 50)."""
    if score is None or math.isnan(score):
        return None
    if score >= STRENGTH_FROM:
        return "strength"
    if score < CONCERN_BELOW:
        return "concern"
    return "developing"


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% interval, or a suppressed or empty one."""

    n: int
    mean: float | None = None
    lci: float | None = None
    uci: float | None = None
    sd: float | None = None
    se: float | None = None
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return not self.suppressed and self.mean is not None

    @property
    def band(self) -> str | None:
        return band(self.mean) if self.shown else None


def mean_ci(values: Iterable[float], min_n: int = 1, bounds: tuple[float, float] | None = (0, 100),
            ) -> Estimate:
    """Mean with a 95% t interval; suppressed below `min_n` respondents."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    arr = arr[~np.isnan(arr)]
    n = int(arr.size)
    if n == 0:
        return Estimate(n=0)
    if n < min_n:
        return Estimate(n=n, suppressed=True)
    mean = float(arr.mean())
    if n < 2:
        return Estimate(n=n, mean=mean)
    sd = float(arr.std(ddof=1))
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * se
    lo, hi = mean - half, mean + half
    if bounds is not None:
        lo, hi = max(bounds[0], lo), min(bounds[1], hi)
    return Estimate(n=n, mean=mean, lci=lo, uci=hi, sd=sd, se=se)


def difference(a: Estimate, b: Estimate) -> Estimate:
    """a − b for independent groups (two rounds), with a Welch interval."""
    if not (a.shown and b.shown) or a.se is None or b.se is None:
        return Estimate(n=min(a.n, b.n), suppressed=a.suppressed or b.suppressed)
    assert a.mean is not None and b.mean is not None
    va, vb = a.se**2, b.se**2
    se = math.sqrt(va + vb)
    diff = a.mean - b.mean
    if se == 0:
        return Estimate(n=min(a.n, b.n), mean=diff, lci=diff, uci=diff, se=0.0)
    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return Estimate(n=min(a.n, b.n), mean=diff, lci=diff - half, uci=diff + half, se=se)


def item_scores(instrument: Instrument, answers: pd.DataFrame) -> pd.DataFrame:
    """0–100 per scored question; "don't know" and blanks become NaN."""
    mapping = {str(v): (v - 1) * 25.0 for v in range(1, 6)}
    cols = {}
    for q in instrument.scored_questions():
        raw = answers[q.key] if q.key in answers else pd.Series(index=answers.index, dtype=object)
        cols[q.key] = raw.map(mapping).astype(float)
    return pd.DataFrame(cols, index=answers.index)


def _items(instrument: Instrument, component_key: str, role: Role) -> list[Question]:
    return [q for q in instrument.scored_questions(role) if q.component == component_key]


def respondent_scores(instrument: Instrument, answers: pd.DataFrame, role: Role) -> pd.DataFrame:
    """One row per respondent, one column per component, strand and 'overall'."""
    items = item_scores(instrument, answers)
    out: dict[str, pd.Series] = {}
    for comp in COMPONENTS:
        keys = [q.key for q in _items(instrument, comp.key, role)]
        if not keys:
            continue
        block = items[keys]
        answered = block.notna().sum(axis=1)
        score = block.mean(axis=1, skipna=True)
        out[comp.key] = score.where(answered >= MIN_ANSWERED_SHARE * len(keys))
    frame = pd.DataFrame(out, index=answers.index)
    for s in STRANDS:
        keys = [c.key for c in components_in(s) if c.key in frame]
        block = frame[keys]
        frame[s.key] = block.mean(axis=1).where(
            block.notna().sum(axis=1) >= MIN_COMPONENTS_SHARE * len(keys)
        )
    comp_keys = [c.key for c in COMPONENTS if c.key in out]
    block = frame[comp_keys]
    frame["overall"] = block.mean(axis=1).where(
        block.notna().sum(axis=1) >= MIN_COMPONENTS_SHARE * len(comp_keys)
    )
    return frame


def cronbach_alpha(items: pd.DataFrame) -> float | None:
    """Cronbach's alpha over respondents who answered every item; None if it cannot be told."""
    complete = items.dropna()
    k = complete.shape[1]
    if k < 2 or len(complete) < 3:
        return None
    total_var = complete.sum(axis=1).var(ddof=1)
    if not total_var or math.isnan(total_var):
        return None
    item_var = complete.var(axis=0, ddof=1).sum()
    return float(k / (k - 1) * (1 - item_var / total_var))


@dataclass(frozen=True)
class ItemReliability:
    """How one statement fits its component: alpha without it, and its correlation with
    the rest. A statement whose removal raises alpha, or that hardly correlates with the
    others, may be about something else and is worth rewording."""

    key: str
    text: str
    alpha_if_deleted: float | None
    item_rest_correlation: float | None


def item_reliability(items: pd.DataFrame, texts: Mapping[str, str]) -> list[ItemReliability]:
    complete = items.dropna()
    out = []
    for key in items.columns:
        rest = complete.drop(columns=[key])
        alpha = cronbach_alpha(rest) if rest.shape[1] >= 2 else None
        corr = None
        if len(complete) >= 3 and complete[key].std() > 0 and rest.sum(axis=1).std() > 0:
            corr = float(np.corrcoef(complete[key], rest.sum(axis=1))[0, 1])
        out.append(ItemReliability(key, texts.get(key, key), alpha, corr))
    return out


@dataclass(frozen=True)
class Line:
    """One row of the results: a component, strand or the overall score."""

    key: str
    name: str
    kind: str  # component, strand or overall
    strand: str | None
    ambition: Estimate
    practice: Estimate
    gap: Estimate
    alpha_ambition: float | None = None
    alpha_practice: float | None = None
    change: Estimate | None = None


@dataclass(frozen=True)
class GroupScores:
    """Practice scores of each group (partner or level) on each line, with spread."""

    groups: list[str]
    counts: dict[str, int]
    scores: dict[str, dict[str, Estimate]]  # group -> line key -> estimate
    gaps: dict[str, dict[str, Estimate]]
    split: dict[str, bool]  # line key -> partners split
    ranges: dict[str, float | None]


@dataclass(frozen=True)
class CheckResult:
    key: str
    text: str
    strand: str | None
    n: int
    counts: dict[str, int]
    suppressed: bool


@dataclass(frozen=True)
class ReadinessResults:
    n: int
    min_group_size: int
    lines: list[Line]
    by_partner: GroupScores
    by_level: GroupScores
    checks: list[CheckResult]
    previous_n: int | None = None
    notes: list[str] = field(default_factory=list)

    def line(self, key: str) -> Line:
        for line_ in self.lines:
            if line_.key == key:
                return line_
        raise KeyError(key)

    @property
    def components(self) -> list[Line]:
        return [line_ for line_ in self.lines if line_.kind == "component"]

    @property
    def strands(self) -> list[Line]:
        return [line_ for line_ in self.lines if line_.kind == "strand"]


def _line_keys() -> list[tuple[str, str, str, str | None]]:
    keys: list[tuple[str, str, str, str | None]] = [
        (c.key, c.name, "component", c.strand.key) for c in COMPONENTS
    ]
    keys += [(s.key, s.name, "strand", s.key) for s in STRANDS]
    keys.append(("overall", "Overall", "overall", None))
    return keys


def _group_scores(groups: pd.Series, practice: pd.DataFrame, gap: pd.DataFrame,
                  min_n: int, order: Sequence[str] | None = None) -> GroupScores:
    present = [g for g in groups.dropna().unique()]
    names = [g for g in order if g in present] if order else sorted(present)
    counts = {g: int((groups == g).sum()) for g in names}
    scores: dict[str, dict[str, Estimate]] = {}
    gaps: dict[str, dict[str, Estimate]] = {}
    for g in names:
        mask = groups == g
        scores[g] = {k: mean_ci(practice.loc[mask, k], min_n) for k in practice.columns}
        gaps[g] = {k: mean_ci(gap.loc[mask, k], min_n, bounds=(-100, 100)) for k in gap.columns}
    split: dict[str, bool] = {}
    ranges: dict[str, float | None] = {}
    for k in practice.columns:
        shown = [scores[g][k].mean for g in names if scores[g][k].shown]
        values = [v for v in shown if v is not None]
        spread = (max(values) - min(values)) if len(values) >= 2 else None
        ranges[k] = spread
        split[k] = spread is not None and spread >= SPLIT_RANGE
    return GroupScores(names, counts, scores, gaps, split, ranges)


def readiness_results(instrument: Instrument, answers: pd.DataFrame, min_group_size: int = 5,
                      previous: pd.DataFrame | None = None,
                      partner_order: Sequence[str] | None = None) -> ReadinessResults:
    """Everything the results pages show, from one row per submitted response.

    `answers` holds one column per question key (string values as stored), plus `partner`
    and `level` columns naming each respondent's group.
    """
    ambition = respondent_scores(instrument, answers, "ambition")
    practice = respondent_scores(instrument, answers, "practice")
    gap = ambition - practice
    prev_practice = (
        respondent_scores(instrument, previous, "practice") if previous is not None else None
    )
    items = item_scores(instrument, answers)
    n = len(answers)
    lines = []
    for key, name, kind, strand_key in _line_keys():
        alpha_a = alpha_p = None
        if kind == "component":
            alpha_a = cronbach_alpha(items[[q.key for q in _items(instrument, key, "ambition")]])
            alpha_p = cronbach_alpha(items[[q.key for q in _items(instrument, key, "practice")]])
        practice_est = mean_ci(practice[key], min_group_size)
        change = None
        if prev_practice is not None:
            change = difference(practice_est, mean_ci(prev_practice[key], min_group_size))
        lines.append(Line(
            key=key, name=name, kind=kind, strand=strand_key,
            ambition=mean_ci(ambition[key], min_group_size),
            practice=practice_est,
            gap=mean_ci(gap[key], min_group_size, bounds=(-100, 100)),
            alpha_ambition=alpha_a, alpha_practice=alpha_p, change=change,
        ))
    partner = answers["partner"] if "partner" in answers else pd.Series(index=answers.index)
    level = answers["level"] if "level" in answers else pd.Series(index=answers.index)
    by_partner = _group_scores(partner, practice, gap, min_group_size, partner_order)
    by_level = _group_scores(level, practice, gap, min_group_size, LEVEL_NAMES)
    checks = []
    for q in instrument.questions:
        if q.type != "practice":
            continue
        col = answers[q.key] if q.key in answers else pd.Series(dtype=object)
        valid = col[col.isin([o.value for o in q.options])]
        suppressed = len(valid) < min_group_size
        counts = {} if suppressed else {o.value: int((valid == o.value).sum()) for o in q.options}
        checks.append(CheckResult(q.key, q.text, q.strand, int(len(valid)), counts, suppressed))
    notes = []
    if n < min_group_size:
        notes.append(f"Fewer than {min_group_size} people have answered, so no scores are shown.")
    return ReadinessResults(
        n=n, min_group_size=min_group_size, lines=lines, by_partner=by_partner,
        by_level=by_level, checks=checks,
        previous_n=len(previous) if previous is not None else None, notes=notes,
    )


def component_items(instrument: Instrument) -> Mapping[str, list[Question]]:
    """The practice statements of each component, for the reliability table."""
    return {c.key: _items(instrument, c.key, "practice") for c in COMPONENTS}
