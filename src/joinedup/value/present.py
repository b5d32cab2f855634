"""The account in words and plain tables, for the pages, the print view, the CSVs and the
command line alike (no web imports): formatting, the headline sentence, the assumptions and
the export tables. Hidden figures (None) are written as the suppression mark.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from joinedup.insight.disclosure import SUPPRESSED

__all__ = ["EXPORTS", "assumption_rows", "count", "export_frame", "headline", "money", "number", "share"]

EXPORTS = ("measures", "balance", "steps", "matrix", "gain_share", "sensitivity", "assumptions")


def money(value: Any) -> str:
    if value is None:
        return SUPPRESSED
    text = f"{abs(float(value)):,.0f}"
    # A loss that rounds to nothing is no loss on the page: "£0", never "−£0".
    sign = "−" if float(value) < 0 and text.strip("0,.") else ""
    return f"{sign}£{text}"


def number(value: Any, places: int = 2) -> str:
    if value is None:
        return SUPPRESSED
    text = f"{abs(float(value)):,.{places}f}"
    # A change that rounds to zero is shown as 0.00, not −0.00, which reads as a fall.
    sign = "−" if float(value) < 0 and text.strip("0,.") else ""
    return sign + text


def count(value: Any) -> str:
    return SUPPRESSED if value is None else f"{int(value):,}"


def share(value: Any) -> str:
    return SUPPRESSED if value is None else f"{100 * float(value):.0f}%"


def _agency_words(name: str) -> str:
    return {
        "Police": "the police",
        "Local authority": "the council",
        "DWP": "the DWP",
        "Criminal Justice System": "the criminal justice system",
    }.get(name, f"the {name}" if name != "NHS" else "the NHS")


def _lower_first(label: str) -> str:
    """'Arrests' → 'arrests', but 'A&E attendances' stays as it is."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _excludes_zero(m: dict[str, Any]) -> bool:
    low, high = m.get("ci_low"), m.get("ci_high")
    return low is not None and high is not None and (float(low) > 0 or float(high) < 0)


def _lead_measure(shown: list[dict[str, Any]], chosen: str) -> tuple[dict[str, Any], str]:
    """The measure the sentence leads with, and the words saying how it was chosen: the
    analyst's headline measure if it can be shown, else the largest change whose interval
    excludes zero, else the largest change (said to be uncertain)."""
    picked = next((m for m in shown if m["key"] == chosen), None)
    if picked is not None:
        return picked, ""
    clear = [m for m in shown if _excludes_zero(m)]
    if clear:
        lead = max(clear, key=lambda m: abs(float(m["effect"])))
        return lead, (
            ". No headline measure is chosen, so this is the largest change whose interval excludes zero"
        )
    lead = max(shown, key=lambda m: abs(float(m["effect"])))
    return (
        lead,
        ". No headline measure is chosen and no interval excludes zero, so this change is uncertain",
    )


def headline(acc: dict[str, Any]) -> str:
    """The account in one or two plain sentences, from the figures the reader may see."""
    people = acc.get("n_programme")
    who = f"For {people:,} people" if people is not None else "For the people the programme serves"
    shown = [m for m in acc.get("measures", []) if m.get("effect") is not None]
    if not shown:
        return f"{who}, no measure can be shown yet."
    lead, why = _lead_measure(shown, str(acc.get("parameters", {}).get("headline_measure") or ""))
    effect = float(lead["effect"])
    moved = "fell" if effect < 0 else "rose"
    did = lead.get("method") == "did"
    than = (
        "than for similar people"
        if did
        else "than before they joined (with no credible comparison group, which overstates the effect)"
    )
    text = f"{who}, {_lower_first(lead['label'])} {moved} by {abs(effect):.2f} a quarter more {than}"
    if lead.get("ci_low") is not None and lead.get("ci_high") is not None:
        text += f" (95% interval {number(lead['ci_low'])} to {number(lead['ci_high'])})"
    naive = lead.get("naive_effect")
    if did and naive is not None:
        # Why the comparison group matters: the programme's own before and after carries
        # whatever changed for everyone.
        naive_moved = "fell" if float(naive) < 0 else "rose"
        text += f"; before and after alone would say it {naive_moved} by {abs(float(naive)):.2f}"
    text += why
    totals = acc.get("totals")
    if not totals:
        return text + "."
    by_agency: dict[str, float] = {}
    for a in acc.get("agency_values", []):
        if a.get("pv_fiscal") is not None:
            by_agency[a["agency"]] = by_agency.get(a["agency"], 0.0) + float(a["pv_fiscal"])
    top = sorted(by_agency.items(), key=lambda kv: -abs(kv[1]))[:3]
    years = acc.get("parameters", {}).get("persistence_years", 5)
    parts = [f"{money(v)} to {_agency_words(a)}" for a, v in top]
    worth = (
        (", ".join(parts[:-1]) + " and " + parts[-1])
        if len(parts) > 1
        else (parts[0] if parts else money(totals["pv_fiscal"]))
    )
    left_out = [m["label"] for m in acc.get("measures", []) if m["key"] in acc.get("money_leaves_out", [])]
    which = f"leaving out {_lower_first(left_out[0])}" if len(left_out) == 1 else "with every measure"
    if len(left_out) > 1:
        which = "leaving out the measures too few to publish"
    return (
        f"{text}. Over {years} years, {which}, that is worth {worth}, against "
        f"{money(totals['pv_costs'])} spent."
    )


