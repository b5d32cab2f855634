"""Next month's extracts of a synthetic place: what the partners send a month later.

A partner's monthly extract is cumulative: last month's rows again (unchanged), plus the
month's new events, for the people it knew and for some it did not. So next month's files
carry the same source names and layouts as the place's own (their stored mappings reuse),
and linking them incrementally scores only the new rows. The mess is the place's: the new
rows go through the same variants (nicknames, typos, old addresses, missing identifiers),
and some returning people have moved since.

``next_month(people, out_dir, seed, month)`` writes month ``month`` (1 is the month after
the place's events end, April 2025); it holds the rows of every earlier month too, as a
partner's extract would. Deterministic by seed and month. ``truth.csv`` says whose each row is.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

from joinedup.synth.insight import (
    SOURCES,
    Later,
    Person,
    SyntheticPlace,
    generate_place,
)
from joinedup.synth.insight_names import FEMALE_FORENAMES, MALE_FORENAMES
from joinedup.synth.insight_people import COMPLEX_SHARE, _ni_number, _surname, _zipf_choice, nhs_number
from joinedup.synth.insight_records import _Record, _variant

__all__ = ["DEMO_PEOPLE", "DEMO_SEED", "RETURNING_SHARE", "month_start", "next_month"]

DEMO_PEOPLE = 2500  # as synth.insight.load_demo_insight makes the demo place
DEMO_SEED = 2025
RETURNING_SHARE = 0.04  # of the place's people, known again in a month
NEW_SHARE = 0.006  # new to every service, per month
MOVED_SHARE = 0.15  # of those returning, at a new address since
_SPECS = {s.name: s for s in SOURCES}


def month_start(month: int) -> date:
    """The first day of next month number ``month`` (1 is April 2025)."""
    index = 2025 * 12 + 3 + (month - 1)  # April 2025 is month index 3 of 2025
    return date(index // 12, index % 12 + 1, 1)


def _event(rng: random.Random, month: int) -> date:
    start = month_start(month)
    return start.replace(day=rng.randint(1, 28))


def _new_person(rng: random.Random, pid: int, people: list[Person]) -> Person:
    sex = "F" if rng.random() < 0.5 else "M"
    neighbour = rng.choice(people)  # moves in beside (or with) someone already known
    return Person(
        pid=pid, sex=sex,
        forename=_zipf_choice(rng, FEMALE_FORENAMES if sex == "F" else MALE_FORENAMES, 0.8),
        surname=_surname(rng), alt_surname=None,
        dob=date(2007, 1, 1).replace(year=rng.randint(1940, 2006), month=rng.randint(1, 12),
                                     day=rng.randint(1, 28)),
        nhs=nhs_number(rng), ni=_ni_number(rng), postcode=neighbour.postcode,
        address=neighbour.address if rng.random() < 0.3 else f"{rng.randint(1, 240)} "
        + neighbour.address.split(" ", 1)[1],
        uprn=neighbour.uprn if rng.random() < 0.3 else str(20_000_000_000 + pid),
        old_postcode=None, old_address=None, complex=rng.random() < COMPLEX_SHARE,
    )  # fmt: skip


def _later(seed: int, months: int) -> Later:
    def add(people: list[Person], by_source: dict[str, list[_Record]], counters: dict[str, int]
            ) -> tuple[dict[str, list[_Record]], Callable[[_Record], random.Random]]:  # fmt: skip
        known: dict[int, list[str]] = {}
        for name, records in by_source.items():
            for r in records:
                if name not in known.setdefault(r.person, []):
                    known[r.person].append(name)
        added: dict[str, list[_Record]] = {s.name: [] for s in SOURCES}
        everyone = list(people)

        def record(person: Person, source: str, rng: random.Random, month: int) -> None:
            counters[source] += 1
            rid = f"{source[:3].upper()}{counters[source]:07d}"
            added[source].append(_variant(person, _SPECS[source], rng, rid, _event(rng, month)))

        for month in range(1, months + 1):
            # Each month its own numbers: month 2's file repeats month 1's rows exactly.
            rng = random.Random(f"{seed}-next-month-{month}")
            returning = rng.sample(people, max(1, round(RETURNING_SHARE * len(people))))
            for person in returning:
                if rng.random() < MOVED_SHARE and person.old_postcode is None:
                    other = rng.choice(people)
                    person.old_postcode, person.old_address = person.postcode, person.address
                    person.postcode = other.postcode
                    person.address = f"Flat {rng.randint(1, 9)}, {other.address}"
                    person.uprn = str(30_000_000_000 + person.pid)
                services = known.get(person.pid) or [rng.choice(SOURCES).name]
                source = rng.choice(services) if rng.random() < 0.85 else rng.choice(SOURCES).name
                for _ in range(1 + int(rng.random() < 0.3)):
                    record(person, source, rng, month)
            for _ in range(max(1, round(NEW_SHARE * len(people)))):
                person = _new_person(rng, len(everyone) + 1, everyone)
                everyone.append(person)
                for spec in rng.sample(SOURCES, 1 + int(rng.random() < 0.4)):
                    record(person, spec.name, rng, month)
        return added, lambda r: random.Random(f"{seed}-row-{r.source.name}-{r.record_id}")

    return add


def next_month(
    people: int, out_dir: Path, seed: int = 1, month: int = 1, *, formats: str = "mixed",
    adjust: Callable[..., None] | None = None,
) -> SyntheticPlace:  # fmt: skip
    """Write the place's extracts as partners send them ``month`` months on (see above)."""
    if month < 1:
        raise ValueError("month must be 1 or more: month 1 is the month after the place's events")
    return generate_place(people, out_dir, seed, formats=formats, adjust=adjust, later=_later(seed, month))
