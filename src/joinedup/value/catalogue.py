"""The starter catalogue of measures, and how a unit cost is shared among the agencies that
bear it.

Measures: only those the demo place has events for and the shipped unit costs can value.
Agency shares: taken from the GMCA Unit Cost Database where it splits a multi-agency cost
into per-agency components (the components add up to the whole); where it does not, the
cost is split equally between the agencies the place names, and the account says that the
split is entered, not sourced.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from joinedup.insight.reference_data import read_reference
from joinedup.value.account import MeasureSpec

__all__ = ["STARTER_MEASURES", "AgencySplit", "agency_split", "normalise_agency", "shipped_splits"]

STARTER_MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec("ae_attendances", "A&E attendances", ("Emergency Department",),
                unit_cost_code="HE4.0"),
    MeasureSpec("arrests", "Arrests", ("Northbrook Neighbourhood Policing",),
                unit_cost_code="CR7.0"),
    MeasureSpec("homelessness_approaches", "Homelessness approaches", ("Housing Options",),
                unit_cost_code="HO3.0"),
    MeasureSpec("crisis_mental_health", "Crisis mental health contacts",
                ("Community Mental Health Team",), unit_cost_code="HE16.0"),
    MeasureSpec("domestic_abuse_incidents", "Domestic abuse incidents",
                ("Domestic Abuse Support",), unit_cost_code="CR2.0"),
    MeasureSpec("rough_sleeping_contacts", "Rough sleeping outreach contacts",
                ("Rough Sleeper Outreach",), unit_cost_code="HO6.1"),
    MeasureSpec("treatment_starts", "Drug and alcohol treatment starts",
                ("Drug and Alcohol Recovery Service",), direction="higher",
                unit_cost_code="HE2.2"),
)  # fmt: skip

# Agency names differ in case across UCD rows ("Local authority", "Local Authority").
_AGENCY_NAMES = {"local authority": "Local authority", "nhs": "NHS", "police": "Police",
                 "criminal justice system": "Criminal Justice System", "dwp": "DWP",
                 "fire service": "Fire service"}  # fmt: skip

# Multi-agency costs the UCD does not split: the agencies named here share them equally,
# an entered split the account flags (the UCD's "Multiple" gives no shares).
_UNSPLIT_MULTIPLE: dict[str, tuple[str, ...]] = {
    "CR8.0": ("Police", "Criminal Justice System"),
    "CR8.5": ("Police", "Criminal Justice System"),
    "E&S2.0": ("Local authority", "DWP"),
    "E&E2.0": ("DWP", "NHS"),
}


def normalise_agency(name: str | None) -> str:
    text = (name or "").strip()
    return _AGENCY_NAMES.get(text.lower(), text or "Unknown agency")


@dataclass(frozen=True)
class AgencySplit:
    shares: dict[str, float]
    source: str
    entered: bool  # True when the split is not from the Unit Cost Database


def shipped_splits() -> dict[str, AgencySplit]:
    """Per-agency shares of multi-agency UCD costs, from the UCD's own component rows: a
    parent marked 'Multiple' whose children (code + '.n') add up to its cost."""
    rows = read_reference("gmca_unit_costs_selected.csv")
    by_code = {r["ucd_code"]: r for r in rows}
    splits: dict[str, AgencySplit] = {}
    for code, row in by_code.items():
        if row["agency_primary"].strip().lower() != "multiple":
            continue
        children = [
            r for c, r in by_code.items() if c.startswith(code + ".") and c.count(".") == code.count(".") + 1
        ]
        total = float(row["cost_gbp"])
        parts = sum(float(r["cost_gbp"]) for r in children)
        if children and abs(parts - total) < 0.5:
            shares: dict[str, float] = {}
            for child in children:
                agency = normalise_agency(child["agency_primary"])
                shares[agency] = shares.get(agency, 0.0) + float(child["cost_gbp"]) / total
            names = ", ".join(sorted(r["ucd_code"] for r in children))
            splits[code] = AgencySplit(
                shares, f"GMCA Unit Cost Database v1.4: components {names} of {code}", False
            )
    for code, agencies in _UNSPLIT_MULTIPLE.items():
        if code in by_code and code not in splits:
            splits[code] = AgencySplit(
                {a: 1 / len(agencies) for a in agencies},
                "Entered: the Unit Cost Database gives no shares for this multi-agency cost, "
                "so it is split equally; edit the split if the place knows better",
                True,
            )
    return splits


def agency_split(
    con: duckdb.DuckDBPyConnection, code: str, overrides: dict[str, dict[str, float]]
) -> AgencySplit:
    """The shares of one unit cost: the place's override, else the shipped split, else the
    single agency the store holds for it."""
    if code in overrides:
        shares = {normalise_agency(a): float(s) for a, s in overrides[code].items()}
        return AgencySplit(shares, "Entered by the place", True)
    shipped = shipped_splits()
    if code in shipped:
        return shipped[code]
    row = con.execute("SELECT agency, source FROM unit_costs WHERE code = ?", [code]).fetchall()
    agency = normalise_agency(row[0][0] if row else None)
    if agency.lower() == "multiple":
        return AgencySplit({"Multiple agencies": 1.0}, "The source names several agencies but no shares: "
                           "enter a split", True)  # fmt: skip
    source = str(row[0][1]) if row and row[0][1] else "The place's unit cost table"
    return AgencySplit({agency: 1.0}, source, False)
