"""Unit and property tests for every validator and normaliser."""

from __future__ import annotations

import itertools
import re
import unicodedata
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from joinedup.insight import normalise as nz


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "6541003238"])
def test_nhs_number_valid(value: str) -> None:
    assert nz.normalise_nhs_number(value) == value.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("value", ["9434765918", "123", "0000000000", "abcdefghij"])
def test_nhs_number_invalid(value: str) -> None:
    with pytest.raises(nz.InvalidValue):
        nz.normalise_nhs_number(value)


def test_nhs_number_blank() -> None:
    assert nz.normalise_nhs_number("  ") is None
    assert nz.normalise_nhs_number(None) is None


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9))
def test_nhs_check_digit_property(digits: list[int]) -> None:
    total = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    number = "".join(map(str, digits))
    if check == 10:
        assert not any(nz.nhs_number_is_valid(number + str(c)) for c in range(10))
    else:
        assert nz.nhs_number_is_valid(number + str(check))
        assert not nz.nhs_number_is_valid(number + str((check + 1) % 10))


@pytest.mark.parametrize(("value", "expected"), [("ab 12 34 56 c", "AB123456C"), ("JG103759A", "JG103759A")])
def test_ni_number_valid(value: str, expected: str) -> None:
    assert nz.normalise_ni_number(value) == expected


@pytest.mark.parametrize("value", ["QQ123456A", "GB123456A", "AB123456E", "AB12345C"])
def test_ni_number_invalid(value: str) -> None:
    with pytest.raises(nz.InvalidValue):
        nz.normalise_ni_number(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("m11aa", "M1 1AA"),
        ("DN55 1PT", "DN55 1PT"),
        (" w1a1hq ", "W1A 1HQ"),
        ("EC1A-1BB", "EC1A 1BB"),
    ],
)
def test_postcode_valid(value: str, expected: str) -> None:
    assert nz.normalise_postcode(value) == expected


@pytest.mark.parametrize("value", ["QA1 1AA", "M1 1CA", "12345", "SW1"])
def test_postcode_invalid(value: str) -> None:
    with pytest.raises(nz.InvalidValue):
        nz.normalise_postcode(value)


_OUTWARD = st.from_regex(r"[A-PR-UWYZ][0-9]", fullmatch=True)
_INWARD = st.from_regex(r"[0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True)


@given(_OUTWARD, _INWARD, st.sampled_from(["", " ", "  "]), st.booleans())
def test_postcode_spacing_property(outward: str, inward: str, gap: str, lower: bool) -> None:
    text = outward + gap + inward
    result = nz.normalise_postcode(text.lower() if lower else text)
    assert result == f"{outward} {inward}"
    assert nz.normalise_postcode(result) == result  # idempotent


def test_uprn() -> None:
    assert nz.normalise_uprn("00100023336956") == "100023336956"
    assert nz.normalise_uprn("100023336956.0") == "100023336956"
    with pytest.raises(nz.InvalidValue):
        nz.normalise_uprn("12A")


def test_email_and_phone() -> None:
    assert nz.normalise_email(" Jo@Example.ORG ") == "jo@example.org"
    with pytest.raises(nz.InvalidValue):
        nz.normalise_email("not an email")
    assert nz.normalise_phone("+44 7700 900123") == "07700900123"
    assert nz.normalise_phone("0161 496 0000") == "01614960000"
    with pytest.raises(nz.InvalidValue):
        nz.normalise_phone("12")


def test_dates() -> None:
    assert nz.normalise_date("03/04/1980", "%d/%m/%Y") == date(1980, 4, 3)
    assert nz.normalise_date("1980-04-03", "%d/%m/%Y") == date(1980, 4, 3)  # ISO fallback
    assert nz.normalise_date("1980-04-03 00:00:00") == date(1980, 4, 3)
    assert nz.normalise_date("") is None
    with pytest.raises(nz.InvalidValue):
        nz.normalise_date("31/02/1980", "%d/%m/%Y")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
def test_date_round_trip_property(day: date) -> None:
    assert nz.normalise_date(day.strftime("%d/%m/%Y"), "%d/%m/%Y") == day
    assert nz.normalise_date(day.isoformat()) == day


@pytest.mark.parametrize(
    "fmt", ["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%Y%m%d", "%d%m%Y", "%d %m %Y"]
)
def test_dates_written_in_full_read_as_strptime_reads_them(fmt: str) -> None:
    # normalise_date reads a date with every field written in full without strptime; it
    # must give strptime's date for every day, and leave every impossible one to strptime.
    day = date(1900, 1, 1)
    while day <= date(2100, 12, 31):
        text = day.strftime(fmt)
        assert nz.normalise_date(text, fmt) == datetime.strptime(text, fmt).date()
        day += timedelta(days=1)
    for year, month, dom in itertools.product((0, 1900, 2023, 2024), range(14), range(33)):
        text = fmt.replace("%Y", f"{year:04d}").replace("%m", f"{month:02d}").replace("%d", f"{dom:02d}")
        try:
            want: date | None = datetime.strptime(text, fmt).date()
        except ValueError:
            want = None
        # An impossible date goes on to the ISO and Excel day number readings as before.
        assert nz._fixed_width_date(text, fmt) == want  # noqa: SLF001


def test_formats_other_than_day_month_year_in_full_are_left_to_strptime() -> None:
    assert nz.normalise_date("3/4/1980", "%d/%m/%Y") == date(1980, 4, 3)
    assert nz.normalise_date("03/04/80", "%d/%m/%y") == date(1980, 4, 3)
    assert nz.normalise_date("03 Apr 1980", "%d %b %Y") == date(1980, 4, 3)
    assert nz.normalise_date("1980-04-03T10:00", "%Y-%m-%dT%H:%M") == date(1980, 4, 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("m", "M"), ("Female", "F"), ("1", "M"), ("2", "F"), ("9", "X"), ("0", None), ("", None)],
)
def test_sex(value: str, expected: str | None) -> None:
    assert nz.normalise_sex(value) == expected


