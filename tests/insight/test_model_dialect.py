"""A model trained on DuckDB, written for Spark with its trained parameters (no Spark needed)."""

from __future__ import annotations

import copy

import pytest

from joinedup.insight import model as link_model
from joinedup.insight.splink_backend import ModelDialectError, model_for_dialect

FIELDS = frozenset({"forename", "surname", "dob", "postcode", "sex"})


def _trained_on_duckdb() -> dict:
    model = link_model.settings(FIELDS).get_settings("duckdb").as_dict()
    model["probability_two_random_records_match"] = 0.000123
    for i, comparison in enumerate(model["comparisons"]):
        for j, level in enumerate(comparison["comparison_levels"]):
            if not level.get("is_null_level"):
                level["m_probability"] = 0.01 * (j + 1) + 0.001 * i
                level["u_probability"] = 0.02 * (j + 1) + 0.0001 * i
    return model


def test_sql_is_rewritten_and_parameters_kept() -> None:
    stored = _trained_on_duckdb()
    spark = model_for_dialect(stored, FIELDS, "spark")
    assert spark["sql_dialect"] == "spark"
    conditions = [lv["sql_condition"] for c in spark["comparisons"] for lv in c["comparison_levels"]]
    assert any("jaro_winkler(`forename_l`" in c for c in conditions)
    assert not any('"' in c or "jaro_winkler_similarity" in c for c in conditions)
    rules = [r["blocking_rule"] for r in spark["blocking_rules_to_generate_predictions"]]
    assert rules and not any('"' in r for r in rules)
    assert spark["probability_two_random_records_match"] == 0.000123
    for old, new in zip(stored["comparisons"], spark["comparisons"], strict=True):
        for a, b in zip(old["comparison_levels"], new["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                assert a.get(key) == b.get(key)
    assert stored["sql_dialect"] == "duckdb", "the stored model is not changed"


def test_same_dialect_is_the_model_itself() -> None:
    stored = _trained_on_duckdb()
    assert model_for_dialect(stored, FIELDS, "duckdb") is stored


def test_a_model_of_another_shape_is_refused() -> None:
    stored = copy.deepcopy(_trained_on_duckdb())
    stored["comparisons"][0]["comparison_levels"].pop(2)
    with pytest.raises(ModelDialectError, match="re-train"):
        model_for_dialect(stored, FIELDS, "spark")
