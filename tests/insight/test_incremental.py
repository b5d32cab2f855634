"""Incremental linkage: a place fed in monthly batches, linked with the stored model.

The equivalence test is the contract: with the same stored model, a full re-link gives
the same persons (as partitions of records) as the incremental path, batch after batch.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from joinedup.config import Settings
from joinedup.insight import input_cache, link_state, review, review_check
from joinedup.insight.governance import remove_source
from joinedup.insight.link import LinkError, LinkResult, link_place, prepare_input
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.support.batches import CUTOFFS, full_relink_partition, write_batches
from tests.support.leaks import tables_holding
from tests.support.persons import partition


def persons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT source || '|' || record_id, person_id FROM person_links").fetchall())


@dataclass
class Fed:
    root: Path
    con: duckdb.DuckDBPyConnection
    results: list[LinkResult] = field(default_factory=list)
    before: list[dict[str, str]] = field(default_factory=list)
    after: list[dict[str, str]] = field(default_factory=list)
    full: list[set[frozenset[str]]] = field(default_factory=list)
    incremental: list[set[frozenset[str]]] = field(default_factory=list)
    cache_fresh: list[bool] = field(default_factory=list)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    root = tmp_path_factory.mktemp("fed")
    generate_place(260, root / "extracts", seed=11, formats="csv")
    batches = write_batches(root / "extracts", root / "batches", CUTOFFS)
    con = connect(root / "place.duckdb", memory_limit="500MB", threads=1)
    state = Fed(root, con)
    for k, batch in enumerate(batches):
        ingest_directory(con, batch)
        state.before.append(persons(con))
        result = link_place(con, work_dir=root / "work", seed=42)
        state.results.append(result)
        state.after.append(persons(con))
        if k:
            state.incremental.append(partition(con))
            columns = ", ".join(f'"{c}"' for c in input_cache.input_columns(con))
            kept = con.sql(f"SELECT {columns} FROM {input_cache.CACHE} ORDER BY unique_id").to_arrow_table()
            state.cache_fresh.append(kept.equals(prepare_input(con)))
            state.full.append(full_relink_partition(con, root, f"full{k}"))
    yield state
    con.close()


@pytest.mark.slow
def test_first_link_trains_and_later_batches_are_incremental(fed: Fed) -> None:
    modes = [r.mode for r in fed.results]
    assert modes == ["full"] + ["incremental"] * (len(CUTOFFS) - 1)
    assert all(r.new_records > 0 for r in fed.results[1:])
    model = link_state.load_model(fed.con)
    assert model is not None and model.run_id == fed.results[0].run_id
    assert model.n_records == fed.results[0].records  # the model says what it was trained on


@pytest.mark.slow
def test_incremental_gives_the_persons_of_a_full_relink_with_the_same_model(fed: Fed) -> None:
    assert len(fed.full) == len(CUTOFFS) - 1
    for k, (incremental, full) in enumerate(zip(fed.incremental, fed.full, strict=True), start=1):
        assert incremental == full, f"batch {k}: persons differ from a full re-link"
    # The batches did change persons: new records joined existing persons.
    assert any(r.touched_persons for r in fed.results[1:])


@pytest.mark.slow
def test_the_model_input_kept_between_runs_is_the_input_prepared_afresh(fed: Fed) -> None:
    assert fed.cache_fresh == [True] * (len(CUTOFFS) - 1)


@pytest.mark.slow
def test_persons_not_touched_keep_their_ids(fed: Fed) -> None:
    for k in range(1, len(CUTOFFS)):
        before, after = fed.before[k], fed.after[k]
        groups: dict[str, set[str]] = {}
        for record, person in before.items():
            groups.setdefault(person, set()).add(record)
        kept = 0
        for person, records in groups.items():
            now = {after.get(r) for r in records}
            # A person whose records all still sit together keeps its id, whatever joined it,
            # unless it merged into an earlier person with more records (or as many, and an
            # older id), whose id the merged person keeps (docs/guide-analysts-insight.md).
            if len(now) == 1 and None not in now:
                (held,) = now
                if held == person:
                    kept += 1
                    continue
                larger = groups.get(held, set())
                assert len(larger) > len(records) or (len(larger) == len(records) and held < person), (
                    f"batch {k}: {person} ({len(records)} records) was renamed {held} "
                    f"({len(larger)} records before)"
                )
        assert kept >= len(groups) * 0.9


@pytest.mark.slow
def test_removing_a_source_leaves_other_records_in_their_persons(fed: Fed, tmp_path: Path) -> None:
    con = fed.con
    before = persons(con)
    (source,) = con.execute(
        "SELECT source FROM person_links GROUP BY source ORDER BY count(*) LIMIT 1"
    ).fetchone() or ("",)
    # An analyst's decision on a pair of its records, and pairs drawn for the check sample.
    prefix = source + "|"
    pairs = con.execute(
        "SELECT unique_id_l, unique_id_r FROM link_pairs WHERE starts_with(unique_id_l, ?) "
        "OR starts_with(unique_id_r, ?) ORDER BY 1, 2", [prefix, prefix],
    ).fetchall()  # fmt: skip
    review.decide(con, *pairs[0], "different", decided_by="analyst@example.org")
    review.set_band(con, 0.0, 1.0)
    while review_check.draw(con) is not None:
        pass
    held = tables_holding(con, source)
    assert {"review_decisions.unique_id_l", "review_decisions.unique_id_r"} & set(held), held
    remove_source(con, source)
    # Nothing names its records but what the next run needs to count them as removed.
    assert set(tables_holding(con, source)) <= {"link_inputs.unique_id"}
    # The model input kept for linking holds nothing of the source from that moment, and
    # the other records' rare keys are counted without it.
    left = con.execute(f"SELECT count(*) FROM {input_cache.CACHE} WHERE source = ?", [source]).fetchall()
    assert left == [(0,)]
    columns = ", ".join(f'"{c}"' for c in input_cache.input_columns(con))
    kept = con.sql(f"SELECT {columns} FROM {input_cache.CACHE} ORDER BY unique_id").to_arrow_table()
    assert kept.equals(prepare_input(con))
    result = link_place(con, work_dir=fed.root / "work")
    assert result.mode == "incremental" and result.removed_records > 0
    assert tables_holding(con, source) == {}  # and after it, nothing at all
    review.set_band(con, *review.DEFAULT_BAND)
    after = persons(con)
    assert not any(r.startswith(source + "|") for r in after)
    # Every person that had records elsewhere keeps its id on them (or split, recorded).
    survivors = {p for r, p in before.items() if not r.startswith(source + "|")}
    assert survivors <= set(after.values()) | {
        row[0] for row in con.execute(
            "SELECT person_id FROM person_events WHERE run_id = ? AND kind = 'split'", [result.run_id]
        ).fetchall()
    }  # fmt: skip
    assert partition(con) == full_relink_partition(con, fed.root, "after-removal")


def _two_records(tmp_path: Path, people: int = 60) -> duckdb.DuckDBPyConnection:
    generate_place(people, tmp_path / "x", seed=5, formats="csv")
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "x")
    link_place(con, work_dir=tmp_path / "w")
    return con


@pytest.mark.slow
def test_a_bridging_record_removed_splits_its_person(tmp_path: Path) -> None:
    con = _two_records(tmp_path, people=200)  # 60 people held no such chain: the test skipped
    # Find a person whose pairs at the threshold form a chain a–b–c with no a–c pair.
    chain = con.execute(
        """
        WITH p AS (SELECT unique_id_l AS a, unique_id_r AS b FROM link_pairs WHERE match_probability >= 0.9
                   UNION ALL SELECT unique_id_r, unique_id_l FROM link_pairs WHERE match_probability >= 0.9)
        SELECT x.a, x.b, y.b FROM p x JOIN p y ON x.b = y.a AND y.b <> x.a
        WHERE NOT EXISTS (SELECT 1 FROM p z WHERE z.a = x.a AND z.b = y.b)
          AND (SELECT count(*) FROM p w WHERE w.a = x.a) = 1
          AND (SELECT count(*) FROM p w WHERE w.a = y.b) = 1
        LIMIT 1
        """
    ).fetchone()
    assert chain is not None, "the synthetic place has no chain of three records"
    a, bridge, c = chain
    before = persons(con)
    assert before[a] == before[c]
    source, record_id = bridge.split("|", 1)
    con.execute("DELETE FROM records WHERE source = ? AND record_id = ?", [source, record_id])
    result = link_place(con, work_dir=tmp_path / "w")
    after = persons(con)
    assert after[a] != after[c] and before[a] in {after[a], after[c]}
    assert result.changes.splits >= 1
    causes = con.execute(
        "SELECT unique_id, cause FROM person_event_records WHERE run_id = ? AND kind = 'split'",
        [result.run_id],
    ).fetchall()
    assert (bridge, "removed") in causes


def _source_that_splits_a_person(con: duckdb.DuckDBPyConnection) -> str | None:
    """A source whose removal leaves some person's other records in two parts, by the pairs
    at the threshold (their connected components, as the persons are with no decisions)."""
    strong = "SELECT unique_id_l, unique_id_r FROM link_pairs WHERE match_probability >= 0.9"
    pairs = con.execute(strong).fetchall()
    links = persons(con)

    def find(parent: dict[str, str], x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for source in sorted({u.split("|", 1)[0] for u in links}):
        parent: dict[str, str] = {}
        for a, b in pairs:
            if not (a.startswith(source + "|") or b.startswith(source + "|")):
                parent[find(parent, a)] = find(parent, b)
        held = {u: p for u, p in links.items() if not u.startswith(source + "|")}
        parts: dict[str, set[str]] = {}
        for u, p in held.items():
            parts.setdefault(p, set()).add(find(parent, u))
        if any(len(roots) > 1 for roots in parts.values()):
            return source
    return None


@pytest.mark.slow
def test_a_source_removed_is_named_as_the_cause_of_a_split_not_its_records(tmp_path: Path) -> None:
    con = _two_records(tmp_path, people=200)
    source = _source_that_splits_a_person(con)
    assert source is not None  # the place has a person held together through one source
    # An earlier run's merge that one of its records caused, as the run history keeps it.
    first = "SELECT min(source || '|' || record_id) FROM records WHERE source = ?"
    (record,) = con.execute(first, [source]).fetchone() or ("",)
    con.execute("INSERT INTO person_event_records VALUES (1, 'merge', 'P1', 'P2', ?, 'new')", [record])
    remove_source(con, source)
    history = con.execute("SELECT unique_id, cause FROM person_event_records WHERE run_id = 1").fetchall()
    assert history == [(source, "source since removed")]
    result = link_place(con, work_dir=tmp_path / "w")
    assert result.changes.splits >= 1
    causes = con.execute(
        "SELECT DISTINCT unique_id, cause FROM person_event_records WHERE run_id = ? AND kind = 'split'",
        [result.run_id],
    ).fetchall()
    assert (source, "source removed") in causes and tables_holding(con, source) == {}


@pytest.mark.slow
def test_a_model_column_no_source_holds_stops_the_run_and_keeps_persons(tmp_path: Path) -> None:
    con = _two_records(tmp_path)
    before = persons(con)
    # A mapping lost the NHS number: no record holds one now.
    con.execute("UPDATE records SET nhs_number = NULL")
    with pytest.raises(LinkError, match=r"nhs_number.*joinedup link --full"):
        link_place(con, work_dir=tmp_path / "w")
    assert persons(con) == before
    (status,) = con.execute("SELECT status FROM link_runs ORDER BY run_id DESC LIMIT 1").fetchone() or ("",)
    assert status == "failed"
    # --full re-trains on the fields the sources hold.
    result = link_place(con, work_dir=tmp_path / "w", mode="full")
    assert result.mode == "full"
    model = link_state.load_model(con)
    assert model is not None and "nhs_number" not in model.fields


def test_incremental_without_a_model_asks_for_a_full_link(tmp_path: Path) -> None:
    generate_place(20, tmp_path / "x", seed=5, formats="csv")
    con = connect(tmp_path / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, tmp_path / "x")
    with pytest.raises(LinkError, match="--full"):
        link_place(con, work_dir=tmp_path / "w", mode="incremental")
    assert persons(con) == {}


@pytest.mark.slow
def test_the_link_command_says_incremental_or_full(cli_env: Settings, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from joinedup.cli import app

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    out = tmp_path / "place"
    run("synth", "--people", "80", "--out", str(out), "--seed", "4")
    run("places", "create", "Clitown", "--slug", "clitown")
    run("ingest", "--manifest", str(out / "place.toml"), "--place", "clitown")
    assert "(full)" in run("link", "--place", "clitown")
    again = run("link", "--place", "clitown")
    assert "incremental" in again and "0 new" in again and "persons touched" in again
    assert "(full)" in run("link", "--place", "clitown", "--full")


@pytest.mark.slow
def test_records_a_failed_run_prepared_are_linked_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails after bringing the kept model input up to date must not hide its
    changes from the next run: the next one finds nothing new in the records, so only the
    comparison of the kept input with what was last linked can tell."""
    from joinedup.insight import incremental

    con = _two_records(tmp_path)
    held = con.execute("SELECT * FROM records ORDER BY source, record_id LIMIT 5").fetchall()
    con.execute("CREATE TABLE held AS SELECT * FROM records ORDER BY source, record_id LIMIT 5")
    con.execute("DELETE FROM records WHERE (source, record_id) IN (SELECT source, record_id FROM held)")
    link_place(con, work_dir=tmp_path / "w")  # the place without the five
    con.execute("INSERT INTO records SELECT * FROM held")

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the scoring engine stopped")

    with monkeypatch.context() as patched:
        patched.setattr(incremental, "_score", fail)
        with pytest.raises(LinkError, match="scoring engine stopped"):
            link_place(con, work_dir=tmp_path / "w")
    result = link_place(con, work_dir=tmp_path / "w")
    assert result.mode == "incremental" and result.new_records == len(held) == 5
    assert partition(con) == full_relink_partition(con, tmp_path, "after-failure")


