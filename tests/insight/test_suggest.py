"""Suggested mappings (issue 8): from header names and from the values themselves."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from joinedup.insight.mapping import load_mapping
from joinedup.insight.normalise import nhs_number_is_valid
from joinedup.insight.readers import Extract, read_extract
from joinedup.insight.suggest import Suggestion, check_column, suggest_columns, suggest_source
from joinedup.synth.insight import generate_place


def nhs_numbers(rng: random.Random, n: int, *, valid: bool = True) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(10))
        if digits[0] != "0" and nhs_number_is_valid(digits) == valid and len(set(digits)) > 1:
            out.append(digits)
    return out


def write(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Extract:
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return read_extract(path)


def people(rng: random.Random, n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        dob = date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000))
        out.append({
            "id": f"C{i:05d}", "forename": rng.choice(["Ann", "Bill", "Cara", "Dev", "Ema"]),
            "surname": rng.choice(["Smith", "Jones", "Khan", "O'Brien", "Lee"]),
            "dob": dob.strftime("%d/%m/%Y"), "sex": rng.choice(["M", "F"]),
            "postcode": rng.choice(["M1 1AA", "DN55 1PT", "W1A 1HQ", "nb3 4xy", "NB12 7QT"]),
            "ni": f"AB{rng.randint(0, 999999):06d}C", "email": f"person{i}@example.org",
            "phone": f"07{rng.randint(0, 999999999):09d}", "uprn": str(rng.randint(1, 10**11)),
        })  # fmt: skip
    return out


@pytest.mark.parametrize("seed", [3, 17, 2025])
def test_suggestions_equal_the_generators_mappings(tmp_path: Path, seed: int) -> None:
    """Every extract `joinedup synth` writes: the suggestion is its mapping, field by field.
    A date column whose order the values cannot decide counts as right only when the
    analyst is asked and the generator's format is one of the two choices offered."""
    place = generate_place(150, tmp_path, seed=seed)
    right = total = asked = 0
    wrong: list[str] = []
    for source in place.sources:
        mapping = load_mapping(place.mapping(source))
        suggestion = suggest_columns(read_extract(place.extract(source), mapping.sheet))
        chosen = suggestion.by_field()
        for spec in mapping.columns:
            total += 1
            got = chosen.get(spec.field)
            ok = got is not None and got.header == spec.column and (
                got.format == spec.format
                or (got.ask and got.date is not None
                    and spec.format in (got.date.day_first, got.date.month_first))
            )  # fmt: skip
            asked += bool(got and got.ask)
            right += ok
            if not ok:
                wrong.append(f"{source}.{spec.field}: {got and (got.header, got.format, got.reason)}")
        extra = set(chosen) - {s.field for s in mapping.columns}
        wrong += [f"{source}: suggested {e} for {chosen[e].header!r}" for e in extra]
    print(f"seed {seed}: {right} of {total} fields right ({right / total:.0%}), {asked} asked")
    assert not wrong, wrong


def test_messy_headers(tmp_path: Path) -> None:
    rng = random.Random(1)
    rows = people(rng, 40)
    nhs = nhs_numbers(rng, 40)
    header = ["Client ref ", "first NAME", "Surname/Family name", "D.O.B", "Gender", "Post Code ",
              "NHS No.", "NI No", "UPRN", "E-mail", "Mobile"]  # fmt: skip
    extract = write(tmp_path / "messy.csv", header, [
        [p["id"], p["forename"], p["surname"], p["dob"], p["sex"], p["postcode"], n, p["ni"],
         p["uprn"], p["email"], p["phone"]] for p, n in zip(rows, nhs, strict=True)
    ], bom=True)  # fmt: skip
    chosen = {c.field: c.header for c in suggest_columns(extract).columns if c.field}
    assert chosen == {
        "record_id": "Client ref", "forename": "first NAME", "surname": "Surname/Family name",
        "date_of_birth": "D.O.B", "sex": "Gender", "postcode": "Post Code", "nhs_number": "NHS No.",
        "ni_number": "NI No", "uprn": "UPRN", "email": "E-mail", "phone": "Mobile",
    }  # fmt: skip
    dob = suggest_columns(extract).by_field()["date_of_birth"]
    assert dob.format == "%d/%m/%Y" and not dob.ask and dob.confidence == "high"


def test_values_alone(tmp_path: Path) -> None:
    rng = random.Random(2)
    rows = people(rng, 60)
    nhs = nhs_numbers(rng, 60)
    header = [f"col{i}" for i in range(1, 9)]
    extract = write(tmp_path / "plain.csv", header, [
        [p["id"], n, p["postcode"], p["ni"], p["email"], p["phone"], p["dob"], p["sex"]]
        for p, n in zip(rows, nhs, strict=True)
    ])  # fmt: skip
    suggestion = suggest_columns(extract)
    chosen = {c.header: c.field for c in suggestion.columns}
    assert chosen == {"col1": "record_id", "col2": "nhs_number", "col3": "postcode",
                      "col4": "ni_number", "col5": "email", "col6": "phone",
                      "col7": "date_of_birth", "col8": "sex"}  # fmt: skip
    nhs_col = suggestion.by_field()["nhs_number"]
    assert "check digit" in nhs_col.reason and nhs_col.confidence == "high"
    assert suggestion.by_field()["date_of_birth"].format == "%d/%m/%Y"


