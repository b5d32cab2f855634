"""The incremental path finds its pairs itself, one join per blocking rule, and hands Splink
only those to score. These tests pin that blocking down on its own: a pair it left out would
never be scored, a pair Splink's blocking would not make would be scored anyway, and either
would make the incremental persons differ from a full re-link's."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from joinedup.insight import splink_backend
from joinedup.insight.blocking_rules import mirrored_rules, symmetric_rule
from joinedup.insight.incremental_blocking import blocked_pairs

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


def _blocked(place: pa.Table, touched: pa.Array, model: dict[str, Any]) -> pa.Table:
    con = duckdb.connect(":memory:")
    con.register("_rows", place)
    con.execute("CREATE TABLE place AS SELECT * FROM _rows")  # a table, as the cache is: rows have row ids
    return blocked_pairs(con, "place", touched, model)


def _pairs(table: pa.Table) -> set[tuple[str, str, str]]:
    columns = (table.column(c).to_pylist() for c in ("match_key", "join_key_l", "join_key_r"))
    return set(zip(*columns, strict=True))


def test_pairs_are_those_splinks_dedupe_blocking_makes_in_its_order() -> None:
    # Splink's dedupe pairs a with b only when a < b and rule(l=a, r=b) holds, so for the
    # asymmetric rule it matters which record sorts first: "a|" sorts before "m|", "z|" after.
    touched = _records([
        ("m|1", "9434765919", "ANN", "SMITH", "1980-01-02"),
        ("m|2", "9434765919", "ANN", "SMITH", "1980-01-02"),  # a second new record, same person
    ])  # fmt: skip
    rest = _records([
        ("a|1", "9434765919", "JO", "JONES", "1990-05-05"),  # same NHS number: rule 0
        ("a|2", None, "SMITH", "JONES", "1980-01-02"),  # on the left, its forename = m's surname: rule 1
        ("a|3", None, "KIM", "ANN", "1980-01-02"),  # on the left, but m's forename = its surname: none
        ("z|1", None, "KIM", "ANN", "1980-01-02"),  # on the right, m's forename = its surname: rule 1
        ("z|2", None, "SMITH", "JONES", "1980-01-02"),  # on the right, its forename = m's surname: none
        ("z|3", None, "ANN", "SMITH", "1975-03-03"),  # shares names only: no rule pairs it
        ("z|4", None, None, None, None),
    ])  # fmt: skip
    place = pa.concat_tables([rest, touched])
    pairs = _pairs(_blocked(place, touched.column("unique_id").combine_chunks(), MODEL))
    assert pairs == {
        ("0", "a|1", "m|1"), ("0", "a|1", "m|2"), ("0", "m|1", "m|2"),  # the first rule is the key
        ("1", "a|2", "m|1"), ("1", "a|2", "m|2"), ("1", "m|1", "z|1"), ("1", "m|2", "z|1"),
    }  # fmt: skip


def test_without_rules_every_pair_with_a_touched_record_and_without_touched_records_none() -> None:
    place = _records([("old|1", None, "A", "B", None), ("n|1", None, "A", "B", None), ("n|2", *[None] * 4)])
    touched = pa.array(["n|1"])
    assert _pairs(_blocked(place, touched, {})) == {("0", "n|1", "old|1"), ("0", "n|1", "n|2")}
    assert _blocked(place, pa.array([], pa.string()), MODEL).num_rows == 0


def test_a_rule_is_symmetric_only_when_swapping_its_records_leaves_it_the_same() -> None:
    # Symmetric rules are joined one way round only, so calling an asymmetric one symmetric
    # would drop pairs (the first test above would lose a|2's or z|1's).
    assert symmetric_rule('l."nhs_number" = r."nhs_number"')
    assert symmetric_rule('(l."dob" = r."dob") AND (l."surname" = r."surname")')
    assert symmetric_rule("lower(r.a) = lower(l.a) AND l.b = r.b")
    assert not symmetric_rule("l.dob = r.dob AND l.forename = r.surname")
    assert not symmetric_rule("l.dob = r.dob_transposed AND l.surname = r.surname")
    assert not symmetric_rule("l.a = r.a AND l.kind = 'x'")  # only l is required to be x
    assert not symmetric_rule("l.a = r.a OR l.b = r.c")
    assert not symmetric_rule("l.a = = r.a")  # unreadable: treated as asymmetric


def test_a_rule_and_its_mirror_are_found_by_one_pair_of_joins() -> None:
    rules = [
        "l.dob = r.dob AND l.forename = r.surname",  # 0
        'l."nhs_number" = r."nhs_number"',  # 1: symmetric
        "l.dob = r.dob AND l.surname = r.forename",  # 2: 0's mirror
        "l.dob = r.dob_transposed AND l.surname = r.surname",  # 3: no mirror here
        "r.dob = l.dob_transposed AND r.surname = l.surname",  # 4: 3's mirror
        "l.surname = r.forename AND l.dob = r.dob",  # 5: 0's mirror too, but 2 took it
    ]
    assert mirrored_rules(rules) == {0: 2, 3: 4}
    assert mirrored_rules(["l.a = r.b", "l.a = r.b"]) == {}  # the same rule twice is no mirror
    assert mirrored_rules(["l.a = = r.b", "l.b = r.a"]) == {}  # unreadable


NAMES = ["ANN", "SMITH", "LEE", "KIM"]
DATES = ["1980-01-02", "1980-02-01", "1975-03-03"]
MIRRORED = {
    "blocking_rules_to_generate_predictions": [
        {"blocking_rule": r}
        for r in (
            'l."nhs_number" = r."nhs_number"',
            "l.dob = r.dob AND l.forename = r.surname",
            "l.dob = r.dob AND l.surname = r.forename",
            "l.dob = r.dob_transposed AND l.surname = r.surname",
        )
    ]
}


def _splinks_pairs(place: pa.Table, model: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Splink's own blocking of the whole place, with its match keys."""
    from splink import DuckDBAPI, Linker, SettingsCreator
    from splink import comparison_library as cl

    rules = [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]]
    settings = SettingsCreator(
        link_type="dedupe_only", comparisons=[cl.ExactMatch("forename")],
        blocking_rules_to_generate_predictions=[{"blocking_rule": r, "sql_dialect": "duckdb"} for r in rules],
    )  # fmt: skip
    linker = Linker(DuckDBAPI().register(place.to_pandas(), table_name="records_in"), settings)
    frame = linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe()
    return set(zip(frame["match_key"].astype(str), frame["join_key_l"], frame["join_key_r"], strict=True))


