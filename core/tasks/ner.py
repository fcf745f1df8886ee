"""Entities: spans of the text with a label, trained as BIO token tagging.

A task that lets entities overlap and nest (``TaskSpec.overlapping``, ``init
--overlapping``) trains a per-label tagger instead: a plain token classifier with three
outputs per label (``O-x``, ``B-x``, ``I-x``), read as one independent O/B/I softmax per
label and token; the loss is the sum over labels of each one's token cross-entropy, and
each label's tags are decoded on their own, so entities of different labels may overlap or
nest. Within one label the tags still hold one entity per word: of two overlapping or
nested entities of the same label the first (then the longer) is trained, the other left
out with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from core.engine import decoding
from core.engine.alignment import (
    IGNORE_INDEX,
    OUTSIDE,
    Word,
    WordTagging,
    bio_tags,
    spans_to_word_tags,
    split_words,
    tag_words,
    usable_spans,
    word_tag_groups,
)
from core.engine.decoding import group_by_example
from core.engine.features import Feature, NerExample, encode_ner
from core.engine.results import EntityPrediction, PredictedSpan
from core.engine.settings import TaskSpec
from core.engine.windows import assign_windows
from core.tasks.base import (
    DOCUMENTS,
    AnnotationKind,
    ClashCheck,
    NewSuggestion,
    PayloadError,
    SuggestionPayload,
    human_entities,
    marked_sql,
    nested_entity_clashes,
    payload_field,
)
from core.types import DocumentRecord, EntitySpan, TaskKind
from core.words import snap_spans

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
    from core.engine.results import DocumentPrediction
    from core.store.models import Suggestion


@dataclass(frozen=True)
class EntityPayload:
    """A suggested entity: ``text[start:end]`` is a ``label``."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise PayloadError(f"entity suggestion with bad offsets [{self.start}, {self.end})")
        if not self.label:
            raise PayloadError("entity suggestion without a label")

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EntityPayload:
        return cls(
            payload_field(data, "start", int, "entity"),
            payload_field(data, "end", int, "entity"),
            payload_field(data, "label", str, "entity"),
        )


