"""Predict documents with a loaded model and score predictions against gold labels.

One code path for dev evaluation during training, ``annotator evaluate`` and
:class:`core.engine.predict.Predictor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.engine import metrics as M
from core.engine import tasks
from core.engine.alignment import common_word_tags
from core.engine.results import (
    ClassPrediction,
    DocumentPrediction,
    EntityPrediction,
    QuestionsPrediction,
)
from core.engine.settings import TaskSpec
from core.types import DocumentRecord, EntitySpan, TaskKind


@dataclass(frozen=True)
class InferenceOptions:
    """How to predict: window size/overlap, batch size and decoding choices."""

    max_length: int = 256
    stride: int = 64
    batch_size: int = 32
    viterbi: bool = True
    class_threshold: float = 0.5
    max_answer_length: int = 30
    null_threshold: float = 0.0


def predict_documents(
    model: Any,
    tokenizer: Any,
    spec: TaskSpec,
    docs: Sequence[DocumentRecord],
    options: InferenceOptions,
    device: Any,
    *,
    with_loss: bool = False,
) -> tuple[list[DocumentPrediction], float | None]:
    """Predictions for ``docs`` in input order, and (``with_loss``) the mean gold loss."""
    from core.engine.runtime import forward_features

    pad_id = int(tokenizer.pad_token_id or 0)
    common = dict(batch_size=options.batch_size, device=device, pad_id=pad_id,
                  multi_label=spec.multi_label)
    if spec.task is TaskKind.NER:
        return _predict_entities(model, tokenizer, spec, docs, options, common, with_loss)
    if spec.task is TaskKind.CLASSIFY:
        feats = tasks.class_features(
            tokenizer, spec, docs, max_length=options.max_length, stride=options.stride,
            with_gold=with_loss,
        )
        res = forward_features(model, feats, task="classify", with_loss=with_loss, **common)
        preds: list[DocumentPrediction] = []
        for group in tasks.group_by_example(feats, len(docs)):
            preds.append(tasks.decode_classes(
                spec, [res.outputs[i] for i in group], threshold=options.class_threshold
            ))
        return preds, res.loss
    batch = tasks.qa_examples(docs, tokenizer, only_labelled=with_loss)
    feats = tasks.qa_features(
        tokenizer, batch, max_length=options.max_length, stride=options.stride,
        with_targets=with_loss,
    )
    res = forward_features(model, feats, task="qa", with_loss=with_loss, **common)
    answers = []
    for k, group in enumerate(tasks.group_by_example(feats, len(batch.examples))):
        d, q = batch.owners[k]
        ctx = batch.contexts[batch.examples[k].context_index]
        answers.append(tasks.decode_answer(
            batch.examples[k].question, docs[d].text, ctx.offsets,
            [feats[i] for i in group], [res.outputs[i] for i in group],
            max_answer_length=options.max_answer_length,
            allow_no_answer=spec.allow_no_answer, null_threshold=options.null_threshold,
            external_id=docs[d].questions[q].external_id,
        ))
    return list(tasks.assemble_questions(docs, batch, answers)), res.loss


def _predict_entities(
    model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
    options: InferenceOptions, common: dict[str, Any], with_loss: bool,
) -> tuple[list[DocumentPrediction], float | None]:
    from core.engine.runtime import forward_features

    kw = dict(max_length=options.max_length, stride=options.stride)
    feats, examples, _ = tasks.ner_features(tokenizer, spec, docs, with_gold=False, **kw)
    res = forward_features(model, feats, task="ner", **common)
    loss = None
    if with_loss:  # the loss needs the gold word split (cut at the gold span ends)
        gold_feats, _, _ = tasks.ner_features(tokenizer, spec, docs, with_gold=True, **kw)
        loss = forward_features(model, gold_feats, task="ner", with_loss=True, **common).loss
    preds: list[DocumentPrediction] = []
    for d, group in enumerate(tasks.group_by_example(feats, len(docs))):
        preds.append(tasks.decode_entities(
            spec, docs[d].text, examples[d], [feats[i] for i in group],
            [res.outputs[i] for i in group], viterbi=options.viterbi,
        ))
    return preds, loss


def score_predictions(
    spec: TaskSpec, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
) -> dict[str, Any]:
    """Dev/test metrics of ``preds`` against the gold labels of ``docs``.

    Entities: strict entity-level P/R/F1 (exact character spans) + word accuracy; classes:
    accuracy + macro-F1; answers: SQuAD exact match + F1. All with ``per_label``.
    """
    if spec.task is TaskKind.NER:
        gold_tags, pred_tags = [], []
        for doc, pred in zip(docs, preds):
            assert isinstance(pred, EntityPrediction)
            predicted = [EntitySpan(s.start, s.end, s.label) for s in pred.spans]
            g, p = common_word_tags(doc.text, doc.spans, predicted)
            gold_tags.append(g)
            pred_tags.append(p)
        return M.entity_metrics(gold_tags, pred_tags)
    if spec.task is TaskKind.CLASSIFY:
        gold = [tuple(d.classes) for d in docs]
        predicted_labels = []
        for pred in preds:
            assert isinstance(pred, ClassPrediction)
            predicted_labels.append(pred.labels)
        return M.classification_metrics(gold, predicted_labels, spec.labels)
    gold_answers: list[list[str]] = []
    predicted_text: list[str] = []
    for doc, pred in zip(docs, preds):
        assert isinstance(pred, QuestionsPrediction)
        by_question = iter(pred.answers)
        for question in doc.questions:
            if not (question.answers or question.is_impossible):
                continue
            answer = next(by_question, None)
            gold_answers.append(
                [] if question.is_impossible
                else [a.text or doc.text[a.start:a.end] for a in question.answers]
            )
            predicted_text.append("" if answer is None or answer.no_answer else answer.text)
    return M.qa_metrics(gold_answers, predicted_text)


def collapse_warning(
    spec: TaskSpec, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction],
    metrics: dict[str, Any],
) -> str | None:
    """A message when dev predictions collapsed (no entities / one class / zero F1)."""
    advice = ("Label more examples, train for more epochs, or raise the learning rate "
              "(preset 'default').")
    if spec.task is TaskKind.NER:
        n_gold = sum(len(d.spans) for d in docs)
        n_pred = sum(len(p.spans) for p in preds if isinstance(p, EntityPrediction))
        if n_gold and not n_pred:
            return ("the model predicts no entity at all on the dev documents (everything "
                    f"'O') although they hold {n_gold}. " + advice)
    elif spec.task is TaskKind.CLASSIFY:
        gold = {c for d in docs for c in d.classes}
        predicted = {lab for p in preds if isinstance(p, ClassPrediction) for lab in p.labels}
        if len(gold) > 1 and len(predicted) == 1:
            return (f"the model predicts the same class ({next(iter(predicted))!r}) for every "
                    "dev document. " + advice)
    else:
        answers = [a for p in preds if isinstance(p, QuestionsPrediction) for a in p.answers]
        if answers and all(a.no_answer for a in answers):
            return "the model answers no dev question. " + advice
    value = M.primary_metric(spec.task.value, metrics)
    if metrics and value == 0.0:
        name = "macro-F1" if spec.task is TaskKind.CLASSIFY else "F1"
        return f"the dev {name} is 0. " + advice
    return None


def weak_labels_warning(spec: TaskSpec, metrics: dict[str, Any]) -> str | None:
    """A message naming the labels the model never gets right on dev (F1 0 although the dev
    documents hold examples of them), when the run as a whole learned something (a run
    that learned nothing is :func:`collapse_warning`'s)."""
    if spec.task is TaskKind.QA or not metrics:
        return None
    if M.primary_metric(spec.task.value, metrics) == 0.0:
        return None
    weak = [(label, int(row["support"])) for label, row in metrics.get("per_label", {}).items()
            if row.get("support") and row.get("f1", 0.0) == 0.0]
    if not weak:
        return None
    names = ", ".join(f"{label!r} ({n} dev example{'s' if n != 1 else ''})"
                      for label, n in weak)
    return (f"the model never gets {names} right on the dev documents (F1 0): label more "
            "examples of them")


def mean_pool(parts: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """One vector from per-window (sum, count) pairs: the mean over all real tokens."""
    total = sum(n for _, n in parts)
    return sum(v for v, _ in parts) / max(total, 1)
