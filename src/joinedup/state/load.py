"""Read a place's package and check it before anything of it is shown.

A package comes from a directory, a zip file or a web address (``http(s)://`` to a zip or
to a ``datapackage.json``, fetched with a size limit and a timeout). It is checked against
the contract in :mod:`joinedup.state.schema`, not against the schema it carries, so that
a package cannot loosen its own rules:

- the method version must be one this joinedup reads (:data:`~joinedup.state.schema.READS`:
  a ``joinedup-state/1`` package is read without value accounts, which that version did
  not have, and says so in its notes);
- every table must be there, with the contract's fields, and every cell must be of its
  field's type (Table Schema types; ``*`` marks a hidden figure, empty a missing one);
- nothing may break the disclosure rule the package states: a count from 1 to
  threshold-1, a count that is not a multiple of the rounding base, a cost not rounded to
  £100, a survey figure on fewer people than the minimum group size, a rate that does not
  follow from its count. Any of these means the package was altered after it was
  published (or published by something that is not joinedup), and it is refused whole.

Each problem is a sentence naming the package, the table and the row, so that the
comparison can say which package was left out and why, and show the rest.
"""

from __future__ import annotations

import csv
import io
import json
import math
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from joinedup.insight.disclosure_rule import MIN_ROUNDING, MIN_THRESHOLD
from joinedup.state.schema import ADDED_IN, METHOD, MISSING, READS, SUPPRESSED, TABLES, Field, Table
from joinedup.state.value_figures import within_interval

__all__ = ["MAX_BYTES", "LoadedPackage", "check_package", "load_any", "load_files",
           "load_url", "load_zip"]

#: The largest package read (all its files together): a place's package is a few hundred
#: kilobytes; anything near this is not one.
MAX_BYTES = 20 * 1024 * 1024
#: Seconds to wait for a package's web server before giving up.
TIMEOUT = 10.0
DESCRIPTOR = "datapackage.json"


@dataclass
class LoadedPackage:
    label: str  # where it came from: a directory's name, a file name or an address
    problems: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # the descriptor's "joinedup" block
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Tables its (older) method version does not have: shown as such, not as empty.
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def slug(self) -> str:
        return str((self.meta.get("place") or {}).get("slug") or "")

    @property
    def name(self) -> str:
        return str((self.meta.get("place") or {}).get("name") or self.label)

    @property
    def adults(self) -> int | None:
        value = (self.meta.get("place") or {}).get("adult_population")
        return int(value) if isinstance(value, int) and value > 0 else None

    @property
    def rounding(self) -> int:
        return int((self.meta.get("disclosure") or {}).get("rounding") or MIN_ROUNDING)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.label}: {text}")


# ── Reading the files ──────────────────────────────────────────────────────────────────


def load_files(files: Mapping[str, bytes], label: str) -> LoadedPackage:
    """Check a package given as its files (name → bytes)."""
    out = LoadedPackage(label)
    raw = files.get(DESCRIPTOR)
    if raw is None:
        out.problem(f"there is no {DESCRIPTOR}, so this is not a data package")
        return out
    try:
        desc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        out.problem(f"{DESCRIPTOR} is not valid JSON ({exc})")
        return out
    if not isinstance(desc, dict) or not isinstance(desc.get("joinedup"), dict):
        out.problem(f"{DESCRIPTOR} has no joinedup section, so it was not published by joinedup")
        return out
    out.meta = desc["joinedup"]
    method = out.meta.get("method")
    if method not in READS:
        out.problem(f"it was made with method version {method!r}, and this joinedup reads "
                    f"{' and '.join(repr(m) for m in READS)} only: ask the place to publish "
                    f"it again with {METHOD!r}")
        return out
    rule = _rule(out)
    if rule is None:
        return out
    resources = {r.get("name"): r for r in desc.get("resources", []) if isinstance(r, dict)}
    for spec in TABLES:
        if spec.name in ADDED_IN and READS.index(str(method)) < READS.index(ADDED_IN[spec.name]):
            # An older package: the table did not exist yet. Read the rest, and say so.
            out.tables[spec.name] = []
            out.missing.append(spec.name)
            continue
        res = resources.get(spec.name)
        if res is None:
            out.problem(f"the {spec.name} table is missing")
            continue
        if res.get("path") != spec.path:
            out.problem(f"the {spec.name} table should be at {spec.path}, not {res.get('path')!r}")
            continue
        declared = [(f.get("name"), f.get("type")) for f in (res.get("schema") or {}).get("fields", [])]
        if declared != [(f.name, f.type) for f in spec.fields]:
            out.problem(f"the {spec.name} table's schema is not the one of {METHOD}")
            continue
        body = files.get(spec.path)
        if body is None:
            out.problem(f"{spec.path} is missing")
            continue
        out.tables[spec.name] = _read_table(out, spec, body, rule)
    return out


