"""Sources that hold each person once (one_record_sources): the weighing by hand, its share
estimated by simulation, and the contract with the incremental path."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from joinedup.insight import one_record_sources as ors
from joinedup.insight import one_record_store as ors_store
from joinedup.insight.link import LinkError, link_place
from joinedup.insight.mapping import MappingError, parse_mapping
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.support.batches import CUTOFFS, full_relink_partition, write_batches
from tests.support.persons import partition
from tests.support.store_copies import copy_store

PRIOR = 1e-4


def _weight(bayes_factor: float, prior: float = PRIOR) -> float:
    """A Splink match weight: the Bayes factor with the prior's odds, in bits."""
    return math.log2(bayes_factor) + math.log2(prior / (1 - prior))


def _pairs(rows: list[tuple[str, str, float]]) -> pa.Table:
    weights = np.array([w for _, _, w in rows], dtype=np.float64)
    with np.errstate(over="ignore"):
        probabilities = 1 / (1 + np.exp2(-weights))
    return pa.table({
        "unique_id_l": [a for a, _, _ in rows], "unique_id_r": [b for _, b, _ in rows],
        "match_weight": weights, "match_probability": probabilities,
    })  # fmt: skip


def _probabilities(weights: np.ndarray) -> list[float]:
    return list(1 / (1 + np.exp2(-weights)))


def test_a_record_weighs_its_candidates_in_a_one_record_source_against_each_other() -> None:
    # a (police) has two candidates in the GP list (declared), c has one, d two alike; b1 has
    # a second candidate from housing (not declared).
    rows = [
        ("police|a", "gp|b1", _weight(4000.0)),
        ("police|a", "gp|b2", _weight(1000.0)),
        ("police|c", "gp|b3", _weight(500.0)),
        ("housing|h", "gp|b1", _weight(50.0)),
        ("police|d", "gp|e1", _weight(1e6)),
        ("police|d", "gp|e2", _weight(1e6)),
        ("housing|h", "police|a", _weight(9000.0)),  # neither source declared: unchanged
        ("gp|b1", "gp|b2", _weight(70.0)),  # within one source: unchanged
    ]
    pairs = _pairs(rows)
    shares = {("police", "gp"): ors.Share(0.8, 2000), ("housing", "gp"): ors.Share(0.3, 2000)}
    concerned, rest = ors.split(pairs, frozenset({"gp"}))
    assert concerned.num_rows == 6 and rest.num_rows == 2
    exclusive = _probabilities(ors.exclusive_weights(concerned, frozenset({"gp"}), PRIOR, shares))

    # By hand: q = π·K/n; P = q / ((1 − π) + Σ q over the record's candidates in gp).
    q_a1, q_a2 = 0.8 * 4000 / 2000, 0.8 * 1000 / 2000
    q_c = 0.8 * 500 / 2000
    q_h = 0.3 * 50 / 2000
    q_d = 0.8 * 1e6 / 2000
    expected = [
        q_a1 / (0.2 + q_a1 + q_a2),
        q_a2 / (0.2 + q_a1 + q_a2),
        q_c / (0.2 + q_c),
        q_h / (0.7 + q_h),
        q_d / (0.2 + 2 * q_d),
        q_d / (0.2 + 2 * q_d),
    ]
    assert exclusive == pytest.approx(expected, rel=1e-9)

    # Linking takes the larger of the pair's own score and that: the pairwise model said
    # 0.048 for c; alone in a list that holds 80% of police's persons it is 0.5. d's two
    # alike candidates (0.990 each on their own) would be halved if the list held no repeat;
    # they keep their own score.
    own = concerned.column("match_probability").to_pylist()
    got = ors.posteriors(concerned, frozenset({"gp"}), PRIOR, shares).column("match_probability").to_pylist()
    assert got == pytest.approx([max(o, e) for o, e in zip(own, expected, strict=True)], rel=1e-9)
    assert own[2] < 0.05 and got[2] == pytest.approx(0.5)
    assert own[4] > 0.98 and expected[4] < 0.5 and got[4] == pytest.approx(own[4])