def test_values_beat_a_misleading_header(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = people(rng, 30)
    extract = write(tmp_path / "x.csv", ["Case", "ID", "Surname"], [
        [p["id"], n, p["surname"]] for p, n in zip(rows, nhs_numbers(rng, 30), strict=True)
    ])  # fmt: skip
    got = suggest_columns(extract).by_field()
    assert got["nhs_number"].header == "ID"
    assert "check digit" in got["nhs_number"].reason and "header" in got["nhs_number"].reason


def test_ten_digit_numbers_failing_the_check_are_not_nhs_numbers(tmp_path: Path) -> None:
    rng = random.Random(4)
    extract = write(tmp_path / "x.csv", ["Ref", "Number"], [
        [f"R{i}", n] for i, n in enumerate(nhs_numbers(rng, 50, valid=False))
    ])  # fmt: skip
    number = next(c for c in suggest_columns(extract).columns if c.header == "Number")
    assert number.field != "nhs_number"
    assert "nhs_number" not in suggest_columns(extract).by_field()


@pytest.mark.parametrize(
    ("values", "fmt", "ask"),
    [
        (["01/02/1980", "03/04/1975", "12/11/2001", "05/06/1990"], None, True),
        (["01/02/1980", "25/04/1975", "12/11/2001"], "%d/%m/%Y", False),
        (["01/02/1980", "04/25/1975", "12/11/2001"], "%m/%d/%Y", False),
        (["01-02-80", "03-04-75"], None, True),
        (["1980.02.01", "1975.12.30"], "%Y.%m.%d", False),
        (["19800201", "19751230"], "%Y%m%d", False),
        (["29252", "33000", "41000"], None, False),  # Excel day numbers
        (["1980-02-01", "1975-12-30"], None, False),
    ],
)
def test_date_formats_from_values(tmp_path: Path, values: list[str], fmt: str | None, ask: bool) -> None:
    extract = write(tmp_path / "d.csv", ["Ref", "Born"], [[f"R{i}", v] for i, v in enumerate(values)])
    born = next(c for c in suggest_columns(extract).columns if c.header == "Born")
    assert born.field == "date_of_birth"
    assert born.format == fmt and born.ask == ask
    if ask:
        assert born.date is not None and born.date.day_first and born.date.month_first
        assert "choose" in born.reason
    if values[0] == "29252":
        assert "Excel" in born.reason


def test_one_column_per_field_and_the_others_listed(tmp_path: Path) -> None:
    rng = random.Random(5)
    a, b = nhs_numbers(rng, 20), nhs_numbers(rng, 20)
    extract = write(tmp_path / "x.csv", ["Ref", "NHS Number", "Other"], [
        [f"R{i}", x, y] for i, (x, y) in enumerate(zip(a, b, strict=True))
    ])  # fmt: skip
    suggestion: Suggestion = suggest_columns(extract)
    assert [c.header for c in suggestion.columns if c.field == "nhs_number"] == ["NHS Number"]
    assert suggestion.alternatives["nhs_number"] == ["Other"]
    other = next(c for c in suggestion.columns if c.header == "Other")
    assert other.field is None and "'NHS Number' was chosen" in other.reason


def test_a_chosen_column_that_fails_its_check(tmp_path: Path) -> None:
    rng = random.Random(6)
    rows = people(rng, 30)
    extract = write(tmp_path / "x.csv", ["Ref", "Name", "Born"],
                    [[p["id"], p["surname"], p["dob"]] for p in rows])  # fmt: skip
    problem = check_column(extract, "nhs_number", "Name")
    assert problem is not None and problem.failed == 30 and problem.row == 2
    assert check_column(extract, "surname", "Name") is None
    assert check_column(extract, "date_of_birth", "Born", "%d/%m/%Y") is None
    wrong = check_column(extract, "date_of_birth", "Born", "%m/%d/%Y")
    assert wrong is not None and "format %m/%d/%Y" in wrong.message("Born", "date of birth")


def test_source_values_from_the_registry() -> None:
    registry = [("Northbrook Borough Council", ["Housing Options", "Rough Sleeper Outreach"]),
                ("Northshire Police", ["Integrated Offender Management"])]  # fmt: skip
    got = suggest_source("housing_options March 2025.csv", registry)
    assert got == {"name": "housing_options March 2025", "partner": "Northbrook Borough Council",
                   "service": "Housing Options"}  # fmt: skip
    assert suggest_source("extract (1).xlsx", registry) == {"name": "extract _1"}
