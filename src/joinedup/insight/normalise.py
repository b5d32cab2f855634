"""Validators and normalisers for the standard fields of a partner extract.

Each function takes the raw text of one cell and returns the normalised value, or ``None``
when the cell is empty. An invalid value raises :class:`InvalidValue` so that ingest can set
it aside with a warning for that row rather than lose the row.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = [
    "NINO_NEVER_PREFIXES",
    "NINO_PATTERN",
    "POSTCODE_INWARD",
    "POSTCODE_OUTWARD",
    "DayMonthMix",
    "day_month_mix",
    "swapped_format",
    "InvalidValue",
    "clean_text",
    "excel_serial_date",
    "is_blank",
    "normalise_date",
    "normalise_email",
    "normalise_name",
    "normalise_need",
    "normalise_nhs_number",
    "normalise_ni_number",
    "normalise_phone",
    "normalise_postcode",
    "normalise_sex",
    "normalise_uprn",
    "nhs_number_is_valid",
    "split_full_name",
]


class InvalidValue(ValueError):
    """A cell whose value cannot be used for its field (the row is kept)."""


_BLANKS = {"", "NULL", "NONE", "N/A", "NA", "NAN", "NAT", "UNKNOWN", "NOT KNOWN", "-", "?"}


def is_blank(value: object) -> bool:
    """True for empty cells and the placeholders partner systems write for 'unknown'."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from pandas
        return True
    return str(value).strip().upper() in _BLANKS


# Compiled once: these run for every distinct value of a column at ingest, and looking the
# pattern up in re's cache on each call was a third of their time.
_WHITESPACE = re.compile(r"\s+")


def clean_text(value: object) -> str | None:
    """Trim and collapse whitespace; blanks become None."""
    if is_blank(value):
        return None
    return _WHITESPACE.sub(" ", str(value)).strip()


# --- NHS number -------------------------------------------------------------------------


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11 check of a ten-digit NHS number (NHS Data Dictionary)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def normalise_nhs_number(value: object) -> str | None:
    """Ten digits, spaces and dashes removed; must pass the modulus 11 check."""
    text = clean_text(value)
    if text is None:
        return None
    digits = re.sub(r"[\s\-]", "", text)
    if digits.endswith(".0"):  # spreadsheets turn numbers into floats
        digits = digits[:-2]
    if not nhs_number_is_valid(digits):
        raise InvalidValue(f"NHS number {text!r} fails the modulus 11 check")
    # 0000000000 passes modulus 11 but is never issued; treat it as a placeholder.
    if len(set(digits)) == 1:
        raise InvalidValue(f"NHS number {text!r} is a placeholder")
    return digits


# --- National Insurance number -----------------------------------------------------------

# The pattern's parts are kept apart so that column_normalise finds the same numbers in Arrow,
# whose regular expressions have no look-ahead.
NINO_NEVER_PREFIXES = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
NINO_PATTERN = "[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]"
_NINO = re.compile(rf"^(?!{'|'.join(NINO_NEVER_PREFIXES)}){NINO_PATTERN}$")


def normalise_ni_number(value: object) -> str | None:
    """HMRC format (NIM39110): two prefix letters, six digits, suffix A–D; spaces removed."""
    text = clean_text(value)
    if text is None:
        return None
    compact = re.sub(r"[\s\-]", "", text).upper()
    if not _NINO.match(compact):
        raise InvalidValue(f"National Insurance number {text!r} is not in HMRC's format")
    return compact


# --- Postcode ------------------------------------------------------------------------------

# Outward and inward codes apart, so that column_normalise can match them with the space
# normalise_postcode puts between them.
POSTCODE_OUTWARD = "(?:[A-PR-UWYZ][0-9][0-9A-HJKSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRV-Y]?)"
POSTCODE_INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"
_POSTCODE = re.compile(f"^(GIR0AA|{POSTCODE_OUTWARD}{POSTCODE_INWARD})$")


def normalise_postcode(value: object) -> str | None:
    """Upper case with one space before the inward code (BS 7666 pattern)."""
    text = clean_text(value)
    if text is None:
        return None
    compact = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    if not _POSTCODE.match(compact):
        raise InvalidValue(f"postcode {text!r} is not a UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


# --- UPRN, email, phone ---------------------------------------------------------------------


def normalise_uprn(value: object) -> str | None:
    """Up to 12 digits, leading zeros removed so '00123' and '123' agree."""
    text = clean_text(value)
    if text is None:
        return None
    digits = text[:-2] if text.endswith(".0") else text
    digits = digits.lstrip("0") if digits.isdigit() else digits
    if not re.fullmatch(r"[0-9]{1,12}", digits):
        raise InvalidValue(f"UPRN {text!r} is not up to 12 digits")
    return str(int(digits))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: object) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    lowered = text.lower()
    if not _EMAIL.match(lowered):
        raise InvalidValue(f"email {text!r} is not an email address")
    return lowered