@pytest.mark.slow
def test_a_new_threshold_re_clusters_every_person(tmp_path: Path) -> None:
    # Persons clustered at 0.9 are not those of 0.999: an incremental run that re-clusters only
    # the persons new records touch left them all as they were (none was touched).
    con = _two_records(tmp_path)
    with pytest.raises(LinkError, match="another threshold"):
        link_place(con, work_dir=tmp_path / "w", mode="incremental", threshold=0.999)
    result = link_place(con, work_dir=tmp_path / "w", threshold=0.999)
    assert result.mode == "full" and result.changes.splits > 0
    assert partition(con) == full_relink_partition(con, tmp_path, "strict", 0.999)
    assert link_place(con, work_dir=tmp_path / "w", threshold=0.999).mode == "incremental"


@pytest.mark.slow
def test_a_decision_on_a_record_not_yet_linked_is_honoured_as_a_full_link_would(tmp_path: Path) -> None:
    """An analyst may decide on a record ingested since the last link (the CLI takes any two
    held records). The incremental run must re-cluster the person at the decision's other
    end, or it keeps persons that a full re-link joins."""
    con = _two_records(tmp_path)
    source = "emergency_department"
    unnumbered = [p for (p,) in con.execute(
        "SELECT person_id FROM person_links l JOIN records r USING (source, record_id) GROUP BY 1 "
        "HAVING count(r.nhs_number) + count(r.ni_number) = 0 ORDER BY 1"
    ).fetchall()]  # fmt: skip
    assert len(unnumbered) >= 2, "the synthetic place has too few persons without numbers"
    records = persons(con)
    copied, x = (next(r for r, p in sorted(records.items()) if p == person) for person in unnumbered[:2])
    path = tmp_path / "x" / f"{source}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    row = next((r for r in rows if records[f"{source}|{r[0]}"] == records[copied]), None)
    if row is None:  # the person has no record here: add one with their name and birthday
        found = con.execute(
            "SELECT forename, surname, strftime(date_of_birth, '%Y-%m-%d') FROM records "
            "WHERE source || '|' || record_id = ?", [copied]
        ).fetchone()  # fmt: skip
        assert found
        row = ["", "", found[0], found[1], found[2], "", "", "2025-01-01"]
    new = f"{source}|EMENEW0001"
    with path.open("a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(["EMENEW0001", *row[1:]])
    ingest_directory(con, tmp_path / "x")
    review.decide(con, x, new, "same", decided_by="analyst@example.org")
    result = link_place(con, work_dir=tmp_path / "w")
    assert result.mode == "incremental"
    after = persons(con)
    assert after[new] == after[x]
    assert partition(con) == full_relink_partition(con, tmp_path, "with-decision")
