"""Partner colours that stay the same on every chart, whatever partners are added later.

Each partner gets a colour slot when it is added (the lowest slot no other partner of the
place holds, retired ones included) and keeps it for good, so a chart's colours do not shift
when a partner is added or retired. Slots index an accessible palette: GOV.UK colours with
at least 3:1 contrast on white (WCAG 1.4.11, non-text contrast). A place with more partners
than the palette has colours gets the palette again in darker shades, which only raises the
contrast.

Names that are not in the registry (an insight source filed under a name no partner has)
get a colour from a hash of the name, so they too are the same on every chart.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.places.models import Partner, Place

__all__ = ["PALETTE", "colour_for_slot", "fallback_colour", "next_colour_slot", "partner_colours"]

# Ordered so that neighbouring slots (the first partners of a place) differ most.
PALETTE: tuple[str, ...] = (
    "#1d70b8",  # blue
    "#d4351c",  # red
    "#00703c",  # green
    "#4c2c92",  # purple
    "#d53880",  # pink
    "#28a197",  # turquoise
    "#b58840",  # brown
    "#003078",  # dark blue
    "#85994b",  # light green
    "#912b88",  # bright purple
    "#5694ca",  # light blue
    "#505a5f",  # dark grey
)
# Each further round of the palette is this much darker (towards black), never lighter.
_SHADE_STEP = 0.3
_DARKEST = 0.25


def colour_for_slot(slot: int) -> str:
    """The colour of a slot: the palette, then the palette again in darker shades."""
    if slot < 0:
        raise ValueError("a colour slot is 0 or more")
    base = PALETTE[slot % len(PALETTE)]
    rounds = slot // len(PALETTE)
    if rounds == 0:
        return base
    keep = max(_DARKEST, 1 - _SHADE_STEP * rounds)
    rgb = (int(base[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * keep):02x}" for c in rgb)


def fallback_colour(name: str) -> str:
    """A colour for a name with no partner behind it: the same on every chart and every run
    (a digest of the name, not Python's hash, which changes between processes)."""
    digest = hashlib.sha256(name.strip().casefold().encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def next_colour_slot(session: Session, place_id: int) -> int:
    """The lowest slot no partner of the place holds (a deleted partner's slot is free again:
    only partners with no history can be deleted, so no chart ever showed it)."""
    taken = set(session.scalars(select(Partner.colour_slot).where(Partner.place_id == place_id)))
    slot = 0
    while slot in taken:
        slot += 1
    return slot


def partner_colours(session: Session, place: Place) -> dict[str, str]:
    """Partner name → colour (hex) for every partner of the place, retired ones included."""
    rows = session.execute(
        select(Partner.name, Partner.colour_slot).where(Partner.place_id == place.id)
    )
    return {name: colour_for_slot(slot) for name, slot in rows}
