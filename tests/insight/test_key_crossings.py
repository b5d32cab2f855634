"""A rare-value key whose count crosses the cap changes which pairs the blocking rules make
among the records holding it, though the records themselves do not change. The incremental
run edits those pairs (``key_crossings``) instead of scoring the records again. The
contract: the stored pairs are still the ones Splink's ``predict_within`` gives over the
whole place, with the same scores, and the persons those of a full re-link with the same
model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from joinedup.insight import input_cache, key_crossings, link_state, model_input, splink_backend
from joinedup.insight.link import link_place, prepare_input
from joinedup.insight.model import DEFAULT_THRESHOLD
from joinedup.insight.pair_scorer import PAIR_COLUMNS
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.support.batches import full_relink_partition
from tests.support.persons import partition


def _stored_pairs(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    rows = con.execute("SELECT unique_id_l, unique_id_r, match_weight FROM link_pairs").fetchall()
    assert len(rows) == len({(a, b) for a, b, _w in rows}), "a pair is stored twice"
    return {(a, b): w for a, b, w in rows}


def _splinks_pairs(con: duckdb.DuckDBPyConnection, work: Path) -> dict[tuple[str, str], float]:
    """Every pair at match probability 0.5 or more, by Splink's own blocking and scoring."""
    stored = link_state.load_model(con)
    assert stored is not None
    tf = link_state.term_frequencies(con, stored.model_id)
    db_api = splink_backend.db_api_for("duckdb", memory_limit="500MB", threads=1, work_dir=work)
    records = splink_backend.register(db_api, prepare_input(con, ordered=False), "duckdb")
    linker = splink_backend.linker_from_model(db_api, records, stored.model, tf)
    predictions = linker.inference.predict_within(records, warning_mode="never")
    scored = splink_backend.to_arrow(predictions, PAIR_COLUMNS)
    strong = scored.filter(pc.greater_equal(scored.column("match_probability"), 0.5))
    weights = strong.column("match_weight").to_pylist()
    return {(min(a, b), max(a, b)): w for (a, b), w in zip(_pairs(strong, "unique_id"), weights, strict=True)}


def _pairs(table: pa.Table, prefix: str) -> list[tuple[str, str]]:
    left, right = table.column(f"{prefix}_l").to_pylist(), table.column(f"{prefix}_r").to_pylist()
    return list(zip(left, right, strict=True))


def _check_against_splink_and_a_full_relink(
    con: duckdb.DuckDBPyConnection, tmp: Path, name: str, threshold: float = DEFAULT_THRESHOLD
) -> None:
    ours, theirs = _stored_pairs(con), _splinks_pairs(con, tmp / f"ref-{name}")
    assert ours.keys() == theirs.keys(), f"{name}: the stored pairs differ from Splink's"
    assert all(abs(ours[k] - theirs[k]) < 1e-9 for k in ours)
    assert partition(con) == full_relink_partition(con, tmp, name, threshold)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, pa.Table, pa.Table]]:
    """What each run's ``crossing_pairs`` was given and gave: (re-keyed records, pairs to
    score, pairs to drop)."""
    seen: list[tuple[int, pa.Table, pa.Table]] = []
    crossing_pairs = key_crossings.crossing_pairs

    def spy(
        con: duckdb.DuckDBPyConnection, rows: pa.Table | None, ids: list[str], model: dict[str, Any]
    ) -> Any:
        to_score, to_drop = crossing_pairs(con, rows, ids, model)
        seen.append((len(ids), to_score, to_drop))
        return to_score, to_drop

    monkeypatch.setattr(key_crossings, "crossing_pairs", spy)
    return seen


def _place(tmp: Path) -> duckdb.DuckDBPyConnection:
    generate_place(260, tmp / "extracts", seed=11, formats="csv")
    con = connect(tmp / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp / "extracts")
    return con


@pytest.mark.slow
def test_pairs_and_persons_stay_a_full_relinks_when_many_keys_cross_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cap of 2 makes a place of 260 people cross it many times in a month, both ways.
    monkeypatch.setattr(model_input, "RARE_KEY_CAP", 2)
    monkeypatch.setattr(input_cache, "RARE_KEY_CAP", 2)
    seen = _spy(monkeypatch)
    con = _place(tmp_path)
    con.execute("CREATE TABLE held AS SELECT * FROM records USING SAMPLE reservoir(20%) REPEATABLE (7)")
    con.execute("DELETE FROM records WHERE (source, record_id) IN (SELECT source, record_id FROM held)")
    link_place(con, work_dir=tmp_path / "work", seed=42)  # trains and stores the model

    # Next month the held records arrive (values cross the cap upwards); the month after, a
    # fifth of the place leaves (values cross it downwards).
    for month, change in enumerate([
        "INSERT INTO records SELECT * FROM held",
        "DELETE FROM records WHERE (source, record_id) IN "
        "(SELECT source, record_id FROM records USING SAMPLE reservoir(20%) REPEATABLE (8))",
    ]):  # fmt: skip
        con.execute(change)
        result = link_place(con, work_dir=tmp_path / "work")
        assert result.mode == "incremental"
        _check_against_splink_and_a_full_relink(con, tmp_path, f"month{month}")
        # Re-keyed records are not reported as changed: their fields did not change.
        assert result.changed_records == 0
    assert [n > 20 for n, _s, _d in seen] == [True, True]
    assert all(s.num_rows for _n, s, _d in seen)
    con.close()


