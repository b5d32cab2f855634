"""A column of an extract normalised: which normaliser each field's column gets, and the
normalisers applied once per distinct value, each value's problem kept for the row's warning.

normalise.py holds the scalar normalisers; this module applies them to a pandas column, for
ingest and its reading of date columns alike. Its names were private to ingest.py
(_NORMALISERS, _map_unique, _map_fast) until that was split.

Most of a column is already in the shape its normaliser gives (a record id, an NHS number of
ten digits that pass the check, a postcode written as Royal Mail writes it). Those values
are found in Arrow's compiled code and kept as they are; only the rest is passed to the
scalar normaliser one distinct value at a time (at a million records, NHS numbers took 2.0 s
and now 0.9 s; see docs/benchmarks.md). The values kept are exactly those the normaliser
would return unchanged: ``tests/insight/test_column_normalise.py`` checks every shortcut
against its normaliser on values built to sit at the edges (blanks, Unicode spaces, check
digits, prefixes HMRC never issues).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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

# Printable ASCII words with single spaces between: clean_text has nothing to trim or
# collapse in them. (Python's \s also matches Unicode spaces and \x1c-\x1f; none of those is
# in !-~, so a value that matches here is one clean_text returns as it is, blanks aside.)
_CLEAN = r"^[!-~]+( [!-~]+)*$"
_BLANKS = pa.array(sorted(nz._BLANKS))  # noqa: SLF001 (the one list of blanks, shared)
_NHS = r"^[0-9]{10}$"
# normalise.py's postcode, with the space normalise_postcode puts before the inward code.
_POSTCODE = f"^(GIR 0AA|{nz.POSTCODE_OUTWARD} {nz.POSTCODE_INWARD})$"
# normalise.py's NI number; the prefixes HMRC never issues are taken out after, since
# Arrow's regular expressions have no look-ahead.
_NINO = f"^{nz.NINO_PATTERN}$"
_NINO_NEVER = pa.array(nz.NINO_NEVER_PREFIXES)
_UPRN = r"^[1-9][0-9]{0,11}$"
_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)


def _matches(values: pa.StringArray, pattern: str) -> pa.BooleanArray:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _not_blank(values: pa.StringArray) -> pa.BooleanArray:
    return pc.invert(pc.is_in(pc.utf8_upper(values), value_set=_BLANKS))


def _clean_text(values: pa.StringArray) -> pa.BooleanArray:
    return pc.and_(_matches(values, _CLEAN), _not_blank(values))


def _nhs_number(values: pa.StringArray) -> np.ndarray:
    """Ten digits that pass the modulus 11 check and are not all one digit (never issued)."""
    ten = np.array(_matches(values, _NHS).to_numpy(zero_copy_only=False), dtype=bool)
    if not ten.any():
        return ten
    chosen = pc.filter(values, pa.array(ten))
    # Every chosen value is ten ASCII digits, so the array's data is 10 bytes a value.
    start = int(np.frombuffer(chosen.buffers()[1], dtype=np.int32)[chosen.offset])
    data = np.frombuffer(chosen.buffers()[2], dtype=np.uint8, count=10 * len(chosen), offset=start)
    digits = data.reshape(-1, 10).astype(np.int64) - ord("0")
    check = (11 - (digits[:, :9] @ _WEIGHTS) % 11) % 11  # 11 becomes 0; 10 is never valid
    valid = (check == digits[:, 9]) & (digits != digits[:, :1]).any(axis=1)
    ten[ten] = valid
    return ten


def _ni_number(values: pa.StringArray) -> pa.BooleanArray:
    prefix = pc.utf8_slice_codeunits(values, 0, 2)
    return pc.and_(_matches(values, _NINO), pc.invert(pc.is_in(prefix, value_set=_NINO_NEVER)))


# Each shortcut says which distinct values its normaliser would return unchanged.
_UNCHANGED: dict[Callable[[object], object], Callable[[pa.StringArray], pa.BooleanArray | np.ndarray]] = {
    nz.clean_text: _clean_text,
    nz.normalise_nhs_number: _nhs_number,
    nz.normalise_postcode: lambda v: _matches(v, _POSTCODE),
    nz.normalise_ni_number: _ni_number,
    nz.normalise_uprn: lambda v: _matches(v, _UPRN),
}


def _unchanged(fn: Callable[[object], object], uniques: np.ndarray) -> np.ndarray | None:
    """Which of a column's distinct values ``fn`` returns as they are, or None when that is
    not known (no shortcut for ``fn``, or values that are not all text, as a spreadsheet's
    numbers and dates are not)."""
    shortcut = _UNCHANGED.get(fn)
    if shortcut is None or not len(uniques) or pd.api.types.infer_dtype(uniques, skipna=False) != "string":
        return None
    try:
        values = pa.array(uniques, pa.string())
    except (UnicodeEncodeError, pa.ArrowException):
        # A byte that was not UTF-8, kept as a surrogate escape, cannot go to Arrow; readers
        # quarantine such rows first, and the column takes the scalar path if one comes.
        return None
    mask = shortcut(values)
    return mask if isinstance(mask, np.ndarray) else mask.to_numpy(zero_copy_only=False)


def _distinct(
    series: pd.Series, fn: Callable[[object], object]
) -> tuple[np.ndarray, np.ndarray, list[object], np.ndarray]:
    """A column's distinct values, each row's position among them (-1 for a null), each
    distinct value's result so far (itself where ``fn`` would keep it, else None), and the
    positions of those ``fn`` must see.

    Factorising once and taking results back by position replaced finding the distinct
    values, then each row's value among them, in separate passes (pandas' ``unique``,
    ``isin`` and ``map``), which was most of the time of preparing an extract."""
    # From the array, not the Series: the distinct values then come as an array, not an
    # Index, whose item access is many times slower.
    codes, uniques = pd.factorize(series.to_numpy(), use_na_sentinel=True)
    keep = _unchanged(fn, uniques)
    if keep is None:
        return codes, uniques, [None] * len(uniques), np.arange(len(uniques))
    return codes, uniques, list(uniques), np.flatnonzero(~keep)


def _column(series: pd.Series, codes: np.ndarray, results: list[object]) -> pd.Series:
    """Each row's result, null where the row is null: what ``series.map`` gives with a dict
    of the results, the type of the column inferred from the results as pandas does."""
    mapper = pd.Series(results).to_numpy()
    return pd.Series(pd.api.extensions.take(mapper, codes, allow_fill=True), index=series.index)


def map_unique(series: pd.Series, fn: Callable[[object], object], label: str) -> tuple[pd.Series, pd.Series]:
    """Apply a scalar normaliser once per distinct value (extracts repeat values a lot)."""
    codes, uniques, values, todo = _distinct(series, fn)
    problems: list[object] = [None] * len(uniques)
    for i in todo:
        try:
            values[i] = fn(uniques[i])
        except nz.InvalidValue as exc:
            values[i] = None
            problems[i] = f"{label}: {exc}"
    return _column(series, codes, values), _column(series, codes, problems)


def map_fast(series: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """series.map(fn) computed once per distinct value, for functions that cannot fail."""
    codes, uniques, values, todo = _distinct(series, fn)
    for i in todo:
        values[i] = fn(uniques[i])
    return _column(series, codes, values)
