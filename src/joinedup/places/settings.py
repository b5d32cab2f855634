"""A place's own settings: population, and the disclosure rules for its aggregates."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.insight.disclosure_rule import MIN_ROUNDING, MIN_THRESHOLD
from joinedup.places.models import Place, User

MIN_GROUP_SIZE = 3  # a survey group of 1 or 2 is never shown
FLOORS = {"threshold": MIN_THRESHOLD, "rounding": MIN_ROUNDING, "group": MIN_GROUP_SIZE}


@dataclass(frozen=True)
class PlaceSettings:
    adult_population: int | None
    disclosure_threshold: int
    disclosure_rounding: int
    min_group_size: int


def _whole(raw: str, field: str, label: str, errors: dict[str, str], *, low: int, high: int,
           optional: bool = False) -> int | None:
    raw = raw.strip().replace(",", "")
    if not raw:
        if optional:
            return None
        errors[field] = f"Enter {label}"
        return None
    if not raw.isdigit():
        errors[field] = f"{label[0].upper()}{label[1:]} must be a whole number, like {low + 1}"
        return None
    value = int(raw)
    if not low <= value <= high:
        errors[field] = f"{label[0].upper()}{label[1:]} must be between {low:,} and {high:,}"
        return None
    return value


def parse_settings(form: dict[str, str]) -> tuple[PlaceSettings | None, dict[str, str]]:
    """Check the settings form; return the settings, or errors by field name."""
    errors: dict[str, str] = {}
    population = _whole(form.get("adult_population", ""), "adult_population",
                        "the adult population", errors, low=1, high=100_000_000, optional=True)
    # Never weaker than the floor: a rule of 1 and 1 would turn control off for everyone.
    threshold = _whole(form.get("disclosure_threshold", ""), "disclosure_threshold",
                       "the smallest count shown", errors, low=MIN_THRESHOLD, high=100)
    rounding = _whole(form.get("disclosure_rounding", ""), "disclosure_rounding",
                      "the rounding base", errors, low=MIN_ROUNDING, high=100)
    group = _whole(form.get("min_group_size", ""), "min_group_size",
                   "the smallest survey group shown", errors, low=MIN_GROUP_SIZE, high=100)
    if errors:
        return None, errors
    assert threshold is not None and rounding is not None and group is not None
    return PlaceSettings(population, threshold, rounding, group), {}


def apply_settings(session: Session, place: Place, new: PlaceSettings, actor: User) -> None:
    before = {"adult_population": place.adult_population,
              "disclosure_threshold": place.disclosure_threshold,
              "disclosure_rounding": place.disclosure_rounding,
              "min_group_size": place.min_group_size}
    place.adult_population = new.adult_population
    place.disclosure_threshold = new.disclosure_threshold
    place.disclosure_rounding = new.disclosure_rounding
    place.min_group_size = new.min_group_size
    after = {k: getattr(place, k) for k in before}
    changed = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    if changed:
        audit.record(session, "place.settings_changed", actor_id=actor.id, actor_label=actor.email,
                     place_id=place.id, subject=place.slug, detail=changed)