def test_both_sources_holding_each_person_once_take_the_smaller_view() -> None:
    # b1 (gp) is wanted by a1 and a2 (school roll): from b1's side a1 competes with a2.
    rows = [("gp|b1", "school|a1", _weight(3000.0)), ("gp|b1", "school|a2", _weight(3000.0))]
    shares = {("school", "gp"): ors.Share(0.9, 1000), ("gp", "school"): ors.Share(0.5, 1000)}
    got = ors.posteriors(_pairs(rows), frozenset({"gp", "school"}), PRIOR, shares)
    q_a = 0.9 * 3000 / 1000  # each school record's view: its only candidate in gp
    q_b = 0.5 * 3000 / 1000  # b1's view: two candidates in the school roll
    from_a, from_b = q_a / (0.1 + q_a), q_b / (0.5 + 2 * q_b)
    own = 3000 * PRIOR / (1 - PRIOR) / (1 + 3000 * PRIOR / (1 - PRIOR))
    assert own < from_b < from_a
    assert got.column("match_probability").to_pylist() == pytest.approx([from_b] * 2, rel=1e-9)


def test_weights_far_beyond_floating_point_stay_finite() -> None:
    rows = [("x|a", "gp|b", 900.0), ("x|a", "gp|c", -900.0), ("x|d", "gp|e", -1100.0)]
    got = ors.posteriors(_pairs(rows), frozenset({"gp"}), PRIOR, {("x", "gp"): ors.Share(0.5, 10)})
    weights = got.column("match_weight").to_pylist()
    assert all(math.isfinite(w) for w in weights)
    assert got.column("match_probability").to_pylist()[0] == 1.0
    assert weights[1] < -1000 + 1e-6 or got.column("match_probability").to_pylist()[1] < 1e-200


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_share_is_recovered_and_the_weights_are_calibrated(seed: int) -> None:
    """Plant a share: 2,000 records of x, 60% with their person among gp's 3,000 records.
    Every one of the 6,000,000 pairs gets a comparison score s, from N(+2.5, 1) for the true
    pair and N(-2.5, 1) otherwise, so that its Bayes factor is known exactly:
    K = φ(s - 2.5) / φ(s + 2.5) = e^(5s). Pairs are kept where the pairwise model gives 0.01
    and over (match_prior.LOWEST_KEPT), as in a run; about 6% of the true ones are not."""
    rng = np.random.default_rng(seed)
    n_x, n_gp, true_share = 2000, 3000, 0.6
    s = rng.normal(-2.5, 1.0, size=(n_x, n_gp))
    has = rng.random(n_x) < true_share
    s[has, 0] = rng.normal(2.5, 1.0, size=int(has.sum()))  # column 0 holds the true pair
    log2_k = 5 * s / math.log(2)
    floor = math.log2(0.01 / 0.99) - math.log2(PRIOR / (1 - PRIOR))
    xs, bs = np.nonzero(log2_k >= floor)
    truth = (bs == 0) & has[xs]
    weights = log2_k[xs, bs] + math.log2(PRIOR / (1 - PRIOR))
    pairs = _pairs([(f"x|{x}", f"gp|{x}_{b}", w) for x, b, w in zip(xs, bs, weights, strict=True)])
    shares = ors.estimate_shares(pairs, frozenset({"gp"}), PRIOR, {"x": n_x, "gp": n_gp})
    # The model reads a true pair scored under 0.01 as no pair, so it estimates the share of
    # x's records whose match was kept.
    found = truth.sum() / n_x
    assert 0.5 < found < true_share
    assert shares[("x", "gp")].share == pytest.approx(found, abs=0.02)
    # Calibrated: in each band the share of true pairs is about the mean weight given them.
    model = np.array(_probabilities(ors.exclusive_weights(pairs, frozenset({"gp"}), PRIOR, shares)))
    for low, high in [(0.05, 0.5), (0.5, 0.95), (0.95, 1.0)]:
        band = (model >= low) & (model <= high)
        assert band.sum() > 30
        assert truth[band].mean() == pytest.approx(model[band].mean(), abs=0.08)
    got = np.array(ors.posteriors(pairs, frozenset({"gp"}), PRIOR, shares).column("match_probability"))
    # And at 0.9 it finds more true pairs than the pairwise score, for few false ones.
    pairwise = np.array(pairs.column("match_probability"))
    assert (truth & (got >= 0.9)).sum() > (truth & (pairwise >= 0.9)).sum()
    assert (~truth & (got >= 0.9)).sum() / max((got >= 0.9).sum(), 1) < 0.02


