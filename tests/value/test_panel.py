"""The person × quarter panel on a store small enough to count by hand: quarters counted
from each person's own entry date, zeros for quarters without events, nights as end date
minus start date, event types filtered, and the programme's caseload left out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.value.account import MeasureSpec, programme_from_cohort, programme_from_source
from joinedup.value.panel import data_window, measure_panel


@pytest.fixture
def con(tmp_path: Path):  # type: ignore[no-untyped-def]
    con = connect(tmp_path / "tiny.duckdb")
    seed_reference(con)
    con.execute("""INSERT INTO sources (name, partner, service, need) VALUES
        ('ed', 'Trust', 'Emergency Department', 'physical_health'),
        ('custody', 'Police', 'Custody', 'offending'),
        ('caseload', 'Council', 'Lead workers', NULL)""")
    rows = [
        # source, record_id, person, event_date, event_end_date, event_type
        ("ed", "e1", "A", date(2024, 3, 1), None, "attendance"),  # A: quarter −1 (31 days before)
        ("ed", "e2", "A", date(2024, 4, 10), None, "attendance"),  # A: quarter 0
        ("ed", "e3", "A", date(2024, 4, 20), None, "follow-up"),  # A: quarter 0, another type
        ("ed", "e4", "B", date(2024, 9, 1), None, "attendance"),  # B: quarter 0 (entry 1 July)
        ("custody", "c1", "A", date(2024, 2, 1), date(2024, 2, 4), "detained"),  # 3 nights, q −1
        ("custody", "c2", "B", date(2024, 2, 1), date(2024, 2, 2), "detained"),  # 1 night, q −2
        ("caseload", "k1", "A", date(2024, 4, 1), None, None),
        ("caseload", "k2", "B", date(2024, 7, 1), None, None),
        ("ed", "x1", "C", date(2023, 4, 1), None, "attendance"),  # the data's first day
        ("ed", "x2", "C", date(2025, 3, 31), None, "attendance"),  # and its last
    ]
    for source, rid, person, start, end, kind in rows:
        con.execute(
            "INSERT INTO records (source, record_id, event_date, event_end_date, event_type, need) "
            "SELECT ?, ?, ?, ?, ?, need FROM sources WHERE name = ?",
            [source, rid, start, end, kind, source],
        )
        con.execute("INSERT INTO person_links VALUES (?, ?, ?)", [source, rid, person])
    yield con
    con.close()


def test_quarters_from_entry_with_zeros_nights_and_types(con) -> None:  # type: ignore[no-untyped-def]
    programme = programme_from_source(con, "caseload")
    assert programme.entries == (("A", date(2024, 4, 1)), ("B", date(2024, 7, 1)))
    entries = pd.DataFrame(list(programme.entries), columns=["person_id", "entry_date"])
    measures = [
        MeasureSpec("ae", "A&E attendances", ("Emergency Department",), event_types=("attendance",)),
        MeasureSpec("all_ed", "All ED events", ("ed",)),  # a source name works too
        MeasureSpec("nights", "Nights in custody", ("Custody",), statistic="nights"),
    ]
    panel = measure_panel(con, entries, measures, before=2, after=2, exclude_source="caseload")
    assert len(panel) == 2 * 4  # every person, every quarter, zeros included
    a = panel[panel["person_id"] == "A"].set_index("quarter")
    b = panel[panel["person_id"] == "B"].set_index("quarter")
    assert a["ae"].to_dict() == {-2: 0.0, -1: 1.0, 0: 1.0, 1: 0.0}
    assert a["all_ed"].to_dict() == {-2: 0.0, -1: 1.0, 0: 2.0, 1: 0.0}
    assert a["nights"].to_dict() == {-2: 0.0, -1: 3.0, 0: 0.0, 1: 0.0}
    assert b["ae"].to_dict() == {-2: 0.0, -1: 0.0, 0: 1.0, 1: 0.0}
    assert b["nights"].to_dict() == {-2: 1.0, -1: 0.0, 0: 0.0, 1: 0.0}
    assert list(a["post"]) == [0, 0, 1, 1]


def test_data_window_leaves_out_the_caseload(con) -> None:  # type: ignore[no-untyped-def]
    window = data_window(con, "caseload")
    assert window is not None
    assert (window.start, window.end) == (date(2023, 4, 1), date(2025, 3, 31))


def test_programme_from_a_cohort_and_a_date(con) -> None:  # type: ignore[no-untyped-def]
    con.execute(
        "INSERT INTO cohort_definitions (name, label, needs, min_needs, builtin) "
        "VALUES ('offenders', 'Known to custody', 'offending', 1, FALSE)"
    )
    programme = programme_from_cohort(con, "offenders", date(2024, 5, 1))
    assert programme.entries == (("A", date(2024, 5, 1)), ("B", date(2024, 5, 1)))
    assert programme.origin == "cohort:offenders"
