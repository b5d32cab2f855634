"""Mappings: the TOML file that tells ingest which column of an extract feeds which field.

A mapping has a ``[source]`` table (partner, service, default need, governance) and a
``[columns]`` table of standard field = column name, or ``{ column = ..., format = ... }``
for dates. Errors name the mapping's line so an analyst can fix the right place.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import tomli_w

__all__ = [
    "DATE_FIELDS",
    "STANDARD_FIELDS",
    "ColumnSpec",
    "Mapping",
    "MappingError",
    "column_line",
    "load_mapping",
    "mapping_text",
    "parse_mapping",
]

STANDARD_FIELDS: tuple[str, ...] = (
    "record_id", "forename", "surname", "previous_surname", "full_name", "date_of_birth", "sex", "postcode",
    "address_line", "uprn", "nhs_number", "ni_number", "email", "phone", "event_date",
    "event_end_date", "event_type", "need", "cost_item",
)  # fmt: skip
DATE_FIELDS = frozenset({"date_of_birth", "event_date", "event_end_date"})
SOURCE_KEYS = frozenset(
    {"partner", "service", "need", "legal_basis", "dsa_reference", "retain_until", "cost_item",
     "sheet", "name", "one_record_per_person"}
)  # fmt: skip


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class ColumnSpec:
    """One standard field fed by one column of the extract."""

    field: str
    column: str
    format: str | None
    line: int


@dataclass(frozen=True)
class Mapping:
    path_name: str
    partner: str
    service: str
    need: str | None
    legal_basis: str | None
    dsa_reference: str | None
    retain_until: date | None
    cost_item: str | None
    sheet: str | None
    columns: tuple[ColumnSpec, ...]
    text: str
    name: str | None = None
    lines: dict[str, int] = field(default_factory=dict)
    # The partner holds each person at most once (a register kept free of duplicates):
    # one_record_sources then trusts a record's only likely match in this source more.
    one_record_per_person: bool = False

    def spec(self, field_name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.field == field_name), None)

    def where(self, spec: ColumnSpec) -> str:
        return f"{self.path_name} line {spec.line}"


def _key_lines(text: str) -> dict[str, int]:
    """Line number of each `key =` in each table, as 'table.key' (tomllib gives none)."""
    lines: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[([A-Za-z0-9_.\-]+)\]", line)
        if header:
            table = header.group(1)
            lines[table] = number
            continue
        key = re.match(r"^\"?([A-Za-z0-9_\-]+)\"?\s*=", line)
        if key:
            lines.setdefault(f"{table}.{key.group(1)}", number)
    return lines


def parse_mapping(text: str, path_name: str = "mapping") -> Mapping:
    """Parse and check a mapping's text; raise MappingError naming the offending line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path_name}: not valid TOML ({exc})") from exc
    lines = _key_lines(text)

    def line_of(key: str) -> int:
        return lines.get(key, lines.get(key.split(".")[0], 1))

    source = data.get("source")
    columns = data.get("columns")
    if not isinstance(source, dict):
        raise MappingError(f"{path_name} line 1: the mapping needs a [source] table")
    if not isinstance(columns, dict):
        raise MappingError(f"{path_name} line 1: the mapping needs a [columns] table")
    for key in source:
        if key not in SOURCE_KEYS:
            raise MappingError(f"{path_name} line {line_of('source.' + key)}: unknown [source] key {key!r}")
    for required in ("partner", "service"):
        if not isinstance(source.get(required), str) or not source[required].strip():
            raise MappingError(f'{path_name} line {line_of("source")}: [source] needs {required} = "..."')
    retain = source.get("retain_until")
    if retain is not None and not isinstance(retain, date):
        try:
            retain = date.fromisoformat(str(retain))
        except ValueError as exc:
            raise MappingError(
                f"{path_name} line {line_of('source.retain_until')}: retain_until must be a "
                f"date such as 2027-03-31"
            ) from exc

    one_record = source.get("one_record_per_person", False)
    if not isinstance(one_record, bool):
        raise MappingError(
            f"{path_name} line {line_of('source.one_record_per_person')}: one_record_per_person "
            f"must be true or false, without quotes"
        )

    specs: list[ColumnSpec] = []
    for name, value in columns.items():
        line = line_of(f"columns.{name}")
        if name not in STANDARD_FIELDS:
            raise MappingError(
                f"{path_name} line {line}: {name!r} is not a standard field "
                f"(expected one of {', '.join(STANDARD_FIELDS)})"
            )
        fmt: str | None = None
        if isinstance(value, str):
            column = value
        elif isinstance(value, dict) and isinstance(value.get("column"), str):
            column = value["column"]
            fmt = value.get("format")
            if fmt is not None and not isinstance(fmt, str):
                raise MappingError(f"{path_name} line {line}: format must be text")
            extra = set(value) - {"column", "format"}
            if extra:
                raise MappingError(f"{path_name} line {line}: unknown key {sorted(extra)[0]!r} for {name}")
        else:
            raise MappingError(
                f"{path_name} line {line}: {name} must be a column name or "
                f'{{ column = "...", format = "..." }}'
            )
        if fmt is not None and name not in DATE_FIELDS:
            raise MappingError(f"{path_name} line {line}: only date fields take a format")
        specs.append(ColumnSpec(field=name, column=column, format=fmt, line=line))

    if not any(s.field == "record_id" for s in specs):
        raise MappingError(f'{path_name} line {line_of("columns")}: [columns] needs record_id = "..."')

    def opt(key: str) -> str | None:
        value = source.get(key)
        if value is None:
            return None
        return str(value).strip() or None

    return Mapping(
        path_name=path_name,
        partner=source["partner"].strip(),
        service=source["service"].strip(),
        need=opt("need"),
        legal_basis=opt("legal_basis"),
        dsa_reference=opt("dsa_reference"),
        retain_until=retain,
        cost_item=opt("cost_item"),
        sheet=opt("sheet"),
        columns=tuple(specs),
        text=text,
        name=opt("name"),
        lines=lines,
        one_record_per_person=one_record,
    )


