"""Synthetic places' packages, so that a comparison means something on a fresh machine.

These are packages, not places: each is made from a handful of plausible parameters (adult
population, how common multiple disadvantage is against England's Hard Edges rate, how
ready staff are, what residents say, how many respond), seeded, and then put through the
same disclosure rule and the same package writer as a real place's. Survey intervals are
computed as the real ones are (t interval for a mean score, logit interval for a share),
from a simulated sample of the stated size.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from scipy import stats

from joinedup.config import Settings
from joinedup.framework import COMPONENTS
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.reference_data import BUILTIN_COHORTS, national_prevalence
from joinedup.state.figures import PlaceFigures
from joinedup.state.package import PlaceMeta, write_package
from joinedup.state.schema import SUPPRESSED
from joinedup.surveys.comparison import HIGHER_IS_WORSE
from joinedup.surveys.instrument import load as load_instrument

__all__ = ["PLACES", "PlaceProfile", "place_package", "load_demo_collection", "random_profiles",
           "write_demo_places"]


@dataclass(frozen=True)
class PlaceProfile:
    slug: str
    name: str
    adults: int
    smd_factor: float  # prevalence against England's Hard Edges rate (1.0 = the same)
    readiness: float  # mean practice score, 0 to 100
    staff: int  # staff answering the readiness survey (0: no round yet)
    residents: int  # residents answering the citizen survey (0: no round yet)
    citizen_shift: float  # added to the national shares (+ is worse where higher is worse)
    collaborations: int
    seed: int


#: Five places of different sizes and profiles (none of them real).
PLACES: tuple[PlaceProfile, ...] = (
    PlaceProfile("eastmere", "Eastmere", 612_000, 1.9, 58.0, 260, 1800, -0.06, 5, 11),
    PlaceProfile("harrowfield", "Harrowfield", 241_000, 1.1, 47.0, 140, 900, 0.0, 3, 12),
    PlaceProfile("lowdale", "Lowdale", 96_000, 0.7, 41.0, 60, 400, 0.05, 2, 13),
    PlaceProfile("kingsbridge-vale", "Kingsbridge Vale", 158_000, 1.4, 53.0, 95, 0, 0.0, 1, 14),
    PlaceProfile("saltmarsh", "Saltmarsh Coast", 44_000, 1.0, 36.0, 0, 250, 0.08, 0, 15),
)

_SERVICES = (
    ("Housing Options", "Council"), ("Rough Sleeper Outreach", "Council"),
    ("Adult Social Care", "Council"), ("Emergency Department", "NHS Trust"),
    ("Police Custody", "Police"), ("Drug and Alcohol Service", "Recovery Partnership"),
)
_UNIT_COST = (350.0, 120.0, 240.0, 180.0, 480.0, 95.0)
_YEARS = ("2023-24", "2024-25")
_STATUSES = ("active", "forming", "active", "paused", "closed")


def _count(rule: DisclosureRule, n: int) -> int | str:
    return SUPPRESSED if rule.is_small(n) else rule.round(n)


def _rate(persons: int | str, adults: int) -> float | str:
    return SUPPRESSED if persons == SUPPRESSED else round(1000 * int(persons) / adults, 2)


def _insight(p: PlaceProfile, rng: np.random.Generator, rule: DisclosureRule,
             out: PlaceFigures) -> None:
    national = {r["cohort"]: r for r in national_prevalence()}
    period = f"{_YEARS[0]} to {_YEARS[-1]}"
    base = {"smd2": 6.82, "smd3": 1.78, "any2": 21.0}  # per 1,000; any2 is the place's own
    out.tables["prevalence"] = []
    for name, label, _needs, _min in BUILTIN_COHORTS:
        true = int(rng.poisson(base.get(name, 5.0) * p.smd_factor * p.adults / 1000))
        shown = _count(rule, true)
        nat = national.get(name)
        out.tables["prevalence"].append({
            "cohort": name, "label": label, "period": period, "persons": shown,
            "per_1000_adults": _rate(shown, p.adults),
            "national_per_1000": nat["rate_per_1000"] if nat else None,
            "national_source": f"{nat['study']}, {nat['period']} ({nat['status']})" if nat else None,
        })
    everyone = int(rng.poisson(60 * p.adults / 1000))
    known = [everyone, int(everyone * rng.uniform(0.12, 0.2)), int(everyone * rng.uniform(0.02, 0.05))]
    out.tables["services_known"] = [
        {"min_services": k + 1, "period": period, "persons": _count(rule, n),
         "per_1000_adults": _rate(_count(rule, n), p.adults)} for k, n in enumerate(known)
    ]
    out.tables["demand"] = []
    for year in _YEARS:
        for (service, partner), unit in zip(_SERVICES, _UNIT_COST, strict=True):
            persons = int(rng.poisson(everyone * rng.uniform(0.05, 0.4)))
            events = int(persons * rng.uniform(1.2, 4.0))
            shown_p, shown_e = _count(rule, persons), _count(rule, events)
            hidden = SUPPRESSED in (shown_p, shown_e)
            out.tables["demand"].append({
                "financial_year": year, "service": service, "partner": f"{p.name} {partner}",
                "persons": SUPPRESSED if hidden else shown_p,
                "events": SUPPRESSED if hidden else shown_e,
                "events_per_person": SUPPRESSED if hidden or not shown_p
                else round(int(shown_e) / int(shown_p), 2),
                "cost": SUPPRESSED if hidden else rule.round_money(events * unit, unit),
                "price_year": "2024-25",
            })


def _t_interval(values: np.ndarray, low: float = 0.0, high: float = 100.0
                ) -> tuple[float, float, float]:
    n = values.size
    mean = float(values.mean())
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return round(mean, 4), round(max(low, mean - half), 4), round(min(high, mean + half), 4)


def _logit_interval(share: float, n: int) -> tuple[float, float, float]:
    share = min(max(share, 0.5 / n), 1 - 0.5 / n)
    se = math.sqrt(share * (1 - share) / n)
    logit, half = math.log(share / (1 - share)), 1.96 * se / (share * (1 - share))
    lo, hi = (1 / (1 + math.exp(-(logit + s * half))) for s in (-1, 1))
    return round(share, 4), round(lo, 4), round(hi, 4)


def _surveys(p: PlaceProfile, rng: np.random.Generator, out: PlaceFigures) -> None:
    out.tables["readiness"], out.tables["citizen"] = [], []
    opened, closed = date(2026, 9, 1), date(2026, 9, 30)
    rnd = {"opens_on": opened.isoformat(), "closes_on": closed.isoformat()}
    if p.staff:
        practice_all = []
        for comp in COMPONENTS:
            ambition = rng.normal(min(p.readiness + 22, 92), 12, p.staff).clip(0, 100)
            practice = rng.normal(p.readiness + rng.normal(0, 6), 16, p.staff).clip(0, 100)
            practice_all.append(practice)
            out.tables["readiness"].append(_readiness_row(comp.key, comp.name, "component",
                                                          practice, ambition, rnd))
        practice = np.mean(practice_all, axis=0)
        ambition = rng.normal(min(p.readiness + 22, 92), 8, p.staff).clip(0, 100)
        out.tables["readiness"].insert(0, _readiness_row("overall", "Overall", "overall",
                                                         practice, ambition, rnd))
    else:
        out.notes.append("The place has no readiness survey rounds with answers yet.")
    if p.residents:
        for q in load_instrument("citizen_voice").measures():
            assert q.indicator is not None
            nat = q.national.value if q.national else 0.4
            worse = q.key in HIGHER_IS_WORSE
            share = min(0.95, max(0.03, nat + (p.citizen_shift if worse else -p.citizen_shift)
                                  + rng.normal(0, 0.02)))
            n = int(p.residents * rng.uniform(0.85, 0.97))
            sample = float(rng.binomial(n, share)) / n
            est, lo, hi = _logit_interval(sample, n)
            out.tables["citizen"].append({
                "round": "1", "round_title": "Residents' survey 2026", **rnd,
                "measure": q.key, "label": q.indicator.label, "n": n, "estimate": est,
                "lci": lo, "uci": hi, "national": nat if q.national else None,
                "higher_is_worse": worse})
    else:
        out.notes.append("The place has no citizen voice survey rounds with answers yet.")


def _readiness_row(key: str, name: str, kind: str, practice: np.ndarray, ambition: np.ndarray,
                   rnd: dict[str, str]) -> dict[str, object]:
    p, p_lo, p_hi = _t_interval(practice)
    a, a_lo, a_hi = _t_interval(ambition)
    g, g_lo, g_hi = _t_interval(ambition - practice, -100.0, 100.0)
    return {"round": "2", "round_title": "Staff readiness 2026", **rnd, "line": key, "name": name,
            "kind": kind, "n": int(practice.size), "practice": p, "practice_lci": p_lo,
            "practice_uci": p_hi, "ambition": a, "ambition_lci": a_lo, "ambition_uci": a_hi,
            "gap": g, "gap_lci": g_lo, "gap_uci": g_hi}


def _charters(p: PlaceProfile, rng: np.random.Generator, out: PlaceFigures) -> None:
    topics = ("Hospital discharge", "Rough sleeping", "Families first", "Recovery together",
              "Mental health crisis")
    out.tables["collaborations"], out.tables["measures"] = [], []
    for k in range(p.collaborations):
        slug = topics[k % len(topics)].lower().replace(" ", "-")
        out.tables["collaborations"].append({
            "collaboration": slug, "name": topics[k % len(topics)], "status": _STATUSES[k % 5],
            "partners": int(rng.integers(2, 7)), "updated_on": "2026-09-15"})
        for m in range(int(rng.integers(1, 4))):
            out.tables["measures"].append({
                "collaboration": slug, "measure": f"Outcome {m + 1} of {topics[k % len(topics)]}",
                "unit": "people", "baseline": str(int(rng.integers(100, 900))),
                "target": str(int(rng.integers(50, 400))), "check_on": "2027-03-31"})
    if not p.collaborations:
        out.notes.append("The place has no collaborations yet.")


def _value_accounts(p: PlaceProfile, rng: np.random.Generator, rule: DisclosureRule,
                    out: PlaceFigures) -> None:
    """A published value account for each active collaboration (as its page shows it to a
    viewer: rounded size, money for that size to £100, the simulation's interval to two
    significant figures), and a withheld one for a paused collaboration."""
    rows = []
    for c in out.tables["collaborations"]:
        if c["status"] == "paused":
            rows.append({"collaboration": c["collaboration"], "name": c["name"],
                         "state": "withheld", "settings_version": 1,
                         "note": "This account is withheld: the people it follows differ from "
                                 "those of another published account of this place by fewer "
                                 f"than {rule.threshold} people."})
            continue
        if c["status"] != "active":
            continue
        persons = rule.round(int(rng.integers(40, 600)))
        effect = round(float(rng.normal(-0.4, 0.25)), 2)
        half = round(float(rng.uniform(0.1, 0.4)), 2)
        costs = float(rng.integers(2_000, 40_000)) * persons / 10
        fiscal = float(rng.uniform(0.3, 2.5))
        public = fiscal * float(rng.uniform(1.2, 2.0))
        spread = float(rng.uniform(0.2, 0.6))
        rows.append({
            "collaboration": c["collaboration"], "name": c["name"], "state": "published",
            "period": "2023-04-01 to 2025-03-31", "programme_persons": persons,
            "headline_measure": "Emergency department attendances", "effect": effect,
            "effect_lci": round(effect - half, 2), "effect_uci": round(effect + half, 2),
            "method": "did", "npv": round((public - 1) * costs / 100) * 100,
            "fiscal_return": round(fiscal, 2), "public_value_return": round(public, 2),
            "public_value_return_lci": float(f"{public * (1 - spread):.2g}"),
            "public_value_return_uci": float(f"{public * (1 + spread):.2g}"),
            "payback_years": round(float(rng.uniform(1, 8)) * 2) / 2, "discount_rate": 0.035,
            "settings_version": 1})
    out.tables["value_accounts"] = rows


def place_package(p: PlaceProfile, out: Path, rule: DisclosureRule | None = None) -> Path:
    """Write the synthetic place's package to the directory ``out``."""
    rule = rule or DisclosureRule()
    rng = np.random.default_rng(p.seed)
    figures = PlaceFigures(years=list(reversed(_YEARS)))
    _insight(p, rng, rule, figures)
    _surveys(p, rng, figures)
    _charters(p, rng, figures)
    _value_accounts(p, rng, rule, figures)
    meta = PlaceMeta(p.slug, p.name, p.adults, rule, 5)
    return write_package(meta, figures, out, created=datetime(2026, 10, 1, tzinfo=UTC))


