"""A synthetic place with a programme in it, and a known effect planted for the account to find.

"Fulfilling lives in Northbrook" takes people on between January and June 2024. Like real
programmes it selects people who have been using services heavily (chosen with weights
rising with their use in the three quarters before entry), so their use would fall after
entry anyway as chance peaks settle. On top, every person's use of every service drifts
down over the two years (a background trend, ``trend``), which a before/after comparison
would wrongly credit to the programme. The planted effect: after entry, programme persons
have ``reduction`` (a third) fewer contacts with the community mental health team than
they would have had; no one else does.

`generate_place_with_programme` writes the ordinary partner extracts (through
synth/insight.py's ``adjust`` hook), the programme's caseload extract
``fulfilling_lives.csv`` with its mapping, and ``programme_truth.json``: the planted
effect, the programme persons with their entry dates and the events the programme removed.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from joinedup.synth.insight import (
    Person,
    SourceSpec,
    SyntheticPlace,
    generate_place,
)
from joinedup.synth.insight_layouts import _fmt_date, _fmt_postcode
from joinedup.synth.insight_records import _Record, _variant

__all__ = [
    "planted_adjust",
    "ENTRY_FROM",
    "ENTRY_TO",
    "PLANTED_SERVICE",
    "PROGRAMME_NAME",
    "PROGRAMME_SOURCE",
    "WINDOW_QUARTERS",
    "ProgrammeTruth",
    "generate_place_with_programme",
    "read_truth",
    "STORE_SERVICES",
    "StoreTruth",
    "write_programme_store",
]

PROGRAMME_NAME = "Fulfilling lives in Northbrook"
PROGRAMME_SOURCE = "fulfilling_lives"
PROGRAMME_PARTNER = "Northbrook Borough Council"
PROGRAMME_SERVICE = "Fulfilling Lives lead workers"
PLANTED_SOURCE = "community_mental_health"
PLANTED_SERVICE = "Community Mental Health Team"
ENTRY_FROM = date(2024, 1, 1)
ENTRY_TO = date(2024, 6, 30)
# The synthetic extracts cover April 2023 to March 2025: three quarters either side of
# entries in the first half of 2024 fit inside them.
WINDOW_QUARTERS = (3, 3)
_DATA_START = date(2023, 4, 1)
_SPAN_DAYS = 730
_QUARTER = 365.25 / 4

_SPEC = SourceSpec(
    PROGRAMME_SOURCE, PROGRAMME_PARTNER, PROGRAMME_SERVICE, "", "", 0, 0, 0, "programme", "csv"
)

_MAPPING = f"""# Mapping for a synthetic programme caseload (fictional people)
[source]
partner = "{PROGRAMME_PARTNER}"
service = "{PROGRAMME_SERVICE}"
legal_basis = "UK GDPR 6(1)(e); 9(2)(g) with DPA 2018 Sch.1 para 6"
dsa_reference = "DSA-NB-2025-001"
retain_until = 2027-03-31

