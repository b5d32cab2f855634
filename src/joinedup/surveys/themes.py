"""Themes in free text: an analyst's codebook, a few answers coded by hand, the rest by a model.

The model is TF-IDF features and one logistic regression per theme (one-vs-rest), so an
answer may carry several themes. It runs offline on the server. Where the model is unsure of
any theme (a probability near one half), the answer goes back to the analyst instead of
being coded silently. Quotes are shown only once an analyst has reviewed the answer, and
only from areas with enough respondents that a quote cannot point to one person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from joinedup.surveys.models import (
    CodeSource,
    ResponseStatus,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
    SurveyTheme,
    SurveyThemeCode,
)
from joinedup.surveys.rounds import instrument_of

SEED_THEMES: tuple[tuple[str, str, str], ...] = (
    ("waiting", "Waiting", "Waiting times, delays, queues, slow responses"),
    ("retelling", "Retelling my story", "Having to repeat the same story or fill in the same forms"),
    ("respect", "Respect", "Being treated with dignity, kindness, not judged"),
    ("personalised", "Personalised", "A service that fits the person's circumstances"),
    ("involvement", "Involvement", "Being involved in decisions, listened to, asked"),
    ("communication", "Communication", "Being kept informed; services talking to each other"),
    ("digital", "Digital access", "Online-only services, phones, apps, forms on the internet"),
)
#: Hand-coded examples a theme needs before the model may code it.
MIN_EXAMPLES = 3
#: A probability in this band counts as unsure: the answer goes back to the analyst.
UNSURE_LOW, UNSURE_HIGH = 0.3, 0.7
THRESHOLD = 0.5
MAX_QUOTES = 3


def ensure_codebook(session: Session, round_: SurveyRound) -> list[SurveyTheme]:
    """The round's themes, seeded with the standard ones the first time."""
    if not round_.themes:
        for key, label, description in SEED_THEMES:
            round_.themes.append(SurveyTheme(key=key, label=label, description=description))
        session.flush()
    return list(round_.themes)


def add_theme(session: Session, round_: SurveyRound, key: str, label: str,
              description: str = "") -> SurveyTheme:
    key = key.strip().lower().replace(" ", "_")
    if not key or any(t.key == key for t in round_.themes):
        raise ValueError("Give the theme a new, short key")
    theme = SurveyTheme(key=key, label=label.strip() or key, description=description.strip())
    round_.themes.append(theme)
    session.flush()
    return theme


def free_text_keys(round_: SurveyRound) -> list[str]:
    return [q.key for q in instrument_of(round_).questions if q.free_text]


def free_text_answers(session: Session, round_: SurveyRound) -> list[SurveyAnswer]:
    keys = free_text_keys(round_)
    return list(session.scalars(
        select(SurveyAnswer)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.round_id == round_.id,
               SurveyResponse.status == ResponseStatus.SUBMITTED.value,
               SurveyAnswer.question_key.in_(keys))
        .options(selectinload(SurveyAnswer.codes).selectinload(SurveyThemeCode.theme))
        .order_by(SurveyAnswer.id)
    ))


def code_by_analyst(session: Session, answer: SurveyAnswer, themes: Iterable[SurveyTheme]) -> None:
    """The analyst's themes replace any the model gave; the answer counts as reviewed."""
    answer.codes.clear()
    session.flush()
    for theme in themes:
        answer.codes.append(SurveyThemeCode(theme_id=theme.id, source=CodeSource.ANALYST.value,
                                            confidence=None))
    answer.coding = CodeSource.ANALYST.value
    answer.reviewed = True
    session.flush()


@dataclass(frozen=True)
class ModelRun:
    trained: list[str]  # theme keys with enough examples
    untrained: list[str]
    coded: int
    unsure: int
    # Checked against the analyst's own codes, by cross-validation: of the themes the
    # analyst gave, the share the model found (recall), and of the themes the model gave,
    # the share the analyst had given (precision). None when there are too few examples.
    found: float | None = None
    right: float | None = None


def _cross_check(texts: Sequence[str], labels: np.ndarray) -> tuple[float | None, float | None]:
    """Recall and precision of the model on held-out analyst codes (5-fold at most)."""
    folds = min(5, len(texts))
    if folds < 3:
        return None, None
    predicted = np.zeros_like(labels)
    order = np.arange(len(texts))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        train_labels = labels[train]
        keep = [j for j in range(labels.shape[1]) if 0 < train_labels[:, j].sum() < len(train)]
        if not keep:
            continue
        vectoriser, model = _fit([texts[i] for i in train], train_labels[:, keep])
        probs = np.asarray(model.predict_proba(vectoriser.transform([texts[i] for i in test])))
        probs = probs.reshape(len(test), len(keep))
        for col, j in enumerate(keep):
            predicted[test, j] = (probs[:, col] >= THRESHOLD).astype(int)
    hits = int((predicted & labels).sum())
    given, claimed = int(labels.sum()), int(predicted.sum())
    return (hits / given if given else None), (hits / claimed if claimed else None)


