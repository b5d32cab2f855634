"""A record holding only a name and a date of birth joins the one person agreeing with all of
it (insight/name_and_date.py), and the incremental path gives the persons a full re-link
does when such records, their namesakes and the persons they agree with come and go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from joinedup.insight import link_state, name_and_date, review
from joinedup.insight.governance import remove_source
from joinedup.insight.link import LinkError, link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.hard_cases import HardCases
from joinedup.synth.insight import generate_place
from tests.support.batches import CUTOFFS, full_relink_partition, write_batches
from tests.support.persons import partition

_FIELDS = ("forename", "surname", "sex", "dob", "nhs_number", "ni_number", "postcode", "address_line", "uprn")


def _place(rows: dict[str, dict[str, str]]) -> duckdb.DuckDBPyConnection:
    """An in-memory model input: each row's fields default to missing."""
    con = duckdb.connect()
    frame = {"unique_id": list(rows)} | {f: [r.get(f) for r in rows.values()] for f in _FIELDS}
    con.register("_rows", pa.table(frame, schema=pa.schema([(c, pa.string()) for c in frame])))
    con.execute("CREATE TABLE place AS SELECT *, substr(dob, 1, 4) AS birth_year FROM _rows")
    return con


def _clusters(groups: list[list[str]]) -> pa.Table:
    ids = [u for g in groups for u in g]
    return pa.table({"unique_id": ids, "cluster_id": [min(g) for g in groups for _ in g]})


def _pairs(*pairs: tuple[str, str, float]) -> pa.Table:
    """Scored pairs: by default the record of the kind with the person's first record, kept."""
    pairs = pairs or (("a|1", "c|1", 0.7),)
    return pa.table({
        "unique_id_l": [a for a, _, _ in pairs], "unique_id_r": [b for _, b, _ in pairs],
        "match_probability": [p for _, _, p in pairs],
    })  # fmt: skip


def _groups(clusters: pa.Table) -> set[frozenset[str]]:
    out: dict[str, set[str]] = {}
    ids, named = clusters.column("unique_id").to_pylist(), clusters.column("cluster_id").to_pylist()
    for u, c in zip(ids, named, strict=True):
        out.setdefault(c, set()).add(u)
    return {frozenset(g) for g in out.values()}


JOHN = {"forename": "JOHN", "surname": "SMITH", "sex": "M"}
# A person with an address and an NHS number, and a record holding only the name and year.
PERSON = {
    "a|1": JOHN | {"dob": "1970-05-06", "postcode": "NB1 2AB", "nhs_number": "9434765919"},
    "b|1": JOHN | {"dob": "1970-05-06", "postcode": "NB1 2AB"},
}
NAME_AND_YEAR = {"c|1": JOHN | {"dob": "1970-01-01"}}


def test_a_record_with_only_a_name_and_year_joins_the_one_person_agreeing() -> None:
    con = _place(PERSON | NAME_AND_YEAR)
    clusters, joins = name_and_date.join_alone(con, "place", _clusters([["a|1", "b|1"], ["c|1"]]), _pairs())
    assert _groups(clusters) == {frozenset({"a|1", "b|1", "c|1"})}
    assert joins == [("c|1", "a|1")]
    # The person is named by its smallest record id, as clusters.cluster_records names them.
    first = _place({"0|1": JOHN | {"dob": "1970-01-01"}} | PERSON)
    clusters, _ = name_and_date.join_alone(
        first, "place", _clusters([["a|1", "b|1"], ["0|1"]]), _pairs(("0|1", "b|1", 0.6))
    )
    assert set(clusters.column("cluster_id").to_pylist()) == {"0|1"}


@pytest.mark.parametrize(
    ("other", "why"),
    [
        ({"d|1": JOHN | {"dob": "1970-09-09", "postcode": "NB9 9ZZ"}}, "a namesake born that year"),
        ({"d|1": JOHN | {"dob": "1970-01-01"}}, "another record holding only the name and year"),
    ],
)
def test_it_stays_alone_when_the_evidence_cannot_choose(other: dict[str, dict[str, str]], why: str) -> None:
    con = _place(PERSON | NAME_AND_YEAR | other)
    clusters, joins = name_and_date.join_alone(
        con, "place", _clusters([["a|1", "b|1"], ["c|1"], ["d|1"]]), _pairs()
    )
    assert joins == [], why
    assert frozenset({"c|1"}) in _groups(clusters)


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (JOHN | {"dob": "1970-01-01", "postcode": "NB3 1AA"}, "it holds a postcode: the model weighs it"),
        (JOHN | {"dob": "1970-05-07"}, "a whole date, a day out"),
        ({"forename": "JOHN", "surname": "SMITH", "sex": "F", "dob": "1970-01-01"}, "another sex"),
        ({"forename": "JON", "surname": "SMITH", "dob": "1970-01-01"}, "another forename"),
        ({"forename": "JOHN", "surname": "SMITH", "dob": "1971-01-01"}, "another year"),
    ],
)
def test_only_a_record_agreeing_with_all_it_holds_is_joined(record: dict[str, str], why: str) -> None:
    con = _place(PERSON | {"c|1": record})
    _, joins = name_and_date.join_alone(con, "place", _clusters([["a|1", "b|1"], ["c|1"]]), _pairs())
    assert joins == [], why