def test_a_small_share_does_not_lift_a_lone_weak_candidate() -> None:
    # A source few of x's persons are in: a lone candidate at 0.3 stays below 0.5.
    rows = [("x|a", "gp|b", _weight(0.3 / 0.7 / (PRIOR / (1 - PRIOR))))]
    got = ors.posteriors(_pairs(rows), frozenset({"gp"}), PRIOR, {("x", "gp"): ors.Share(0.02, 10_000)})
    assert got.column("match_probability")[0].as_py() < 0.5


def test_a_mapping_declares_a_source_holding_each_person_once() -> None:
    text = (
        '[source]\npartner = "GP"\nservice = "GP list"\none_record_per_person = true\n\n'
        '[columns]\nrecord_id = "id"\n'
    )
    assert parse_mapping(text).one_record_per_person is True
    assert parse_mapping(text.replace("one_record_per_person = true\n", "")).one_record_per_person is False
    with pytest.raises(MappingError, match=r"line 4: one_record_per_person must be true or false"):
        parse_mapping(text.replace("= true", '= "yes"'))


# --- the contract with the incremental path ---------------------------------------------------

# Declared on a place whose emergency department sees people many times: not true of it,
# but it makes the weighing move many pairs, which is what the contract must survive.
DECLARED = ("work_coach", "offender_management", "emergency_department")


@dataclass
class Fed:
    root: Path
    con: duckdb.DuckDBPyConnection
    modes: list[str] = field(default_factory=list)
    incremental: list[set[frozenset[str]]] = field(default_factory=list)
    full: list[set[frozenset[str]]] = field(default_factory=list)


def _declare(extracts: Path, names: tuple[str, ...]) -> None:
    for name in names:
        mapping = extracts / f"{name}.toml"
        text = mapping.read_text(encoding="utf-8")
        mapping.write_text(text.replace("[source]\n", "[source]\none_record_per_person = true\n", 1))


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    root = tmp_path_factory.mktemp("declared")
    generate_place(260, root / "extracts", seed=11, formats="csv")
    _declare(root / "extracts", DECLARED)
    con = connect(root / "place.duckdb", memory_limit="500MB", threads=1)
    state = Fed(root, con)
    for k, batch in enumerate(write_batches(root / "extracts", root / "batches", CUTOFFS)):
        ingest_directory(con, batch)
        state.modes.append(link_place(con, work_dir=root / "work", seed=42).mode)
        if k:
            state.incremental.append(partition(con))
            state.full.append(full_relink_partition(con, root, f"full{k}"))
    yield state
    con.close()


def test_incremental_gives_the_persons_of_a_full_relink_with_declared_sources(fed: Fed) -> None:
    assert fed.modes == ["full", "incremental", "incremental", "incremental"]
    for incremental, full in zip(fed.incremental, fed.full, strict=True):
        assert incremental == full


def test_the_declared_sources_pairs_are_weighed_and_their_raw_scores_kept(fed: Fed) -> None:
    assert ors_store.declared(fed.con) == frozenset(DECLARED) == ors_store.last_declared(fed.con)
    # Lifted: scored below the threshold alone and at or above it weighed with the source's
    # other candidates, so the weighing changes persons (7 pairs here). It once asked for a
    # raw score below 0.5 lifted over it, which hung on one pair the model now scores higher.
    moved = fed.con.execute(
        """
        SELECT count(*) FILTER (WHERE r.match_weight < log2(9) AND p.match_weight >= log2(9)),
               count(*) FILTER (WHERE abs(r.match_weight - p.match_weight) > 1e-9)
        FROM link_one_record_pairs r JOIN link_pairs p USING (unique_id_l, unique_id_r)
        """
    ).fetchall()[0]
    lifted, changed = moved
    assert changed > 50 and lifted > 0
    # Every kept raw score is of a pair across sources with a declared source in it.
    (stray,) = fed.con.execute(
        "SELECT count(*) FROM link_one_record_pairs WHERE split_part(unique_id_l, '|', 1) = "
        "split_part(unique_id_r, '|', 1) OR NOT (split_part(unique_id_l, '|', 1) IN ? "
        "OR split_part(unique_id_r, '|', 1) IN ?)",
        [list(DECLARED), list(DECLARED)],
    ).fetchall()[0]
    assert stray == 0
    shares = ors_store.load_shares(fed.con, 1)
    assert shares and all(0 < s.share < 1 for s in shares.values())


