"""Per-task glue: documents → examples and features, model outputs → predictions.

Shared by training (dev evaluation) and :class:`core.engine.predict.Predictor`, so that
what is measured during training is exactly what prediction does. No torch here: model
outputs arrive as numpy arrays, one per feature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.engine import decoding
from core.engine.alignment import (
    OUTSIDE,
    WordTagging,
    bio_tags,
    spans_to_word_tags,
    split_words,
    tag_words,
    word_tag_groups,
)
from core.engine.features import (
    Feature,
    NerExample,
    QaExample,
    encode_ner,
    encode_qa,
    encode_texts,
    tokenize_contexts,
)
from core.engine.results import (
    AnswerPrediction,
    ClassPrediction,
    EntityPrediction,
    PredictedSpan,
    QuestionsPrediction,
)
from core.engine.settings import TaskSpec
from core.engine.windows import assign_windows
from core.types import DocumentRecord, EntitySpan, TaskKind
from core.words import snap_spans

Warn = Callable[[str], None]


def model_label_names(spec: TaskSpec) -> tuple[str, ...]:
    """The names of the model's output classes (``id2label``): BIO tags for entities."""
    return bio_tags(spec.labels) if spec.task is TaskKind.NER else tuple(spec.labels)


def is_labelled(task: TaskKind, doc: DocumentRecord) -> bool:
    """Whether a document handed to the trainer is a training example of ``task``
    (:meth:`core.tasks.base.AnnotationKind.is_example`)."""
    from core.tasks import kind_of

    return kind_of(task).is_example(doc)


def unknown_labels(spec: TaskSpec, docs: Sequence[DocumentRecord]) -> list[str]:
    """Problems with the labels of ``docs`` (labels outside the label set), for messages."""
    known = set(spec.labels)
    problems: list[str] = []
    for doc in docs:
        where = doc.external_id or (f"document {doc.doc_id}" if doc.doc_id else "a document")
        if spec.task is TaskKind.NER:
            bad = sorted({s.label for s in doc.spans} - known)
        elif spec.task is TaskKind.CLASSIFY:
            bad = sorted(set(doc.classes) - known)
            if not spec.multi_label and len(doc.classes) > 1:
                problems.append(
                    f"{where} has {len(doc.classes)} classes but the task is single-label"
                )
        else:
            bad = []
        if bad:
            problems.append(f"{where} uses label(s) {', '.join(map(repr, bad))} not in the "
                            f"label set {list(spec.labels)}")
    return problems


# --- entities ----------------------------------------------------------------------------


def ner_examples(
    spec: TaskSpec, docs: Sequence[DocumentRecord], *, with_gold: bool
) -> tuple[list[NerExample], list[WordTagging]]:
    """Each document cut into words (at its gold span boundaries when ``with_gold``)."""
    tag2id = {t: i for i, t in enumerate(model_label_names(spec))}
    examples: list[NerExample] = []
    taggings: list[WordTagging] = []
    for doc in docs:
        if with_gold:
            tagging = spans_to_word_tags(doc.text, doc.spans)
        else:
            words = split_words(doc.text)
            tagging = WordTagging(words, (OUTSIDE,) * len(words))
        strings = [doc.text[w.start:w.end] for w in tagging.words]
        tag_ids = [tag2id[t] for t in tagging.tags] if with_gold else None
        examples.append(NerExample(tagging.words, strings, tag_ids))
        taggings.append(tagging)
    return examples, taggings


def ner_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    stride: int, with_gold: bool,
) -> tuple[list[Feature], list[NerExample], list[WordTagging]]:
    examples, taggings = ner_examples(spec, docs, with_gold=with_gold)
    features = encode_ner(tokenizer, examples, max_length=max_length, stride=stride)
    return features, examples, taggings


