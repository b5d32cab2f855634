"""Training a place's model: the prior from deterministic rules, u from random pairs, and m
by EM sessions, each blocked on fields it then cannot estimate (``model.training_rules``).

Kept apart from ``link``, which scores and clusters with the model trained here.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from joinedup.insight import household_comparisons, splink_backend, surname_comparison
from joinedup.insight import model as link_model
from joinedup.insight.household_birthdays import HouseholdShares

__all__ = ["EM_PAIRS", "U_PAIRS", "TrainingError", "train"]

logger = logging.getLogger(__name__)

U_PAIRS = 1e6
EM_PAIRS = 5e5


class TrainingError(RuntimeError):
    """The model could not be trained (no EM session found pairs to train on)."""


def train(
    linker: Any, n_records: int, present: frozenset[str], seed: int, household: HouseholdShares | None
) -> None:
    """Train the linker's model on its records (``n_records`` of them, holding the fields
    ``present``): the prior from deterministic rules, u from random pairs, m by EM sessions."""
    from splink.internals.exceptions import EMTrainingException, SplinkException

    steps = linker.training
    steps.estimate_probability_two_random_records_match(
        link_model.deterministic_rules(present), recall=0.8
    )
    # Training sizes are capped so that training time stays flat as a place grows: a million
    # random pairs estimate u as well as two million did (F1 within ±0.0007 on FEBRL4, the
    # hard place's three seeds and the 1M place, either way round) in 3.9 s rather than 6.6 s
    # at 1M records, and EM converges on half a million blocked pairs (docs/benchmarks.md).
    steps.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=seed)
    # A woman's different surname, split by her postcodes: each part given the postcodes'.
    given = functools.partial(
        splink_backend.given_other_comparison, linker, "surname", surname_comparison.POSTCODE_LEVELS_GIVEN,
        surname_comparison.WOMANS_OTHER_SURNAME_LEVEL, "postcode",
    )  # fmt: skip
    given("u")
    household_comparisons.set_household_corrections(linker, household)
    em_pairs = max(2e5, min(EM_PAIRS, n_records * 2.0))
    trained = 0
    for rule in link_model.training_rules(present):
        # A session works on the linker's own settings: it takes out the comparisons its rule
        # blocks on and moves the prior, and puts them back only when it completes. A session
        # that failed left a model without names or date of birth and a prior of 0.97, which
        # put 400 people into 317 persons (tests/insight/test_em_failure.py).
        kept = linker._settings_obj.core_model_settings.copy()  # noqa: SLF001 (no public copy)
        try:
            steps.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=em_pairs
            )
            trained += 1
            given("m")
        except (EMTrainingException, ValueError, SplinkException) as exc:
            # A rule that finds no pairs, or whose pairs drive a probability to underflow,
            # trains nothing; the other sessions still do.
            linker._settings_obj.core_model_settings = kept  # noqa: SLF001 (no public setter)
            logger.info("EM session on %s skipped: %s", rule, str(exc).splitlines()[0])
    if not trained:
        raise TrainingError("the records share too little to train the model (no training pairs)")
    splink_backend.floor_m_probabilities(linker, link_model.M_PROBABILITY_FLOOR)