def test_sex_invalid() -> None:
    with pytest.raises(nz.InvalidValue):
        nz.normalise_sex("Q")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  zoë ", "ZOE"),
        ("O'Brien", "OBRIEN"),
        ("smith-jones", "SMITHJONES"),
        ("Mr  John   Smith", "JOHN SMITH"),
        ("José-María", "JOSEMARIA"),
        ("!!!", None),
    ],
)
def test_name(value: str, expected: str | None) -> None:
    assert nz.normalise_name(value) == expected


def _folded(text: str) -> str | None:
    """normalise_name's folding written out in full, as it was before names already in
    capitals skipped it."""
    cleaned = nz.clean_text(text)
    if cleaned is None:
        return None
    folded = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"['’`\-]", "", folded.upper())
    folded = re.sub(r"[^A-Z ]", " ", folded)
    folded = re.sub(r"\s+", " ", folded).strip()
    result = " ".join(p for p in folded.split(" ") if p not in {"MR", "MRS", "MS", "MISS", "DR", "MX", "REV",
                                                               "SIR", "PROF"})  # fmt: skip
    return (
        None
        if not result or result in {"NA", "NULL", "NONE", "NAN", "NAT", "UNKNOWN", "NOT KNOWN"}
        else result
    )


@given(st.text(alphabet="ABZaz -'\u00c9\u0130\u212a\ufb00\t", max_size=20))
def test_names_in_capitals_fold_as_the_full_folding_does(text: str) -> None:
    # The Kelvin sign and the ligature fold to ASCII capitals only through NFKD; the dotted
    # capital I is not ASCII: none of them may take the short way.
    assert nz.normalise_name(text) == _folded(text)


@pytest.mark.parametrize(
    "text", ["JOHN SMITH", "MR JOHN SMITH", "NA", "MRS", "\u212aATE", "\ufb00", "ANNE  MARIE"]
)
def test_names_at_the_edges_of_the_short_way(text: str) -> None:
    assert nz.normalise_name(text) == _folded(text)


@given(st.text(max_size=40))
def test_name_property(text: str) -> None:
    result = nz.normalise_name(text)
    if result is not None:
        assert result == result.upper().strip()
        assert "  " not in result
        assert all(c.isascii() and (c.isalpha() or c == " ") for c in result)
        assert nz.normalise_name(result) == result


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Smith, John", ("JOHN", "SMITH")),
        ("John Paul Smith", ("JOHN", "SMITH")),
        ("Smith", (None, "SMITH")),
        ("", (None, None)),
    ],
)
def test_split_full_name(value: str, expected: tuple[str | None, str | None]) -> None:
    assert nz.split_full_name(value) == expected


def test_need() -> None:
    assert nz.normalise_need("Substance misuse") == "substance_misuse"
    assert nz.normalise_need(" ") is None


def test_blanks() -> None:
    for blank in ["", " ", "NULL", "n/a", "Unknown", float("nan"), None]:
        assert nz.is_blank(blank)
    assert not nz.is_blank("0")


def test_excel_serial_dates_and_what_is_not_one() -> None:
    excel_serial_date, normalise_date, InvalidValue = nz.excel_serial_date, nz.normalise_date, nz.InvalidValue
    assert excel_serial_date("29221") == date(1980, 1, 1)
    assert excel_serial_date("45292.75") == date(2024, 1, 1)
    assert excel_serial_date("2101") == date(1905, 10, 1)
    assert excel_serial_date("73051") is None and excel_serial_date("12 3") is None
    with pytest.raises(InvalidValue, match="a year, not a whole date"):
        normalise_date("1980", "%d/%m/%Y")
    with pytest.raises(InvalidValue, match="a number, not a date"):
        normalise_date("45", "%d/%m/%Y")
    assert normalise_date("19800102", "%Y%m%d") == date(1980, 1, 2)  # the format comes first


def test_day_month_mix_needs_values_valid_only_the_other_way() -> None:
    day_month_mix = nz.day_month_mix
    assert day_month_mix(["13/01/1980", "05/06/1980"], "%d/%m/%Y") is None
    assert day_month_mix(["01/13/1980"], "%Y-%m-%d") is None
    mix = day_month_mix(["13/01/1980", "01/13/1980", "05/06/1980", "07/07/1980"], "%d/%m/%Y")
    assert mix is not None
    assert mix.as_format == "13/01/1980" and mix.other_way == {"01/13/1980"}
    assert set(mix.ambiguous) == {"05/06/1980"}


def test_a_few_values_valid_only_the_other_way_among_many_are_typing_errors_not_a_mix() -> None:
    """FEBRL4's duplicates hold dates of birth such as 19002103 (a month of 21): typing errors.
    Six among thousands do not make the column a day/month mix, which would set aside every
    date with a day of 12 or less; one in fifty does."""
    format_only = [f"1980{m:02d}{d:02d}" for m in range(1, 13) for d in range(13, 29)]  # 192
    assert nz.day_month_mix([*format_only, "19801302"], "%Y%m%d") is None
    mix = nz.day_month_mix([*format_only, "19801302", "19801402", "19801502", "19801602", "19800106"],
                           "%Y%m%d")  # fmt: skip
    assert mix is not None and len(mix.other_way) == 4 and "19800106" in mix.ambiguous
