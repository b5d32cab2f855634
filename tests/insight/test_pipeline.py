"""Integration: a small synthetic place ingested, linked and reported on, end to end."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from joinedup.insight import cohort_figures, cohorts, demand, export, network, overlaps
from joinedup.insight.context import PlaceContext
from joinedup.insight.evaluate import (
    deterministic_links,
    evaluate_against_truth,
    evaluate_frames,
    read_truth,
)
from joinedup.insight.governance import purge_expired
from joinedup.insight.ingest import ingest_file
from joinedup.insight.link import LinkError, link_place
from joinedup.insight.model import model_summary
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.insight.summary import headline
from joinedup.synth.insight import SOURCES, generate_place

PEOPLE = 600


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    root = tmp_path_factory.mktemp("place")
    generate_place(PEOPLE, root / "extracts", seed=7)
    con = connect(root / "place.duckdb", memory_limit="1GB", threads=2)
    seed_reference(con)
    ingest_directory(con, root / "extracts")
    link_place(con, work_dir=root / "work", seed=42, explain_dir=root / "explain")
    yield con, root
    con.close()


def test_synthetic_place_has_every_layout(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    _con, root = place
    files = {p.suffix for p in (root / "extracts").iterdir()}
    assert {".csv", ".xlsx", ".toml"} <= files
    assert len(list((root / "extracts").glob("*.toml"))) == len(SOURCES) >= 6


def test_every_input_row_is_accounted_for(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, _root = place
    rows, records, quarantined = con.execute(
        "SELECT sum(n_rows), sum(n_records), sum(n_quarantined) FROM sources"
    ).fetchone() or (0, 0, 0)
    assert rows == records + quarantined
    assert con.execute("SELECT count(*) FROM records").fetchone() == (records,)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (quarantined,)
    missing = con.execute(
        "SELECT count(*) FROM records r ANTI JOIN person_links l USING (source, record_id)"
    ).fetchone()
    assert missing == (0,)


def test_linkage_precision_and_recall_above_floor(
    place: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    con, root = place
    result = evaluate_against_truth(con, root / "extracts" / "truth.csv")
    assert result.precision >= 0.97
    assert result.recall >= 0.95
    rule = evaluate_frames(deterministic_links(con), read_truth(root / "extracts" / "truth.csv"))
    assert result.f1 > rule.f1  # the model beats the deterministic rule


def test_explanations_written(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    _con, root = place
    names = {p.name for p in (root / "explain").iterdir()}
    assert {"match_weights.html", "comparison_viewer.html", "cluster_studio.html"} <= names


def test_explanations_written_by_a_full_link_with_the_stored_model(
    place: tuple[duckdb.DuckDBPyConnection, Path], caplog: pytest.LogCaptureFixture
) -> None:
    # The first link after an upgrade that adds state is one of these (name_and_date): the
    # charts read the comparison levels, which the stored model's own scoring leaves out.
    con, root = place
    with caplog.at_level(logging.WARNING, logger="joinedup.insight.splink_backend"):
        again = root / "again"
        result = link_place(con, work_dir=root / "work", mode="full", retrain=False, explain_dir=again)
    assert result.mode == "full"
    assert "could not write Splink's explanations" not in caplog.text
    names = {p.name for p in again.iterdir()}
    assert {"match_weights.html", "comparison_viewer.html", "cluster_studio.html", "waterfall.html"} <= names


def test_relink_keeps_ids_and_is_reproducible(
    place: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    con, root = place
    before = dict(con.execute("SELECT source || record_id, person_id FROM person_links").fetchall())
    model_before = con.execute("SELECT model_json FROM link_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    result = link_place(con, work_dir=root / "work", seed=42)
    after = dict(con.execute("SELECT source || record_id, person_id FROM person_links").fetchall())
    assert after == before
    assert (result.changes.merges, result.changes.splits, result.changes.new) == (0, 0, 0)
    model_after = con.execute("SELECT model_json FROM link_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    assert model_before is not None and model_after is not None
    # Seeded training gives the same model (up to floating-point summation order).
    weights_before = pd.DataFrame(model_summary(json.loads(model_before[0])))
    weights_after = pd.DataFrame(model_summary(json.loads(model_after[0])))
    assert weights_before["level"].tolist() == weights_after["level"].tolist()
    assert weights_after["match_weight"].fillna(0).to_numpy() == pytest.approx(
        weights_before["match_weight"].fillna(0).to_numpy(), abs=1e-6
    )


def _events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every event's person, partner and service, for counting by hand."""
    return con.execute(
        "SELECT l.person_id, s.partner, s.service FROM records r "
        "JOIN person_links l USING (source, record_id) JOIN sources s ON s.name = r.source"
    ).df()


