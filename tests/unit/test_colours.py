"""Partner colours are the same on every chart, whatever partners are added later."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from joinedup.db.migrate import alembic_config
from joinedup.insight import charts
from joinedup.places import registry
from joinedup.places.colours import (
    PALETTE,
    colour_for_slot,
    fallback_colour,
    partner_colours,
)
from tests.support.factories import make_place, partner_named

_LEGEND = re.compile(r'fill="(#[0-9a-fA-F]{6})"[^>]*/></g><g class="mark-text role-legend-label"[^>]*>'
                     r"<text[^>]*>([^<]+)</text>")


def _contrast_on_white(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_every_slot_has_enough_contrast_on_white_and_the_palette_is_distinct() -> None:
    slots = [colour_for_slot(i) for i in range(len(PALETTE) * 3)]
    assert all(_contrast_on_white(c) >= 3.0 for c in slots), slots
    assert len(set(slots)) == len(slots)


def test_fallback_is_a_palette_colour_that_never_changes() -> None:
    assert fallback_colour("Unregistered Trust") == fallback_colour(" unregistered trust ")
    assert fallback_colour("Unregistered Trust") in PALETTE


def _legend(svg: str) -> dict[str, str]:
    return {name: fill.lower() for fill, name in _LEGEND.findall(svg)}


def _costs(partners: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"label": ["All persons"] * len(partners), "partner": partners,
                         "cost": [1000.0 * (i + 1) for i in range(len(partners))]})


def test_adding_a_partner_later_keeps_every_colour_on_the_costs_chart(session: Session) -> None:
    place = make_place(session)
    names = ["Testville Council", "Testville NHS Trust", "Testville Police"]
    before = _legend(charts.to_svg(charts.costs_chart(_costs(names), partner_colours(session, place))))
    assert set(before) == set(names) and len(set(before.values())) == 3
    # A partner whose name sorts first would shift every colour of a scale assigned by order.
    registry.add_partner(session, place, name="Abbey Housing", sector="housing")
    registry.retire_partner(session, partner_named(place, "Testville NHS Trust"))
    after = _legend(charts.to_svg(charts.costs_chart(_costs(["Abbey Housing", *names]),
                                                     partner_colours(session, place))))
    assert {n: after[n] for n in names} == before
    assert after["Abbey Housing"] not in before.values()


def test_the_network_dots_are_in_the_partners_colours(session: Session) -> None:
    place = make_place(session)
    colours = partner_colours(session, place)
    network = pd.DataFrame({
        "service_a": ["Housing Options"], "partner_a": ["Testville Council"],
        "service_b": ["Emergency Department"], "partner_b": ["Testville NHS Trust"],
        "shared": [40], "ships_in_the_night": [True],
    })
    legend = _legend(charts.to_svg(charts.network_chart(network, colours=colours)))
    assert legend["Testville Council"] == colours["Testville Council"]
    assert legend["Testville NHS Trust"] == colours["Testville NHS Trust"]


def test_a_name_without_a_partner_gets_its_fallback_colour() -> None:
    legend = _legend(charts.to_svg(charts.costs_chart(_costs(["Somebody Else"]), {})))
    assert legend == {"Somebody Else": fallback_colour("Somebody Else")}


def test_the_migration_gives_existing_partners_slots_in_name_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0002_accounts")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for place_id, slug in ((1, "a"), (2, "b")):
            conn.execute(sa.text("INSERT INTO places (id, slug, name, description, disclosure_threshold, "
                                 "disclosure_rounding, min_group_size, created_at) "
                                 "VALUES (:i, :s, :s, '', 8, 5, 5, '2025-01-01')"),
                         {"i": place_id, "s": slug})
        for pid, place_id, name in ((1, 1, "Police"), (2, 1, "Council"), (3, 1, "NHS"), (4, 2, "Zeta")):
            conn.execute(sa.text("INSERT INTO partners (id, place_id, name, sector, website, created_at) "
                                 "VALUES (:i, :p, :n, 'housing', '', '2025-01-01')"),
                         {"i": pid, "p": place_id, "n": name})
    command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        slots = dict(conn.execute(sa.text("SELECT name, colour_slot FROM partners")).all())
    engine.dispose()
    assert slots == {"Council": 0, "NHS": 1, "Police": 2, "Zeta": 0}