def random_profiles(count: int, seed: int = 2026) -> list[PlaceProfile]:
    """Many plausible places (for the benchmark)."""
    rng = np.random.default_rng(seed)
    return [
        PlaceProfile(f"place-{k:03d}", f"Place {k:03d}", int(rng.integers(30_000, 1_200_000)),
                     float(rng.uniform(0.5, 2.2)), float(rng.uniform(30, 70)),
                     int(rng.choice([0, 40, 90, 200])), int(rng.choice([0, 300, 900, 2000])),
                     float(rng.uniform(-0.08, 0.08)), int(rng.integers(0, 6)), seed * 1000 + k)
        for k in range(count)
    ]


def write_demo_places(directory: Path) -> list[Path]:
    """The five demo places' packages, each in its own folder under ``directory``."""
    return [place_package(p, directory / p.slug) for p in PLACES]


def load_demo_collection(settings: Settings, home_slug: str) -> str:
    """The demo collection: the five synthetic places and the demo place's own package."""
    from joinedup.state.collections import replace_demo
    from joinedup.state.publish import publish_place, zip_package

    with tempfile.TemporaryDirectory() as tmp:
        zips = {f"{p.slug}.zip": zip_package(p_dir)
                for p, p_dir in zip(PLACES, write_demo_places(Path(tmp)), strict=True)}
        home = publish_place(settings, home_slug, Path(tmp) / home_slug)
        zips[f"{home_slug}.zip"] = zip_package(home)
    replace_demo(Path(settings.data_dir), zips)
    return f"Published the demo places' packages into the collection 'Demo places' ({len(zips)})"
