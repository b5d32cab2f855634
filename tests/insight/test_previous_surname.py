"""A previous surname: read from an extract, compared with the other record's surname, and
the linkage it brings to women recorded before and after a change of name.

A record made after a marriage carries the new surname; a system that asks for a previous
surname (a housing application, a GP registration) holds the old one beside it. Without it
such a pair agrees only on forename, date of birth and district, and the model rightly
leaves it apart. With it, one record's surname is the other's previous surname: a level of
the surname comparison whose weight EM learns. Only across the pair: two records with the
same previous surname and different surnames now are as likely two sisters as one woman.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from joinedup.insight.evaluate import evaluate_frames, links_frame, read_truth
from joinedup.insight.ingest import ingest_file
from joinedup.insight.link import link_place
from joinedup.insight.model import ALL_FIELDS, settings
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.review_evidence import side_by_side
from joinedup.insight.store import connect
from joinedup.insight.suggest import header_field
from joinedup.insight.surname_comparison import PREVIOUS_SURNAME_LEVEL, WOMANS_OTHER_SURNAME_LEVEL
from joinedup.synth.hard_cases import HardCases
from joinedup.synth.insight import generate_place
from tests.support import blocking
from tests.support.model_levels import level_taken

from .conftest import MAPPING, ROWS, write_csv


def _surname_levels(present: frozenset[str]) -> list[dict[str, Any]]:
    model = settings(present).get_settings("duckdb").as_dict()
    (surname,) = [c for c in model["comparisons"] if c["output_column_name"] == "surname"]
    return list(surname["comparison_levels"])


def test_the_level_is_in_the_model_only_where_a_previous_surname_is_held() -> None:
    with_it = [lvl.get("label_for_charts") for lvl in _surname_levels(ALL_FIELDS)]
    without = [lvl.get("label_for_charts") for lvl in _surname_levels(ALL_FIELDS - {"previous_surname"})]
    assert PREVIOUS_SURNAME_LEVEL in with_it and PREVIOUS_SURNAME_LEVEL not in without
    # Straight after the exact match: a surname mistyped is weaker evidence than a known change.
    assert with_it.index(PREVIOUS_SURNAME_LEVEL) == with_it.index("Exact match on surname") + 1
    assert [x for x in with_it if x != PREVIOUS_SURNAME_LEVEL] == without


@pytest.mark.parametrize(
    ("surname_l", "previous_l", "surname_r", "previous_r", "level"),
    [
        ("ACHESON", "SMITH", "SMITH", None, PREVIOUS_SURNAME_LEVEL),  # after and before
        ("SMITH", None, "ACHESON", "SMITH", PREVIOUS_SURNAME_LEVEL),  # the other way round
        # Two sisters who married: the same previous surname, different surnames now.
        ("ACHESON", "SMITH", "FAIRLIE", "SMITH", WOMANS_OTHER_SURNAME_LEVEL),
        ("ACHESON", None, "SMITH", None, WOMANS_OTHER_SURNAME_LEVEL),
        ("SMITH", "JONES", "SMITH", None, "Exact match on surname"),
    ],
)
def test_which_pairs_the_level_takes(
    surname_l: str, previous_l: str | None, surname_r: str, previous_r: str | None, level: str
) -> None:
    pair = {"surname_l": surname_l, "surname_r": surname_r, "previous_surname_l": previous_l,
            "previous_surname_r": previous_r, "forename_l": "ANN", "forename_r": "ANN",
            "sex_l": "F", "sex_r": None, "postcode_l": None, "postcode_r": None}  # fmt: skip
    assert level_taken(_surname_levels(ALL_FIELDS), pair) == level


def test_a_womans_different_surname_is_its_own_level_only_where_sex_is_held() -> None:
    label = WOMANS_OTHER_SURNAME_LEVEL
    assert label in [lvl.get("label_for_charts") for lvl in _surname_levels(ALL_FIELDS)]
    assert label not in [lvl.get("label_for_charts") for lvl in _surname_levels(ALL_FIELDS - {"sex"})]


@pytest.mark.parametrize(
    "header", ["Previous Surname", "Former Surname", "Maiden name", "Birth Surname", "Surname at birth"]
)
def test_headers_that_name_a_previous_surname(header: str) -> None:
    found = header_field(header)
    assert found is not None and found[0] == "previous_surname"


def test_ingest_normalises_it_and_keeps_the_surname_as_written(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    previous = ["Previous Surname", "o'brien", "", " Smith-Jones ", ""]
    rows = [[*r[:3], p, *r[3:]] for r, p in zip(ROWS, previous, strict=True)]
    mapping = tmp_path / "housing.toml"
    with_column = 'surname = "Last Name"\nprevious_surname = "Previous Surname"\n'
    mapping.write_text(MAPPING.replace('surname = "Last Name"\n', with_column), encoding="utf-8")
    ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping)
    held = dict(store.execute("SELECT record_id, previous_surname FROM records").fetchall())
    assert held == {"H1": "OBRIEN", "H2": None, "H3": "SMITHJONES", "H4": None}
    (surname,) = store.execute("SELECT surname FROM records WHERE record_id = 'H1'").fetchone() or (None,)
    assert surname == "SMITH"
    # As the partner wrote it too (trimmed only), and so on the review page's records.
    written = dict(store.execute("SELECT record_id, previous_surname_raw FROM records").fetchall())
    assert written == {"H1": "o'brien", "H2": None, "H3": "Smith-Jones", "H4": None}
    shown = dict((label, (a, b)) for label, a, b in side_by_side(store, "housing|H1", "housing|H3"))
    assert shown["Previous surname"] == ("o'brien", "Smith-Jones")


def test_a_store_made_before_the_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE records (source VARCHAR NOT NULL, record_id VARCHAR NOT NULL, surname VARCHAR, "
                "PRIMARY KEY (source, record_id))")  # fmt: skip
    old.execute("INSERT INTO records VALUES ('housing', 'H1', 'SMITH')")
    old.close()
    con = connect(path, memory_limit="500MB", threads=1)
    assert con.execute("SELECT surname, previous_surname, previous_surname_raw FROM records").fetchall() == [
        ("SMITH", None, None)
    ]
    con.close()


def test_the_generator_keeps_the_surname_a_married_record_replaced(tmp_path: Path) -> None:
    cases = HardCases(share=0.05)
    generate_place(1000, tmp_path / "extracts", seed=5, adjust=cases)
    cases.write(tmp_path / "extracts")
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "extracts")
    con.register("truth", read_truth(tmp_path / "extracts" / "truth.csv"))
    con.register("kinds", pd.read_csv(tmp_path / "extracts" / "hard_cases.csv", dtype=str))
    held = dict(con.execute(
        "SELECT source, count(previous_surname) FROM records GROUP BY 1 HAVING count(previous_surname) > 0"
    ).fetchall())  # fmt: skip
    # Only the two extracts with a column for it hold it.
    assert set(held) == {"housing_options", "community_mental_health"}
    # Each married-and-moved record that holds it, of a person with other records, names the
    # surname that another of them carries (the person's surname before the planted change).
    found = con.execute(
        """
        WITH r AS (SELECT r.*, t.person FROM records r JOIN truth t USING (source, record_id))
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM r o WHERE o.person = m.person AND o.record_id <> m.record_id
                                AND jaro_winkler_similarity(o.surname, m.previous_surname) >= 0.9))
        FROM r m JOIN kinds k USING (source, record_id)
        WHERE k.kind = 'married_moved' AND m.previous_surname IS NOT NULL
          AND EXISTS (SELECT 1 FROM r o WHERE o.person = m.person AND o.record_id <> m.record_id)
        """
    ).fetchone()
    con.close()
    assert found is not None and found[0] > 0
    assert found[1] == found[0]  # alike, not equal: either record's surname may carry a typo


def _joined(root: Path, *, drop_previous: bool) -> tuple[int, int, float]:
    """Of the married-and-moved records that hold a previous surname, whose person has other
    records and shares no NHS or NI number with them (so only the names, date of birth and
    district can join them): how many there are, how many are in a person with at least one
    of those others; and the place's pairwise precision."""
    con = connect(root / "place.duckdb", memory_limit="1GB", threads=2)
    ingest_directory(con, root / "extracts")
    con.execute(
        "CREATE TEMP TABLE held AS SELECT source, record_id FROM records WHERE previous_surname IS NOT NULL"
    )
    if drop_previous:
        con.execute("UPDATE records SET previous_surname = NULL")
    link_place(con, work_dir=root / "work", seed=42)
    truth = read_truth(root / "extracts" / "truth.csv")
    precision = evaluate_frames(links_frame(con), truth).precision
    con.register("truth", truth)
    con.register("kinds", pd.read_csv(root / "extracts" / "hard_cases.csv", dtype=str))
    found = con.execute(
        """
        WITH r AS (SELECT t.person, p.person_id, p.source, p.record_id, x.nhs_number, x.ni_number
                   FROM person_links p JOIN truth t USING (source, record_id)
                   JOIN records x USING (source, record_id))
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM r o WHERE o.person = m.person AND o.record_id <> m.record_id
                                       AND o.person_id = m.person_id))
        FROM r m JOIN kinds k USING (source, record_id) JOIN held h USING (source, record_id)
        WHERE k.kind = 'married_moved'
          AND EXISTS (SELECT 1 FROM r o WHERE o.person = m.person AND o.record_id <> m.record_id)
          AND NOT EXISTS (SELECT 1 FROM r o WHERE o.person = m.person AND o.record_id <> m.record_id
                          AND (o.nhs_number = m.nhs_number OR o.ni_number = m.ni_number))
        """
    ).fetchone()
    con.close()
    assert found is not None
    return int(found[0]), int(found[1]), precision


