"""Two people with one name and date of birth, each with their own NHS and National
Insurance numbers and home, planted in an ingested place; and a record holding only the name
and date of birth, which reaches both (tests/insight/test_conflicts.py)."""

from __future__ import annotations

import duckdb


def nhs(nine: str) -> str:
    """A valid NHS number: the nine digits and their modulus 11 check digit."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    assert check != 10, "no valid number starts with these digits"
    return nine + str(0 if check == 11 else check)


SURNAME, FORENAME, BORN = "HARTLEY", "OLIVER", "1984-06-12"
X_NHS, Y_NHS = nhs("401023456"), nhs("943476512")
X_NI, Y_NI = "JX123456A", "PY654321B"


def plant(con: duckdb.DuckDBPyConnection, *, bridge: bool) -> None:
    """Two people with one name and birthday (two records each, their own NHS and NI numbers
    and postcode); or, with ``bridge``, a record with the name and birthday alone."""
    planted: list[tuple[str, str, str | None, str | None, str | None]] = [
        ("emergency_department", "PLANT-X1", X_NHS, X_NI, "NB1 2AA"),
        ("community_mental_health", "PLANT-X2", X_NHS, X_NI, "NB1 2AA"),
        ("emergency_department", "PLANT-Y1", Y_NHS, Y_NI, "NB9 8ZZ"),
        ("community_mental_health", "PLANT-Y2", Y_NHS, Y_NI, "NB9 8ZZ"),
    ]
    if bridge:
        planted = [("police_custody", "PLANT-B", None, None, None)]
    for source, record_id, nhs_number, ni, postcode in planted:
        details = [postcode, nhs_number, ni]
        con.execute(
            "INSERT INTO records SELECT * REPLACE (? AS record_id, ? AS forename, ? AS surname, "
            "? AS forename_raw, ? AS surname_raw, CAST(? AS DATE) AS date_of_birth, 'M' AS sex, "
            "? AS postcode, NULL AS address_line, NULL AS uprn, ? AS nhs_number, ? AS ni_number) "
            "FROM records WHERE source = ? LIMIT 1",
            [record_id, FORENAME, SURNAME, FORENAME.title(), SURNAME.title(), BORN, *details, source],
        )
