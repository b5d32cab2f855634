"""The account's sentence: it leads with the analyst's headline measure; without one, with
the largest change whose interval excludes zero, and says so; and it shows what the
programme's own before and after would have claimed."""

from __future__ import annotations

from typing import Any

from joinedup.value.present import headline


def _measure(key: str, label: str, effect: float, low: float, high: float, naive: float) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "effect": effect,
        "ci_low": low,
        "ci_high": high,
        "naive_effect": naive,
        "method": "did",
    }


def _account(chosen: str = "") -> dict[str, Any]:
    return {
        "n_programme": 400,
        "parameters": {"headline_measure": chosen, "persistence_years": 5},
        "measures": [
            # Largest, but its interval includes zero.
            _measure("ae_attendances", "A&E attendances", -0.30, -0.70, 0.10, -0.50),
            _measure("arrests", "Arrests", -0.05, -0.09, -0.01, -0.06),
            _measure("crisis_mental_health", "Crisis mental health contacts", -0.12, -0.20, -0.04, -0.35),
        ],
        "totals": None,
    }


def test_the_analysts_headline_measure_leads_whatever_its_size() -> None:
    text = headline(_account("arrests"))
    assert text.startswith("For 400 people, arrests fell by 0.05 a quarter more than for similar people")
    assert "No headline measure" not in text


def test_without_a_choice_the_largest_change_whose_interval_excludes_zero_leads_and_says_so() -> None:
    text = headline(_account())
    assert "crisis mental health contacts fell by 0.12" in text.lower()
    assert "(95% interval −0.20 to −0.04)" in text or "(95% interval -0.20 to -0.04)" in text
    assert "largest change whose interval excludes zero" in text
    # Why the comparison group matters: before and after alone would overstate it.
    assert "before and after alone would say" in text and "0.35" in text


def test_a_chosen_measure_that_cannot_be_shown_falls_back_to_the_rule() -> None:
    acc = _account("homelessness_approaches")
    assert "crisis mental health contacts" in headline(acc).lower()


def test_with_no_interval_excluding_zero_the_sentence_says_it_is_uncertain() -> None:
    acc = _account()
    acc["measures"] = acc["measures"][:1]
    text = headline(acc)
    assert "A&E attendances" in text and "uncertain" in text