def normalise_phone(value: object) -> str | None:
    """UK numbers as 0 followed by ten digits; +44 and 0044 prefixes folded."""
    text = clean_text(value)
    if text is None:
        return None
    digits = re.sub(r"[^0-9+]", "", text)
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    elif digits.startswith("0044"):
        digits = "0" + digits[4:]
    if not re.fullmatch(r"0[0-9]{9,10}", digits):
        raise InvalidValue(f"phone number {text!r} is not a UK number")
    return digits


# --- Dates ----------------------------------------------------------------------------------

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")

# Excel stores a date as a day number; a date column that was never formatted as dates
# shows those numbers. Numbers from 2101 to 73050 (1 October 1905 to 31 December 2099 in
# the 1900 date system) are read as dates. Below that, 1900 to 2100 are more likely a year
# alone, and smaller numbers an age or a count, so they are set aside with a reason instead.
EXCEL_SERIAL_MIN = 2101
EXCEL_SERIAL_MAX = 73050
_EXCEL_1900 = date(1899, 12, 30)  # day 60 is Excel's 29 February 1900; from 61 on this holds
_EXCEL_1904 = date(1904, 1, 1)


def excel_serial_date(text: str, *, date1904: bool = False) -> date | None:
    """The date an Excel day number stands for, or None if the text is not one."""
    if not _NUMBER.match(text):
        return None
    days = int(float(text))
    if not EXCEL_SERIAL_MIN <= days <= EXCEL_SERIAL_MAX:
        return None
    return (_EXCEL_1904 if date1904 else _EXCEL_1900) + timedelta(days=days)


@functools.lru_cache(maxsize=64)
def _fixed_width(fmt: str) -> tuple[re.Pattern[str], tuple[int, int, int]] | None:
    """For a format of %d, %m and %Y once each, with other characters that are not digits or
    %, the pattern of its dates written in full (01/02/2024) and where year, month and day
    are in the pattern's groups; None for any other format."""
    fields = re.findall(r"%.", fmt)
    if sorted(fields) != ["%Y", "%d", "%m"] or re.search(r"[0-9]", re.sub(r"%.", "", fmt)):
        return None
    parts = re.split(r"(%[dmY])", fmt)
    pattern = "".join(
        {"%d": r"([0-9]{2})", "%m": r"([0-9]{2})", "%Y": r"([0-9]{4})"}.get(p, re.escape(p)) for p in parts
    )
    order = tuple(fields.index(f) + 1 for f in ("%Y", "%m", "%d"))
    return re.compile(pattern), (order[0], order[1], order[2])


def _fixed_width_date(text: str, fmt: str) -> date | None:
    """The date strptime reads in ``text``, found without it when every field is written in
    full, in a sixth of the time (1.1 against 6.3 µs a value), which counts at ingest: a
    date column has a distinct value for nearly every row. None when the text is not so
    written, or not a date; strptime then decides. tests/insight/test_normalise.py checks
    every day of 1900-2100 and impossible dates in seven formats against strptime."""
    fixed = _fixed_width(fmt)
    if fixed is None:
        return None
    pattern, (y, m, d) = fixed
    found = pattern.fullmatch(text)
    if found is None:
        return None
    try:
        return date(int(found[y]), int(found[m]), int(found[d]))
    except ValueError:
        return None


