"""The incremental path scores the pairs it found itself through Splink's scoring steps, not
through Splink's own blocking. The contract: the same pairs, with the same scores, as
Splink's ``predict_within`` over the whole place gives for the pairs that hold a touched
record, so that nothing the incremental run keeps differs from what a full re-link keeps."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from joinedup.insight import link_state, pair_scorer, splink_backend
from joinedup.insight.incremental import _score
from joinedup.insight.link import link_place, prepare_input
from joinedup.insight.pair_scorer import PAIR_COLUMNS
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place


@pytest.mark.slow
def test_the_pairs_and_scores_splinks_own_blocking_and_scoring_give(tmp_path: Path) -> None:
    generate_place(260, tmp_path / "extracts", seed=11, formats="csv")
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "extracts")
    link_place(con, work_dir=tmp_path / "work", seed=42)  # trains and stores the model
    stored = link_state.load_model(con)
    assert stored is not None
    tf = link_state.term_frequencies(con, stored.model_id)
    frame = prepare_input(con, ordered=False)
    ids = sorted(frame.column("unique_id").to_pylist())
    touched = ids[::7]  # every seventh record, as if new: pairs among them and with the rest

    con.register("_frame", frame)
    con.execute("CREATE TABLE place AS SELECT * FROM _frame")  # a table, as the cache is: rows have row ids
    model = splink_backend.model_for_dialect(stored.model, stored.fields, "duckdb")
    with pair_scorer.pair_scorer(
        "duckdb", model, tf, memory_limit="500MB", threads=1, work_dir=tmp_path / "ours"
    ) as scorer:
        ours, comparisons = _score(con, "place", touched, stored, scorer, model)
        # The conflict check then scores its pairs in the same database. Its records may be
        # ids already scored with other values: the second list must read its own.
        pairs = pa.table({
            "match_key": pa.array(["0"] * ours.num_rows), "join_key_l": ours.column("unique_id_l"),
            "join_key_r": ours.column("unique_id_r"),
        })  # fmt: skip
        renamed = frame.set_column(
            frame.schema.get_field_index("surname"), "surname",
            pc.binary_join_element_wise(frame.column("surname"), pa.scalar("x"), ""),
        )  # fmt: skip
        shared = scorer.score(renamed, pairs)
    with pair_scorer.pair_scorer(
        "duckdb", model, tf, memory_limit="500MB", threads=1, work_dir=tmp_path / "alone"
    ) as alone:
        by_pair = [("unique_id_l", "ascending"), ("unique_id_r", "ascending")]  # scores come unordered
        assert shared.sort_by(by_pair).equals(alone.score(renamed, pairs).sort_by(by_pair))
    # Other values, other scores (compared pair by pair: the two lists' rows come unordered).
    assert shared.sort_by(by_pair).column("match_weight") != ours.sort_by(by_pair).column("match_weight")

    db_api = splink_backend.db_api_for("duckdb", memory_limit="500MB", threads=1, work_dir=tmp_path / "ref")
    records = splink_backend.register(db_api, frame, "duckdb")
    linker = splink_backend.linker_from_model(db_api, records, stored.model, tf)
    predictions = linker.inference.predict_within(records, warning_mode="never")
    everything = splink_backend.to_arrow(predictions, PAIR_COLUMNS)
    mask = pc.or_(pc.is_in(everything.column("unique_id_l"), value_set=pa.array(touched)),
                  pc.is_in(everything.column("unique_id_r"), value_set=pa.array(touched)))  # fmt: skip
    theirs = everything.filter(mask)

    assert comparisons == theirs.num_rows > 100
    strong = theirs.filter(pc.greater_equal(theirs.column("match_probability"), 0.5))
    assert ours.num_rows == strong.num_rows > 20

    def keyed(t: pa.Table) -> dict[tuple[str, str], float]:
        pairs = zip(t.column("unique_id_l").to_pylist(), t.column("unique_id_r").to_pylist(), strict=True)
        return dict(zip(pairs, t.column("match_weight").to_pylist(), strict=True))

    mine, reference = keyed(ours), keyed(strong)
    assert mine.keys() == reference.keys()
    assert all(abs(mine[k] - reference[k]) < 1e-9 for k in mine)
    con.close()


@pytest.mark.slow
def test_a_full_link_keeps_the_scores_splinks_predict_gives(tmp_path: Path) -> None:
    # A full link scores the pairs Splink's blocking made without Splink's predict (so that
    # the blocking rules' columns are not carried through the scoring); the pairs it keeps,
    # trained and again with the stored model, must be exactly predict's.
    generate_place(260, tmp_path / "extracts", seed=12, formats="csv")
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "extracts")

    def kept() -> dict[tuple[str, str], float]:
        rows = con.execute("SELECT unique_id_l, unique_id_r, match_weight FROM link_pairs").fetchall()
        return {(a, b): w for a, b, w in rows}

    def predicted() -> dict[tuple[str, str], float]:
        stored = link_state.load_model(con)
        assert stored is not None
        db_api = splink_backend.db_api_for(
            "duckdb", memory_limit="500MB", threads=1, work_dir=tmp_path / "ref"
        )
        records = splink_backend.register(db_api, prepare_input(con, ordered=False), "duckdb")
        linker = splink_backend.linker_from_model(
            db_api, records, stored.model, link_state.term_frequencies(con, stored.model_id)
        )
        scores = splink_backend.to_arrow(
            linker.inference.predict(threshold_match_probability=0.5, warning_mode="never"), PAIR_COLUMNS
        )
        lefts, rights = scores.column("unique_id_l").to_pylist(), scores.column("unique_id_r").to_pylist()
        weights = scores.column("match_weight").to_pylist()
        return {(min(a, b), max(a, b)): w for a, b, w in zip(lefts, rights, weights, strict=True)}

    for kwargs in ({}, {"retrain": False}):
        link_place(con, work_dir=tmp_path / "work", seed=42, mode="full", **kwargs)
        mine, reference = kept(), predicted()
        assert len(mine) > 20
        assert mine.keys() == reference.keys(), kwargs
        assert all(abs(mine[k] - reference[k]) < 1e-9 for k in mine), kwargs
    con.close()


@pytest.mark.slow
def test_scores_kept_without_evidence_are_the_same_and_carry_no_values(tmp_path: Path) -> None:
    # At a million records the scored table with every comparison's values and factors was
    # over a gigabyte and DuckDB wrote it to disk; the link keeps only the scores. The same
    # pairs and weights, and none of the records' values.
    generate_place(120, tmp_path / "extracts", seed=13, formats="csv")
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "extracts")
    link_place(con, work_dir=tmp_path / "work", seed=42)
    stored = link_state.load_model(con)
    assert stored is not None
    db_api = splink_backend.db_api_for("duckdb", memory_limit="500MB", threads=1, work_dir=tmp_path / "ref")
    records = splink_backend.register(db_api, prepare_input(con, ordered=False), "duckdb")
    linker = splink_backend.linker_from_model(
        db_api, records, stored.model, link_state.term_frequencies(con, stored.model_id)
    )
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    by_pair = [("unique_id_l", "ascending"), ("unique_id_r", "ascending")]
    tables = {}
    for evidence in (True, False):
        scored = splink_backend.score_blocked_pairs(
            linker, records, blocked, threshold=0.01, evidence=evidence
        )
        tables[evidence] = splink_backend.to_arrow(scored, ["*"])
    full, narrow = tables[True], tables[False]
    assert full.num_rows == narrow.num_rows > 50
    assert full.select(PAIR_COLUMNS).sort_by(by_pair).equals(narrow.select(PAIR_COLUMNS).sort_by(by_pair))
    assert {"surname_l", "surname_r", "dob_l"} <= set(full.column_names)
    values = [c for c in narrow.column_names if c.endswith(("_l", "_r")) and not c.startswith("unique_id")]
    assert values == [c for c in narrow.column_names if c in ("source_l", "source_r")]  # the model keeps
    assert not [c for c in narrow.column_names if c.startswith(("bf_", "tf_"))]
    assert len(narrow.column_names) < len(full.column_names) / 3
    con.close()
