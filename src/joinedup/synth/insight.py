"""A fictional place's partner extracts, as hard as life, with the truth kept beside them.

`generate_place(people, out_dir, seed)` writes one extract per service in its own raw
layout (column names, date formats, encodings, CSV and XLSX), its mapping, and
``truth.csv`` (source, record_id, person). The people are made up; the mess is modelled on
what partners' systems really hold: nicknames, typos, swapped names, changed surnames,
transposed dates, old addresses, missing and mistyped identifiers, repeat contacts, and a
small group with complex needs known to many services.

This module puts a place together and is the public way in; its parts live beside it:
insight_people (the people), insight_sources (the services and who they know),
insight_records (a service's record of a person, with its mess) and insight_layouts (how
each service writes its extract and mapping).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from joinedup.synth.insight_layouts import _layouts, _mapping_text, _write
from joinedup.synth.insight_people import Person, _make_people
from joinedup.synth.insight_records import _Record, _variant
from joinedup.synth.insight_sources import SOURCES, SourceSpec, _services_for

__all__ = [
    "SOURCES",
    "Later",
    "Person",
    "SourceSpec",
    "SyntheticPlace",
    "generate_place",
    "load_demo_insight",
]


# Adds records to a place: given its people, its records by source and the counters of
# record ids (both to extend), the added records by source and, for each, the random
# numbers that write its row (one stream a record, so a row reads the same in every file).
Later = Callable[
    [list["Person"], dict[str, list["_Record"]], dict[str, int]],
    tuple[dict[str, list["_Record"]], Callable[["_Record"], random.Random]],
]


@dataclass
class SyntheticPlace:
    out_dir: Path
    people: int
    records: int
    sources: list[str] = field(default_factory=list)

    def extract(self, source: str) -> Path:
        for suffix in (".csv", ".xlsx"):
            path = self.out_dir / f"{source}{suffix}"
            if path.exists():
                return path
        raise FileNotFoundError(source)

    def mapping(self, source: str) -> Path:
        return self.out_dir / f"{source}.toml"


def generate_place(
    people: int,
    out_dir: Path,
    seed: int = 1,
    *,
    formats: str = "mixed",
    adjust: Callable[[random.Random, list[Person], dict[str, list[_Record]]], None] | None = None,
    later: Later | None = None,
) -> SyntheticPlace:
    """Write a synthetic place to out_dir. formats='csv' writes every extract as CSV
    (benchmarks at a million records, where writing XLSX would dominate). ``adjust`` may
    change the events before they are written (synth/programme.py plants a programme).
    ``later`` adds records after the place's own (synth/next_month.py: next month's
    extracts); it draws on its own random numbers, so every row the place had is written
    exactly as before and only the added rows are new."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    persons = _make_people(rng, people)
    by_source: dict[str, list[_Record]] = {s.name: [] for s in SOURCES}
    counters = dict.fromkeys(by_source, 0)
    start = date(2023, 4, 1)
    for person in persons:
        for spec in _services_for(rng, person):
            repeats = 1 + min(12, int(rng.expovariate(1 / (spec.repeat * (2 if person.complex else 1)))))
            for _ in range(repeats):
                counters[spec.name] += 1
                rid = f"{spec.name[:3].upper()}{counters[spec.name]:07d}"
                event = start + timedelta(days=rng.randint(0, 729))
                by_source[spec.name].append(_variant(person, spec, rng, rid, event))
    # Every service knows someone, however small the place.
    for spec in SOURCES:
        if not by_source[spec.name]:
            person = rng.choice(persons)
            counters[spec.name] += 1
            rid = f"{spec.name[:3].upper()}{counters[spec.name]:07d}"
            by_source[spec.name].append(_variant(person, spec, rng, rid, start))
    if adjust is not None:
        adjust(rng, persons, by_source)
    added, row_rng = later(persons, by_source, counters) if later else ({}, lambda _r: rng)
    layouts = _layouts()
    truth: list[tuple[str, str, int]] = []
    place = SyntheticPlace(out_dir=out_dir, people=people, records=0)
    for spec in SOURCES:
        records = by_source[spec.name]
        rng.shuffle(records)
        header, to_row, columns = layouts[spec.layout]
        fmt = "csv" if formats == "csv" else spec.fmt
        rows = [to_row(r, rng) for r in records]
        # Some extracts repeat a row verbatim (a system exporting an episode twice).
        if records and rng.random() < 0.5:
            rows.append(list(rows[0]))
        records = records + added.get(spec.name, [])
        rows += [to_row(r, row_rng(r)) for r in added.get(spec.name, [])]
        _write(out_dir / f"{spec.name}.{fmt}", header, rows, fmt, spec.layout)
        (out_dir / f"{spec.name}.toml").write_text(_mapping_text(spec, columns), encoding="utf-8")
        truth.extend((spec.name, r.record_id, r.person) for r in records)
        place.sources.append(spec.name)
        place.records += len(records)
    with (out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "record_id", "person"])
        writer.writerows(truth)
    return place


def load_demo_insight(place_slug: str, settings: Any) -> None:
    """Build, ingest and link a synthetic place for the demo; idempotent and quick."""
    from joinedup.insight.pipeline import load_synthetic_place

    load_synthetic_place(place_slug, settings, people=2500, seed=2025)