def normalise_date(value: object, fmt: str | None = None, *, date1904: bool = False) -> date | None:
    """Parse with the mapping's format, falling back to ISO 8601 (as spreadsheets write) and
    to Excel day numbers (see EXCEL_SERIAL_MIN)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean_text(value)
    if text is None:
        return None
    if fmt:
        fixed = _fixed_width_date(text, fmt)
        if fixed is not None:
            return fixed
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    if _ISO.match(text):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    if _NUMBER.match(text):
        serial = excel_serial_date(text, date1904=date1904)
        if serial is not None:
            return serial
        if 1900 <= float(text) <= 2100:
            raise InvalidValue(f"date {text!r} is a year, not a whole date")
        raise InvalidValue(
            f"date {text!r} is a number, not a date (Excel day numbers from "
            f"{EXCEL_SERIAL_MIN} to {EXCEL_SERIAL_MAX} are read as dates)"
        )
    expected = f" in the format {fmt}" if fmt else " (ISO 8601)"
    raise InvalidValue(f"date {text!r} is not a date{expected}")


def swapped_format(fmt: str) -> str | None:
    """The format with day and month swapped ('%d/%m/%Y' -> '%m/%d/%Y'), if it has both."""
    if "%d" not in fmt or "%m" not in fmt:
        return None
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


@dataclass(frozen=True)
class DayMonthMix:
    """A date column written both day-first and month-first (evidence: values that are
    valid only one way, and values valid only the other way)."""

    as_format: str | None  # a value valid only as the mapping's format reads it
    other_way: frozenset[str]  # values valid only with day and month swapped
    ambiguous: dict[str, tuple[date, date]]  # values that are two different dates


# A column is a day/month mix only if values valid only the other way are at least this share
# of the values that tell (valid one way only). A mix comes from a system or a batch written
# the other way, so it shows in many values; a handful among thousands are typing errors (a
# month of 13 from a slip of the keys), which fail the format and are set aside on their own.
# Taking them as evidence of a mix set aside every date with a day of 12 or less: in FEBRL4's
# duplicates 6 stray values out of some 3,000 cost 1,580 dates of birth (F1 0.9856 -> 0.9634).
MIX_MIN_SHARE = 0.01


def day_month_mix(values: Iterable[object], fmt: str | None) -> DayMonthMix | None:
    """None unless enough values of the column (see ``MIX_MIN_SHARE``) are valid only with
    day and month swapped."""
    swapped = swapped_format(fmt) if fmt else None
    if fmt is None or swapped is None:
        return None
    as_format: str | None = None
    format_only = 0
    other_way: set[str] = set()
    ambiguous: dict[str, tuple[date, date]] = {}
    for value in values:
        text = clean_text(value)
        if text is None:
            continue
        readings: list[date | None] = []
        for f in (fmt, swapped):
            try:
                readings.append(datetime.strptime(text, f).date())
            except ValueError:
                readings.append(None)
        first, second = readings
        if first is not None and second is None:
            as_format = as_format or text
            format_only += 1
        elif first is None and second is not None:
            other_way.add(text)
        elif first is not None and second is not None and first != second:
            ambiguous[text] = (first, second)
    if not other_way or len(other_way) < MIX_MIN_SHARE * (len(other_way) + format_only):
        return None
    return DayMonthMix(as_format=as_format, other_way=frozenset(other_way), ambiguous=ambiguous)


# --- Sex ------------------------------------------------------------------------------------

_SEX = {
    "M": "M", "MALE": "M", "MAN": "M", "1": "M", "BOY": "M",
    "F": "F", "FEMALE": "F", "WOMAN": "F", "2": "F", "GIRL": "F",
    "X": "X", "OTHER": "X", "NON-BINARY": "X", "NONBINARY": "X", "9": "X",
    "I": "X", "INDETERMINATE": "X",
}  # fmt: skip


def normalise_sex(value: object) -> str | None:
    """M, F or X. NHS codes 1/2/9 as well as words; 0 and 'not known' are blank."""
    text = clean_text(value)
    if text is None or text in {"0", "U"}:
        return None
    code = text.upper()
    if code.endswith(".0"):
        code = code[:-2]
    if code not in _SEX:
        raise InvalidValue(f"sex {text!r} is not a recognised code")
    return _SEX[code]


# --- Names ----------------------------------------------------------------------------------

_TITLES = {"MR", "MRS", "MS", "MISS", "DR", "MX", "REV", "SIR", "PROF"}
_NAME_JOINERS = re.compile(r"['’`\-]")
_NOT_NAME = re.compile(r"[^A-Z ]")
# clean_text's output made only of ASCII capitals and single spaces: what the folding below
# would return unchanged (re's [A-Z] is ASCII only without IGNORECASE).
_PLAIN_NAME = re.compile(r"[A-Z]+(?: [A-Z]+)*")


def normalise_name(value: object) -> str | None:
    """Upper case ASCII letters with single spaces; accents folded, punctuation dropped.

    Hyphens and apostrophes join parts of one name (Smith-Jones, O'Brien) so they are
    removed rather than spaced, which makes 'O'Brien' and 'OBrien' agree.
    """
    text = clean_text(value)
    if text is None:
        return None
    if _PLAIN_NAME.fullmatch(text):
        folded = text  # already upper-case letters with single spaces: nothing to fold or drop
    else:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        folded = _NAME_JOINERS.sub("", folded.upper())
        folded = _NOT_NAME.sub(" ", folded)
        folded = _WHITESPACE.sub(" ", folded).strip()
    parts = [p for p in folded.split(" ") if p not in _TITLES]
    result = " ".join(parts)
    # 'N/Á' folds to 'NA', a placeholder for 'unknown', not a name.
    return None if not result or result in _BLANKS else result


def split_full_name(value: object) -> tuple[str | None, str | None]:
    """Split 'Surname, Forename' or 'Forename Middle Surname' into (forename, surname)."""
    text = clean_text(value)
    if text is None:
        return None, None
    if "," in text:
        surname, _, forename = text.partition(",")
        return normalise_name(forename.split()[0] if forename.split() else None), normalise_name(surname)
    name = normalise_name(text)
    if name is None:
        return None, None
    parts = name.split(" ")
    if len(parts) == 1:
        return None, parts[0]
    return parts[0], parts[-1]


def normalise_need(value: object) -> str | None:
    """Needs are lower-case words joined by underscores: 'Substance misuse' → substance_misuse."""
    text = clean_text(value)
    if text is None:
        return None
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or None