def decode_entities(
    spec: TaskSpec,
    text: str,
    example: NerExample,
    features: Sequence[Feature],
    logits: Sequence[np.ndarray],
    *,
    viterbi: bool = True,
) -> EntityPrediction:
    """Spans in the original text from the window logits of one document.

    Each word takes the scores of its first sub-word from the window where that sub-word
    is most central; tags are decoded with BIO-constrained Viterbi (or greedy argmax), and
    the spans snapped to word boundaries (:func:`core.words.snap_spans`).
    """
    tags = model_label_names(spec)
    n_words = len(example.words)
    probs = np.zeros((n_words, len(tags)), dtype=np.float32)
    has_tokens = np.zeros(n_words, dtype=bool)
    by_window = {f.window: (f, lg) for f, lg in zip(features, logits)}
    order = sorted(example.first_positions.items(), key=lambda kv: kv[1])
    if order:
        chosen = assign_windows([pos for _, pos in order], example.bounds)
        for (wid, pos), w in zip(order, chosen):
            feature, lg = by_window[example.bounds[w]]
            row = lg[feature.content_offset + pos - feature.window[0]]
            probs[wid] = decoding.softmax(row.astype(np.float64))
            has_tokens[wid] = True
    idx = np.flatnonzero(has_tokens)
    decoded: list[str | None] = [None] * n_words
    if idx.size:
        log_p = np.log(np.clip(probs[idx].astype(np.float64), 1e-30, 1.0))
        if viterbi:
            trans, start = decoding.allowed_transitions(tags)
            chosen_ids = decoding.viterbi_decode(log_p, trans, start)
        else:
            chosen_ids = decoding.greedy_decode(log_p)
        for k, tag_id in zip(idx, chosen_ids):
            decoded[k] = tags[tag_id]
    word_tags = decoding.fill_untokenized(decoded)
    for i in range(n_words):  # dropped words borrow their neighbour's distribution
        if not has_tokens[i]:
            if i > 0:
                probs[i] = probs[i - 1]
            else:
                probs[i, 0] = 1.0
    tag_index = {t: i for i, t in enumerate(tags)}
    # Spans as a user draws them: whole words ("X-ray", "2.5"), no edge full stop, and the
    # pieces of one name joined ("renal" + "ultrasound"); the tags follow the spans.
    pieces = [
        (example.words[first].start, example.words[last - 1].end, label)
        for first, last, label in word_tag_groups(word_tags)
    ]
    snapped = snap_spans(text, pieces)
    word_tags = list(tag_words(example.words, [EntitySpan(*sp) for sp in snapped]))
    spans: list[PredictedSpan] = []
    for first, last, label in word_tag_groups(word_tags):
        chosen_p = [float(probs[k, tag_index[word_tags[k]]]) for k in range(first, last)]
        start, end = example.words[first].start, example.words[last - 1].end
        spans.append(
            PredictedSpan(
                start, end, label, float(np.mean(chosen_p)), float(np.min(chosen_p)),
                text[start:end],
            )
        )
    offsets = np.array([(w.start, w.end) for w in example.words], dtype=np.int64).reshape(-1, 2)
    return EntityPrediction(tuple(spans), offsets, probs, tuple(word_tags), tags)


# --- classes -----------------------------------------------------------------------------


def class_targets(spec: TaskSpec, docs: Sequence[DocumentRecord]) -> list[int | list[float]]:
    index = {label: i for i, label in enumerate(spec.labels)}
    if spec.multi_label:
        out: list[int | list[float]] = []
        for doc in docs:
            row = [0.0] * len(spec.labels)
            for c in doc.classes:
                row[index[c]] = 1.0
            out.append(row)
        return out
    return [index[doc.classes[0]] for doc in docs]


def class_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    stride: int, with_gold: bool,
) -> list[Feature]:
    targets = class_targets(spec, docs) if with_gold else None
    features, _ = encode_texts(
        tokenizer, [d.text for d in docs], max_length=max_length, stride=stride, labels=targets
    )
    return features


def decode_classes(
    spec: TaskSpec, logits: Sequence[np.ndarray], *, threshold: float = 0.5,
    at_least_one: bool = True,
) -> ClassPrediction:
    """Average the window probabilities of one document and pick its label(s)."""
    stacked = np.stack([np.asarray(x, dtype=np.float64) for x in logits])
    if spec.multi_label:
        probs = (1.0 / (1.0 + np.exp(-stacked))).mean(axis=0)
        chosen = [spec.labels[i] for i in np.flatnonzero(probs >= threshold)]
        if not chosen and at_least_one and len(probs):
            chosen = [spec.labels[int(np.argmax(probs))]]
    else:
        probs = decoding.softmax(stacked, axis=-1).mean(axis=0)
        chosen = [spec.labels[int(np.argmax(probs))]]
    return ClassPrediction(
        {label: float(p) for label, p in zip(spec.labels, probs)}, tuple(chosen)
    )


# --- answers -----------------------------------------------------------------------------


@dataclass
class QaBatch:
    """QA examples of a set of documents, and where each question came from."""

    examples: list[QaExample]
    contexts: list[Any]
    owners: list[tuple[int, int]]  # (document index, question index) per example
    gold: list[list[str]]  # answer texts per example (empty: unanswerable)


