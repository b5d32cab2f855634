"""Hard cases added to a synthetic place, each record marked with its kind, so that linkage
accuracy can be reported on them separately (``evaluate.evaluate_by_kind``).

The ordinary place already carries everyday mess (nicknames, typos, a previous surname on
some records, an old address, transposed dates). Real extracts are harder than that where it
hurts a model most, and these kinds are those:

* ``twin``: a twin with the same surname, date of birth and address, and another forename
  (two people whom only the forename and identifiers tell apart);
* ``family``: a parent or grown-up child at the same address with the same surname, born
  18 to 35 years apart;
* ``married_moved``: a record after marriage *and* a move at once (a new surname and a new
  address, only forename and date of birth left to agree);
* ``swapped``: forename and surname the wrong way round;
* ``name_and_year``: a record with only a name and a year of birth (held as 1 January, as
  many systems record an unknown day), no address and no identifiers;
* ``nhs_valid_typo``: an NHS number mistyped in one digit whose check digit was then
  recomputed, so it passes the modulus 11 check and points nowhere (or at someone else).

Used as ``generate_place(..., adjust=cases)``: it draws on its own random numbers (seeded
from the place's), so the ordinary place's records are changed only where a kind is planted,
and ``generate_place`` without it writes exactly what it always did.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from joinedup.synth.insight_names import FEMALE_FORENAMES, MALE_FORENAMES, STREETS
from joinedup.synth.insight_people import _ni_number

if TYPE_CHECKING:
    from joinedup.synth.insight_people import Person
    from joinedup.synth.insight_records import _Record

__all__ = ["KINDS", "HardCases"]

KINDS = ("twin", "family", "married_moved", "swapped", "name_and_year", "nhs_valid_typo")


@dataclass
class HardCases:
    """Plants each kind on about ``share`` of the people (or of the records, for kinds of a
    single record) and keeps ``(source, record_id, kind)`` for every record involved."""

    share: float = 0.02
    marked: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(
        self, rng: random.Random, persons: list[Person], by_source: dict[str, list[_Record]]
    ) -> None:
        base = rng.random()
        own = random.Random(base)
        # A relative's National Insurance number is drawn from a stream of its own, so that
        # every draw of ``own`` (and so which records each kind is planted on) is as before.
        numbers = random.Random(base + 1)
        by_person: dict[int, list[_Record]] = {}
        for records in by_source.values():
            for record in records:
                by_person.setdefault(record.person, []).append(record)
        next_pid = max(p.pid for p in persons) + 1
        people = sorted(by_person)
        added = 0

        def new_id(source: str) -> str:
            nonlocal added
            added += 1
            return f"{source[:3].upper()}H{added:06d}"

        for kind in ("twin", "family"):
            for pid in own.sample(people, max(1, int(self.share * len(people)))):
                first = by_person[pid][0]
                forenames = FEMALE_FORENAMES if own.random() < 0.5 else MALE_FORENAMES
                # The relative's sex is that of their forename: a man's records once kept the
                # sex of a sister's (AMANDA PAYNE, M), a slip no source makes.
                sex = "F" if forenames is FEMALE_FORENAMES else "M"
                ni_number = _ni_number(numbers)
                other = own.choice([f for f in forenames if f != first.forename])
                dob = first.dob
                if kind == "family" and dob is not None:
                    years = own.randint(18, 35) * own.choice([-1, 1])
                    if dob.year + years > 2006:  # an adult: the family member is the parent
                        years = -abs(years)
                    dob = dob.replace(year=dob.year + years, day=min(dob.day, 28))
                number: str | None = None  # the relative's one NHS number
                for record in by_person[pid]:
                    if own.random() < 0.5:
                        continue
                    # A number is drawn for each record as before, so that every other draw
                    # (and so the rest of the place) is unchanged; the relative keeps the first.
                    drawn = _nhs_number(own) if record.nhs else None
                    number = number or drawn
                    relative = replace(
                        record, record_id=new_id(record.source.name), person=next_pid, forename=other,
                        sex=sex, dob=dob, nhs=number if record.nhs else None,
                        ni=ni_number if record.ni else None,
                        event=record.event + timedelta(days=own.randint(-60, 60)),
                    )  # fmt: skip
                    by_source[record.source.name].append(relative)
                    self.marked.append((record.source.name, relative.record_id, kind))
                    self.marked.append((record.source.name, record.record_id, kind))
                next_pid += 1
        # The place's own records (not the relatives just added), by position.
        slots = [(name, i) for name, records in by_source.items() for i, r in enumerate(records)
                 if r.person in by_person]  # fmt: skip
        taken: set[tuple[str, int]] = set()  # one kind a record, so each is measured alone
        for kind in ("married_moved", "swapped", "name_and_year", "nhs_valid_typo"):
            for name, i in own.sample(slots, max(1, int(self.share * len(slots)))):
                if (name, i) in taken:
                    continue
                taken.add((name, i))
                record = by_source[name][i]
                changed = _plant(kind, record, own)
                if changed is None:
                    continue
                by_source[name][i] = changed
                self.marked.append((name, record.record_id, kind))

    def write(self, out_dir: Path) -> Path:
        """``hard_cases.csv`` beside the truth: source, record_id, kind (a record may have
        more than one kind; twins' and families' originals are marked too)."""
        path = out_dir / "hard_cases.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["source", "record_id", "kind"])
            writer.writerows(sorted(set(self.marked)))
        return path


def _plant(kind: str, record: _Record, rng: random.Random) -> _Record | None:
    if kind == "married_moved":
        if record.sex != "F" or not record.surname:
            return None
        surname = rng.choice(["ACHESON", "BRADSHAW", "CAVENDISH", "DUNMORE", "ELSWORTH", "FAIRLIE"])
        address = f"{rng.randint(1, 240)} {rng.choice(STREETS)}"
        return replace(record, surname=surname, previous_surname=record.surname, address=address, uprn=None,
                       postcode=(record.postcode or "NB1 1AA")[:-3] + f"{rng.randint(0, 9)}ZZ")  # fmt: skip
    if kind == "swapped":
        if not record.forename or not record.surname:
            return None
        return replace(record, forename=record.surname, surname=record.forename)
    if kind == "name_and_year":
        if record.dob is None:
            return None
        return replace(record, dob=date(record.dob.year, 1, 1), postcode=None, address=None, uprn=None,
                       nhs=None, ni=None)  # fmt: skip
    if kind == "nhs_valid_typo":
        if not record.nhs:
            return None
        digits = [int(d) for d in record.nhs[:9]]
        at = rng.randint(1, 8)
        digits[at] = (digits[at] + rng.randint(1, 9)) % 10
        check = _check_digit(digits)
        if check is None:
            return None
        return replace(record, nhs="".join(map(str, digits)) + str(check))
    raise ValueError(kind)  # pragma: no cover - KINDS lists every kind


def _check_digit(digits: list[int]) -> int | None:
    check = (11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11) % 11
    return None if check == 10 else check


def _nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        check = _check_digit(digits)
        if check is not None:
            return "".join(map(str, digits)) + str(check)
