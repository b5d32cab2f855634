"""The incremental path hands Splink only the unchanged records a blocking rule can pair
with a touched one. These tests pin that pre-filter down on its own: a record it wrongly
left out would be a pair the incremental run never scores, so its persons would differ
from a full re-link's."""

from __future__ import annotations

import pyarrow as pa

from joinedup.insight.incremental import _candidates
from joinedup.insight.splink_backend import symmetric_rule

MODEL = {
    "blocking_rules_to_generate_predictions": [
        {"blocking_rule": 'l."nhs_number" = r."nhs_number"'},
        # Asymmetric, as the model's swap rule is: only one orientation of a pair meets it.
        {"blocking_rule": "l.dob = r.dob AND l.forename = r.surname"},
    ]
}


def _records(rows: list[tuple[str, str | None, str | None, str | None, str | None]]) -> pa.Table:
    names = ["unique_id", "nhs_number", "forename", "surname", "dob"]
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def test_records_sharing_a_key_either_way_round_are_candidates_and_others_are_not() -> None:
    touched = _records([("new|1", "9434765919", "ANN", "SMITH", "1980-01-02")])
    rest = _records(
        [
            ("old|1", "9434765919", "JO", "JONES", "1990-05-05"),  # same NHS number
            ("old|2", None, "SMITH", "JONES", "1980-01-02"),  # swap: old on the left (l.forename = r.surname)
            ("old|3", None, "KIM", "ANN", "1980-01-02"),  # ANN as surname: new on the left
            ("old|4", None, "ANN", "SMITH", "1975-03-03"),  # shares names only: no rule pairs it
            ("old|5", None, None, None, None),
        ]
    )
    place = pa.concat_tables([rest, touched])
    ids = touched.column("unique_id").combine_chunks()
    chosen = set(_candidates(place, ids, MODEL, threads=1).to_pylist())
    assert chosen == {"old|1", "old|2", "old|3"}


def test_without_rules_every_other_record_is_a_candidate_and_without_touched_records_none() -> None:
    place = _records([("old|1", None, "A", "B", None), ("n|1", None, "A", "B", None)])
    assert _candidates(place, pa.array(["n|1"]), {}, threads=1).to_pylist() == ["old|1"]
    assert _candidates(place, pa.array([], pa.string()), MODEL, threads=1).to_pylist() == []


def test_a_rule_is_symmetric_only_when_swapping_its_records_leaves_it_the_same() -> None:
    # Symmetric rules are joined one way round only, so calling an asymmetric one symmetric
    # would drop candidates (the first test above would lose old|2 or old|3).
    assert symmetric_rule('l."nhs_number" = r."nhs_number"')
    assert symmetric_rule('(l."dob" = r."dob") AND (l."surname" = r."surname")')
    assert symmetric_rule("lower(r.a) = lower(l.a) AND l.b = r.b")
    assert not symmetric_rule("l.dob = r.dob AND l.forename = r.surname")
    assert not symmetric_rule("l.dob = r.dob_transposed AND l.surname = r.surname")
    assert not symmetric_rule("l.a = r.a AND l.kind = 'x'")  # only l is required to be x
    assert not symmetric_rule("l.a = r.a OR l.b = r.c")
    assert not symmetric_rule("l.a = = r.a")  # unreadable: treated as asymmetric