def qa_examples(
    docs: Sequence[DocumentRecord], tokenizer: Any, *, only_labelled: bool
) -> QaBatch:
    """One example per question (with ``only_labelled``: answered or unanswerable ones)."""
    contexts = tokenize_contexts(tokenizer, [d.text for d in docs])
    examples: list[QaExample] = []
    owners: list[tuple[int, int]] = []
    gold: list[list[str]] = []
    for d, doc in enumerate(docs):
        for q, question in enumerate(doc.questions):
            if only_labelled and not (question.answers or question.is_impossible):
                continue
            answer = None
            if question.answers and not question.is_impossible:
                a = question.answers[0]
                answer = (a.start, a.end)
            examples.append(QaExample(question.text, d, answer))
            owners.append((d, q))
            gold.append(
                [] if question.is_impossible
                else [a.text or doc.text[a.start:a.end] for a in question.answers]
            )
    return QaBatch(examples, contexts, owners, gold)


def qa_features(
    tokenizer: Any, batch: QaBatch, *, max_length: int, stride: int, with_targets: bool,
    warn: Warn | None = None,
) -> list[Feature]:
    return encode_qa(
        tokenizer, batch.examples, batch.contexts, max_length=max_length, stride=stride,
        with_targets=with_targets, warn=warn,
    )


def decode_answer(
    question: str,
    context: str,
    offsets: Sequence[tuple[int, int]],
    features: Sequence[Feature],
    outputs: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    max_answer_length: int,
    allow_no_answer: bool,
    null_threshold: float = 0.0,
    external_id: str | None = None,
) -> AnswerPrediction:
    """The best passage span across all windows of one question.

    With ``allow_no_answer`` (SQuAD 2.0), the answer is "none" unless the best span scores
    more than the no-answer score ([CLS], minimum over windows) plus ``null_threshold``.
    """
    best: tuple[float, int, int, Feature, np.ndarray, np.ndarray] | None = None
    null_score = float("inf")
    for feature, (start_logits, end_logits) in zip(features, outputs):
        start_logits = np.asarray(start_logits, dtype=np.float64)
        end_logits = np.asarray(end_logits, dtype=np.float64)
        null_score = min(null_score, float(start_logits[0] + end_logits[0]))
        allowed = np.zeros(len(start_logits), dtype=bool)
        n_content = feature.window[1] - feature.window[0]
        allowed[feature.content_offset:feature.content_offset + n_content] = True
        choice = decoding.best_answer_span(
            start_logits, end_logits, allowed, max_answer_length=max_answer_length
        )
        if choice is not None and (best is None or choice.score > best[0]):
            best = (choice.score, choice.start, choice.end, feature, start_logits, end_logits)
    if best is None:  # empty passage
        return AnswerPrediction(
            question, None, None, "", float("-inf"), 0.0, 0.0, 0.0, True,
            null_score if null_score != float("inf") else 0.0, external_id,
        )
    score, s, e, feature, start_logits, end_logits = best
    g_start = feature.window[0] + s - feature.content_offset
    g_end = feature.window[0] + e - feature.content_offset
    char_start, char_end = offsets[g_start][0], offsets[g_end][1]
    p_start = float(decoding.softmax(start_logits)[s])
    p_end = float(decoding.softmax(end_logits)[e])
    no_answer = allow_no_answer and not score > null_score + null_threshold
    return AnswerPrediction(
        question=question,
        start=char_start,
        end=char_end,
        text=context[char_start:char_end],
        score=score,
        probability=p_start * p_end,
        start_probability=p_start,
        end_probability=p_end,
        no_answer=no_answer,
        no_answer_score=null_score,
        external_id=external_id,
    )


def group_by_example(features: Sequence[Feature], n_examples: int) -> list[list[int]]:
    """Feature indices of each example, in window order."""
    groups: list[list[int]] = [[] for _ in range(n_examples)]
    for i, f in enumerate(features):
        groups[f.example].append(i)
    return groups


def assemble_questions(
    docs: Sequence[DocumentRecord], batch: QaBatch, answers: Sequence[AnswerPrediction]
) -> list[QuestionsPrediction]:
    """Per document, its questions' answers in question order."""
    per_doc: list[list[AnswerPrediction | None]] = [[None] * len(d.questions) for d in docs]
    for (d, q), answer in zip(batch.owners, answers):
        per_doc[d][q] = answer
    return [QuestionsPrediction(tuple(a for a in row if a is not None)) for row in per_doc]
