"""What the public value pages show, from a stored account (exact for analysts, controlled
for everyone else): GOV.UK tables and server-rendered charts, each chart with its table.

No business logic: every figure comes from the engine's account or its published copy
(joinedup.value.published); the words come from joinedup.value.present.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.charts import BLUE, GREEN, GREY, RED
from joinedup.charts import to_svg as house_to_svg
from joinedup.collaborations import charters
from joinedup.collaborations.models import Collaboration
from joinedup.insight.disclosure import SUPPRESSED
from joinedup.value.present import assumption_rows, money, number, share
from joinedup.web.authz import Actor
from joinedup.web.insight_pages import has_store, record_action, store

__all__ = ["BASE", "CHARTS", "FLASH", "saved", "settings_url", "store_facts", "svg", "tables"]

CHARTS = ("effects", "matrix", "tornado")
BASE = "/places/{place}/collaborations/{collab}/value/settings"
FLASH = "value_flash"


def settings_url(c: Collaboration, tail: str = "") -> str:
    return f"/places/{c.place.slug}/collaborations/{c.slug}/value/settings{tail}"


def store_facts(request: Request, actor: Actor) -> dict[str, Any]:
    """What the forms offer: the store's sources, services, cohorts and unit costs."""
    facts: dict[str, Any] = {
        "sources": [],
        "services": [],
        "cohorts": [],
        "unit_costs": [],
        "has_store": False,
    }
    if not has_store(request, actor.place.slug):
        return facts
    with store(request, actor.place.slug) as con:
        facts["sources"] = [r[0] for r in con.execute("SELECT name FROM sources ORDER BY name").fetchall()]
        facts["services"] = [
            r[0] for r in con.execute("SELECT DISTINCT service FROM sources ORDER BY service").fetchall()
        ]
        facts["cohorts"] = con.execute("SELECT name, label FROM cohort_definitions ORDER BY name").fetchall()
        facts["unit_costs"] = con.execute("SELECT code, item FROM unit_costs ORDER BY code").fetchall()
    facts["has_store"] = True
    return facts


def saved(
    request: Request, session: Session, actor: Actor, c: Collaboration, part: str, message: str
) -> Response:
    record_action(request, session, actor, f"value.settings.{part}", f"collaboration:{c.slug}")  # commits
    request.session[FLASH] = message
    return RedirectResponse(settings_url(c), status_code=303)


# --- tables --------------------------------------------------------------------------------


def collaboration_or_404(session: Session, actor: Actor, slug: str) -> Collaboration:
    """The actor's place's collaboration named in the address, or a 404."""
    collab = charters.get_collaboration(session, actor.place, slug)
    if collab is None:
        raise HTTPException(status_code=404)
    return collab


def _table(head: list[str], rows: list[list[str]], caption: str, numeric_from: int = 1) -> dict[str, Any]:
    return {
        "caption": caption,
        "captionClasses": "govuk-table__caption--s",
        "firstCellIsHeader": True,
        "head": [{"text": h, "format": "numeric" if i >= numeric_from else ""} for i, h in enumerate(head)],
        "rows": [
            [{"text": c, "format": "numeric" if i >= numeric_from else ""} for i, c in enumerate(r)]
            for r in rows
        ],
    }


def _method(m: dict[str, Any]) -> str:
    return "Difference in differences" if m.get("method") == "did" else "Before and after only"


def tables(acc: dict[str, Any]) -> dict[str, Any]:
    """Every table of the account page, as govukTable parameters."""
    out: dict[str, Any] = {}
    out["measures"] = _table(
        [
            "Measure",
            "Programme before",
            "Programme after",
            "Comparison before",
            "Comparison after",
            "Effect",
            "95% interval",
            "Before and after alone",
        ],
        [
            [
                m["label"],
                number(m.get("programme_before")),
                number(m.get("programme_after")),
                number(m.get("comparison_before"))
                if m.get("comparison_before") is not None or acc.get("comparison_credible")
                else "–",
                number(m.get("comparison_after"))
                if m.get("comparison_after") is not None or acc.get("comparison_credible")
                else "–",
                number(m.get("effect")),
                f"{number(m.get('ci_low'))} to {number(m.get('ci_high'))}"
                if m.get("ci_low") is not None
                else SUPPRESSED,
                number(m.get("naive_effect")),
            ]
            for m in acc.get("measures", [])
        ],
        "Events per person per quarter, before and after entry; the effect is per person per quarter",
    )
    out["balance"] = _table(
        ["Characteristic before entry", "Difference before matching", "Difference after matching", "Flag"],
        [
            [
                b["variable"],
                number(b["smd_before"]),
                number(b["smd_after"]),
                "Above 0.1" if b.get("flagged") else "",
            ]
            for b in acc.get("balance", [])
        ],
        "Balance: standardised mean differences between the programme and the comparison group",
    )
    out["steps"] = _table(
        ["Step", "Value", "Unit", "How", "Source"],
        [[s["name"], number(s["value"]), s["unit"], s["formula"], s["source"]] for s in acc.get("steps", [])],
        "The value chain, step by step",
        numeric_from=1,
    )
    out["agencies"] = _table(
        ["Measure", "Agency", "Share", "Present value", "Source of the share"],
        [
            [a["measure_key"], a["agency"], share(a["share"]), money(a["pv_fiscal"]), a["share_source"]]
            for a in acc.get("agency_values", [])
        ],
        "Fiscal value of each measure by the agency that bears the cost",
    )
    out["matrix"] = _table(
        ["Partner or agency", "Puts in", "Saves", "Of which cashable", "Net"],
        [
            [r["name"], money(r["puts_in"]), money(r["saves"]), money(r["cashable"]), money(r["net"])]
            for r in acc.get("matrix", [])
        ],
        "Who pays and who gains (present values)",
    )
    out["gain_share"] = _table(
        ["Partner", "Contribution", "Share of the net gain", "Gain due", "Saves", "Receives (+) or pays (−)"],
        [
            [
                g["partner"],
                money(g["contribution"]),
                share(g["share"]),
                money(g["gain_due"]),
                money(g["saves"]),
                money(g["transfer"]),
            ]
            for g in acc.get("gain_share", [])
        ],
        "Proposed gain-share",
    )
    out["tornado"] = _table(
        ["Parameter", "Low", "High", "Net present value at low", "Net present value at high"],
        [
            [b["label"], number(b["low"]), number(b["high"]), money(b["npv_low"]), money(b["npv_high"])]
            for b in acc.get("tornado", [])
        ],
        "Sensitivity: the net present value as each parameter moves across its range",
    )
    totals = acc.get("totals")
    if totals:
        out["totals"] = {
            "rows": [
                {
                    "key": {"text": "Present value of fiscal benefits"},
                    "value": {"text": money(totals["pv_fiscal"])},
                },
                {
                    "key": {"text": "Present value of economic benefits"},
                    "value": {"text": money(totals["pv_economic"])},
                },
                {
                    "key": {"text": "Present value of social benefits"},
                    "value": {"text": money(totals["pv_social"])},
                },
                {"key": {"text": "Present value of costs"}, "value": {"text": money(totals["pv_costs"])}},
                {"key": {"text": "Net present value"}, "value": {"text": money(totals["npv"])}},
                {
                    "key": {"text": "Fiscal return on investment"},
                    "value": {
                        "text": number(totals["fiscal_roi"])
                        if totals["fiscal_roi"] is not None
                        else "No costs entered"
                    },
                },
                {
                    "key": {"text": "Public value return"},
                    "value": {
                        "text": number(totals["public_value_roi"])
                        if totals["public_value_roi"] is not None
                        else "No costs entered"
                    },
                },
                {
                    "key": {"text": "Payback period"},
                    "value": {
                        "text": f"{number(totals['payback_years'], 1)} years"
                        if totals.get("payback_years") is not None
                        else "None: the fiscal return does not pay back the cost"
                    },
                },
            ]
        }
    out["assumptions"] = assumptions(acc)
    return out