class NerKind(AnnotationKind):
    """Entity spans. A document labelled for entities with no span in it is a true
    negative: it teaches "nothing here"."""

    kind = TaskKind.NER
    suggestion_kind = "entity"
    Payload = EntityPayload
    label_table = "entity_annotations"

    def count_warnings(self, counts: Mapping[str, int]) -> list[str]:
        from core.engine.prepare import MIN_MENTIONS

        mentions = sum(counts.values())  # the one guard on mentions rather than labels
        if mentions < MIN_MENTIONS:
            return [f"only {mentions} entity mention(s) labelled: label at least "
                    f"{MIN_MENTIONS}"]
        return []

    # --- which documents are labelled -------------------------------------------------

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.spans) or TaskKind.NER in record.labelled_for

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "(EXISTS (SELECT 1 FROM entity_annotations _e WHERE _e.document_id = "
            f"{alias}.id) OR {marked_sql(alias, TaskKind.NER)})"
        )

    def predict_sql(self, alias: str = DOCUMENTS) -> str | None:
        # Every unreviewed document is predicted, partly labelled ones too: suggestions
        # that overlap a human span are dropped when stored.
        return None

    # --- the model --------------------------------------------------------------------

    auto_model = "AutoModelForTokenClassification"
    onnx_predicts = True

    def model_label_names(self, spec: TaskSpec) -> tuple[str, ...]:
        return per_label_tags(spec.labels) if spec.overlapping else bio_tags(spec.labels)

    def training_module(self, model: Any, spec: TaskSpec,
                        features: Sequence[Any] = ()) -> Any:
        return per_label_loss(model, label_groups(spec.labels)) if spec.overlapping else model

    def clash_check(self, session: Session, doc_ids: Sequence[int]) -> ClashCheck:
        """In a task whose entities may overlap, a suggested entity clashes only with a
        person's of the same extent or an overlapping one of the same label
        (:func:`core.tasks.base.nested_entity_clashes`); otherwise the base rule."""
        from core.store import repo

        if not repo.overlapping_allowed(session):
            return super().clash_check(session, doc_ids)
        entities = human_entities(session, doc_ids)

        def nested(doc_id: int, question_id: int | None, payload: SuggestionPayload,
                   adds_to_existing: bool = False) -> bool:
            p: Any = payload
            return nested_entity_clashes(entities.get(doc_id, ()), p.start, p.end, p.label)

        return nested

    def labels_used(self, doc: DocumentRecord) -> Sequence[str]:
        return [s.label for s in doc.spans]

    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        feats, _, taggings = ner_features(
            tokenizer, spec, docs, with_gold=True, max_length=max_length, stride=stride
        )
        dropped = sum(len(t.dropped) for t in taggings)
        if dropped and spec.overlapping:
            warn(f"{dropped} span(s) overlapping or nested in another of the same label (or "
                 "blank) cannot be expressed by the per-label tagger and were left out of "
                 "training")
        elif dropped:
            warn(f"{dropped} overlapping or blank span(s) cannot be expressed as BIO "
                 "tags and were left out of training")
        return list(feats)

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        from core.engine.onnx_model import OnnxModel

        kw = dict(max_length=options.max_length, stride=options.stride)
        feats, examples, _ = ner_features(tokenizer, spec, docs, with_gold=False, **kw)
        if isinstance(model, OnnxModel):  # no torch in this process (the command line)
            outputs = model.forward_features(feats, batch_size=common["batch_size"],
                                             pad_id=common["pad_id"])
        else:
            from core.engine.runtime import forward_features

            outputs = forward_features(model, feats, task="ner", **common).outputs
        loss = None
        if with_loss:  # the loss needs the gold word split (cut at the gold span ends)
            gold_feats, _, _ = ner_features(tokenizer, spec, docs, with_gold=True, **kw)
            if spec.overlapping:  # the model's own loss knows one softmax only
                outputs = forward_features(model, gold_feats, task="ner", **common).outputs
                loss = per_label_nll(outputs, [f.labels for f in gold_feats],  # type: ignore[misc]
                                     len(spec.labels))
            else:
                loss = forward_features(model, gold_feats, task="ner", with_loss=True,
                                        **common).loss
        decode = decode_overlapping if spec.overlapping else decode_entities
        preds: list[DocumentPrediction] = []
        for d, group in enumerate(group_by_example(feats, len(docs))):
            preds.append(decode(
                spec, docs[d].text, examples[d], [feats[i] for i in group],
                [outputs[i] for i in group], viterbi=options.viterbi,
            ))
        return preds, loss

    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """Strict entity-level P/R/F1 (exact character spans) + word accuracy; a task whose
        entities overlap: exact-match P/R/F1 over the sets of (start, end, label)."""
        from core.engine import metrics
        from core.engine.alignment import common_word_tags

        if spec.overlapping:
            return metrics.span_set_metrics(
                [[(s.start, s.end, s.label) for s in doc.spans] for doc in docs],
                [[(s.start, s.end, s.label) for s in getattr(p, "spans", ())] for p in preds],
            )
        gold_tags, pred_tags = [], []
        for doc, pred in zip(docs, preds):
            predicted = [EntitySpan(s.start, s.end, s.label) for s in pred.spans]  # type: ignore[union-attr]
            g, p = common_word_tags(doc.text, doc.spans, predicted)
            gold_tags.append(g)
            pred_tags.append(p)
        return metrics.entity_metrics(gold_tags, pred_tags)

    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        n_gold = sum(len(d.spans) for d in docs)
        n_pred = sum(len(getattr(p, "spans", ())) for p in preds)
        if n_gold and not n_pred:
            return ("the model predicts no entity at all on the dev documents (everything "
                    f"'O') although they hold {n_gold}.")
        return None

    # --- suggestions ------------------------------------------------------------------

    def payload_from_json(self, data: Mapping[str, Any]) -> EntityPayload:
        return EntityPayload.from_json(data)

    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        spans = getattr(prediction, "spans", ())
        return [
            NewSuggestion(
                doc_id, EntityPayload(int(s.start), int(s.end), s.label), float(s.confidence)
            )
            for s in spans
        ]

    def human_labels(
        self, session: Session, doc_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, int]]]:
        from core.store.models import EntityAnnotation

        spans: dict[int, list[tuple[int, int]]] = {}
        for d, s, e in session.execute(
            select(EntityAnnotation.document_id, EntityAnnotation.start, EntityAnnotation.end)
            .where(EntityAnnotation.document_id.in_(list(doc_ids)))
        ):
            spans.setdefault(d, []).append((s, e))
        return spans

    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: Any,
        *, adds_to_existing: bool = False,
    ) -> bool:
        a, b = payload.start, payload.end
        return any(x < b and a < y for x, y in human.get(doc_id, ()))

    def apply(
        self, session: Session, row: Suggestion, payload: Any, *, annotator: str, origin: str,
    ) -> None:
        from core.store import repo
        from core.store.models import Document

        doc = session.get(Document, row.document_id)
        assert doc is not None  # the foreign key cascades deletes
        try:
            repo.add_entity(
                session, row.document_id, payload.start, payload.end, payload.label,
                annotator=annotator, origin=origin, suggestion_id=row.id,
            )
        except repo.AnnotationError as exc:
            raise repo.AnnotationError(
                f"cannot accept the suggested {payload.label} "
                f"{doc.text[payload.start:payload.end]!r}: {exc}"
            ) from exc

    def edited(self, payload: Any, **changes: Any) -> EntityPayload:
        start, end, label = changes.get("start"), changes.get("end"), changes.get("label")
        return EntityPayload(
            payload.start if start is None else int(start),
            payload.end if end is None else int(end),
            payload.label if label is None else str(label),
        )

    def pending_fields(
        self, payload: Any, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        return {
            "start": payload.start, "end": payload.end, "label": payload.label,
            "text": doc_text[payload.start:payload.end],
        }

    def human_only(self, session: Session) -> int:
        from core.store.models import EntityAnnotation

        return int(session.scalar(
            select(func.count(EntityAnnotation.id)).where(
                EntityAnnotation.origin == "human", EntityAnnotation.suggestion_id.is_(None)
            )
        ) or 0)


# --- model inputs and decoding ---------------------------------------------------------


def ner_examples(
    spec: TaskSpec, docs: Sequence[DocumentRecord], *, with_gold: bool
) -> tuple[list[NerExample], list[WordTagging]]:
    """Each document cut into words (at its gold span boundaries when ``with_gold``)."""
    if spec.overlapping:
        return per_label_examples(spec, docs, with_gold=with_gold)
    tag2id = {t: i for i, t in enumerate(bio_tags(spec.labels))}
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
    tags = bio_tags(spec.labels)
    n_words = len(example.words)
    probs = np.zeros((n_words, len(tags)), dtype=np.float32)
    has_tokens = np.zeros(n_words, dtype=bool)
    by_window = {f.window: (f, lg) for f, lg in zip(features, logits)}
    order = sorted(example.first_positions.items(), key=lambda kv: kv[1])
    if order:
        chosen = assign_windows([pos for _, pos in order], example.bounds)
        rows = []
        for (_, pos), w in zip(order, chosen):
            feature, lg = by_window[example.bounds[w]]
            rows.append(lg[feature.content_offset + pos - feature.window[0]])
        word_ids = [wid for wid, _ in order]  # one softmax over all the rows at once
        probs[word_ids] = decoding.softmax(np.stack(rows).astype(np.float64))
        has_tokens[word_ids] = True
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
    word_at = {w.start: i for i, w in enumerate(example.words)}

    def continues(before: str, label: str, start: int) -> bool:
        # The word holds more of the entity before's label (B and I together) than of its
        # own: one label's probability was split between B and I, and another's B won.
        row = probs[word_at[start]] if start in word_at else None
        if row is None:
            return False
        mass = {x: row[tag_index[f"B-{x}"]] + row[tag_index[f"I-{x}"]] for x in (before, label)}
        return bool(mass[before] > mass[label])

    # Spans as a user draws them: whole words ("X-ray", "2.5"), no edge full stop, and the
    # pieces of one name joined ("renal" + "ultrasound"); the tags follow the spans.
    pieces = [
        (example.words[first].start, example.words[last - 1].end, label)
        for first, last, label in word_tag_groups(word_tags)
    ]
    snapped = snap_spans(text, pieces, continues=continues)
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


# --- the per-label tagger (entities that may overlap) -----------------------------------

# Each label's three outputs, in this order (the tags of a one-label BIO tagger).
PER_LABEL_TAGS = ("O", "B", "I")


def per_label_tags(labels: Sequence[str]) -> tuple[str, ...]:
    """The per-label tagger's outputs (``id2label``): ``O-x``, ``B-x``, ``I-x`` for each
    label ``x``, in the labels' order."""
    return tuple(f"{t}-{label}" for label in labels for t in PER_LABEL_TAGS)


def label_groups(labels: Sequence[str]) -> list[tuple[str, list[int], list[str]]]:
    """(label, its three output indices, ``O``/``B``/``I``) per label: the groups of
    :func:`core.tasks.attributes.grouped_loss`."""
    n = len(PER_LABEL_TAGS)
    return [(label, list(range(n * k, n * k + n)), list(PER_LABEL_TAGS))
            for k, label in enumerate(labels)]


def per_label_word_tags(
    text: str, spans: Sequence[EntitySpan], labels: Sequence[str]
) -> tuple[tuple[Word, ...], list[tuple[str, ...]], list[EntitySpan]]:
    """The words of ``text`` cut at every usable span's ends, the IOB2 tags of each label
    (one tuple per label, over the words) and the spans left out: blank ones and, within a
    label, one overlapping an earlier (then longer) entity of that label."""
    by_label: dict[str, list[EntitySpan]] = {label: [] for label in labels}
    for span in spans:
        by_label.setdefault(span.label, []).append(span)
    kept: dict[str, list[EntitySpan]] = {}
    dropped: list[EntitySpan] = []
    for label, group in by_label.items():
        kept[label], out = usable_spans(text, group)
        dropped += out
    words = split_words(text, [o for g in kept.values() for s in g for o in (s.start, s.end)])
    return words, [tag_words(words, kept[label]) for label in labels], dropped


def per_label_examples(
    spec: TaskSpec, docs: Sequence[DocumentRecord], *, with_gold: bool
) -> tuple[list[NerExample], list[WordTagging]]:
    """:func:`ner_examples` for the per-label tagger: per word one O/B/I id per label. The
    taggings hold the words and the spans left out (their ``tags`` are all ``O``: one tag
    per word cannot say it)."""
    index = {t: i for i, t in enumerate(PER_LABEL_TAGS)}
    examples: list[NerExample] = []
    taggings: list[WordTagging] = []
    for doc in docs:
        dropped: list[EntitySpan] = []
        if with_gold:
            words, tags, dropped = per_label_word_tags(doc.text, doc.spans, spec.labels)
            tag_ids: list[tuple[int, ...]] | None = [
                tuple(index[t[i].partition("-")[0]] for t in tags) for i in range(len(words))
            ]
        else:
            words, tag_ids = split_words(doc.text), None
        strings = [doc.text[w.start:w.end] for w in words]
        examples.append(NerExample(words, strings, tag_ids, groups=len(spec.labels)))
        taggings.append(WordTagging(words, (OUTSIDE,) * len(words), tuple(dropped)))
    return examples, taggings


class _TokenOutput:
    def __init__(self, loss: Any, logits: Any) -> None:
        self.loss, self.logits = loss, logits


def per_label_loss(model: Any, groups: Sequence[tuple[str, list[int], list[str]]]) -> Any:
    """``model`` (a token classifier with three outputs per label) as the training loop
    calls it: with ``labels`` ``(batch, length, labels)`` its output's ``loss`` is the sum
    over labels of the token cross-entropy within each label's three outputs
    (:func:`core.tasks.attributes.grouped_loss` over the flattened tokens, times the number
    of labels). The weights are ``model``'s own (saved as usual)."""
    import torch

    from core.tasks.attributes import grouped_loss

    class _PerLabel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, labels: Any = None, **inputs: Any) -> _TokenOutput:
            logits = self.model(**inputs).logits
            loss = None
            if labels is not None:
                flat = logits.reshape(-1, logits.shape[-1])
                loss = grouped_loss(flat, labels.reshape(-1, labels.shape[-1]), groups)
                loss = loss * len(groups)
            return _TokenOutput(loss, logits)

    return _PerLabel()


