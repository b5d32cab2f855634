"""Charts of survey results: Vega-Lite specifications (Altair) rendered to SVG on the server.

Each chart is drawn from the same stored results as the table beside it, so the two cannot
disagree. Suppressed groups are left out of charts and marked in the tables. Colours are
GOV.UK palette colours with enough contrast, and every chart has a title and description
for screen readers (the <img> alt text repeats the description).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

from joinedup.charts import BLACK, BLUE, GREY, RED, to_svg
from joinedup.framework import COMPONENTS, component

WIDTH = 640


def _component_names() -> list[str]:
    return [c.name for c in COMPONENTS]


def dot_plot(results: dict[str, Any]) -> alt.TopLevelMixin:
    """Ambition and practice per component, each with its 95% interval."""
    rows = []
    for line in results["lines"]:
        if line["kind"] != "component":
            continue
        for measure, label in (("ambition", "Ambition (importance)"),
                               ("practice", "Practice (true today)")):
            est = line[measure]
            if est["shown"]:
                rows.append({"component": line["name"], "measure": label, "score": est["mean"],
                             "lci": est["lci"], "uci": est["uci"]})
    df = pd.DataFrame(rows, columns=["component", "measure", "score", "lci", "uci"])
    y = alt.Y("component:N", sort=_component_names(), title=None)
    colour = alt.Color("measure:N", scale=alt.Scale(range=[GREY, BLUE]),
                       legend=alt.Legend(orient="bottom", title=None))
    base = alt.Chart(df)
    rules = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("lci:Q", scale=alt.Scale(domain=[0, 100]), title="Score (0 to 100)"),
        x2="uci:Q", y=y, color=colour, yOffset="measure:N")
    dots = base.mark_point(filled=True, size=70, opacity=1).encode(
        x="score:Q", y=y, color=colour, yOffset="measure:N")
    return (rules + dots).properties(
        width=WIDTH - 200, height=alt.Step(14),
        title="Ambition and practice by component, with 95% intervals",
    )


def gap_bars(results: dict[str, Any]) -> alt.TopLevelMixin:
    """The rhetoric–reality gap: ambition minus practice, per component."""
    rows = [
        {"component": line["name"], "gap": line["gap"]["mean"], "lci": line["gap"]["lci"],
         "uci": line["gap"]["uci"]}
        for line in results["lines"] if line["kind"] == "component" and line["gap"]["shown"]
    ]
    df = pd.DataFrame(rows, columns=["component", "gap", "lci", "uci"])
    y = alt.Y("component:N", sort=_component_names(), title=None)
    bars = alt.Chart(df).mark_bar(color=RED).encode(
        x=alt.X("gap:Q", title="Gap in points (ambition minus practice)",
                scale=alt.Scale(domain=[min(0, *(df["lci"].tolist() or [0])), 100])), y=y)
    rules = alt.Chart(df).mark_rule(color=BLACK).encode(x="lci:Q", x2="uci:Q", y=y)
    return (bars + rules).properties(width=WIDTH - 200, height=alt.Step(20),
                                     title="Rhetoric–reality gap by component")


def heatmap(results: dict[str, Any], by: str = "by_partner") -> alt.TopLevelMixin:
    """Practice score of each partner (or level) on each component; small groups left blank."""
    group = results[by]
    labels = results.get("level_labels", {}) if by == "by_level" else {}
    rows = []
    for g in group["groups"]:
        for c in COMPONENTS:
            est = group["scores"][g][c.key]
            if est["shown"]:
                rows.append({"group": labels.get(g, g), "component": c.name,
                             "score": round(est["mean"])})
    df = pd.DataFrame(rows, columns=["group", "component", "score"])
    x = alt.X("component:N", sort=_component_names(), title=None,
              axis=alt.Axis(labelAngle=-40))
    y = alt.Y("group:N", title=None, axis=alt.Axis(labelLimit=320))
    cells = alt.Chart(df).mark_rect(stroke="white").encode(
        x=x, y=y,
        color=alt.Color("score:Q", scale=alt.Scale(domain=[0, 100], scheme="blues"),
                        legend=alt.Legend(title="Practice")))
    text = alt.Chart(df).mark_text(fontSize=12).encode(
        x=x, y=y, text="score:Q",
        color=alt.condition("datum.score > 55", alt.value("white"), alt.value(BLACK)))
    who = "partner" if by == "by_partner" else "level"
    return (cells + text).properties(width=WIDTH, height=alt.Step(30),
                                     title=f"Practice by {who} and component")


def citizen_measures(results: dict[str, Any]) -> alt.TopLevelMixin:
    """Weighted and unweighted shares per measure, with the national figure where quoted."""
    rows = []
    for m in results.get("measures", []):
        for kind, label in (("weighted", "Weighted"), ("unweighted", "Unweighted")):
            est = m[kind]
            if est.get("shown") and est.get("est") is not None:
                rows.append({"measure": m["label"], "kind": label, "pct": est["est"] * 100,
                             "lci": (est["lci"] or est["est"]) * 100,
                             "uci": (est["uci"] or est["est"]) * 100})
        if m.get("national"):
            rows.append({"measure": m["label"], "kind": "UK adults (national survey)",
                         "pct": m["national"]["value"] * 100, "lci": None, "uci": None})
    df = pd.DataFrame(rows, columns=["measure", "kind", "pct", "lci", "uci"])
    y = alt.Y("measure:N", title=None, sort=None, axis=alt.Axis(labelLimit=330))
    colour = alt.Color("kind:N", scale=alt.Scale(
        domain=["Weighted", "Unweighted", "UK adults (national survey)"],
        range=[BLUE, GREY, RED]), legend=alt.Legend(orient="bottom", title=None))
    shape = alt.Shape("kind:N", scale=alt.Scale(
        domain=["Weighted", "Unweighted", "UK adults (national survey)"],
        range=["circle", "square", "diamond"]), legend=None)
    rules = alt.Chart(df).mark_rule(strokeWidth=2).encode(
        x=alt.X("lci:Q", scale=alt.Scale(domain=[0, 100]), title="Per cent of residents"),
        x2="uci:Q", y=y, color=colour, yOffset="kind:N")
    dots = alt.Chart(df).mark_point(filled=True, size=70, opacity=1).encode(
        x="pct:Q", y=y, color=colour, shape=shape, yOffset="kind:N")
    return (rules + dots).properties(width=WIDTH - 300, height=alt.Step(13),
                                     title="Residents' experience, weighted, with 95% intervals")


def theme_bars(results: dict[str, Any]) -> alt.TopLevelMixin:
    rows = [{"theme": t["label"], "pct": t["est"] * 100, "lci": (t["lci"] or t["est"]) * 100,
             "uci": (t["uci"] or t["est"]) * 100}
            for t in results.get("themes", []) if t.get("shown")]
    df = pd.DataFrame(rows, columns=["theme", "pct", "lci", "uci"])
    y = alt.Y("theme:N", title=None, sort="-x")
    bars = alt.Chart(df).mark_bar(color=BLUE).encode(
        x=alt.X("pct:Q", title="Per cent of those who wrote an answer"), y=y)
    rules = alt.Chart(df).mark_rule(color=BLACK).encode(x="lci:Q", x2="uci:Q", y=y)
    return (bars + rules).properties(width=WIDTH - 200, height=alt.Step(20),
                                     title="Themes in what residents wrote (weighted)")


CHARTS: dict[str, tuple[Callable[[dict[str, Any]], alt.TopLevelMixin], str]] = {
    "components": (dot_plot, "Dot plot of ambition and practice scores for each of the 12 "
                             "components, with 95% confidence intervals. The table gives the "
                             "same numbers."),
    "gaps": (gap_bars, "Bar chart of the gap between ambition and practice for each "
                       "component. The table gives the same numbers."),
    "partners": (heatmap, "Heatmap of practice scores by partner and component. Partners "
                          "with too few respondents are left blank. The table gives the "
                          "same numbers."),
    "levels": (lambda r: heatmap(r, "by_level"),
               "Heatmap of practice scores by level and component. The table gives the same "
               "numbers."),
    "measures": (citizen_measures, "Dot plot of weighted and unweighted shares of residents "
                                   "for each question, with national figures where there are "
                                   "some. The table gives the same numbers."),
    "themes": (theme_bars, "Bar chart of how often each theme appears in what residents "
                           "wrote. The table gives the same numbers."),
}


#: The charts each survey's results can draw.
FOR_INSTRUMENT: dict[str, tuple[str, ...]] = {
    "readiness": ("components", "gaps", "partners", "levels"),
    "citizen_voice": ("measures", "themes"),
}


def description(name: str) -> str:
    return CHARTS[name][1]


def render_svg(name: str, results: dict[str, Any]) -> str:
    """The chart as SVG text; KeyError for an unknown chart."""
    build, desc = CHARTS[name]
    return to_svg(build(results), description=desc, label_limit=220)


@lru_cache(maxsize=256)
def cached_svg(name: str, round_id: int, version: int, results_key: str,
               loader: Callable[[], dict[str, Any]]) -> str:
    """SVG cached per round and results version; `loader` is called only on a miss."""
    return render_svg(name, loader())


def component_name(key: str) -> str:
    return component(key).name
