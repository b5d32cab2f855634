"""Charts of insight figures: Vega-Lite (Altair) rendered to SVG on the server.

Every chart is drawn from disclosure-controlled figures (suppressed cells are left out and
said so in the caption), needs no script in the browser and loads nothing from elsewhere.
Each page shows the same numbers in a table beside the chart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd

from joinedup.charts import BLUE, LIGHT_GREY, RED
from joinedup.charts import to_svg as house_to_svg
from joinedup.places.colours import fallback_colour

__all__ = ["cohorts_chart", "costs_chart", "network_chart", "to_svg", "upset_chart"]

# Insight's grey marks "not this place" beside our blue, so the lighter grey reads better.
GREY = LIGHT_GREY


def to_svg(chart: Any) -> str:
    return house_to_svg(chart, label_limit=260)


def _empty(message: str) -> Any:
    return (
        alt.Chart(pd.DataFrame({"text": [message]}))
        .mark_text(fontSize=14)
        .encode(text="text:N")
        .properties(width=400, height=60)
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and value == value


def cohorts_chart(frame: pd.DataFrame) -> Any:
    """Persons per 1,000 adults per cohort, beside England's figure where there is one."""
    rows = []
    for r in frame.itertuples():
        if _number(r.per_1000_adults):
            rows.append({"cohort": r.label, "figure": "This place", "rate": r.per_1000_adults})
        if _number(r.national_per_1000):
            rows.append({"cohort": r.label, "figure": "England (Hard Edges, 2010/11)",
                         "rate": r.national_per_1000})  # fmt: skip
    if not rows:
        return _empty("No rates to show (the place's adult population is not recorded)")
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("cohort:N", title=None, sort=None),
            yOffset="figure:N",
            x=alt.X("rate:Q", title="Persons per 1,000 adults"),
            color=alt.Color(
                "figure:N",
                title=None,
                scale=alt.Scale(domain=["This place", "England (Hard Edges, 2010/11)"], range=[BLUE, GREY]),
                legend=alt.Legend(orient="bottom"),
            ),  # fmt: skip
        )
        .properties(width=480)
    )


def upset_chart(combos: pd.DataFrame, *, top: int = 15) -> Any:
    """UpSet-style: bars of persons per exclusive combination, dots for its members."""
    data = combos[combos["combination"] != "Total"].dropna(subset=["persons"]).head(top)
    if data.empty:
        return _empty("No combinations large enough to show")
    data = data.reset_index(drop=True)
    data["order"] = range(len(data))
    items = sorted({i for c in data["combination"] for i in str(c).split(" + ")})
    dots = pd.DataFrame(
        [
            {"order": o, "item": item.replace("_", " "), "member": item in str(c).split(" + ")}
            for o, c in zip(data["order"], data["combination"], strict=True)
            for item in items
        ]
    )
    width = max(240, 34 * len(data))
    bars = (
        alt.Chart(data)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X("order:O", axis=None),
            y=alt.Y("persons:Q", title="Persons"),
            tooltip=["combination:N", "persons:Q"],
        )
        .properties(width=width, height=200)
    )
    matrix = (
        alt.Chart(dots)
        .mark_circle(size=110)
        .encode(
            x=alt.X("order:O", axis=None),
            y=alt.Y("item:N", title=None),
            color=alt.condition("datum.member", alt.value("#0b0c0c"), alt.value("#dee0e2")),
        )
        .properties(width=width)
    )
    return alt.vconcat(bars, matrix, spacing=6)


def partner_scale(names: Iterable[object], colours: Mapping[str, str] | None) -> alt.Scale:
    """Each partner's own colour (places/colours.py), so that a partner looks the same on every
    chart whatever partners are added later. Without ``colours`` the names are coloured by a
    digest of each name, which is stable too but may give two partners one colour."""
    domain = sorted({str(n) for n in names})
    given = colours or {}
    return alt.Scale(domain=domain, range=[given.get(n) or fallback_colour(n) for n in domain])