@pytest.mark.slow
def test_married_and_moved_women_are_found_by_their_previous_surname(tmp_path: Path) -> None:
    """The same hard place linked twice, once with its previous surnames blanked: the
    married-and-moved records that hold one join their person far more often with it, and
    the place's precision is no worse."""
    runs = {}
    for drop in (False, True):
        root = tmp_path / str(drop)
        cases = HardCases(share=0.05)
        generate_place(3000, root / "extracts", seed=3, adjust=cases)
        cases.write(root / "extracts")
        runs[drop] = _joined(root, drop_previous=drop)
    (n, joined, precision), (n_without, joined_without, precision_without) = runs[False], runs[True]
    assert n == n_without and n >= 10
    assert joined >= 0.9 * n and joined_without <= 0.7 * n
    assert precision >= precision_without - 0.005


def test_a_previous_surname_arriving_after_training_asks_for_re_training(tmp_path: Path) -> None:
    """The stored model was trained without previous surnames; an incremental run after they
    arrive links with that model (it cannot compare them) and says so."""
    generate_place(600, tmp_path / "extracts", seed=5)
    con = connect(tmp_path / "place.duckdb", memory_limit="1GB", threads=2)
    ingest_directory(con, tmp_path / "extracts")
    con.execute("CREATE TEMP TABLE kept AS SELECT source, record_id, previous_surname FROM records")
    con.execute("UPDATE records SET previous_surname = NULL")
    first = link_place(con, work_dir=tmp_path / "work", seed=42)
    assert first.mode == "full" and first.retrain_advice is None
    con.execute(
        "UPDATE records SET previous_surname = k.previous_surname FROM kept k "
        "WHERE records.source = k.source AND records.record_id = k.record_id"
    )
    second = link_place(con, work_dir=tmp_path / "work", seed=42)
    con.close()
    assert second.mode == "incremental"
    assert second.retrain_advice is not None and "previous surname" in second.retrain_advice
    assert "joinedup link --full" in second.retrain_advice