def assumptions(acc: dict[str, Any]) -> dict[str, Any]:
    return _table(
        ["Assumption", "Value", "Source"],
        assumption_rows(acc),
        "Every assumption and its source",
        numeric_from=9,
    )


# --- charts ----------------------------------------------------------------------------------


def _empty(message: str) -> Any:
    return (
        alt.Chart(pd.DataFrame({"text": [message]}))
        .mark_text(fontSize=14)
        .encode(text="text:N")
        .properties(width=400, height=60)
    )


def effects_chart(acc: dict[str, Any]) -> Any:
    rows = []
    for m in acc.get("measures", []):
        for group, label in (("programme", "Programme"), ("comparison", "Comparison")):
            for when in ("before", "after"):
                value = m.get(f"{group}_{when}")
                if value is not None:
                    rows.append({"measure": m["label"], "group": f"{label} {when}", "rate": float(value)})
    if not rows:
        return _empty("No rates can be shown")
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            y=alt.Y("measure:N", title=None),
            yOffset="group:N",
            x=alt.X("rate:Q", title="Events per person per quarter"),
            color=alt.Color("group:N", title=None, scale=alt.Scale(range=[GREY, BLUE, "#b1b4b6", "#5694ca"])),
        )
        .properties(width=420)
    )


def matrix_chart(acc: dict[str, Any]) -> Any:
    rows = []
    for r in acc.get("matrix", []):
        rows.append({"who": r["name"], "what": "Puts in", "pounds": float(r["puts_in"] or 0)})
        rows.append({"who": r["name"], "what": "Saves", "pounds": float(r["saves"] or 0)})
    if not rows:
        return _empty("The money is shown to analysts only")
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            y=alt.Y("who:N", title=None),
            yOffset="what:N",
            x=alt.X("pounds:Q", title="Present value (£)"),
            color=alt.Color(
                "what:N", title=None, scale=alt.Scale(domain=["Puts in", "Saves"], range=[RED, GREEN])
            ),
        )
        .properties(width=420)
    )


def tornado_chart(acc: dict[str, Any]) -> Any:
    bars = [b for b in acc.get("tornado", []) if b.get("npv_low") is not None]
    if not bars:
        return _empty("The sensitivity is shown to analysts only")
    frame = pd.DataFrame(
        [
            {
                "parameter": b["label"],
                "low": min(b["npv_low"], b["npv_high"]),
                "high": max(b["npv_low"], b["npv_high"]),
            }
            for b in bars
        ]
    )
    order = list(
        frame.assign(width=frame["high"] - frame["low"]).sort_values("width", ascending=False)["parameter"]
    )
    base = (acc.get("totals") or {}).get("npv")
    chart = (
        alt.Chart(frame)
        .mark_bar(color=BLUE)
        .encode(
            y=alt.Y("parameter:N", sort=order, title=None),
            x=alt.X("low:Q", title="Net present value (£)"),
            x2="high:Q",
        )
    )
    if base is not None:
        chart = chart + alt.Chart(pd.DataFrame({"npv": [base]})).mark_rule(color="#0b0c0c").encode(x="npv:Q")
    return chart.properties(width=420)


def svg(acc: dict[str, Any], name: str) -> str:
    make = {"effects": effects_chart, "matrix": matrix_chart, "tornado": tornado_chart}[name]
    return house_to_svg(make(acc), label_limit=200)