def load_mapping(path: Path) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path.name}: cannot read the mapping ({exc})") from exc
    return parse_mapping(text, path.name)


# --- writing a mapping ------------------------------------------------------------------------

# The [source] keys in the order a mapping is written (as the guide shows them).
SOURCE_ORDER = ("name", "partner", "service", "need", "cost_item", "legal_basis", "dsa_reference",
                "retain_until", "sheet", "one_record_per_person")  # fmt: skip


def _value(value: object) -> str:
    """One TOML value, written (and escaped) by tomli-w."""
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def column_line(name: str, column: str, fmt: str | None = None) -> str:
    """One [columns] row: ``field = "Column"`` or, for a date with a format, an inline table."""
    if fmt is None:
        return f"{name} = {_value(column)}"
    return f"{name} = {{ column = {_value(column)}, format = {_value(fmt)} }}"


def mapping_text(
    source: dict[str, object],
    columns: list[tuple[str, str, str | None]],
    *,
    comments: dict[str, str] | None = None,
    preamble: str = "",
    postscript: str = "",
) -> str:
    """A mapping's TOML from its [source] values and (field, column, format) rows; the same
    text a hand-written mapping would be, so the CLI and the web app share it. ``comments``
    puts a comment line above a field's row (the CLI marks uncertain suggestions so), and
    ``postscript`` comment lines after the last."""
    lines = [f"# {line}".rstrip() for line in preamble.splitlines()]
    lines.append("[source]")
    for key in SOURCE_ORDER:
        value = source.get(key)
        if value is None or value == "":
            continue
        lines.append(f"{key} = {_value(value)}")
    lines += ["", "[columns]"]
    for name, column, fmt in columns:
        for comment in (comments or {}).get(name, "").splitlines():
            lines.append(f"# {comment}".rstrip())
        lines.append(column_line(name, column, fmt))
    lines += [f"# {line}".rstrip() for line in postscript.splitlines()]
    return "\n".join(lines) + "\n"