def _fit(texts: Sequence[str], labels: np.ndarray) -> tuple[TfidfVectorizer, OneVsRestClassifier]:
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                 strip_accents="unicode")
    features = vectoriser.fit_transform(texts)
    model = OneVsRestClassifier(LogisticRegression(max_iter=1000, C=4.0,
                                                   class_weight="balanced"))
    model.fit(features, labels)
    return vectoriser, model


def classify(session: Session, round_: SurveyRound) -> ModelRun:
    """Train on the analyst's codes and code every answer the analyst has not coded."""
    themes = ensure_codebook(session, round_)
    answers = free_text_answers(session, round_)
    coded = [a for a in answers if a.coding == CodeSource.ANALYST.value]
    rest = [a for a in answers if a.coding != CodeSource.ANALYST.value]
    counts = {t.id: sum(1 for a in coded for c in a.codes if c.theme_id == t.id) for t in themes}
    trained = [t for t in themes if MIN_EXAMPLES <= counts[t.id] < len(coded)]
    untrained = [t.key for t in themes if t not in trained]
    if not trained or not rest:
        return ModelRun([t.key for t in trained], untrained, 0, 0)
    labels = np.array([[int(any(c.theme_id == t.id for c in a.codes)) for t in trained]
                       for a in coded])
    found, right = _cross_check([a.value for a in coded], labels)
    vectoriser, model = _fit([a.value for a in coded], labels)
    probs = model.predict_proba(vectoriser.transform([a.value for a in rest]))
    probs = np.asarray(probs).reshape(len(rest), len(trained))
    unsure = 0
    for answer, row in zip(rest, probs, strict=True):
        answer.codes.clear()
        session.flush()
        for theme, p in zip(trained, row, strict=True):
            if p >= THRESHOLD:
                answer.codes.append(SurveyThemeCode(theme_id=theme.id,
                                                    source=CodeSource.MODEL.value,
                                                    confidence=float(p)))
        is_unsure = bool(np.any((row > UNSURE_LOW) & (row < UNSURE_HIGH)))
        answer.coding = "check" if is_unsure else CodeSource.MODEL.value
        unsure += int(is_unsure)
    session.flush()
    from joinedup.surveys.results import invalidate

    invalidate(round_)
    return ModelRun([t.key for t in trained], untrained, len(rest), unsure, found, right)


def theme_columns(session: Session, round_: SurveyRound, index: pd.Index) -> dict[str, pd.Series]:
    """For each theme: 'yes'/'no' per respondent who wrote free text, None for the rest.

    Only themes that have been coded at all get a column, so an untouched codebook adds
    nothing to the results.
    """
    answers = free_text_answers(session, round_)
    if not answers or not any(a.codes for a in answers):
        return {}
    wrote = {a.response_id for a in answers}
    out: dict[str, pd.Series] = {}
    for theme in round_.themes:
        with_theme = {a.response_id for a in answers if any(c.theme_id == theme.id
                                                             for c in a.codes)}
        if not with_theme:
            continue
        col = pd.Series(np.where(index.isin(list(with_theme)), "yes", "no"), index=index,
                        dtype=object)
        col[~index.isin(list(wrote))] = None
        out[theme.key] = col
    return out


def quotes(session: Session, round_: SurveyRound, theme: SurveyTheme, frame: pd.DataFrame,
           min_group_size: int) -> list[str]:
    """Reviewed answers for a theme, from areas large enough to protect anonymity."""
    if "area" not in frame:
        return []
    area_sizes = frame["area"].value_counts()
    out = []
    for answer in free_text_answers(session, round_):
        if not answer.reviewed or not any(c.theme_id == theme.id for c in answer.codes):
            continue
        area = frame["area"].get(answer.response_id)
        if area is None or pd.isna(area) or area_sizes.get(area, 0) < min_group_size:
            continue
        out.append(answer.value)
        if len(out) >= MAX_QUOTES:
            break
    return out


def queue(session: Session, round_: SurveyRound, limit: int = 50) -> list[SurveyAnswer]:
    """Answers for the analyst: the model's unsure ones first, then those not yet coded."""
    answers = free_text_answers(session, round_)
    unsure = [a for a in answers if a.coding == "check"]
    uncoded = [a for a in answers if a.coding == ""]
    return (unsure + uncoded)[:limit]