def _made_only_by_a_key(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Stored pairs that exactly one blocking rule makes, a rare-value key's: (left, right,
    key)."""
    stored = link_state.load_model(con)
    assert stored is not None
    rules = [r["blocking_rule"] for r in stored.model["blocking_rules_to_generate_predictions"]]
    held = ", ".join(f"coalesce(({rule}), false)" for rule in rules)
    found = []
    for left, right, *holds in con.execute(
        f"SELECT p.unique_id_l, p.unique_id_r, {held} FROM link_pairs p "  # noqa: S608
        f"JOIN {input_cache.CACHE} l ON l.unique_id = p.unique_id_l "
        f"JOIN {input_cache.CACHE} r ON r.unique_id = p.unique_id_r"
    ).fetchall():
        made_by = [rule for rule, holds_ in zip(rules, holds, strict=True) if holds_]
        keys = [k for k in model_input._RARE_KEYS if len(made_by) == 1 and f'"{k}"' in made_by[0]]
        if keys:
            found.append((left, right, keys[0]))
    return found


@pytest.mark.slow
def test_a_strong_pair_only_a_rare_key_makes_goes_when_the_key_turns_common_and_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 0.5 every stored pair is strong: dropping the planted pair splits its person.
    threshold = 0.5
    seen = _spy(monkeypatch)
    con = _place(tmp_path)
    link_place(con, work_dir=tmp_path / "work", seed=42, threshold=threshold)
    only = _made_only_by_a_key(con)
    assert only, "the place no longer holds a strong pair that only a rare key makes"
    left, right, key = only[0]
    # The pair's person is left with those two records, so that losing the pair splits it.
    con.execute(
        "DELETE FROM records WHERE (source, record_id) IN (SELECT source, record_id FROM person_links "
        "WHERE person_id = (SELECT person_id FROM person_links WHERE source || '|' || record_id = ?)) "
        "AND source || '|' || record_id NOT IN (?, ?)",
        [left, left, right],
    )
    link_place(con, work_dir=tmp_path / "work", threshold=threshold)
    (together,) = con.execute(
        "SELECT count(DISTINCT person_id) FROM person_links WHERE source || '|' || record_id IN (?, ?)",
        [left, right],
    ).fetchall()
    assert together == (1,) and (left, right, key) in _made_only_by_a_key(con)
    seen.clear()
    # Records of other people that share the key's value (and no date of birth, address or
    # identifier) push it over the cap; when they leave, it is rare again.
    (holders,) = con.execute(
        f"SELECT count(*) FROM {input_cache.CACHE} WHERE {key} = "  # noqa: S608
        f"(SELECT {key} FROM {input_cache.CACHE} WHERE unique_id = ?)", [left]
    ).fetchall()  # fmt: skip
    con.execute(
        "CREATE TABLE others AS SELECT r.* REPLACE (record_id || '-other' || i AS record_id, "
        "DATE '1901-01-01' + CAST(i AS INTEGER) AS date_of_birth, NULL AS postcode, NULL AS nhs_number, "
        "NULL AS ni_number, NULL AS uprn, 'FLAT ' || i || ', NOWHERE ROW' AS address_line) "
        "FROM records r, range(?) AS t(i) WHERE source || '|' || record_id = ?",
        [model_input.RARE_KEY_CAP + 1 - holders[0], left],
    )
    for month, change in enumerate([
        "INSERT INTO records SELECT * FROM others",
        "DELETE FROM records WHERE (source, record_id) IN (SELECT source, record_id FROM others)",
    ]):  # fmt: skip
        con.execute(change)
        result = link_place(con, work_dir=tmp_path / "work", threshold=threshold)
        assert result.mode == "incremental"
        _check_against_splink_and_a_full_relink(con, tmp_path, f"planted{month}", threshold)
        # The run page names the two records as the cause of the split, then of the merge.
        causes = con.execute(
            "SELECT kind, unique_id FROM person_event_records WHERE run_id = ? AND cause = 'shared value'",
            [result.run_id],
        ).fetchall()
        assert {(["split", "merge"][month], left), (["split", "merge"][month], right)} <= set(causes)
    stored = con.execute("SELECT count(*) FROM link_pairs WHERE unique_id_l = ? AND unique_id_r = ?",
                         [left, right]).fetchall()  # fmt: skip
    assert stored == [(1,)]
    assert (left, right) in _pairs(seen[0][2], "unique_id")  # dropped in the first month
    assert (left, right) in _pairs(seen[1][1], "join_key")  # scored again in the second
    con.close()