def test_the_joins_make_splinks_pairs_and_match_keys_on_random_places() -> None:
    # Names drawn from four, so that swaps, both orders and several rules per pair abound;
    # each record in turn is new, and so is a random third of them.
    import random

    for seed in range(6):
        rng = random.Random(seed)
        rows = []
        for i in range(40):
            dob = rng.choice(DATES)
            rows.append((
                f"{rng.choice('amz')}|{i}", rng.choice(["9434765919", None, None]),
                rng.choice(NAMES), rng.choice(NAMES), dob, dob[:5] + dob[8:] + dob[4:7],
            ))  # fmt: skip
        names = ["unique_id", "nhs_number", "forename", "surname", "dob", "dob_transposed"]
        place = pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})
        everything = _splinks_pairs(place, MIRRORED)
        ids = [r[0] for r in rows]
        for touched in [[u] for u in ids[:10]] + [rng.sample(ids, 13)]:
            expected = {p for p in everything if p[1] in touched or p[2] in touched}
            assert _pairs(_blocked(place, pa.array(touched), MIRRORED)) == expected, (seed, touched)


def test_the_scoring_reads_the_comparisons_columns_not_the_blocking_keys() -> None:
    # The incremental run reads only these columns of the pairs' records out of the place;
    # a column a comparison reads but missing here would fail Splink's scoring SQL, and the
    # slow scores test (the same scores as Splink's predict) would fail.
    from joinedup.insight import model as link_model

    fields = frozenset({"forename", "surname", "dob", "postcode", "nhs_number"})
    model = link_model.settings(fields).get_settings("duckdb").as_dict()
    columns = splink_backend.scoring_columns(model)
    assert columns[0] == "unique_id"
    assert {"forename", "surname", "dob", "postcode", "nhs_number"} <= set(columns)
    assert not {"name_key", "dob_transposed", "birth_year_month"} & set(columns)  # blocking only
