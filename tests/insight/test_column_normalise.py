"""The shortcuts of column_normalise give what the scalar normalisers give, value for value.

Each column is normalised twice: by ``map_unique``/``map_fast`` (which keep in Arrow the
values a normaliser returns unchanged) and by calling the normaliser on every distinct
value, as ingest did before the shortcuts. The values are built to sit at the shortcuts'
edges: blanks in every case, Unicode and control spaces, NHS numbers one check digit out or
all one digit, postcodes and NI numbers one letter out of the pattern, numbers from a
spreadsheet, a byte that was not UTF-8. A random sample over the same alphabet adds what
the lists forget.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from joinedup.insight import column_normalise as cn
from joinedup.insight import normalise as nz

_EDGES = [
    "", " ", "NA", "na", "N/A", "-", "?", "null", "NaN", "Not Known", "unknown", "none",
    "ABC123", "abc 123", "a  b", " a", "a ", "a\tb", "a\nb", "a\x0bb", "a\x0cb", "a\x1cb", "a\x1fb",
    "a\xa0b", "a\u2003b", "\u2003a", "a\u3000", "Zoë", "O'Brien", "SMITH-JONES", "~!@#", "x y z",
    "9434765919", "9434765918", "943 476 5919", "943-476-5919", "0000000000", "1111111111",
    "4010232137", "6541003238", "94347659190", "943476591", "9434765919.0", "١٢٣٤٥٦٧٨٩٠",
    "NB1 2AB", "NB12AB", "nb1 2ab", "NB1  2AB", "GIR 0AA", "GIR0AA", "QB1 2AB", "NB1 2AC", "EC1A 1BB",
    "W1A 0AX", "NB12 7JU", "NV31HQ", "AB123456C", "ab123456c", "AB 12 34 56 C", "BG123456A",
    "GB123456A", "ZZ123456D", "AD123456A", "QA123456A", "AB123456E", "1", "0123", "10000909049",
    "1000090904912", "123.0", "12a",
]  # fmt: skip
_ALPHABET = "AB09 z-'.\t\xa0\u2003é/?N1"

_SHORTCUTS = [
    nz.clean_text,
    nz.normalise_nhs_number,
    nz.normalise_postcode,
    nz.normalise_ni_number,
    nz.normalise_uprn,
]


def _column(seed: int) -> pd.Series:
    rng = random.Random(seed)
    drawn = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    digits = ["".join(rng.choice("0123456789") for _ in range(10)) for _ in range(3000)]
    values: list[object] = [*_EDGES, *drawn, *digits, None, np.nan, *_EDGES]
    rng.shuffle(values)
    return pd.Series(values, dtype=object)


def _reference(series: pd.Series, fn: Callable[[object], object], label: str) -> tuple[pd.Series, pd.Series]:
    values: dict[object, object] = {}
    problems: dict[object, str | None] = {}
    for raw in series.dropna().unique():
        try:
            values[raw], problems[raw] = fn(raw), None
        except nz.InvalidValue as exc:
            values[raw], problems[raw] = None, f"{label}: {exc}"
    return series.map(values), series.map(problems)


def _same(got: pd.Series, want: pd.Series) -> None:
    # None and NaN are both "no value" to ingest; anything else must be equal and in place.
    got_list = [None if pd.isna(v) else v for v in got]
    want_list = [None if pd.isna(v) else v for v in want]
    assert got_list == want_list


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fn", _SHORTCUTS, ids=lambda f: f.__name__)
def test_map_unique_gives_what_the_normaliser_gives(fn: Callable[[object], object], seed: int) -> None:
    series = _column(seed)
    values, problems = cn.map_unique(series, fn, "field")
    want_values, want_problems = _reference(series, fn, "field")
    _same(values, want_values)
    _same(problems, want_problems)


@pytest.mark.parametrize("fn", _SHORTCUTS, ids=lambda f: f.__name__)
def test_the_shortcut_is_taken(fn: Callable[[object], object]) -> None:
    # The shortcut must find the values it exists for, or it is a slower path that agrees.
    shaped_and_changed: dict[Callable[[object], object], tuple[str, str]] = {
        nz.clean_text: ("REC0001", "REC  0001"),
        nz.normalise_nhs_number: ("9434765919", "9434765918"),
        nz.normalise_postcode: ("NB1 2AB", "NB12AB"),
        nz.normalise_ni_number: ("AB123456C", "AB 12 34 56 C"),
        nz.normalise_uprn: ("10000909049", "010000909049"),
    }
    shaped, changed = shaped_and_changed[fn]
    unchanged = cn._unchanged(fn, np.array([shaped, "NA", changed], dtype=object))  # noqa: SLF001
    assert unchanged is not None
    assert unchanged.tolist() == [True, False, False]


def test_map_fast_keeps_clean_text_values_and_mends_the_rest() -> None:
    series = _column(4)
    _same(
        cn.map_fast(series, nz.clean_text),
        series.map({v: nz.clean_text(v) for v in series.dropna().unique()}),
    )


def test_columns_that_are_not_all_text_take_the_scalar_path() -> None:
    # A spreadsheet gives numbers and dates; the shortcut works on text only.
    series = pd.Series([9434765919, "9434765919", 943476591.0, None], dtype=object)
    assert cn._unchanged(nz.normalise_nhs_number, series.dropna().unique()) is None  # noqa: SLF001
    values, _ = cn.map_unique(series, nz.normalise_nhs_number, "nhs_number")
    _same(values, _reference(series, nz.normalise_nhs_number, "nhs_number")[0])


def test_a_byte_that_was_not_utf8_takes_the_scalar_path() -> None:
    # Readers keep such a byte as a surrogate escape (and quarantine its row); Arrow cannot
    # hold it, so the column is normalised value by value rather than failing.
    series = pd.Series(["9434765919", "943476\udc805919", None], dtype=object)
    assert cn._unchanged(nz.normalise_nhs_number, series.dropna().unique()) is None  # noqa: SLF001
    values, problems = cn.map_unique(series, nz.normalise_nhs_number, "nhs_number")
    want_values, want_problems = _reference(series, nz.normalise_nhs_number, "nhs_number")
    _same(values, want_values)
    _same(problems, want_problems)


@pytest.mark.parametrize(
    "fn",
    [nz.normalise_name, nz.split_full_name, lambda v: not nz.is_blank(v), lambda v: len(str(v))],
    ids=["name", "full_name", "present", "length"],
)
def test_map_fast_gives_what_pandas_map_gives(fn: Callable[[object], object]) -> None:
    # Values, nulls and the column's type exactly as series.map with a dict gives them
    # (a column of bools stays bool, and becomes object with a null), on an index with gaps.
    for values in ([*_EDGES, None, np.nan, *_EDGES], ["a", "b", "a"], []):
        series = pd.Series(values, index=[3 * i + 7 for i in range(len(values))], dtype=object)
        want = series.map({v: fn(v) for v in series.dropna().unique()})
        got = cn.map_fast(series, fn)
        assert got.dtype == want.dtype or not len(series)
        assert got.index.equals(want.index)
        _same(got, want)
