"""The prior of the model, the probability that two records picked at random are one person,
estimated from the scored pairs themselves once the model is trained.

Splink's own estimate divides the pairs that some near-certain rules find (the same NHS
number, or the same full name and date of birth) by a guess of the share of all true pairs
they find, and joinedup guessed 0.8. On FEBRL4 the same full name and date of birth holds in
42% of true pairs, so the prior was half the truth and every match weight about one bit too
low (docs/benchmarks.md, "The prior"). Here the prior is instead the maximum-likelihood value
given the trained m and u: the expected number of matches among the blocked pairs (each
pair's probability) over all possible pairs, recomputed with the new prior until it settles.
That is the expectation-maximisation step for the prior alone, with m and u held; it needs no
truth and no guess of a rule's recall.

Two things bound it. Pairs no blocking rule makes are left out, so the estimate is low by the
share of true pairs blocking misses (0.5% on FEBRL4). Pairs scored below ``LOWEST_KEPT`` at
the first prior are left out too (they are not kept by the scoring): their probabilities sum
to little against the matches, and they could not pass the threshold anyway unless the prior
rose more than six bits.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# Pairs scored at least this probability with the first prior are the ones the estimate reads.
LOWEST_KEPT = 0.01


def log2_odds(probability: float) -> float:
    return math.log2(probability / (1.0 - probability))


def estimate(match_weights: npt.ArrayLike, prior: float, n_records: int, *, iterations: int = 100) -> float:
    """The prior at which the expected matches among the scored pairs, over all
    n(n-1)/2 pairs of the place, give the prior back.

    ``match_weights`` are Splink's match weights of the scored pairs, which include
    log2 of the prior odds ``prior`` they were scored with.
    """
    weights = np.asarray(match_weights, dtype=np.float64)
    possible = n_records * (n_records - 1) / 2.0
    if weights.size == 0 or possible <= 0:
        return prior
    evidence = weights - log2_odds(prior)  # each pair's log2 Bayes factor
    current = prior
    for _ in range(iterations):
        probabilities = 1.0 / (1.0 + np.exp2(-(evidence + log2_odds(current))))
        updated = float(probabilities.sum()) / possible
        # The expected matches never exceed the pairs scored, so this stays below 1; it
        # cannot fall to nought while a pair has finite evidence.
        updated = min(max(updated, 1e-300), 1.0 - 1e-12)
        if abs(math.log(updated / current)) < 1e-7:
            return updated
        current = updated
    return current