def test_a_declaration_changed_since_the_last_link_weighs_every_pair_again(fed: Fed) -> None:
    con = copy_store(fed.root, "changed")
    try:
        before = partition(con)
        (model_before,) = con.execute("SELECT max(model_id) FROM link_models").fetchall()[0]
        con.execute("UPDATE sources SET one_record_per_person = false WHERE name = 'work_coach'")
        # Asked for an incremental run, it refuses and changes nothing.
        with pytest.raises(LinkError, match=r"whether work_coach holds one record per person has changed"):
            link_place(con, work_dir=fed.root / "work-changed", mode="incremental")
        assert partition(con) == before
        # Left to choose (the CLI's and the web's link), it links fully with the stored model.
        result = link_place(con, work_dir=fed.root / "work-changed")
        assert result.mode == "full"
        assert con.execute("SELECT max(model_id) FROM link_models").fetchall()[0][0] == model_before
        assert ors_store.last_declared(con) == frozenset(DECLARED) - {"work_coach"}
        assert link_place(con, work_dir=fed.root / "work-changed").mode == "incremental"
    finally:
        con.close()


def test_the_review_evidence_shows_the_weighing_and_ends_at_the_score_the_persons_used(fed: Fed) -> None:
    from joinedup.insight.review_evidence import pair_evidence

    a, b, weight, probability = fed.con.execute(
        """
        SELECT p.unique_id_l, p.unique_id_r, p.match_weight, p.match_probability
        FROM link_one_record_pairs r JOIN link_pairs p USING (unique_id_l, unique_id_r)
        WHERE abs(r.match_weight - p.match_weight) > 1 ORDER BY 1, 2 LIMIT 1
        """
    ).fetchall()[0]
    evidence = pair_evidence(fed.con, a, b, work_dir=fed.root / "work-evidence")
    last = evidence.rows[-1]
    assert last.comparison.startswith("Candidates in ") and "holds each person once" in last.comparison
    services = {r[0] for r in fed.con.execute("SELECT service FROM sources").fetchall()}
    assert any(f"Candidates in {service}," in last.comparison for service in services), (
        "named as users know it"
    )
    assert last.level == "No other candidate there" or last.level.endswith(" there")
    assert last.weight > 0, "the weighing only lifts"
    assert evidence.match_weight == pytest.approx(weight, abs=1e-6)
    assert evidence.match_probability == pytest.approx(probability, abs=1e-9)
    assert evidence.prior_weight + sum(r.weight for r in evidence.rows) == pytest.approx(weight, abs=1e-6)


