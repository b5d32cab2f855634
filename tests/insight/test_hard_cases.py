"""The hard cases planted in a synthetic place, and accuracy reported on each kind.

``evaluate_by_kind`` is checked against a count by hand; the planted records are checked
to be what their kind says, from the records themselves rather than from the planting code.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pandas as pd

from joinedup.insight.evaluate import evaluate_by_kind, register_truth
from joinedup.synth import insight as synth
from joinedup.synth.hard_cases import KINDS, HardCases
from joinedup.synth.insight_names import FEMALE_FORENAMES, MALE_FORENAMES


def test_figures_by_kind_counted_by_hand() -> None:
    """Truth: A = {a1, a2, a3}, B = {b1}; the twin kind marks a3 and b1. Linked: {a1, a2}
    and {a3, b1} (the twins merged, a3 lost from its own person).

    Pairs touching a twin record: true a1-a3, a2-a3 (2); predicted a3-b1 (1); true positive
    none. So precision 0/1, recall 0/2. Overall (for contrast): true 3, predicted 2, TP 1."""
    truth = pd.DataFrame({"source": ["s"] * 4, "record_id": ["a1", "a2", "a3", "b1"],
                          "person": ["A", "A", "A", "B"]})  # fmt: skip
    links = pd.DataFrame({"source": ["s"] * 4, "record_id": ["a1", "a2", "a3", "b1"],
                          "person_id": ["1", "1", "2", "2"]})  # fmt: skip
    kinds = pd.DataFrame({"source": ["s", "s", "s"], "record_id": ["a3", "b1", "a1"],
                          "kind": ["twin", "twin", "swapped"]})  # fmt: skip
    got = evaluate_by_kind(links, truth, kinds)
    twin = got["twin"]
    assert (twin.records, twin.true_pairs, twin.predicted_pairs, twin.true_positive_pairs) == (2, 2, 1, 0)
    assert twin.precision == 0.0 and twin.recall == 0.0
    # a1 (swapped): true a1-a2, a1-a3; predicted a1-a2; TP a1-a2.
    swapped = got["swapped"]
    assert (swapped.true_pairs, swapped.predicted_pairs, swapped.true_positive_pairs) == (2, 1, 1)


def test_each_kind_is_planted_as_it_says(tmp_path: Path) -> None:
    cases = HardCases(share=0.03)
    held: dict[str, list[synth._Record]] = {}

    def plant(
        rng: random.Random, persons: list[synth.Person], by_source: dict[str, list[synth._Record]]
    ) -> None:
        before = {(r.source.name, r.record_id): r for rs in by_source.values() for r in rs}
        cases(rng, persons, by_source)
        held["before"] = list(before.values())
        held["after"] = [r for rs in by_source.values() for r in rs]

    synth.generate_place(600, tmp_path, seed=1, formats="csv", adjust=plant)
    cases.write(tmp_path)
    marked = pd.read_csv(tmp_path / "hard_cases.csv", dtype=str)
    assert set(marked["kind"]) == set(KINDS)
    before = {(r.source.name, r.record_id): r for r in held["before"]}
    after = {(r.source.name, r.record_id): r for r in held["after"]}
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str)
    assert len(truth) == len(after)  # every added relative is in the truth, as its own person
    for source, record_id, kind in marked.itertuples(index=False):
        record, old = after[(source, record_id)], before.get((source, record_id))
        if kind == "name_and_year":
            assert record.dob is not None and (record.dob.month, record.dob.day) == (1, 1)
            assert record.address is None and record.postcode is None and record.nhs is None
        elif kind == "nhs_valid_typo":
            assert old is not None and record.nhs != old.nhs and record.nhs is not None
            digits = [int(d) for d in record.nhs]
            weighted = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
            assert (weighted + digits[9]) % 11 == 0  # passes the modulus 11 check
        elif kind == "swapped":
            assert old is not None and (record.forename, record.surname) == (old.surname, old.forename)
        elif kind == "married_moved":
            assert old is not None and record.surname != old.surname and record.address != old.address
            assert record.dob == old.dob and record.forename == old.forename
        elif old is None:  # a twin or a family member, added
            sibling = [r for r in held["before"] if r.source.name == source and r.surname == record.surname
                       and r.address == record.address and r.person != record.person]  # fmt: skip
            assert sibling, (kind, record)
            if kind == "twin":
                assert any(r.dob == record.dob and r.forename != record.forename for r in sibling)
            else:
                assert all(r.dob is None or abs(r.dob.year - record.dob.year) >= 18 for r in sibling
                           if record.dob is not None)  # fmt: skip
    # A relative is one person with one NHS number, in every source that holds one. Each of a
    # relative's records once drew a number of its own, so one person carried several, and
    # EM learned from them that 5.4% of true matches hold two different NHS numbers (the
    # truth for everyone else: none).
    numbers: dict[int, set[str]] = {}
    for key, record in after.items():
        if key not in before and record.nhs:
            numbers.setdefault(record.person, set()).add(record.nhs)
    assert numbers and all(len(held_numbers) == 1 for held_numbers in numbers.values())
    # So with a National Insurance number (once none: a relative's records held none in the
    # sources that hold one for everybody else), and a relative's sex is their forename's
    # (a relative once kept the sex of the record copied, so a man could be AMANDA).
    added = [r for key, r in after.items() if key not in before]
    ni: dict[int, set[str | None]] = {}
    for record in added:
        ni.setdefault(record.person, set()).add(record.ni)
    assert any(None not in held_ni for held_ni in ni.values())
    assert all(len(held_ni - {None}) <= 1 for held_ni in ni.values())
    for record in added:
        names = FEMALE_FORENAMES if record.sex == "F" else MALE_FORENAMES
        assert record.forename in names, (record.forename, record.sex)


def test_a_kept_places_truth_and_kinds_are_read_with_the_stores_ids(tmp_path: Path) -> None:
    (tmp_path / "truth.csv").write_text("source,record_id,person\nA,1,7\nB,01,7\n", encoding="utf-8")
    (tmp_path / "hard_cases.csv").write_text(
        "source,record_id,kind\nA,1,twin\nA,1,swapped\n", encoding="utf-8"
    )
    con = duckdb.connect()
    register_truth(con, tmp_path)
    # Ids as the store writes them (source|record_id), read as text: record "01" keeps its 0.
    truth = con.execute("SELECT uid, person FROM truth ORDER BY uid").fetchall()
    assert truth == [("A|1", "7"), ("B|01", "7")]
    kinds = con.execute("SELECT uid, kind FROM hard ORDER BY kind").fetchall()
    assert kinds == [("A|1", "swapped"), ("A|1", "twin")]
