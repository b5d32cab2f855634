"""Instruments are data: load a versioned YAML file into a validated, immutable instrument.

A readiness statement in YAML becomes two questions here, one asking how important it is
(ambition) and one asking how far it is true today (practice), so that everything
downstream (pages, import, scoring) sees plain questions with a role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from joinedup.framework import COMPONENTS, STRANDS, component

QuestionType = Literal["agreement", "scale", "practice", "single", "multiple", "number", "text"]
Role = Literal["ambition", "practice"]

DONT_KNOW = "dont_know"
PREFER_NOT = "prefer_not"
MULTI_SEPARATOR = "|"

PRACTICE_OPTIONS: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("partly", "Partly"), ("no", "No"))
MIN_STATEMENTS, MAX_STATEMENTS = 3, 5
QUESTION_TYPES = ("agreement", "scale", "practice", "single", "multiple", "number", "text")
DYNAMIC_SOURCES = ("partners", "levels", "areas")


class InstrumentError(ValueError):
    """The YAML of an instrument is not valid; the message says where and why."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Indicator:
    label: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class NationalFigure:
    value: float
    label: str
    source: str


@dataclass(frozen=True)
class Question:
    key: str
    type: QuestionType
    text: str
    section: str
    hint: str = ""
    options: tuple[Option, ...] = ()
    options_from: str | None = None
    required: bool = False
    component: str | None = None
    strand: str | None = None
    role: Role | None = None
    statement: str | None = None
    measure: str | None = None
    indicator: Indicator | None = None
    national: NationalFigure | None = None
    weighting: bool = False
    prefer_not: bool = False
    allows_dont_know: bool = False
    free_text: bool = False
    exclusive: str | None = None

    @property
    def is_numeric_scale(self) -> bool:
        return self.type == "agreement"

    def resolved_options(self, dynamic: Mapping[str, Sequence[Option]] | None = None) -> list[Option]:
        """The options a respondent chooses from, with the dynamic ones filled in."""
        opts = list(self.options)
        if self.options_from:
            opts = list((dynamic or {}).get(self.options_from, ()))
        if self.allows_dont_know:
            opts.append(Option(DONT_KNOW, "Don't know"))
        if self.prefer_not:
            opts.append(Option(PREFER_NOT, "Prefer not to say"))
        return opts


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    questions: tuple[Question, ...]
    component: str | None = None


@dataclass(frozen=True)
class Instrument:
    key: str
    version: int
    title: str
    audience: str
    intro: str
    sections: tuple[Section, ...]
    levels: tuple[Option, ...] = ()
    ambition_prompt: str = ""
    practice_prompt: str = ""
    _by_key: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.key}-v{self.version}"

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, key: str) -> Question:
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"{self.ref} has no question {key!r}") from None

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"{self.ref} has no section {key!r}")

    def scored_questions(self, role: Role | None = None) -> tuple[Question, ...]:
        return tuple(
            q for q in self.questions if q.component and (role is None or q.role == role)
        )

    def measures(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.measure and q.indicator)