def test_a_whole_date_agrees_with_the_same_date_and_a_sex_not_recorded() -> None:
    con = _place(PERSON | {"c|1": {"forename": "JOHN", "surname": "SMITH", "dob": "1970-05-06"}})
    _, joins = name_and_date.join_alone(con, "place", _clusters([["a|1", "b|1"], ["c|1"]]), _pairs())
    assert joins == [("c|1", "a|1")]


def test_a_join_needs_a_pair_the_model_keeps() -> None:
    con = _place(PERSON | NAME_AND_YEAR)
    groups = _clusters([["a|1", "b|1"], ["c|1"]])
    for pairs in (_pairs(("a|1", "c|1", 0.49)), _pairs(("b|1", "x|9", 0.99))):
        assert name_and_date.join_alone(con, "place", groups, pairs)[1] == []
    # A kept pair with any of the person's records will do, whichever side it is written.
    assert name_and_date.join_alone(con, "place", groups, _pairs(("c|1", "b|1", 0.5)))[1] == [("c|1", "a|1")]


def test_an_analysts_different_people_stops_the_join() -> None:
    con = _place(PERSON | NAME_AND_YEAR)
    groups = _clusters([["a|1", "b|1"], ["c|1"]])
    clusters, joins = name_and_date.join_alone(con, "place", groups, _pairs(), cannot=[("b|1", "c|1")])
    assert joins == [] and frozenset({"c|1"}) in _groups(clusters)


def test_a_record_already_in_a_person_is_left_where_it_is() -> None:
    con = _place(PERSON | NAME_AND_YEAR | {"e|1": JOHN | {"dob": "1970-01-01"}})
    clusters, joins = name_and_date.join_alone(
        con, "place", _clusters([["a|1", "b|1"], ["c|1", "e|1"]]), _pairs()
    )
    assert joins == [] and len(_groups(clusters)) == 2


# A place fed in monthly batches with many records holding only a name and a year, linked at
# a threshold high enough that the pairs leave most of them alone, so that the rule decides
# them: the incremental path must give what a full re-link with the stored model gives.
_STRICT = 0.999
Partition = set[frozenset[str]]
Fed = tuple[Path, duckdb.DuckDBPyConnection, list[tuple[Partition, Partition]]]


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    root = tmp_path_factory.mktemp("fed-name-and-date")
    generate_place(300, root / "extracts", seed=23, formats="csv", adjust=HardCases(share=0.12))
    batches = write_batches(root / "extracts", root / "batches", CUTOFFS)
    con = connect(root / "place.duckdb", memory_limit="500MB", threads=1)
    compared: list[tuple[Partition, Partition]] = []
    for k, batch in enumerate(batches):
        ingest_directory(con, batch)
        result = link_place(con, work_dir=root / "work", seed=42, threshold=_STRICT)
        if k:
            assert result.mode == "incremental"
            compared.append((partition(con), full_relink_partition(con, root, f"full{k}", _STRICT)))
    yield root, con, compared
    con.close()


def _joined_by_the_rule(con: duckdb.DuckDBPyConnection) -> int:
    """Records of the kind in a person of several records with no pair at the threshold."""
    (n,) = con.execute(
        f"""
        WITH l AS (SELECT source || '|' || record_id AS unique_id, person_id,
                          count(*) OVER (PARTITION BY person_id) AS size FROM person_links)
        SELECT count(*) FROM l JOIN link_input_cache c USING (unique_id)
        WHERE l.size > 1 AND {name_and_date.only_name_and_date("c")}
          AND NOT EXISTS (SELECT 1 FROM link_pairs p WHERE p.match_probability >= {_STRICT}
                          AND l.unique_id IN (p.unique_id_l, p.unique_id_r))
        """  # noqa: S608
    ).fetchone() or (0,)
    return int(n)


@pytest.mark.slow
def test_incremental_runs_give_the_persons_of_a_full_relink(fed: Fed) -> None:
    _, con, compared = fed
    assert len(compared) == len(CUTOFFS) - 1
    for k, (incremental, full) in enumerate(compared, start=1):
        assert incremental == full, f"batch {k}: persons differ from a full re-link"
    assert _joined_by_the_rule(con) >= 5  # the rule decided some persons here


