"""A full run on DuckDB makes its pairs with one join per rule (``place_blocking``) rather
than Splink's blocking SQL: the pairs and their match keys must be exactly Splink's."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from joinedup.insight import blocking_rules, link_state, place_blocking, splink_backend
from joinedup.insight.link import link_place, prepare_input
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.hard_cases import HardCases
from joinedup.synth.insight import generate_place

COLUMNS = ["match_key", "join_key_l", "join_key_r"]


def _sorted(table: pa.Table) -> pa.Table:
    return table.select(COLUMNS).sort_by([(c, "ascending") for c in COLUMNS])


@pytest.mark.slow
def test_the_pairs_and_match_keys_splinks_blocking_makes(tmp_path: Path) -> None:
    # Hard cases give the asymmetric rules pairs: swapped names, a date held as 1 January,
    # a previous surname, a transposed date. Ids such as "x|10" and "x|9" sort as text, not
    # as numbers, which the row numbers must follow.
    cases = HardCases(share=0.05)
    generate_place(400, tmp_path / "extracts", seed=5, formats="csv", adjust=cases)
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "extracts")
    link_place(con, work_dir=tmp_path / "work", seed=42)  # trains and stores the model
    stored = link_state.load_model(con)
    assert stored is not None
    frame = prepare_input(con, ordered=False)
    db_api = splink_backend.db_api_for("duckdb", memory_limit="500MB", threads=1, work_dir=tmp_path / "w")
    records = splink_backend.register(db_api, frame, "duckdb")
    linker = splink_backend.linker_from_model(
        db_api, records, stored.model, link_state.term_frequencies(con, stored.model_id)
    )
    theirs = splink_backend.to_arrow(linker.inference.compute_blocked_pairs_for_predict(), COLUMNS)
    ours = splink_backend.to_arrow(place_blocking.blocked_pairs(stored.model, records), COLUMNS)
    assert ours.num_rows == theirs.num_rows > 500
    assert _sorted(ours).equals(_sorted(theirs))
    # Every rule made a pair it was the first to make, or the test would not try them all.
    keys = set(ours.column("match_key").to_pylist())
    rules = stored.model["blocking_rules_to_generate_predictions"]
    asymmetric = {
        str(k) for k, r in enumerate(rules) if not blocking_rules.symmetric_rule(r["blocking_rule"])
    }
    assert len(keys) > len(rules) / 2 and keys & asymmetric, (sorted(keys, key=int), sorted(asymmetric))
    con.close()


def test_no_rules_compares_every_pair(tmp_path: Path) -> None:
    frame = pa.table({"unique_id": ["a|10", "a|9", "b|1"], "surname": ["X", "Y", "Z"]})
    db_api = splink_backend.db_api_for("duckdb", memory_limit="200MB", threads=1, work_dir=tmp_path)
    records = splink_backend.register(db_api, frame, "duckdb")
    no_rules = {"blocking_rules_to_generate_predictions": []}
    made = splink_backend.to_arrow(place_blocking.blocked_pairs(no_rules, records), COLUMNS)
    assert sorted(zip(made.column("join_key_l").to_pylist(), made.column("join_key_r").to_pylist(),
                      strict=True)) == [("a|10", "a|9"), ("a|10", "b|1"), ("a|9", "b|1")]  # fmt: skip
