"""The linked data as a third witness beside what staff and residents say.

When staff say how well partners share resources and insight, and residents say whether they
had to tell their story again, the place's linked records can say something about the same
thing: how many pairs of services share many people while their partners share no
collaboration ("ships in the night"), and how many services the average shared person is
known to. Every figure here is derived from figures the dashboard already publishes under
disclosure control, so it reveals nothing they do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from joinedup.insight import controlled, export
from joinedup.insight.analysis import has_persons
from joinedup.insight.context import PlaceContext

__all__ = ["Witness", "data_witnesses"]


@dataclass(frozen=True)
class Witness:
    key: str
    label: str
    value: str  # as shown, or "" when it cannot be shown
    detail: str  # one sentence in plain words
    link: str  # the page where the figures behind it are


def data_witnesses(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> dict[str, Witness]:
    """Witness figures by key; empty when the place has no linked persons yet."""
    if not has_persons(con):
        return {}
    base = f"/places/{ctx.slug}/insight"
    figures = controlled.service_figures(con, ctx)
    # From published line totals only: every person's services add up to the sum of the
    # caseloads, and those known to one service are all persons minus those known to two or
    # more, so the shared persons' services are Σ caseloads − (all − two or more). Rounded
    # totals make this a little approximate, which the figure's one decimal place allows for.
    caseloads = list(figures.caseload.values())
    mean: float | None = None
    if (None not in caseloads and figures.persons is not None and figures.two_or_more
            and figures.two_or_more > 0):
        services = sum(int(c) for c in caseloads if c is not None) - (figures.persons - figures.two_or_more)
        mean = max(2.0, services / figures.two_or_more)
    per_person = Witness(
        "services_per_shared_person", "Services the average shared person is known to",
        f"{mean:.1f}" if mean is not None else "",
        ("Among people known to two or more services, from the published caseloads."
         if mean is not None else
         "Not shown: a caseload it would be worked out from is hidden by disclosure control."),
        base,
    )
    network = export.network_table(con, ctx)
    ships = (
        [f"{a} and {b}" for a, b, flag in zip(network["service_a"], network["service_b"],
                                              network["ships_in_the_night"], strict=True) if flag]
        if not network.empty else []
    )  # fmt: skip
    ships_witness = Witness(
        "ships_in_the_night", "Pairs of services sharing many people with no collaboration",
        f"{len(ships):,}",
        ("For example " + "; ".join(ships[:3]) + ".") if ships
        else "Every pair of services sharing many people is covered by a collaboration.",
        base,
    )
    return {w.key: w for w in (per_person, ships_witness)}