def per_label_nll(
    outputs: Sequence[np.ndarray], targets: Sequence[Sequence[Sequence[int]]], n_labels: int
) -> float | None:
    """The per-label tagger's loss over whole inputs (numpy): per label the mean token
    cross-entropy over the tokens with targets, summed over labels. None: no target."""
    logits = [np.asarray(o, dtype=np.float64) for o in outputs]
    gold = [np.asarray(t, dtype=np.int64).reshape(len(t), n_labels) for t in targets]
    if not logits:
        return None
    lg = np.concatenate([x.reshape(len(x), n_labels, len(PER_LABEL_TAGS)) for x in logits])
    tg = np.concatenate(gold)
    keep = tg[:, 0] != IGNORE_INDEX
    if not keep.any():
        return None
    log_p = decoding.log_softmax(lg[keep], axis=-1)
    picked = np.take_along_axis(log_p, tg[keep][:, :, None], axis=-1)[:, :, 0]
    return float(-picked.mean(axis=0).sum())


def decode_overlapping(
    spec: TaskSpec,
    text: str,
    example: NerExample,
    features: Sequence[Feature],
    logits: Sequence[np.ndarray],
    *,
    viterbi: bool = True,
) -> EntityPrediction:
    """Spans of the per-label tagger: each label's three outputs decoded on their own as a
    one-label BIO tagger (:func:`decode_entities`: windows, Viterbi, snapping), so spans of
    different labels may overlap or nest. Of two labels on the very same extent the more
    probable stays (two entities never share one). The per-word rows are one per word and
    label, word-major (``word_probs[i * K + k]`` over ``O``, ``B``, ``I``)."""
    n = len(PER_LABEL_TAGS)
    spans: list[PredictedSpan] = []
    probs, tags = [], []
    for k, label in enumerate(spec.labels):
        one = TaskSpec(spec.task, (label,))
        pred = decode_entities(one, text, example, features,
                               [lg[:, n * k:n * k + n] for lg in logits], viterbi=viterbi)
        spans += pred.spans
        probs.append(pred.word_probs)
        tags.append(pred.word_tags)
    best: dict[tuple[int, int], PredictedSpan] = {}
    for span in spans:
        other = best.get((span.start, span.end))
        if other is None or span.confidence > other.confidence:
            best[(span.start, span.end)] = span
    chosen = tuple(sorted(best.values(), key=lambda s: (s.start, -s.end, s.label)))
    n_words = len(example.words)
    rows = (np.stack(probs, axis=1).reshape(n_words * len(spec.labels), n) if probs
            else np.zeros((0, n), dtype=np.float32))
    word_tags = tuple(t[i] for i in range(n_words) for t in tags)
    offsets = np.array([(w.start, w.end) for w in example.words], dtype=np.int64).reshape(-1, 2)
    return EntityPrediction(chosen, offsets, rows, word_tags, per_label_tags(spec.labels))


NER = NerKind()
