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

from joinedup.synth.insight import (
    Person,
    SourceSpec,
    SyntheticPlace,
    _fmt_date,
    _fmt_postcode,
    _Record,
    _variant,
    generate_place,
)

__all__ = [
    "ENTRY_FROM",
    "ENTRY_TO",
    "PLANTED_SERVICE",
    "PROGRAMME_NAME",
    "PROGRAMME_SOURCE",
    "WINDOW_QUARTERS",
    "ProgrammeTruth",
    "generate_place_with_programme",
    "read_truth",
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