def check_package(directory: Path, label: str | None = None) -> LoadedPackage:
    """Check a package in a directory."""
    label = label or directory.name
    files: dict[str, bytes] = {}
    total = 0
    if not (directory / DESCRIPTOR).is_file():
        out = LoadedPackage(label)
        out.problem(f"there is no {DESCRIPTOR} in {directory}")
        return out
    for name in [DESCRIPTOR, *(t.path for t in TABLES)]:
        path = directory / name
        if path.is_file():
            total += path.stat().st_size
            if total > MAX_BYTES:
                return _too_big(label)
            files[name] = path.read_bytes()
    return load_files(files, label)


def load_zip(data: bytes, label: str) -> LoadedPackage:
    """Check a package zipped (its files at the top of the zip, or in one folder)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        out = LoadedPackage(label)
        out.problem("it is not a zip file or a data package")
        return out
    wanted = {DESCRIPTOR, *(t.path for t in TABLES)}
    files: dict[str, bytes] = {}
    total = 0
    for info in archive.infolist():
        name = info.filename.rsplit("/", 1)[-1]
        if name not in wanted or info.is_dir():
            continue
        total += info.file_size  # the size it claims; read() below is capped as well
        if total > MAX_BYTES:
            return _too_big(label)
        with archive.open(info) as handle:
            files[name] = handle.read(MAX_BYTES + 1)
    return load_files(files, label)


def _fetch(url: str, budget: int, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "joinedup-compare"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > budget:
            raise _TooBig()
        data: bytes = response.read(budget + 1)
    if len(data) > budget:
        raise _TooBig()
    return data


class _TooBig(Exception):
    pass


def load_url(url: str, *, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT) -> LoadedPackage:
    """Fetch a package from a web address: a zip, or a datapackage.json beside its CSVs."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in {"http", "https"}:
        out = LoadedPackage(url)
        out.problem("only http and https addresses can be read")
        return out
    try:
        data = _fetch(url, max_bytes, timeout)
        if not url.split("?", 1)[0].endswith(".json"):
            return load_zip(data, url)
        files = {DESCRIPTOR: data}
        for t in TABLES:
            budget = max_bytes - sum(len(v) for v in files.values())
            try:
                files[t.path] = _fetch(urllib.parse.urljoin(url, t.path), budget, timeout)
            except urllib.error.HTTPError:
                if t.name not in ADDED_IN:
                    raise
                # An older package has no such file; load_files says whether it should.
        return load_files(files, url)
    except _TooBig:
        return _too_big(url, max_bytes)
    except TimeoutError:
        out = LoadedPackage(url)
        out.problem(f"the server did not answer within {timeout:g} seconds")
        return out
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        out = LoadedPackage(url)
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            out.problem(f"the server did not answer within {timeout:g} seconds")
        else:
            out.problem(f"it could not be fetched ({reason})")
        return out


def load_any(where: str) -> LoadedPackage:
    """A directory, a zip file or a web address, as given on the command line."""
    if where.startswith(("http://", "https://")):
        return load_url(where)
    path = Path(where)
    if path.is_dir():
        return check_package(path)
    if path.is_file():
        if path.stat().st_size > MAX_BYTES:
            return _too_big(path.name)
        return load_zip(path.read_bytes(), path.name)
    out = LoadedPackage(where)
    out.problem("there is no such directory or file")
    return out


def _too_big(label: str, limit: int = MAX_BYTES) -> LoadedPackage:
    out = LoadedPackage(label)
    out.problem(f"it is larger than {limit // (1024 * 1024)} MB, which no place's package is")
    return out


# ── Checking the tables ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _Rule:
    threshold: int
    rounding: int
    money: int
    min_group: int


def _rule(out: LoadedPackage) -> _Rule | None:
    d = out.meta.get("disclosure")
    try:
        assert isinstance(d, dict)
        rule = _Rule(int(d["threshold"]), int(d["rounding"]), int(d.get("money_rounding", 100)),
                     int(d["min_group_size"]))
    except (AssertionError, KeyError, TypeError, ValueError):
        out.problem("it does not state its disclosure rule")
        return None
    if rule.threshold < MIN_THRESHOLD or rule.rounding < MIN_ROUNDING or rule.money < 1 \
            or rule.min_group < 1:
        out.problem(f"its disclosure rule (threshold {rule.threshold}, rounding {rule.rounding}) "
                    f"is weaker than joinedup allows")
        return None
    return rule


def _parse(spec: Field, text: str) -> Any:
    if spec.type == "integer":
        return int(text)
    if spec.type == "number":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value
    if spec.type == "date":
        return date.fromisoformat(text)
    if spec.type == "boolean":
        if text not in {"true", "false"}:
            raise ValueError(text)
        return text == "true"
    return text


