"""The people of a fictional place: names drawn as often as in life, a date of birth, NHS and
National Insurance numbers that pass their checks, a home (and for some a previous one) from
a pool of addresses sharing postcodes, and a small group with complex needs.

The functions draw from the random stream they are given, in the same order as when they
lived in synth/insight.py, so a seed still makes the same place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from joinedup.synth.insight_names import (
    FEMALE_FORENAMES,
    MALE_FORENAMES,
    STREETS,
    SURNAMES,
    SYLLABLES_END,
    SYLLABLES_START,
)

__all__ = ["COMPLEX_SHARE", "Person", "nhs_number"]

# Outward codes of the fictional borough: real-format postcodes ('NB' is not a live area).
_DISTRICTS = [f"NB{n}" for n in range(1, 13)] + ["NV1", "NV2", "NV3"]
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# The share of people in the small group with complex needs, known to many services.
COMPLEX_SHARE = 0.05


@dataclass
class Person:
    pid: int
    sex: str
    forename: str
    surname: str
    alt_surname: str | None
    dob: date
    nhs: str
    ni: str
    postcode: str
    address: str
    uprn: str
    old_postcode: str | None
    old_address: str | None
    complex: bool


def nhs_number(rng: random.Random) -> str:
    """A random valid NHS number: nine digits, the first not 0, and their modulus 11 check digit."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        if digits[0] == 0:
            continue
        total = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)


_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"


def _ni_number(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(_NI_FIRST) + rng.choice(_NI_SECOND)
        if prefix not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
            break
    return f"{prefix}{rng.randint(0, 999999):06d}{rng.choice('ABCD')}"


def _zipf_choice(rng: random.Random, pool: tuple[str, ...] | list[str], s: float = 1.0) -> str:
    weights = _ZIPF_CACHE.setdefault((len(pool), s), [1 / (i + 1) ** s for i in range(len(pool))])
    return rng.choices(pool, weights=weights)[0]


_ZIPF_CACHE: dict[tuple[int, float], list[float]] = {}


def _surname(rng: random.Random) -> str:
    if rng.random() < 0.55:
        return _zipf_choice(rng, SURNAMES, 0.7)
    return rng.choice(SYLLABLES_START) + rng.choice(SYLLABLES_END)


class _Addresses:
    def __init__(self, rng: random.Random, households: int) -> None:
        self.rng = rng
        self.pool: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        while len(self.pool) < households:
            district = rng.choice(_DISTRICTS)
            inward = f"{rng.randint(0, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
            postcode = f"{district} {inward}"
            # About 15 addresses share a postcode, as in life.
            for _ in range(rng.randint(5, 25)):
                address = f"{rng.randint(1, 240)} {rng.choice(STREETS)}"
                key = postcode + address
                if key in seen:
                    continue
                seen.add(key)
                uprn = str(10_000_000_000 + len(self.pool) * 7 + rng.randint(0, 6))
                self.pool.append((postcode, address, uprn))

    def pick(self) -> tuple[str, str, str]:
        return self.rng.choice(self.pool)


def _make_people(rng: random.Random, n: int) -> list[Person]:
    addresses = _Addresses(rng, max(50, n // 2))
    people: list[Person] = []
    nhs_seen: set[str] = set()
    for pid in range(1, n + 1):
        sex = "F" if rng.random() < 0.5 else "M"
        forename = _zipf_choice(rng, FEMALE_FORENAMES if sex == "F" else MALE_FORENAMES, 0.8)
        surname = _surname(rng)
        alt = _surname(rng) if sex == "F" and rng.random() < 0.12 else None
        age_days = rng.randint(18 * 365, 85 * 365)
        dob = date(2025, 1, 1) - timedelta(days=age_days)
        nhs = nhs_number(rng)
        while nhs in nhs_seen:
            nhs = nhs_number(rng)
        nhs_seen.add(nhs)
        postcode, address, uprn = addresses.pick()
        moved = rng.random() < 0.3
        old = addresses.pick() if moved else None
        people.append(
            Person(
                pid=pid, sex=sex, forename=forename, surname=surname, alt_surname=alt, dob=dob,
                nhs=nhs, ni=_ni_number(rng), postcode=postcode, address=address, uprn=uprn,
                old_postcode=old[0] if old else None, old_address=old[1] if old else None,
                complex=rng.random() < COMPLEX_SHARE,
            )
        )  # fmt: skip
    return people
