"""Charts for every area: Vega-Lite (Altair) specifications rendered to SVG on the server.

One house style and one renderer, so that insight and survey charts look alike, need no
script in the browser and load nothing from elsewhere (vl-convert embeds its own Vega).
Every page shows the same numbers in a table beside each chart.
"""

from __future__ import annotations

from typing import Any

# GOV.UK palette colours with enough contrast on white.
BLUE = "#1d70b8"
RED = "#d4351c"
GREEN = "#00703c"
GREY = "#505a5f"
LIGHT_GREY = "#b1b4b6"
BLACK = "#0b0c0c"
FONT = "Arial, Helvetica, sans-serif"


def house_style(chart: Any, *, label_limit: int = 240) -> Any:
    return (
        chart.configure(font=FONT)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelLimit=label_limit)
        .configure_view(stroke=None)
    )


def to_svg(chart: Any, *, description: str = "", label_limit: int = 240) -> str:
    """The chart in the house style as SVG text; `description` is its accessible summary."""
    import vl_convert as vlc

    spec = house_style(chart, label_limit=label_limit).to_dict()
    if description:
        spec["description"] = description
    return str(vlc.vegalite_to_svg(spec))
