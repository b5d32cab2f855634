"""A small place built by hand, for counting cohort rules on one's fingers.

Persons, the sources they are known to, their dates of birth and sex on each record:

=====  ===========================================  ======================  ========
P1     housing, custody, recovery                    2000-06-01              M
P2     housing, outreach                             1990-01-01              F
P3     ed                                            1960-01-01              F
P4     ed, custody, recovery, housing                2001-01-01, 1980-01-01  M
P5     outreach, housing, ed                         2000-01-01, 2000-02-01  F, M
P6     custody                                       (none)                  M
=====  ===========================================  ======================  ========

Every event is in May 2024, so ages are taken on 1 April 2024.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect

SOURCES = {
    "housing": ("Council", "Housing Options", "homelessness", "HO3.0.2"),
    "outreach": ("Council", "Rough Sleeper Outreach", "homelessness", "HO5.0"),
    "ed": ("NHS Trust", "Emergency Department", "physical_health", "HE4.0"),
    "custody": ("Police", "Police Custody", "offending", "HO3.0"),
    "recovery": ("Recovery Ltd", "Drug and Alcohol Service", "substance_misuse", "HE2.0"),
}
PERSONS: dict[str, list[tuple[str, date | None, str | None]]] = {
    "P1": [("housing", date(2000, 6, 1), "M"), ("custody", date(2000, 6, 1), "M"),
           ("recovery", None, "M")],
    "P2": [("housing", date(1990, 1, 1), "F"), ("outreach", date(1990, 1, 1), None)],
    "P3": [("ed", date(1960, 1, 1), "F")],
    "P4": [("ed", date(2001, 1, 1), "M"), ("custody", date(1980, 1, 1), "M"),
           ("recovery", None, None), ("housing", date(2001, 1, 1), "M")],
    "P5": [("outreach", date(2000, 1, 1), "F"), ("housing", date(2000, 2, 1), "M"),
           ("ed", None, None)],
    "P6": [("custody", None, "M")],
}  # fmt: skip


def build_small_place(path: Path, copies: int = 1) -> None:
    """The place above; with ``copies``, each person is there that many times over (P1-00,
    P1-01 …), so that figures are large enough to be shown."""
    con = connect(path, memory_limit="500MB", threads=1)
    seed_reference(con)
    for name, (partner, service, need, cost) in SOURCES.items():
        con.execute(
            "INSERT INTO sources (name, partner, service, need, cost_item, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, now())",
            [name, partner, service, need, cost],
        )
    people = [(p if copies == 1 else f"{p}-{c:02d}", r) for p, r in PERSONS.items() for c in range(copies)]
    for pid, records in people:
        for k, (source, dob, sex) in enumerate(records):
            rid = f"{pid}-{k}"
            con.execute(
                "INSERT INTO records (source, record_id, date_of_birth, sex, event_date, need, cost_item) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [source, rid, dob, sex, date(2024, 5, 1 + k), SOURCES[source][2], SOURCES[source][3]],
            )
            con.execute("INSERT INTO person_links VALUES (?, ?, ?)", [source, rid, pid])
    con.execute(
        "INSERT INTO link_runs (run_id, started_at, finished_at, status) VALUES (1, now(), now(), 'done')"
    )
    con.close()