@pytest.mark.parametrize("removed", ["offender_management", "rough_sleeper_outreach"])
def test_removing_a_source_forgets_its_scores_and_leaves_the_rest_as_a_full_link_would(
    fed: Fed, removed: str
) -> None:
    """A declared source removed, or one whose records were candidates in a declared source:
    its kept scores go with it at once, and the next (incremental) run weighs the pairs that
    remain as a full link would."""
    from joinedup.insight.governance import delete_source

    con = copy_store(fed.root, f"removed-{removed}")
    try:
        (pairs_before,) = con.execute(
            "SELECT count(*) FROM link_one_record_pairs WHERE starts_with(unique_id_l, ?) "
            "OR starts_with(unique_id_r, ?)",
            [removed + "|", removed + "|"],
        ).fetchall()[0]
        assert pairs_before > 0
        delete_source(con, removed)
        (left,) = con.execute(
            "SELECT count(*) FROM link_one_record_pairs WHERE starts_with(unique_id_l, ?) "
            "OR starts_with(unique_id_r, ?)",
            [removed + "|", removed + "|"],
        ).fetchall()[0]
        assert left == 0, "nothing of a removed source stays"
        assert link_place(con, work_dir=fed.root / f"work-removed-{removed}").mode == "incremental"
        assert ors_store.last_declared(con) == frozenset(DECLARED) - {removed}
        query = "SELECT unique_id_l, unique_id_r, match_weight FROM link_pairs"
        weights = {(x, y): w for x, y, w in con.execute(query).fetchall()}
        assert partition(con) == _full_relink(con, fed.root, f"removed-{removed}-full")
        full = connect(fed.root / f"removed-{removed}-full.duckdb", memory_limit="500MB", threads=1)
        try:
            again = {(x, y): w for x, y, w in full.execute(query).fetchall()}
        finally:
            full.close()
        assert weights.keys() == again.keys()
        assert all(abs(weights[k] - again[k]) < 1e-6 for k in weights)
    finally:
        con.close()


def test_a_new_rival_candidate_lowers_a_lifted_pair_again_as_a_full_link_would(fed: Fed) -> None:
    """A pair lifted over the threshold because its record had one candidate in a declared
    source; next month a second record just like that candidate arrives. The pair is only as
    strong as its own score again, though neither of its records changed."""
    con = copy_store(fed.root, "rival")
    try:
        threshold = 0.9
        lifted = con.execute(
            """
            SELECT r.unique_id_l, r.unique_id_r, p.match_weight FROM link_one_record_pairs r
            JOIN link_pairs p USING (unique_id_l, unique_id_r)
            WHERE 1 / (1 + pow(2, -r.match_weight)) < ? AND p.match_probability >= ?
            ORDER BY 1, 2
            """,
            [threshold, threshold],
        ).fetchall()
        assert lifted, "the place must hold a pair the weighing lifted over the threshold"
        left, right, lifted_weight = lifted[0]
        candidate = right if right.split("|")[0] in DECLARED else left
        source, record_id = candidate.split("|", 1)
        con.execute(
            "INSERT INTO records SELECT * REPLACE (record_id || '-again' AS record_id) FROM records "
            "WHERE source = ? AND record_id = ?",
            [source, record_id],
        )
        assert link_place(con, work_dir=fed.root / "work-rival").mode == "incremental"
        own, now = con.execute(
            "SELECT r.match_weight, p.match_weight FROM link_one_record_pairs r "
            "LEFT JOIN link_pairs p USING (unique_id_l, unique_id_r) "
            "WHERE r.unique_id_l = ? AND r.unique_id_r = ?",
            [left, right],
        ).fetchall()[0]
        assert now is None or now == pytest.approx(own), "the pair is back to its own score"
        assert partition(con) == _full_relink(con, fed.root, "rival-full")
        # The rival goes again: the pair is lifted again, though neither of its records changed.
        con.execute("DELETE FROM records WHERE source = ? AND record_id = ?", [source, record_id + "-again"])
        assert link_place(con, work_dir=fed.root / "work-rival").mode == "incremental"
        (again,) = con.execute(
            "SELECT match_weight FROM link_pairs WHERE unique_id_l = ? AND unique_id_r = ?", [left, right]
        ).fetchall()[0]
        assert again == pytest.approx(lifted_weight)
        assert partition(con) == _full_relink(con, fed.root, "rival-gone-full")
    finally:
        con.close()


def _full_relink(con: duckdb.DuckDBPyConnection, root: Path, name: str) -> set[frozenset[str]]:
    """The persons a full re-link with the stored model gives, on a copy of ``con``'s store."""
    con.execute("CHECKPOINT")
    (path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    shutil.copy(path, root / f"{name}.duckdb")
    other = connect(root / f"{name}.duckdb", memory_limit="500MB", threads=1)
    try:
        link_place(other, work_dir=root / f"work-{name}", mode="full", retrain=False)
        return partition(other)
    finally:
        other.close()
