"""From the engine's predictions to the plain probability matrices the strategies rank.

See :mod:`core.active.strategies` for the shape: one ``(units, options)`` matrix per
document. Also the confidence stored on each suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.engine.results import (
    AnswerPrediction,
    AttributesPrediction,
    ClassPrediction,
    DocumentPrediction,
    EntityPrediction,
    QuestionsPrediction,
    RelationsPrediction,
    SentencesPrediction,
)


def answer_distribution(answer: AnswerPrediction) -> np.ndarray:
    """``[p_span, p_null, rest]`` of one question.

    ``p_span`` is start x end probability of the best span; ``p_null`` that of [CLS]
    (start and end on it): ``p_span * exp(no_answer_score - score)`` since both come from
    the same softmaxes; ``rest`` the mass of all other spans.
    """
    p_span = float(answer.probability) if answer.start is not None else 0.0
    if answer.start is None or not math.isfinite(answer.score):
        p_null = 1.0
    else:
        gap = float(answer.no_answer_score) - float(answer.score)
        p_null = p_span * math.exp(min(gap, 50.0)) if p_span > 0 else 0.0
    p_span = min(max(p_span, 0.0), 1.0)
    p_null = min(max(p_null, 0.0), 1.0 - p_span)
    return np.array([p_span, p_null, max(0.0, 1.0 - p_span - p_null)], dtype=np.float64)


def answer_confidence(answer: AnswerPrediction) -> float:
    """Probability of the option the model chose: the span's, or "no answer"'s."""
    dist = answer_distribution(answer)
    return float(dist[1] if answer.no_answer else dist[0])


def class_matrix(pred: ClassPrediction, *, multi_label: bool) -> np.ndarray:
    """Single-label: one row over the labels; multi-label: one ``[p, 1 - p]`` row per label."""
    p = np.array(list(pred.probabilities.values()), dtype=np.float64)
    if multi_label:
        return np.stack([p, 1.0 - p], axis=1) if p.size else np.zeros((0, 2))
    total = p.sum()
    return (p / total)[None, :] if total > 0 else np.full((1, max(p.size, 1)), 1.0 / max(p.size, 1))


def class_confidence(pred: ClassPrediction, *, multi_label: bool) -> float:
    """Single-label: the top probability; multi-label: the lowest probability among the
    predicted labels (the suggestion is only as sure as its weakest label)."""
    if not pred.labels:
        return 0.0
    return float(min(pred.probabilities.get(label, 0.0) for label in pred.labels))


def probability_matrix(
    pred: DocumentPrediction,
    *,
    multi_label: bool = False,
    questions: Sequence[int] | None = None,
) -> np.ndarray:
    """The ``(units, options)`` matrix of one document's prediction.

    ``questions``: indices of the questions to include (QA; default all), e.g. only the
    open ones.
    """
    if isinstance(pred, EntityPrediction):  # (words, tags), or (words, labels, 3) flattened
        probs = np.asarray(pred.word_probs, dtype=np.float64)
        width = int(np.prod(probs.shape[1:])) if probs.ndim > 1 else 1
        return probs.reshape(len(probs), width)  # a document of no word too: (0, tags)
    if isinstance(pred, ClassPrediction):
        return class_matrix(pred, multi_label=multi_label)
    if isinstance(pred, QuestionsPrediction):
        chosen = range(len(pred.answers)) if questions is None else questions
        rows = [answer_distribution(pred.answers[i]) for i in chosen]
        return np.stack(rows) if rows else np.zeros((0, 3))
    if isinstance(pred, AttributesPrediction):
        # One row per entity and attribute over its values; attributes with fewer values
        # are padded with zeros (exact for least confidence and margin; entropy is then
        # normalised by the largest number of values).
        width = max((len(v.probabilities) for v in pred.values), default=2)
        out = np.zeros((len(pred.values), width))
        for i, v in enumerate(pred.values):
            p = list(v.probabilities.values())
            out[i, :len(p)] = p
        return out
    if isinstance(pred, RelationsPrediction):
        # One row per candidate pair over no relation and the types its labels allow,
        # padded with zeros as the attributes' rows are.
        width = max((len(p.probabilities) for p in pred.pairs), default=2)
        out = np.zeros((len(pred.pairs), width))
        for i, pair in enumerate(pred.pairs):
            p = list(pair.probabilities.values())
            out[i, :len(p)] = p
        return out
    if isinstance(pred, SentencesPrediction):  # one row per sentence (per label: multi-label)
        rows = [class_matrix(ClassPrediction(s.probabilities, s.labels), multi_label=multi_label)
                for s in pred.sentences]
        return np.concatenate(rows) if rows else np.zeros((0, 2))
    raise TypeError(f"unknown prediction type {type(pred).__name__}")
