"""The shipped instruments load, follow the framework and refuse malformed YAML."""

from __future__ import annotations

import copy

import pytest
import yaml

from joinedup.framework import COMPONENTS
from joinedup.surveys import instrument
from joinedup.surveys.instrument import InstrumentError, parse_instrument


def test_readiness_asks_each_statement_as_ambition_and_practice() -> None:
    inst = instrument.load("readiness")
    for comp in COMPONENTS:
        amb = [q for q in inst.scored_questions("ambition") if q.component == comp.key]
        prac = [q for q in inst.scored_questions("practice") if q.component == comp.key]
        assert 3 <= len(amb) <= 5
        assert [q.statement for q in amb] == [q.statement for q in prac]
        assert all(q.strand == comp.strand.key for q in amb + prac)


def test_readiness_has_practice_checks_for_every_strand() -> None:
    inst = instrument.load("readiness")
    strands = {q.strand for q in inst.questions if q.type == "practice"}
    assert strands == {c.strand.key for c in COMPONENTS}


def test_citizen_voice_carries_the_national_figures() -> None:
    inst = instrument.load("citizen_voice")
    national = {q.key: q.national.value for q in inst.measures() if q.national}
    assert national == {"personalised": 0.14, "involved": 0.48}
    assert {q.key for q in inst.questions if q.weighting} == {"age_band", "sex", "area"}
    assert all(q.prefer_not for q in inst.questions if q.weighting)


def _raw(key: str) -> dict:
    from importlib import resources

    text = (resources.files("joinedup.surveys.instruments") / f"{key}-v1.yaml").read_text()
    return yaml.safe_load(text)


def test_a_component_with_too_few_statements_is_refused() -> None:
    raw = copy.deepcopy(_raw("readiness"))
    section = next(s for s in raw["sections"] if s.get("component") == "risk")
    section["statements"] = section["statements"][:2]
    with pytest.raises(InstrumentError, match="risk"):
        parse_instrument(raw)


def test_an_unknown_component_is_refused() -> None:
    raw = copy.deepcopy(_raw("readiness"))
    raw["sections"][1]["component"] = "synergy"
    with pytest.raises(InstrumentError, match="synergy"):
        parse_instrument(raw)


def test_an_indicator_must_name_real_answers() -> None:
    raw = copy.deepcopy(_raw("citizen_voice"))
    q = raw["sections"][1]["questions"][0]
    q["indicator"]["values"] = ["always", "frequently"]
    with pytest.raises(InstrumentError, match="frequently"):
        parse_instrument(raw)
