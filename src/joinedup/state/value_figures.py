"""Collaborations' public value accounts as a viewer reads them, for the package.

Every figure comes from the account's *published* copy (``ValueResult.published``, made by
:func:`joinedup.value.published.publish`), never from the analyst's exact account: the size
is the sticky, rounded one; the money is computed for the published number of people (and
without any measure too few events to publish); a withheld account (the nearby-cohort rule,
:mod:`joinedup.value.nearby`) gives its state and nothing else. So the table holds nothing
the account page does not show a viewer, and differencing it gives what the page gives.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.collaborations.models import Collaboration
from joinedup.places.models import Place
from joinedup.state.schema import SUPPRESSED
from joinedup.value.models import ValueAccount
from joinedup.value.present import _lead_measure

__all__ = ["value_rows", "within_interval"]

Row = dict[str, Any]


def _sig_slack(value: float) -> float:
    """Half a unit of the second significant figure: how far a two-significant-figure bound
    (the Monte Carlo interval as the account page shows it) may lie from the exact one."""
    if value == 0:
        return 0.0
    return 0.5 * 10 ** (math.floor(math.log10(abs(value))) - 1)


def within_interval(value: float, low: float, high: float) -> bool:
    """Whether a return lies within its interval, allowing for the interval's rounding."""
    return low - _sig_slack(low) - 1e-9 <= value <= high + _sig_slack(high) + 1e-9


def _withheld(c: Collaboration, version: int, reason: str) -> Row:
    return {"collaboration": c.slug, "name": c.name, "state": "withheld",
            "settings_version": version, "note": reason}


def account_row(c: Collaboration, published: dict[str, Any], version: int) -> Row:
    """One account's row from its published copy (see the module's docstring)."""
    if published.get("withheld"):
        return _withheld(c, version, str(published["withheld"]))
    hidden = published.get("hidden") or {}
    notes = [str(v) for k, v in hidden.items() if k in {"money", "comparison"}]
    row: Row = {"collaboration": c.slug, "name": c.name, "state": "published",
                "settings_version": version,
                "period": f"{published.get('data_start')} to {published.get('data_end')}",
                "programme_persons": SUPPRESSED if published.get("n_programme") is None
                else int(published["n_programme"])}
    params = published.get("parameters") or {}
    rate = params.get("discount_rate")
    row["discount_rate"] = None if rate is None else float(rate)
    shown = [m for m in published.get("measures", []) if m.get("effect") is not None]
    if shown:
        lead, _why = _lead_measure(shown, str(params.get("headline_measure") or ""))
        row.update(headline_measure=str(lead["label"]), effect=float(lead["effect"]),
                   effect_lci=None if lead.get("ci_low") is None else float(lead["ci_low"]),
                   effect_uci=None if lead.get("ci_high") is None else float(lead["ci_high"]),
                   method=str(lead.get("method") or ""))
    else:
        notes.append("No measure can be shown yet.")
    totals = published.get("totals")
    if not totals:
        for key in ("npv", "fiscal_return", "public_value_return", "payback_years"):
            row[key] = SUPPRESSED
    else:
        row.update(npv=totals.get("npv"), fiscal_return=totals.get("fiscal_roi"),
                   public_value_return=totals.get("public_value_roi"),
                   payback_years=totals.get("payback_years"))
        mc = published.get("monte_carlo") or {}
        low, high, point = mc.get("roi_low"), mc.get("roi_high"), row["public_value_return"]
        if low is not None and high is not None and point is not None:
            if within_interval(float(point), float(low), float(high)):
                row["public_value_return_lci"], row["public_value_return_uci"] = low, high
            else:  # a skewed simulation: an interval that misses its own point is not shown
                notes.append("The simulation's interval does not contain the return, so it is "
                             "not shown.")
    if notes:
        row["note"] = " ".join(notes)
    return row


def value_rows(session: Session, place: Place) -> list[Row]:
    """A row for each of the place's collaborations with a computed account."""
    accounts = session.scalars(
        select(ValueAccount).join(Collaboration).where(Collaboration.place_id == place.id)
        .order_by(Collaboration.slug)).all()
    return [account_row(a.collaboration, a.result.published, a.result.settings_version)
            for a in accounts if a.result is not None]