def _read_table(out: LoadedPackage, spec: Table, body: bytes, rule: _Rule) -> list[dict[str, Any]]:
    try:
        reader = csv.reader(io.StringIO(body.decode("utf-8")))
        header = next(reader, [])
    except (UnicodeDecodeError, csv.Error) as exc:
        out.problem(f"{spec.path} cannot be read as CSV ({exc})")
        return []
    names = [f.name for f in spec.fields]
    if header != names:
        out.problem(f"{spec.path} has the columns {', '.join(header) or 'none'}, not "
                    f"{', '.join(names)}")
        return []
    rows: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for number, cells in enumerate(reader, start=2):
        if len(cells) != len(names):
            out.problem(f"{spec.path} row {number} has {len(cells)} cells, not {len(names)}")
            continue
        row: dict[str, Any] = {}
        for f, text in zip(spec.fields, cells, strict=True):
            if text in MISSING:
                if f.required:
                    out.problem(f"{spec.path} row {number}: {f.name} is required")
                if text == SUPPRESSED and not f.control and f.type != "number":
                    out.problem(f"{spec.path} row {number}: {f.name} cannot be hidden")
                row[f.name] = SUPPRESSED if text == SUPPRESSED else None
                continue
            try:
                row[f.name] = _parse(f, text)
            except ValueError:
                out.problem(f"{spec.path} row {number}: {f.name} {text!r} is not a {f.type}")
                row[f.name] = None
        key = tuple(row.get(k) for k in spec.key)
        if key in seen:
            out.problem(f"{spec.path} row {number} repeats {', '.join(map(str, key))}")
        seen.add(key)
        _check_disclosure(out, spec, row, number, rule)
        rows.append(row)
    return rows


def _check_disclosure(out: LoadedPackage, spec: Table, row: dict[str, Any], number: int,
                      rule: _Rule) -> None:
    where = f"{spec.path} row {number}"
    for f in spec.fields:
        value = row.get(f.name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if f.control == "count":
            if 0 < value < rule.threshold:
                out.problem(f"{where}: {f.name} is {value:g}, a count the rule hides (1 to "
                            f"{rule.threshold - 1}), so the package has been altered")
            elif value % rule.rounding:
                out.problem(f"{where}: {f.name} is {value:g}, not rounded to the nearest "
                            f"{rule.rounding} as the rule says, so the package has been altered")
        elif f.control in {"money", "net_money"} and value % rule.money:
            out.problem(f"{where}: {f.name} is {value:g}, not rounded to £{rule.money} as the "
                        f"rule says, so the package has been altered")
        elif f.control == "survey_n" and value < rule.min_group:
            out.problem(f"{where}: {f.name} is {value:g}, fewer people than the minimum group "
                        f"of {rule.min_group}, so the package has been altered")
    _check_consistency(out, spec, row, where)


def _check_consistency(out: LoadedPackage, spec: Table, row: dict[str, Any], where: str) -> None:
    persons = row.get("persons")
    if "per_1000_adults" in row:
        rate = row["per_1000_adults"]
        if persons == SUPPRESSED and rate not in (SUPPRESSED, None):
            out.problem(f"{where}: a rate is given for a hidden count, so the package has been altered")
        adults = out.adults
        if isinstance(persons, int) and isinstance(rate, float) and adults \
                and abs(rate - round(1000 * persons / adults, 2)) > 0.006:
            out.problem(f"{where}: the rate {rate:g} does not follow from {persons} persons "
                        f"in {adults:,} adults, so the package has been altered")
    for est, lo, hi in (("practice", "practice_lci", "practice_uci"),
                        ("ambition", "ambition_lci", "ambition_uci"), ("gap", "gap_lci", "gap_uci"),
                        ("estimate", "lci", "uci"), ("effect", "effect_lci", "effect_uci")):
        values = [row.get(est), row.get(lo), row.get(hi)]
        if est in row and all(isinstance(v, float | int) for v in values):
            e, low, high = (float(v) for v in values)  # type: ignore[arg-type]
            if not low - 1e-9 <= e <= high + 1e-9:
                out.problem(f"{where}: {est} {e:g} is outside its interval {low:g} to {high:g}")
    if spec.name == "value_accounts":
        _check_value_account(out, row, where)


#: The figures of a value account: a withheld account has none of them.
_VALUE_FIGURES = ("period", "programme_persons", "headline_measure", "effect", "effect_lci",
                  "effect_uci", "method", "npv", "fiscal_return", "public_value_return",
                  "public_value_return_lci", "public_value_return_uci", "payback_years")


def _check_value_account(out: LoadedPackage, row: dict[str, Any], where: str) -> None:
    state = row.get("state")
    if state not in {"published", "withheld"}:
        out.problem(f"{where}: state {state!r} is neither published nor withheld")
    elif state == "withheld" and any(row.get(k) not in (None, SUPPRESSED) for k in _VALUE_FIGURES):
        out.problem(f"{where}: a withheld account carries figures, so the package has been "
                    f"altered")
    point, low, high = (row.get(k) for k in ("public_value_return", "public_value_return_lci",
                                             "public_value_return_uci"))
    if all(isinstance(v, float | int) for v in (point, low, high)):
        p, lo, hi = float(point), float(low), float(high)  # type: ignore[arg-type]
        if lo > hi or not within_interval(p, lo, hi):
            out.problem(f"{where}: public_value_return {p:g} is outside its interval {lo:g} "
                        f"to {hi:g}, so the package has been altered")
    if row.get("programme_persons") == SUPPRESSED and any(
            isinstance(row.get(k), float | int) for k in ("npv", "fiscal_return",
                                                          "public_value_return")):
        out.problem(f"{where}: money is given for a programme too small to publish, so the "
                    f"package has been altered")