# unique id, forename, surname, previous surname, date of birth: a woman before and after her
# marriage, whose date of birth was also mistyped, so no other rule pairs the two.
BLOCKED = [
    ("a|1", "ANN", "SMITH", None, "1980-06-15"),
    ("b|1", "ANN", "ACHESON", "SMITH", "1980-06-16"),  # married: sorts after a|1
    ("0|1", "ANN", "FAIRLIE", "SMITH", "1981-07-20"),  # married: sorts before a|1
    ("c|1", "MARY", "ACHESON", "SMITH", "1975-01-02"),  # another forename
    ("d|1", "ANN", "JONES", None, "1990-02-02"),  # the forename alone
]


def test_blocking_pairs_a_previous_surname_with_the_surname_and_forename() -> None:
    keys = ("unique_id", "forename", "surname", "previous_surname", "dob")
    frame = blocking.model_input([dict(zip(keys, row, strict=True)) for row in BLOCKED])
    present = frozenset({"forename", "surname", "dob", "previous_surname"})
    expected = {("0|1", "a|1"), ("a|1", "b|1")}
    assert blocking.splink_pairs(frame, present) == expected
    for touched in ("a|1", "b|1", "0|1", "c|1"):  # the married record new, or the other
        made = blocking.incremental_pairs(frame, present, touched)
        assert made == {p for p in expected if touched in p}, touched
    # Without a previous surname held, no rule reads it.
    assert not blocking.splink_pairs(frame, frozenset({"forename", "surname", "dob"})) & expected