[columns]
record_id = "Client ID"
forename = "First name"
surname = "Surname"
date_of_birth = {{ column = "Date of birth", format = "%d/%m/%Y" }}
sex = "Sex"
postcode = "Postcode"
nhs_number = "NHS number"
event_date = {{ column = "Start date", format = "%d/%m/%Y" }}
"""


@dataclass
class ProgrammeTruth:
    size: int
    reduction: float
    trend: float
    entries: dict[int, date] = field(default_factory=dict)  # synthetic person → entry date
    removed: list[tuple[int, date]] = field(default_factory=list)  # by the programme

    def planted_effect(self, window_after: int = WINDOW_QUARTERS[1]) -> float:
        """The realised planted effect per person per quarter over the after window: the
        contacts the programme removed, per programme person per quarter (negative)."""
        within = sum(
            1 for pid, day in self.removed if 0 <= (day - self.entries[pid]).days < window_after * _QUARTER
        )
        return -within / (len(self.entries) * window_after)

    def to_json(self) -> dict[str, object]:
        return {
            "programme": PROGRAMME_NAME, "source": PROGRAMME_SOURCE, "service_with_effect": PLANTED_SERVICE,
            "relative_effect": -self.reduction, "background_trend_over_two_years": -self.trend,
            "window_quarters": list(WINDOW_QUARTERS),
            "planted_effect_per_person_per_quarter": self.planted_effect(),
            "persons": [{"person": p, "entry_date": d.isoformat()} for p, d in sorted(self.entries.items())],
            "removed_by_programme": [{"person": p, "event_date": d.isoformat()} for p, d in self.removed],
        }  # fmt: skip


def read_truth(out_dir: Path) -> ProgrammeTruth:
    data = json.loads((out_dir / "programme_truth.json").read_text("utf-8"))
    truth = ProgrammeTruth(
        len(data["persons"]), -data["relative_effect"], -data["background_trend_over_two_years"]
    )
    truth.entries = {int(r["person"]): date.fromisoformat(r["entry_date"]) for r in data["persons"]}
    truth.removed = [
        (int(r["person"]), date.fromisoformat(r["event_date"])) for r in data["removed_by_programme"]
    ]
    return truth


def _planter(truth: ProgrammeTruth, chosen: list[Person]):  # type: ignore[no-untyped-def]
    def adjust(rng: random.Random, persons: list[Person], by_source: dict[str, list[_Record]]) -> None:
        # The background trend: an event on day d survives with chance 1 − trend × d / span.
        for name, records in by_source.items():
            by_source[name] = [
                r for r in records if rng.random() >= truth.trend * (r.event - _DATA_START).days / _SPAN_DAYS
            ]
        # Selection on prior use: a tentative entry date each, then weights rising with use.
        span = (ENTRY_TO - ENTRY_FROM).days
        entry = {p.pid: ENTRY_FROM + timedelta(days=rng.randint(0, span)) for p in persons}
        prior = dict.fromkeys(entry, 0)
        for name, records in by_source.items():
            # Crisis mental health contacts count double: the programme's referral route.
            weight = 2 if name == PLANTED_SOURCE else 1
            for r in records:
                if 0 < (entry[r.person] - r.event).days <= WINDOW_QUARTERS[0] * _QUARTER:
                    prior[r.person] += weight
        # Efraimidis–Spirakis weighted sampling without replacement: key = u^(1/w).
        keys = {pid: rng.random() ** (1 / (1 + prior[pid]) ** 2) for pid in entry}
        winners = sorted(keys, key=lambda pid: -keys[pid])[: truth.size]
        truth.entries = {pid: entry[pid] for pid in sorted(winners)}
        # The planted effect, for programme persons only, after their entry.
        kept = []
        for r in by_source[PLANTED_SOURCE]:
            start = truth.entries.get(r.person)
            if start is not None and r.event >= start and rng.random() < truth.reduction:
                truth.removed.append((r.person, r.event))
                continue
            kept.append(r)
        by_source[PLANTED_SOURCE] = kept
        chosen.extend(p for p in persons if p.pid in truth.entries)

    return adjust


def planted_adjust(size: int, reduction: float = 1 / 3, trend: float = 0.4) -> Any:
    """The ``adjust`` hook that plants the programme in ``generate_place``, as
    ``generate_place_with_programme`` does with the same arguments: so that next month's
    extracts of a place with a programme (synth/next_month.py) repeat that place's rows."""
    return _planter(ProgrammeTruth(size, reduction, trend), [])


