"""A column of an extract normalised: which normaliser each field's column gets, and the
normalisers applied once per distinct value, each value's problem kept for the row's warning.

normalise.py holds the scalar normalisers; this module applies them to a pandas column, for
ingest and its reading of date columns alike. Its names were private to ingest.py
(_NORMALISERS, _map_unique, _map_fast) until that was split.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from joinedup.insight import normalise as nz

__all__ = ["FIELD_NORMALISERS", "map_fast", "map_unique"]

# The fields whose columns are normalised one value at a time; names and dates are not here
# because they need more than one value (a full name feeds two fields, and a date column's
# format is judged on the whole column).
FIELD_NORMALISERS: dict[str, Callable[[object], object]] = {
    "postcode": nz.normalise_postcode,
    "uprn": nz.normalise_uprn,
    "nhs_number": nz.normalise_nhs_number,
    "ni_number": nz.normalise_ni_number,
    "email": nz.normalise_email,
    "phone": nz.normalise_phone,
    "sex": nz.normalise_sex,
    "need": nz.normalise_need,
    "address_line": lambda v: t.upper() if (t := nz.clean_text(v)) else None,
    "event_type": nz.clean_text,
    "cost_item": nz.clean_text,
}


def map_unique(series: pd.Series, fn: Callable[[object], object], label: str) -> tuple[pd.Series, pd.Series]:
    """Apply a scalar normaliser once per distinct value (extracts repeat values a lot)."""
    values: dict[object, object] = {}
    problems: dict[object, str | None] = {}
    for raw in series.dropna().unique():
        try:
            values[raw] = fn(raw)
            problems[raw] = None
        except nz.InvalidValue as exc:
            values[raw] = None
            problems[raw] = f"{label}: {exc}"
    return series.map(values), series.map(problems)


def map_fast(series: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """series.map(fn) computed once per distinct value, for functions that cannot fail."""
    values = {raw: fn(raw) for raw in series.dropna().unique()}
    return series.map(values)