@pytest.mark.slow
def test_an_analysts_different_people_undoes_a_join_at_the_next_run(fed: Fed) -> None:
    root, con, _ = fed
    joined, person = con.execute(
        f"SELECT j.unique_id, l.person_id FROM {name_and_date.JOINS} j "  # noqa: S608
        "JOIN person_links l ON l.source || '|' || l.record_id = j.unique_id ORDER BY 1 LIMIT 1"
    ).fetchone() or ("", "")
    (other,) = con.execute(
        "SELECT source || '|' || record_id FROM person_links WHERE person_id = ? "
        "AND source || '|' || record_id <> ? ORDER BY 1 LIMIT 1",
        [person, joined],
    ).fetchone() or ("",)
    review.decide(con, joined, other, "different", decided_by="analyst@example")
    result = link_place(con, work_dir=root / "work", threshold=_STRICT)
    assert result.mode == "incremental"
    alone = con.execute(
        "SELECT count(*) FROM person_links WHERE person_id = (SELECT person_id FROM person_links "
        "WHERE source || '|' || record_id = ?)",
        [joined],
    ).fetchone()
    assert alone == (1,)  # the record is on its own again
    assert partition(con) == full_relink_partition(con, root, "after-decision", _STRICT)


@pytest.mark.slow
def test_removing_a_source_gives_the_persons_of_a_full_relink(fed: Fed) -> None:
    root, con, _ = fed
    # The source with most records of the kind: its records were the namesakes and the
    # persons that others joined or were kept from.
    (source,) = con.execute(
        f"SELECT source FROM link_input_cache WHERE {name_and_date.only_name_and_date()} "  # noqa: S608
        "GROUP BY source ORDER BY count(*) DESC, source LIMIT 1"
    ).fetchone() or ("",)
    rows = f"SELECT count(*) FROM {name_and_date.NAME_DATE_ROWS} WHERE starts_with(unique_id, ?)"  # noqa: S608
    assert (con.execute(rows, [source + "|"]).fetchone() or (0,))[0] > 0
    remove_source(con, source)
    for table in (name_and_date.NAME_DATE_ROWS, name_and_date.JOINS):  # nothing of it stays
        left = con.execute(f"SELECT count(*) FROM {table} WHERE starts_with(unique_id, ?)", [source + "|"])  # noqa: S608
        assert left.fetchone() == (0,), table
    result = link_place(con, work_dir=root / "work", threshold=_STRICT)
    assert result.mode == "incremental" and result.removed_records > 0
    assert partition(con) == full_relink_partition(con, root, "after-removal", _STRICT)


@pytest.mark.slow
def test_a_place_linked_before_the_rule_is_linked_in_full_once(fed: Fed) -> None:
    root, con, _ = fed
    con.execute(f"DROP TABLE {name_and_date.NAME_DATE_ROWS}")  # as a store of an earlier version
    with pytest.raises(LinkError, match="last linked before records holding only a name"):
        link_place(con, work_dir=root / "work", mode="incremental", threshold=_STRICT)
    before = link_state.load_model(con)
    result = link_place(con, work_dir=root / "work", threshold=_STRICT)
    after = link_state.load_model(con)
    assert result.mode == "full" and before is not None and after is not None
    assert after.model_id == before.model_id  # with the stored model, not re-trained
    assert link_place(con, work_dir=root / "work", threshold=_STRICT).mode == "incremental"


@pytest.mark.slow
def test_a_place_may_turn_the_rule_off_and_on_again(fed: Fed) -> None:
    root, con, _ = fed
    with_rule = partition(con)
    joined = {r[0] for r in con.execute(f"SELECT unique_id FROM {name_and_date.JOINS}").fetchall()}  # noqa: S608
    assert joined and _joined_by_the_rule(con) > 0
    name_and_date.set_rule(con, False)
    # Persons no run touches would keep the rule's joins: an incremental run refuses...
    with pytest.raises(LinkError, match="now no longer joined to the one person agreeing"):
        link_place(con, work_dir=root / "work", mode="incremental", threshold=_STRICT)
    # ...and the next run links in full once, with the stored model.
    model = link_state.load_model(con)
    result = link_place(con, work_dir=root / "work", threshold=_STRICT)
    assert result.mode == "full" and model is not None
    assert (link_state.load_model(con) or model).model_id == model.model_id
    assert _joined_by_the_rule(con) == 0
    assert con.execute(f"SELECT count(*) FROM {name_and_date.JOINS}").fetchone() == (0,)  # noqa: S608
    alone = {next(iter(g)) for g in partition(con) if len(g) == 1}
    assert joined <= alone  # every record the rule had joined is on its own
    # Off, the incremental path still gives the persons of a full re-link.
    assert link_place(con, work_dir=root / "work", threshold=_STRICT).mode == "incremental"
    assert partition(con) == full_relink_partition(con, root, "rule-off", _STRICT)
    # On again: one full run, and the persons are those it gave before.
    name_and_date.set_rule(con, True)
    assert link_place(con, work_dir=root / "work", threshold=_STRICT).mode == "full"
    assert partition(con) == with_rule
    assert link_place(con, work_dir=root / "work", threshold=_STRICT).mode == "incremental"