def test_each_cohorts_partner_costs_by_hand(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    # Every cohort's events are counted in one query; here each is counted alone, from the
    # records, the persons and the cohort's members, as a reader would check it.
    con, _root = place
    events = _events(con)
    got = demand.cohort_partner_costs(con)
    named = [c.name for c in cohorts.cohorts(con)]
    assert list(dict.fromkeys(got["cohort"])) == ["all", *[n for n in named if cohorts.persons_in(con, n)]]
    for name in dict.fromkeys(got["cohort"]):
        members = set(events["person_id"]) if name == "all" else set(cohorts.persons_in(con, name))
        mine = events[events["person_id"].isin(members)].groupby("partner", sort=True).agg(
            persons=("person_id", "nunique"), events=("person_id", "size")
        )
        theirs = got[got["cohort"] == name].set_index("partner")[["persons", "events"]]
        assert theirs.to_dict() == mine.to_dict(), name
    total = demand.demand_by_service(con)["cost"].sum()
    assert got[got["cohort"] == "all"]["cost"].sum() == pytest.approx(total, rel=1e-9)


def test_demand_cells_count_each_partners_persons_once(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    # A person seen by two services of one partner is one of the partner's persons: the
    # partner's persons decide whether its line is small enough to hide, so counting them by
    # service would publish a line that should be hidden.
    con, _root = place
    events = _events(con)
    defined = cohorts.cohorts(con)
    cells, by_partner, by_bits = cohort_figures.demand_cells(con, defined, "2024-25", date.min, date.max)
    by_service = events.groupby(["partner", "service"])["person_id"].nunique()
    assert by_service.groupby("partner").sum().gt(events.groupby("partner")["person_id"].nunique()).any()
    for partner, persons in events.groupby("partner")["person_id"].nunique().items():
        assert sum(n for p, _bits, n in by_partner if p == partner) == persons, partner
    assert sum(n for _bits, n in by_bits) == events["person_id"].nunique()
    assert cells["events"].sum() == len(events)
    for k, cohort in enumerate(defined):  # each cohort's persons from its memberships
        inside = set(cohorts.persons_in(con, cohort.name)) & set(events["person_id"])
        assert sum(n for bits, n in by_bits if bits[k] == "1") == len(inside), cohort.name


def test_insight_tables(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, _root = place
    ctx = PlaceContext(slug="t", adult_population=100_000)
    counts = cohorts.cohort_counts(con).set_index("cohort")["persons"]
    assert counts["smd2"] >= counts["smd3"] > 0
    combos = overlaps.need_combinations(con)
    persons = con.execute("SELECT count(DISTINCT person_id) FROM person_links").fetchone()
    assert persons is not None and combos["persons"].sum() == persons[0]
    costs = demand.cohort_partner_costs(con)
    assert (costs["cost"] > 0).all()
    net = network.service_network(con, [])
    assert net["ships_in_the_night"].any()
    joined = network.service_network(con, [frozenset(net.iloc[0][["partner_a", "partner_b"]])])
    assert not joined.iloc[0]["ships_in_the_night"]
    h = headline(con, ctx)
    assert h.persons == persons[0] and h.known_to_three_or_more > 0
    for name in ("cohorts", "overlaps", "costs", "network"):
        controlled = export.build(name, con, ctx)
        for column in ("persons", "shared"):
            if column in controlled:
                values = [v for v in controlled[column] if pd.notna(v)]
                assert all(int(v) % 5 == 0 for v in values)
    links = export.build("links", con, ctx)
    assert list(links.columns) == ["source", "record_id", "person_id"]


def test_custom_cohort_and_unit_costs(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, _root = place
    cohort = cohorts.define_cohort(con, "Mental health and homelessness", "MH and housing",
                                   ["Mental health", "homelessness"], 2)  # fmt: skip
    assert cohort.name == "mental_health_and_homelessness"
    with pytest.raises(cohorts.CohortError):
        cohorts.define_cohort(con, "x", "x", ["astrology"], 1)
    before = demand.demand_by_service(con).set_index("service")["cost"]
    demand.set_unit_cost(con, "HO3.0", cost_gbp=5002.0, price_year="2010-11")
    after = demand.demand_by_service(con).set_index("service")["cost"]
    assert after["Housing Options"] == pytest.approx(before["Housing Options"] * 2, rel=1e-6)
    assert demand.price_factor(con, "2010-11", "2024-25") > 1.2
    cohorts.delete_cohort(con, cohort.name)


def test_linking_refuses_source_without_legal_basis(tmp_path: Path) -> None:
    con = connect(tmp_path / "p.duckdb", memory_limit="500MB", threads=1)
    generate_place(30, tmp_path / "x", seed=2)
    mapping = tmp_path / "x" / "police_custody.toml"
    text = mapping.read_text().replace("legal_basis", "# legal_basis")
    mapping.write_text(text)
    ingest_file(con, tmp_path / "x" / "police_custody.csv", mapping)
    with pytest.raises(LinkError, match="police_custody.*no legal basis"):
        link_place(con, work_dir=tmp_path / "w")
    con.close()


def test_purge_removes_expired_sources(tmp_path: Path) -> None:
    con = connect(tmp_path / "p.duckdb", memory_limit="500MB", threads=1)
    generate_place(60, tmp_path / "x", seed=2)
    ingest_directory(con, tmp_path / "x")
    assert purge_expired(con, date(2027, 3, 31)) == []
    removed = purge_expired(con, date(2027, 4, 1))
    assert len(removed) == len(SOURCES)
    assert con.execute("SELECT count(*) FROM records").fetchone() == (0,)
    con.close()


def test_truth_file_shape(place: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    _con, root = place
    truth = pd.read_csv(root / "extracts" / "truth.csv")
    assert list(truth.columns) == ["source", "record_id", "person"]
    assert truth["person"].nunique() <= PEOPLE
