"""Checking answers: the same rules for the web form and the CSV import."""

from __future__ import annotations

from joinedup.surveys import instrument
from joinedup.surveys.answering import check_answer
from joinedup.surveys.instrument import Option

CV = instrument.load("citizen_voice")
RD = instrument.load("readiness")
DYN = {"areas": [Option("North", "North")], "partners": [Option("1", "Council")],
       "levels": list(RD.levels)}


def test_required_question_left_blank_says_what_to_do() -> None:
    result = check_answer(CV.question("services_used"), [], dynamic=DYN)
    assert result.error and result.error.startswith("Select")


def test_multiple_choice_is_stored_in_option_order() -> None:
    result = check_answer(CV.question("services_used"), ["police", "gp"], dynamic=DYN)
    assert result.value == "gp|police"


def test_none_of_these_must_be_on_its_own() -> None:
    result = check_answer(CV.question("services_used"), ["none", "gp"], dynamic=DYN)
    assert result.error and "on its own" in result.error


def test_unknown_choice_is_refused() -> None:
    assert check_answer(CV.question("dignity"), ["sometimes-ish"], dynamic=DYN).error
    assert check_answer(CV.question("dignity"), ["dont_know"], dynamic=DYN).value == "dont_know"


def test_dynamic_options_come_from_the_round() -> None:
    assert check_answer(CV.question("area"), ["North"], dynamic=DYN).value == "North"
    assert check_answer(CV.question("area"), ["prefer_not"], dynamic=DYN).value == "prefer_not"
    assert check_answer(CV.question("area"), ["South"], dynamic=DYN).error


def test_agreement_scale_allows_dont_know() -> None:
    q = RD.scored_questions("practice")[0]
    assert check_answer(q, ["4"]).value == "4"
    assert check_answer(q, ["dont_know"]).value == "dont_know"
    assert check_answer(q, ["6"]).error


def test_practice_check_keeps_its_evidence_note() -> None:
    q = RD.question("check_pooled_budget")
    result = check_answer(q, ["partly"], note="Section 75 agreement, 2025")
    assert result.value == "partly" and result.note == "Section 75 agreement, 2025"


def test_free_text_is_kept_and_limited() -> None:
    q = CV.question("better_together")
    assert check_answer(q, ["  One contact  "]).value == "One contact"
    assert check_answer(q, ["x" * 5000]).error


def test_number_questions_take_numbers_only() -> None:
    from joinedup.surveys.instrument import Question

    q = Question(key="years", type="number", text="How many years have you worked here?",
                 section="about_you")
    assert check_answer(q, ["12"]).value == "12"
    assert check_answer(q, ["2.5"]).value == "2.5"
    assert check_answer(q, ["a dozen"]).error == (
        "Enter a number for: How many years have you worked here?")
    assert check_answer(q, [""]).value is None  # optional and blank