def costs_chart(costs: pd.DataFrame, colours: Mapping[str, str] | None = None) -> Any:
    """Cost of each cohort's events, stacked by the partner who bears it, in each partner's
    colour (``colours``: partner name → hex, from places.colours.partner_colours)."""
    data = costs.dropna(subset=["cost"])
    data = data[data["cost"] > 0]
    if data.empty:
        return _empty("No costs to show")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=None),
            x=alt.X("sum(cost):Q", title="Cost (£)", axis=alt.Axis(format="~s")),
            color=alt.Color(
                "partner:N", title="Borne by", scale=partner_scale(data["partner"], colours),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=300),
            ),  # fmt: skip
        )
        .properties(width=480)
    )


def network_chart(network: pd.DataFrame, *, top: int = 30, colours: Mapping[str, str] | None = None) -> Any:
    """Services on a circle, joined by lines as thick as the persons they share; each service's
    dot is in its partner's colour (``colours`` as for costs_chart).

    Red lines are 'ships in the night': many shared persons, no shared collaboration.
    """
    data = network.dropna(subset=["shared"]).head(top)
    if data.empty:
        return _empty("No pairs of services share enough persons to show")
    services = sorted(set(data["service_a"]) | set(data["service_b"]))
    partner_of = {str(s): str(p) for side in ("a", "b") if f"partner_{side}" in data
                  for s, p in zip(data[f"service_{side}"], data[f"partner_{side}"], strict=True)}
    angle = {s: 2 * math.pi * i / len(services) for i, s in enumerate(services)}
    pos = {s: (math.cos(a), math.sin(a)) for s, a in angle.items()}
    edges = []
    for i, r in enumerate(data.itertuples()):
        for end, service in (("a", r.service_a), ("b", r.service_b)):
            x, y = pos[str(service)]
            edges.append({"edge": i, "end": end, "x": x, "y": y, "shared": r.shared,
                          "kind": "Ships in the night" if r.ships_in_the_night
                          else "Partners collaborate or same partner",
                          "pair": f"{r.service_a} – {r.service_b}"})  # fmt: skip
    nodes = pd.DataFrame([{"service": s, "partner": partner_of.get(s, ""), "x": pos[s][0], "y": pos[s][1]}
                          for s in services])
    scale_x = alt.Scale(domain=[-1.9, 1.9])
    scale_y = alt.Scale(domain=[-1.3, 1.3])
    lines = (
        alt.Chart(pd.DataFrame(edges))
        .mark_line()
        .encode(
            x=alt.X("x:Q", axis=None, scale=scale_x),
            y=alt.Y("y:Q", axis=None, scale=scale_y),
            detail="edge:N",
            strokeWidth=alt.StrokeWidth("shared:Q", title="Persons shared", scale=alt.Scale(range=[1, 12])),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(
                    domain=["Ships in the night", "Partners collaborate or same partner"], range=[RED, GREY]
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["pair:N", "shared:Q"],
        )  # fmt: skip
    )
    points = (
        alt.Chart(nodes)
        .mark_circle(size=160, opacity=1)
        .encode(
            x=alt.X("x:Q", scale=scale_x), y=alt.Y("y:Q", scale=scale_y),
            color=alt.Color("partner:N", title="Partner", scale=partner_scale(nodes["partner"], colours),
                            legend=alt.Legend(orient="bottom", columns=2, labelLimit=300)),
        )
    )
    labels = (
        alt.Chart(nodes)
        .mark_text(dy=-14, fontSize=11)
        .encode(x=alt.X("x:Q", scale=scale_x), y=alt.Y("y:Q", scale=scale_y), text="service:N")
    )
    # Lines and dots have a colour scale each: one for the kind of pair, one for partners.
    layers = alt.layer(lines, points, labels).resolve_scale(color="independent")
    return layers.properties(width=620, height=460)