def _options(raw: Any, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        raise InstrumentError(f"{where}: options must be a non-empty list")
    out = []
    for item in raw:
        if not isinstance(item, Mapping) or "value" not in item or "label" not in item:
            raise InstrumentError(f"{where}: each option needs a value and a label")
        value = str(item["value"])
        if MULTI_SEPARATOR in value:
            raise InstrumentError(f"{where}: option value {value!r} may not contain '|'")
        out.append(Option(value, str(item["label"])))
    values = [o.value for o in out]
    if len(set(values)) != len(values):
        raise InstrumentError(f"{where}: option values repeat")
    return tuple(out)


def _question(raw: Mapping[str, Any], section: str, scales: Mapping[str, tuple[Option, ...]],
              where: str) -> Question:
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise InstrumentError(f"{where}: unknown question type {qtype!r}")
    key = raw.get("key")
    if not key or not isinstance(key, str):
        raise InstrumentError(f"{where}: every question needs a key")
    options: tuple[Option, ...] = ()
    options_from = raw.get("options_from")
    if options_from is not None and options_from not in DYNAMIC_SOURCES:
        raise InstrumentError(f"{where}: options_from must be one of {DYNAMIC_SOURCES}")
    if qtype == "scale":
        scale = str(raw.get("scale"))
        if scale not in scales:
            raise InstrumentError(f"{where}: unknown scale {scale!r}")
        options = scales[scale]
    elif qtype == "practice":
        options = tuple(Option(v, label) for v, label in PRACTICE_OPTIONS)
    elif qtype in ("single", "multiple") and options_from is None:
        options = _options(raw.get("options"), where)
    indicator = None
    if "indicator" in raw:
        ind = raw["indicator"]
        indicator = Indicator(str(ind["label"]), tuple(str(v) for v in ind["values"]))
        unknown = set(indicator.values) - {o.value for o in options}
        if unknown:
            raise InstrumentError(f"{where}: indicator names unknown answers {sorted(unknown)}")
    national = None
    if "national" in raw:
        nat = raw["national"]
        national = NationalFigure(float(nat["value"]), str(nat["label"]), str(nat["source"]))
    strand_key = raw.get("strand")
    if strand_key is not None and strand_key not in {s.key for s in STRANDS}:
        raise InstrumentError(f"{where}: unknown strand {strand_key!r}")
    exclusive = raw.get("exclusive")
    if exclusive is not None and exclusive not in {o.value for o in options}:
        raise InstrumentError(f"{where}: exclusive option {exclusive!r} is not an option")
    return Question(
        key=key,
        type=qtype,
        text=str(raw.get("text", "")).strip(),
        section=section,
        hint=str(raw.get("hint", "")),
        options=options,
        options_from=options_from,
        required=bool(raw.get("required", False)),
        strand=strand_key,
        measure=raw.get("measure"),
        indicator=indicator,
        national=national,
        weighting=bool(raw.get("weighting", False)),
        prefer_not=bool(raw.get("prefer_not", False)),
        allows_dont_know=qtype in ("scale",),
        free_text=bool(raw.get("free_text", qtype == "text")),
        exclusive=exclusive,
    )


def _statement_questions(raw: Mapping[str, Any], section: str, component_key: str,
                         scales: Mapping[str, tuple[Option, ...]], prompts: tuple[str, str],
                         where: str) -> tuple[Question, Question]:
    key, text = raw.get("key"), str(raw.get("text", "")).strip()
    if not key or not text:
        raise InstrumentError(f"{where}: every statement needs a key and a text")
    strand_key = component(component_key).strand.key
    common: dict[str, Any] = dict(
        type="agreement", text=text, section=section, component=component_key,
        strand=strand_key, statement=key, allows_dont_know=True, required=False,
    )
    ambition = Question(key=f"{key}_ambition", options=scales["importance"], role="ambition",
                        hint=prompts[0], **common)
    practice = Question(key=f"{key}_practice", options=scales["agreement"], role="practice",
                        hint=prompts[1], **common)
    return ambition, practice


def parse_instrument(data: Mapping[str, Any]) -> Instrument:
    """Build and validate an instrument from its parsed YAML."""
    try:
        key, version, title = str(data["key"]), int(data["version"]), str(data["title"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InstrumentError(f"instrument needs key, version and title ({exc})") from None
    scales = {
        name: _options(opts, f"{key} scale {name}") for name, opts in (data.get("scales") or {}).items()
    }
    prompts = (str(data.get("ambition_prompt", "")), str(data.get("practice_prompt", "")))
    sections: list[Section] = []
    statements_per_component: dict[str, int] = {}
    for raw_section in data.get("sections") or []:
        skey = str(raw_section["key"])
        where = f"{key} section {skey}"
        questions: list[Question] = []
        comp = raw_section.get("component")
        if comp is not None:
            try:
                component(comp)
            except KeyError as exc:
                raise InstrumentError(f"{where}: {exc.args[0]}") from None
            if "importance" not in scales or "agreement" not in scales:
                raise InstrumentError(f"{key}: statements need importance and agreement scales")
            for raw_statement in raw_section.get("statements") or []:
                questions.extend(
                    _statement_questions(raw_statement, skey, comp, scales, prompts, where)
                )
            statements_per_component[comp] = statements_per_component.get(comp, 0) + len(
                raw_section.get("statements") or []
            )
        for raw_q in raw_section.get("questions") or []:
            questions.append(_question(raw_q, skey, scales, f"{where} question {raw_q.get('key')}"))
        if not questions:
            raise InstrumentError(f"{where}: a section needs at least one question")
        sections.append(Section(skey, str(raw_section.get("title", skey)),
                                str(raw_section.get("intro", "")).strip(), tuple(questions), comp))
    if statements_per_component:
        for comp_ in COMPONENTS:
            count = statements_per_component.get(comp_.key, 0)
            if not MIN_STATEMENTS <= count <= MAX_STATEMENTS:
                raise InstrumentError(
                    f"{key}: component {comp_.key!r} has {count} statements; "
                    f"it needs {MIN_STATEMENTS} to {MAX_STATEMENTS}"
                )
    by_key: dict[str, Question] = {}
    for q in (q for s in sections for q in s.questions):
        if q.key in by_key:
            raise InstrumentError(f"{key}: question key {q.key!r} is used twice")
        by_key[q.key] = q
    if not sections:
        raise InstrumentError(f"{key}: an instrument needs at least one section")
    levels = _options(data["levels"], f"{key} levels") if "levels" in data else ()
    return Instrument(
        key=key, version=version, title=title, audience=str(data.get("audience", "")),
        intro=str(data.get("intro", "")).strip(), sections=tuple(sections), levels=levels,
        ambition_prompt=prompts[0], practice_prompt=prompts[1], _by_key=by_key,
    )


def available() -> list[tuple[str, int]]:
    """Every (key, version) shipped in the package, sorted."""
    out = []
    for entry in resources.files("joinedup.surveys.instruments").iterdir():
        name = entry.name
        if name.endswith(".yaml") and "-v" in name:
            stem = name.removesuffix(".yaml")
            key, _, version = stem.rpartition("-v")
            out.append((key, int(version)))
    return sorted(out)


def latest_version(key: str) -> int:
    versions = [v for k, v in available() if k == key]
    if not versions:
        raise KeyError(f"no instrument called {key!r}")
    return max(versions)


@cache
def load(key: str, version: int | None = None) -> Instrument:
    """The shipped instrument `key` at `version` (the latest when None)."""
    version = latest_version(key) if version is None else version
    path = resources.files("joinedup.surveys.instruments") / f"{key}-v{version}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no instrument {key!r} version {version}") from None
    return parse_instrument(yaml.safe_load(text))
