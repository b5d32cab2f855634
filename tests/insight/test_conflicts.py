"""Records the model says are different people are not joined by a chain of others.

The attack: two people share a name and a date of birth, each with their own NHS number and
home, and one record holding only the name and date of birth reaches both. Connected
components put all of them in one person; the model, asked about the two NHS numbers,
says they are different people.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from joinedup.insight import conflicts, review
from joinedup.insight.clusters import cluster_records
from joinedup.insight.governance import remove_source
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect, transaction
from joinedup.synth.insight import generate_place
from tests.support.namesakes import nhs, plant
from tests.support.persons import partition
from tests.support.store_copies import copy_store


def test_candidates_are_the_pairs_of_one_cluster_with_different_numbers() -> None:
    one, two = nhs("401023456"), nhs("943476512")
    slip = nhs("401023457")  # one of the nine digits mistyped, the check digit recomputed
    swap = nhs("401023465")  # two digits swapped
    records = pa.table({
        "unique_id": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
        "nhs_number": [one, None, two, two, None, one, slip, swap, None],
        "ni_number": [None, None, None, None, "JX123456A", "PY654321B", None, None, "JX123456B"],
    })  # fmt: skip
    clusters = pa.table({
        "unique_id": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
        "cluster_id": [1, 1, 1, 1, 2, 2, 1, 1, 2],
    })  # fmt: skip
    scored = pa.table({"unique_id_l": ["a"], "unique_id_r": ["d"]})
    got = conflicts.candidate_pairs(records, clusters, scored)
    # By hand: a–c (one against two); a–d is already scored; c–d agree; b holds nothing; g
    # and h are a slip away from a, so against a they are not different, but against c and
    # d they are. In cluster 2, e holds no NHS number and e–f's NI numbers differ; e–i's
    # differ in one letter, f–i's in many.
    pairs = zip(got.column("join_key_l").to_pylist(), got.column("join_key_r").to_pylist(), strict=True)
    assert list(pairs) == [
        ("a", "c"), ("c", "g"), ("c", "h"), ("d", "g"), ("d", "h"), ("e", "f"), ("f", "i"), ("g", "h"),
    ]  # fmt: skip


def test_an_analysts_same_person_outranks_the_model() -> None:
    cannot = [("a", "c"), ("a", "z")]
    # a = b and b = c by decisions: a and c are one person whatever the model says.
    assert conflicts.drop_must_linked(cannot, [("a", "b"), ("c", "b")]) == [("a", "z")]


def test_the_hook_splits_the_chain_at_its_weakest_link() -> None:
    ids = ["x1", "x2", "bridge", "y1", "y2"]
    weights = {("x1", "x2"): 20.0, ("bridge", "x1"): 9.0, ("bridge", "y1"): 8.0, ("y1", "y2"): 20.0}
    pairs = pa.table({
        "unique_id_l": [a for a, _ in weights], "unique_id_r": [b for _, b in weights],
        "match_weight": list(weights.values()), "match_probability": [0.99] * len(weights),
    })  # fmt: skip
    seen: list[pa.Table] = []

    def hook(components: pa.Table) -> list[tuple[str, str]]:
        seen.append(components)
        return [("x1", "y2")]

    got = dict(zip(ids, cluster_records(ids, pairs, 0.9, conflicts=hook).column("cluster_id").to_pylist(),
                   strict=True))  # fmt: skip
    assert len(set(seen[0].column("cluster_id").to_pylist())) == 1  # asked about the whole chain
    assert got["x1"] == got["x2"] == got["bridge"] != got["y1"] == got["y2"]


def _person_of(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute(
        "SELECT record_id, person_id FROM person_links WHERE record_id LIKE 'PLANT-%'"
    ).fetchall())  # fmt: skip


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("conflicts")
    generate_place(1500, root / "extracts", seed=5, formats="csv")
    con = connect(root / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, root / "extracts")
    plant(con, bridge=False)
    link_place(con, work_dir=root / "work", seed=42)
    con.execute("CHECKPOINT")
    con.close()
    yield root


def _full_relink(place: Path, name: str) -> set[frozenset[str]]:
    """The persons a full re-link with the stored model gives, on a copy of store ``name``
    (the incremental path must give the same)."""
    shutil.copy(place / f"{name}.duckdb", place / f"{name}_full.duckdb")
    full = connect(place / f"{name}_full.duckdb", memory_limit="500MB", threads=1)
    try:
        link_place(full, work_dir=place / "work", mode="full", retrain=False)
        return partition(full)
    finally:
        full.close()


def test_two_people_are_not_joined_by_a_bridging_record(place: Path) -> None:
    con = copy_store(place, "bridged")
    try:
        before = _person_of(con)
        assert before["PLANT-X1"] == before["PLANT-X2"] != before["PLANT-Y1"] == before["PLANT-Y2"]
        plant(con, bridge=True)
        result = link_place(con, work_dir=place / "work", mode="incremental")
        assert result.mode == "incremental"
        assert result.kept_apart >= 1 and "kept apart as different people" in result.summary()
        assert "before records with different NHS" not in (result.retrain_advice or "")  # checked in full
        shown = con.execute("SELECT n_kept_apart FROM link_run_details WHERE run_id = ?", [result.run_id])
        assert (shown.fetchone() or (0,))[0] == result.kept_apart  # what the run page shows
        after = _person_of(con)
        assert after["PLANT-X1"] == after["PLANT-X2"] != after["PLANT-Y1"] == after["PLANT-Y2"]
        assert after["PLANT-B"] in (after["PLANT-X1"], after["PLANT-Y1"])
        # Where the bridge went is the strength of its links alone: its strong pair with the
        # other person waits in the review queue, whatever its score, to settle it.
        queued = [i for i in review.queue(con, 0.9, limit=1000) if "PLANT-B" in i.unique_id_l + i.unique_id_r]
        assert any(i.effect == "join" and i.person_l != i.person_r and i.match_probability >= 0.9
                   for i in queued)  # fmt: skip
        # The bridge is strong to both sides: it is the model's word on X against Y that parts them.
        strong = con.execute(
            "SELECT count(*) FROM link_pairs WHERE match_probability >= 0.9 AND "
            "'police_custody|PLANT-B' IN (unique_id_l, unique_id_r) AND "
            "(unique_id_l LIKE '%PLANT-X%' OR unique_id_r LIKE '%PLANT-X%' "
            " OR unique_id_l LIKE '%PLANT-Y%' OR unique_id_r LIKE '%PLANT-Y%')"
        ).fetchone()
        assert strong is not None and strong[0] == 4
        kept = con.execute(
            "SELECT max(match_probability) FROM link_conflict_pairs "
            "WHERE unique_id_l LIKE '%PLANT-%' AND unique_id_r LIKE '%PLANT-%'"
        ).fetchone()
        assert kept is not None and kept[0] is not None and kept[0] <= 0.1
        incremental = partition(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    assert _full_relink(place, "bridged") == incremental


def test_without_the_check_the_bridge_joins_them(place: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same run with the model never asked merges the two people."""
    monkeypatch.setattr(conflicts.KeptApart, "__call__", lambda self, components: [])
    con = copy_store(place, "unchecked")
    try:
        plant(con, bridge=True)
        link_place(con, work_dir=place / "work", mode="incremental")
        after = _person_of(con)
        assert len(set(after.values())) == 1
    finally:
        con.close()


