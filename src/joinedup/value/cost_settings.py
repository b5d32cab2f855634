"""The costs part of an account's settings: what each partner spends, by year, as entered.
Leads and analysts change them (costs are not counts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from joinedup.value.models import ValueAccount, ValueCost
from joinedup.value.settings import MAX_COST_GBP, MAX_YEAR, Errors, read_number, touch

__all__ = ["read_costs", "save_costs"]


def read_costs(form: dict[str, str], partner_ids: dict[int, str]) -> tuple[list[dict[str, Any]], Errors]:
    """Rows ``costs-<i>-partner``, ``-year``, ``-amount``, ``-description``; a blank row is
    left out (it is offered for adding another)."""
    errors: Errors = {}
    rows: list[dict[str, Any]] = []
    indices = sorted(
        {int(k.split("-")[1]) for k in form if k.startswith("costs-") and k.split("-")[1].isdigit()}
    )
    for i in indices:
        field = f"costs-{i}"
        values = {
            n: form.get(f"{field}-{n}", "").strip() for n in ("partner", "year", "amount", "description")
        }
        if not any(values[n] for n in ("year", "amount", "description")) and not values["partner"]:
            continue
        pid = int(values["partner"]) if values["partner"].isdigit() else 0
        if pid not in partner_ids:
            errors[f"{field}-partner"] = f"Choose the partner who spends it (row {i + 1})"
        year = read_number(
            form, f"{field}-year", errors, f"the year of the spending (row {i + 1})", low=0, high=MAX_YEAR
        )
        if year is not None and year != int(year):
            errors[f"{field}-year"] = f"Enter the year as a whole number (row {i + 1})"
        amount = read_number(
            form, f"{field}-amount", errors, f"the amount in pounds (row {i + 1})", low=0, high=MAX_COST_GBP
        )
        if amount is not None and amount != int(amount):
            errors[f"{field}-amount"] = f"Enter the amount in whole pounds (row {i + 1})"
        rows.append(
            {
                "partner_id": pid,
                "year": int(year or 0),
                "amount_gbp": int(amount or 0),
                "description": values["description"][:300],
            }
        )
    return rows, errors


def save_costs(session: Session, account: ValueAccount, rows: list[dict[str, Any]], *, by: str) -> None:
    account.costs.clear()
    session.flush()
    for row in rows:
        account.costs.append(ValueCost(**row))
    touch(account, by)
    session.flush()