def assumption_rows(acc: dict[str, Any]) -> list[list[str]]:
    p = acc.get("parameters", {})
    grades = p.get("optimism_bias", {})
    verified = bool(p.get("optimism_bias_verified"))
    rows = [
        ["Window before entry", f"{p.get('window_before')} quarters", "Entered by the analyst"],
        ["Window after entry", f"{p.get('window_after')} quarters", "Entered by the analyst"],
        ["Price year", str(p.get("price_year")), "HM Treasury GDP deflators (March 2026)"],
        [
            "Discount rate",
            share(p.get("discount_rate"))
            if p.get("discount_rate") is None
            else f"{100 * float(p['discount_rate']):.1f}% a year",
            "HM Treasury Green Book (3.5% for years 0 to 30)",
        ],
        [
            "Deadweight",
            share(p.get("deadweight")),
            "From the comparison group"
            if acc.get("comparison_credible")
            else "Entered default (no credible comparison group)",
        ],
        ["Attribution", share(p.get("attribution")), "Entered by the partnership"],
        ["Persistence", f"{p.get('persistence_years')} years", "Entered by the partnership"],
        ["Drop-off each year", share(p.get("drop_off")), "Entered by the partnership"],
    ]
    for grade, value in sorted(grades.items(), key=lambda kv: int(kv[0])):
        rows.append(
            [
                f"Optimism bias, evidence grade {grade}",
                share(value),
                "HMT/PSTN/New Economy (2014) guidance" + ("" if verified else " – recalled, not verified"),
            ]
        )
    for c in p.get("costs", []):
        rows.append(
            [f"Cost: {c['partner']}, year {c['year']}", money(c["amount_gbp"]), c.get("note") or "Entered"]
        )
    for e in p.get("extra_values", []):
        rows.append(
            [f"{e['kind'].capitalize()} value of {e['measure_key']}", money(e["value_gbp"]), e["source"]]
        )
    return rows


# --- CSV -------------------------------------------------------------------------------------


def export_frame(acc: dict[str, Any], name: str) -> pd.DataFrame:
    """One table of the account as a frame for csvsafe (hidden figures are blank)."""
    if name == "measures":
        keys = [
            "key",
            "label",
            "direction",
            "method",
            "programme_before",
            "programme_after",
            "comparison_before",
            "comparison_after",
            "effect",
            "se",
            "ci_low",
            "ci_high",
            "naive_effect",
        ]
        return pd.DataFrame([{k: m.get(k) for k in keys} for m in acc.get("measures", [])], columns=keys)
    if name == "balance":
        return pd.DataFrame(
            acc.get("balance", []), columns=["variable", "smd_before", "smd_after", "flagged"]
        )
    if name == "steps":
        return pd.DataFrame(
            acc.get("steps", []), columns=["measure_key", "name", "value", "unit", "formula", "source"]
        )
    if name == "matrix":
        return pd.DataFrame(
            acc.get("matrix", []), columns=["name", "kind", "puts_in", "saves", "cashable", "net"]
        )
    if name == "gain_share":
        return pd.DataFrame(
            acc.get("gain_share", []),
            columns=["partner", "contribution", "share", "gain_due", "saves", "transfer"],
        )
    if name == "sensitivity":
        rows = [
            {"kind": "tornado", **{k: b.get(k) for k in ("parameter", "low", "high", "npv_low", "npv_high")}}
            for b in acc.get("tornado", [])
        ]
        mc = acc.get("monte_carlo")
        if mc:
            rows.append(
                {
                    "kind": "monte carlo",
                    "parameter": f"{mc['draws']} draws, seed {mc['seed']}",
                    "low": None,
                    "high": None,
                    "npv_low": mc["npv_low"],
                    "npv_high": mc["npv_high"],
                }
            )
        return pd.DataFrame(rows, columns=["kind", "parameter", "low", "high", "npv_low", "npv_high"])
    return pd.DataFrame(assumption_rows(acc), columns=["assumption", "value", "source"])