def generate_place_with_programme(
    people: int,
    out_dir: Path,
    seed: int = 1,
    *,
    size: int = 150,
    reduction: float = 1 / 3,
    trend: float = 0.4,
    formats: str = "mixed",
) -> SyntheticPlace:
    """Write the synthetic place with the programme planted in it (see the module doc)."""
    if not 0 < size < people:
        raise ValueError("the programme must be smaller than the place")
    truth = ProgrammeTruth(size, reduction, trend)
    chosen: list[Person] = []
    place = generate_place(people, out_dir, seed, formats=formats, adjust=_planter(truth, chosen))
    rng = random.Random(seed * 7919 + 1)
    header = [
        "Client ID",
        "First name",
        "Surname",
        "Date of birth",
        "Sex",
        "Postcode",
        "NHS number",
        "Start date",
    ]
    rows, truth_rows = [], []
    for n, person in enumerate(chosen, start=1):
        rid = f"FLN{n:05d}"
        r = _variant(person, _SPEC, rng, rid, truth.entries[person.pid])
        rows.append(
            [
                rid,
                r.forename or "",
                r.surname or "",
                _fmt_date(r.dob, "%d/%m/%Y"),
                r.sex,
                _fmt_postcode(r.postcode, rng),
                r.nhs or "",
                _fmt_date(r.event, "%d/%m/%Y"),
            ]
        )
        truth_rows.append((PROGRAMME_SOURCE, rid, person.pid))
    with (out_dir / f"{PROGRAMME_SOURCE}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    (out_dir / f"{PROGRAMME_SOURCE}.toml").write_text(_MAPPING, encoding="utf-8")
    with (out_dir / "truth.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(truth_rows)
    (out_dir / "programme_truth.json").write_text(json.dumps(truth.to_json(), indent=1), encoding="utf-8")
    place.sources.append(PROGRAMME_SOURCE)
    place.records += len(rows)
    assert not math.isnan(truth.planted_effect())
    return place


# --- a store written directly (benchmarks and tests: no extracts, no linkage) ---------------


@dataclass(frozen=True)
class StoreService:
    source: str
    partner: str
    service: str
    need: str
    cost_item: str
    rate: float  # mean events per person over the two years, before the trend


STORE_SERVICES: tuple[StoreService, ...] = (
    StoreService("emergency_department", "Northbrook and Vale NHS Foundation Trust", "Emergency Department",
                 "physical_health", "HE4.0", 1.6),
    StoreService("community_mental_health", "Northbrook and Vale NHS Foundation Trust",
                 "Community Mental Health Team", "mental_health", "HE16.0", 0.8),
    StoreService("police_custody", "Northshire Police", "Northbrook Neighbourhood Policing", "offending",
                 "CR7.0", 0.6),
    StoreService("housing_options", "Northbrook Borough Council", "Housing Options", "homelessness", "HO3.0",
                 0.5),
    StoreService("domestic_abuse_support", "Northbrook Women's Refuge", "Domestic Abuse Support",
                 "domestic_abuse", "CR2.0", 0.2),
    StoreService("rough_sleeper_outreach", "Northbrook Borough Council", "Rough Sleeper Outreach",
                 "homelessness", "HO6.1", 0.3),
    StoreService("drug_alcohol_recovery", "Turning Point Northbrook", "Drug and Alcohol Recovery Service",
                 "substance_misuse", "HE2.2", 0.3),
    StoreService("work_coach", "Jobcentre Plus Northbrook", "Work Coach Support", "worklessness", "E&E1.7",
                 0.7),
)  # fmt: skip


@dataclass(frozen=True)
class StoreTruth:
    n_treated: int
    planted_effect: float  # realised, per person per quarter over the after window
    window_after: int


def write_programme_store(
    con: Any,
    *,
    persons: int,
    programme: int,
    seed: int = 1,
    reduction: float = 1 / 3,
    trend: float = 0.4,
    effect_source: str = PLANTED_SOURCE,
    window: tuple[int, int] = WINDOW_QUARTERS,
) -> StoreTruth:
    """Fill a store's sources, records and person_links directly with a place of ``persons``
    people (mean events per person about 5) and a programme of ``programme`` of them,
    selected on prior use, with the planted effect and background trend of the module doc.
    The programme's caseload is the source ``fulfilling_lives``."""
    import numpy as np
    import pandas as pd

    from joinedup.insight.reference_data import seed_reference

    rng = np.random.default_rng(seed)
    seed_reference(con)
    pid = np.array([f"P{i:07d}" for i in range(persons)])
    frailty = rng.gamma(0.5, 2.0, persons)  # mean 1: a few people use services a lot
    sex = np.where(rng.random(persons) < 0.5, "F", "M")
    dob = pd.Timestamp("2001-01-01") - pd.to_timedelta(rng.integers(0, 60 * 365, persons), unit="D")
    frames = []
    for s in STORE_SERVICES:
        counts = rng.poisson(s.rate * frailty)
        who = np.repeat(np.arange(persons), counts)
        day = rng.integers(0, _SPAN_DAYS, len(who))
        keep = rng.random(len(who)) >= trend * day / _SPAN_DAYS
        frames.append(pd.DataFrame({"who": who[keep], "day": day[keep], "source": s.source}))
    events = pd.concat(frames, ignore_index=True)
    span = (ENTRY_TO - ENTRY_FROM).days
    entry_day = (ENTRY_FROM - _DATA_START).days + rng.integers(0, span + 1, persons)
    gap = entry_day[events["who"].to_numpy()] - events["day"].to_numpy()
    prior = np.bincount(events["who"][(gap > 0) & (gap <= window[0] * _QUARTER)], minlength=persons)
    keys = rng.random(persons) ** (1 / (1.0 + prior) ** 2)
    treated = np.zeros(persons, dtype=bool)
    treated[np.argsort(-keys)[:programme]] = True
    after = -gap >= 0
    planted = (events["source"].to_numpy() == effect_source) & treated[events["who"].to_numpy()] & after
    removed = planted & (rng.random(len(events)) < reduction)
    in_window = removed & (-gap < window[1] * _QUARTER)
    events = events[~removed].reset_index(drop=True)
    events["record_id"] = [f"R{i:09d}" for i in range(len(events))]
    by_source = {s.source: s for s in STORE_SERVICES}
    who = events["who"].to_numpy()
    records = pd.DataFrame({
        "source": events["source"], "record_id": events["record_id"],
        "event_date": pd.Timestamp(_DATA_START) + pd.to_timedelta(events["day"], unit="D"),
        "need": events["source"].map(lambda x: by_source[x].need),
        "cost_item": events["source"].map(lambda x: by_source[x].cost_item),
        "sex": sex[who], "date_of_birth": dob[who], "person_id": pid[who],
    })  # fmt: skip
    t_idx = np.flatnonzero(treated)
    caseload = pd.DataFrame({
        "source": PROGRAMME_SOURCE, "record_id": [f"FLN{i:06d}" for i in range(len(t_idx))],
        "event_date": pd.Timestamp(_DATA_START) + pd.to_timedelta(entry_day[t_idx], unit="D"),
        "need": None, "cost_item": None, "sex": sex[t_idx], "date_of_birth": dob[t_idx],
        "person_id": pid[t_idx],
    })  # fmt: skip
    records = pd.concat([records, caseload], ignore_index=True)
    records["event_date"] = records["event_date"].dt.date
    records["date_of_birth"] = pd.to_datetime(records["date_of_birth"]).dt.date
    sources = pd.DataFrame(
        [(s.source, s.partner, s.service, s.need, s.cost_item) for s in STORE_SERVICES]
        + [(PROGRAMME_SOURCE, PROGRAMME_PARTNER, PROGRAMME_SERVICE, None, None)],
        columns=["name", "partner", "service", "need", "cost_item"],
    )
    con.register("w_sources", sources)
    con.register("w_records", records)
    con.execute("INSERT INTO sources (name, partner, service, need, cost_item) SELECT * FROM w_sources")
    con.execute(
        "INSERT INTO records (source, record_id, event_date, need, cost_item, sex, date_of_birth) "
        "SELECT source, record_id, event_date, need, cost_item, sex, date_of_birth FROM w_records"
    )
    con.execute("INSERT INTO person_links SELECT source, record_id, person_id FROM w_records")
    con.unregister("w_sources")
    con.unregister("w_records")
    return StoreTruth(len(t_idx), -float(in_window.sum()) / (len(t_idx) * window[1]), window[1])