def test_when_the_conflict_goes_the_people_kept_apart_are_looked_at_again(place: Path) -> None:
    """X's records are withdrawn: the bridge, kept from Y only by X's numbers, now joins Y.
    No new pair reaches Y, so only the walk from X's person over the strong pairs that were
    held apart finds it (the pairs of X's records are gone by then)."""
    con = copy_store(place, "withdrawn")
    try:
        plant(con, bridge=True)
        link_place(con, work_dir=place / "work", mode="incremental")
        con.execute("DELETE FROM records WHERE record_id IN ('PLANT-X1', 'PLANT-X2')")
        result = link_place(con, work_dir=place / "work", mode="incremental")
        assert result.mode == "incremental"
        after = _person_of(con)
        assert set(after) == {"PLANT-B", "PLANT-Y1", "PLANT-Y2"}
        assert after["PLANT-B"] == after["PLANT-Y1"] == after["PLANT-Y2"]
        incremental = partition(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    assert _full_relink(place, "withdrawn") == incremental


def test_removing_a_source_removes_its_records_scores(place: Path) -> None:
    """The kept scores name records: a source removed takes its pairs with it."""
    con = copy_store(place, "removed")
    try:
        plant(con, bridge=True)
        link_place(con, work_dir=place / "work", mode="incremental")
        held = (
            "SELECT count(*) FROM link_conflict_pairs "
            "WHERE starts_with(unique_id_l, ?) OR starts_with(unique_id_r, ?)"
        )
        prefix = "emergency_department|"
        assert (con.execute(held, [prefix, prefix]).fetchone() or (0,))[0] > 0
        with transaction(con):
            remove_source(con, "emergency_department")
        assert (con.execute(held, [prefix, prefix]).fetchone() or (0,))[0] == 0
    finally:
        con.close()


def test_a_place_linked_before_the_check_is_told_to_link_in_full(place: Path) -> None:
    """A place whose last full link recorded no count of pairs kept apart was linked before
    the check existed: a monthly run checks only the persons it touches, and says so."""
    con = copy_store(place, "linked_before")
    try:
        con.execute("UPDATE link_run_details SET n_kept_apart = NULL")  # as the column came to be
        plant(con, bridge=True)
        result = link_place(con, work_dir=place / "work", mode="incremental")
        assert result.retrain_advice is not None and "joinedup link --full" in result.retrain_advice
        shown = con.execute("SELECT retrain_advice FROM link_run_details WHERE run_id = ?", [result.run_id])
        assert (shown.fetchone() or (None,))[0] == result.retrain_advice  # what the run page shows
    finally:
        con.close()
