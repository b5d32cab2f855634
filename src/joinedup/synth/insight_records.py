"""A service's record of a person, as messy as life: nicknames, typos, swapped forename and
surname, a married surname, a mistyped or transposed date of birth, an old address, and
identifiers missing or mistyped.

``_variant`` makes one service's record of one person from the random stream it is given;
synth/insight.py makes a place's records with it, and programme.py and next_month.py add
theirs the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from nicknames import NickNamer

from joinedup.synth.insight_people import Person
from joinedup.synth.insight_sources import SourceSpec

# The names keep the leading underscore they had in synth/insight.py: programme.py,
# next_month.py, hard_cases.py and a test use them, and renaming them there is another change.
__all__ = ["_Record", "_variant"]

_NAMER = NickNamer()
# Each name's nicknames, sorted so that a seed picks the same one, looked up once a name.
_NICKS: dict[str, list[str]] = {}


def _nickname(name: str, rng: random.Random) -> str:
    if name not in _NICKS:
        options = sorted(n.upper() for n in _NAMER.nicknames_of(name.lower()) if len(n) > 2)
        _NICKS[name] = options
    options = _NICKS[name]
    return rng.choice(options) if options else name


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text
    i = rng.randint(1, len(text) - 2)
    kind = rng.random()
    if kind < 0.35:
        return text[:i] + rng.choice("ABCDEFGHIJKLMNOPRSTUVWY") + text[i + 1 :]
    if kind < 0.6:
        return text[:i] + text[i + 1 :]
    if kind < 0.85:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + text[i] + text[i:]


def _dob_variant(dob: date, rng: random.Random) -> date:
    r = rng.random()
    if r < 0.025 and dob.day <= 12 and dob.day != dob.month:
        return date(dob.year, dob.day, dob.month)  # day and month transposed
    if r < 0.045:
        try:
            return dob.replace(day=min(28, max(1, dob.day + rng.choice([-1, 1, 10, -10]))))
        except ValueError:
            return dob
    if r < 0.055:
        return dob.replace(year=dob.year + rng.choice([-1, 1]), day=min(dob.day, 28))
    return dob


@dataclass
class _Record:
    source: SourceSpec
    record_id: str
    person: int
    forename: str | None
    surname: str | None
    dob: date | None
    sex: str
    postcode: str | None
    address: str | None
    uprn: str | None
    nhs: str | None
    ni: str | None
    event: date
    # The surname before a change of name, where the service knows it (only some extracts
    # have a column for it: insight_layouts writes it for those that do).
    previous_surname: str | None = None


def _variant(person: Person, spec: SourceSpec, rng: random.Random, rid: str, event: date) -> _Record:
    forename: str | None = person.forename
    # A person's other surname is the one taken later (a married name): a record made after
    # the change knows the one before it. No random number is drawn for it, so the records
    # are those the generator made before it kept the previous surname.
    married = bool(person.alt_surname) and rng.random() < 0.5
    surname: str | None = person.alt_surname if married else person.surname
    previous = person.surname if married else None
    if rng.random() < 0.08:
        forename = _nickname(person.forename, rng)
    if forename and rng.random() < 0.04:
        forename = _typo(forename, rng)
    if surname and rng.random() < 0.04:
        surname = _typo(surname, rng)
    if rng.random() < 0.015:
        forename, surname = surname, forename
    if rng.random() < 0.01:
        forename = None
    dob: date | None = _dob_variant(person.dob, rng)
    if rng.random() < 0.02:
        dob = None
    use_old = person.old_postcode is not None and rng.random() < 0.4
    postcode: str | None = person.old_postcode if use_old else person.postcode
    address: str | None = person.old_address if use_old else person.address
    uprn: str | None = None if use_old else person.uprn
    if rng.random() < 0.05:
        postcode = None
    nhs: str | None = person.nhs if rng.random() < 0.75 else None
    if nhs and rng.random() < 0.01:
        nhs = nhs[:4] + nhs[5] + nhs[4] + nhs[6:]  # two digits swapped: usually fails mod 11
    ni: str | None = person.ni if rng.random() < 0.7 else None
    return _Record(spec, rid, person.pid, forename, surname, dob, person.sex, postcode, address,
                   uprn, nhs, ni, event, previous)  # fmt: skip
