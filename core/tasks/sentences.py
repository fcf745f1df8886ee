"""Sentence classes: one (or, multi-label, several) labels on each sentence of a document.

A document's sentences are stored once (:mod:`core.store.sentences`). A document is labelled
once one of its sentences has a class; its labelled sentences are the training examples.
The [CLS] head classifies one sentence *with its neighbours in view*: the input is a window
of the note around the sentence, in one of three layouts (``SENTENCE_CONTEXTS``):

- ``marked``: ``[CLS] left sentence right [SEP]``, the sentence's tokens of token type 1 and
  the context's of type 0 (the encoder's segment embedding marks the sentence);
- ``pair``: ``[CLS] sentence [SEP] left sentence right [SEP]``, the sentence first and the
  passage around it second;
- ``none``: ``[CLS] sentence [SEP]``, the sentence alone (what classifying sentences
  imported one by one as documents gives).

The layout the model was trained with is kept beside it (``sentence_context`` in its
``annotator.json``), so prediction builds the same inputs. ``benchmarks/bench_sentence_context.py`` measures them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from core.engine.features import Feature, special_template, tokenize_contexts
from core.engine.results import ClassPrediction, SentencePrediction, SentencesPrediction
from core.engine.settings import TaskSpec
from core.tasks.base import DOCUMENTS, AnnotationKind, NewSuggestion, PayloadError, marked_sql
from core.tasks.classify import decode_classes
from core.types import DocumentRecord, SentenceLabel, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
    from core.engine.results import DocumentPrediction
    from core.store.models import Suggestion

SENTENCE_CONTEXTS = ("marked", "pair", "none")
# Measured (benchmarks/bench_sentence_context.py, first seed of SST-2 sentences grouped into
# documents, 600 training sentences): the sentence alone 0.829 accuracy, as a pair with its
# passage 0.814, marked inside its window 0.737. At that size context did not help: the
# default is the sentence alone; "pair" and "marked" stay selectable (sentence_context).
DEFAULT_CONTEXT = "none"


@dataclass(frozen=True)
class SentencePayload:
    """Suggested classes of the sentence ``[start, end)``, the top one first, with the
    model's probability of each label."""

    start: int
    end: int
    labels: tuple[str, ...]
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise PayloadError(f"sentence suggestion with bad offsets [{self.start}, {self.end})")
        if not self.labels or not all(isinstance(x, str) and x for x in self.labels):
            raise PayloadError(f"sentence suggestion without a class: {self.labels!r}")

    @property
    def label(self) -> str:
        return self.labels[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start, "end": self.end, "label": self.labels[0],
            "labels": list(self.labels),
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SentencePayload:
        start, end = data.get("start"), data.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            raise PayloadError(f"sentence payload: 'start' and 'end' should be integers: "
                               f"{dict(data)!r}")
        labels = data.get("labels") or ([data["label"]] if data.get("label") else [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise PayloadError(f"sentence payload: 'labels' should be a list of names: "
                               f"{dict(data)!r}")
        probs = data.get("probabilities") or {}
        if not isinstance(probs, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in probs.values()
        ):
            raise PayloadError(f"sentence payload: bad 'probabilities': {probs!r}")
        return cls(start, end, tuple(labels), {str(k): float(v) for k, v in probs.items()})


def sentences_of(record: DocumentRecord) -> tuple[SentenceLabel, ...]:
    """The record's sentences; a record that came without any (an external gold file, a
    text) is segmented as the project would."""
    if record.sentences:
        return record.sentences
    from core.segment import segment

    return tuple(SentenceLabel(s, e) for s, e in segment(record.text))


class SentenceKind(AnnotationKind):
    """Classes of the sentences inside a note. Labelled once one sentence has a class."""

    kind = TaskKind.SENTENCE
    suggestion_kind = "sentence"
    Payload = SentencePayload
    multi_label_capable = True
    label_table = ("(SELECT _s.document_id, _sc.label_id FROM sentence_classes _sc"
                   " JOIN sentences _s ON _s.id = _sc.sentence_id)")
    batch_targets = "classify"

    # --- which documents are labelled -------------------------------------------------

    def is_labelled(self, record: DocumentRecord) -> bool:
        return any(s.labels for s in record.sentences) or TaskKind.SENTENCE in record.labelled_for

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "(EXISTS (SELECT 1 FROM sentences _s JOIN sentence_classes _sc ON _sc.sentence_id"
            f" = _s.id WHERE _s.document_id = {alias}.id) OR "
            f"{marked_sql(alias, TaskKind.SENTENCE)})"
        )

    def is_example(self, record: DocumentRecord) -> bool:
        return any(s.labels for s in record.sentences)

    # --- the model --------------------------------------------------------------------

    metric_name = "macro-F1"
    curve_metric = "accuracy"
    auto_model = "AutoModelForSequenceClassification"

    def config_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        kwargs = super().config_kwargs(spec)
        kwargs["problem_type"] = (
            "multi_label_classification" if spec.multi_label else "single_label_classification"
        )
        return kwargs

    def labels_used(self, doc: DocumentRecord) -> Sequence[str]:
        return [lab for s in doc.sentences for lab in s.labels]

    def label_set(self, docs: Sequence[DocumentRecord]) -> tuple[list[str], bool]:
        labels, _ = super().label_set(docs)
        return labels, any(len(s.labels) > 1 for d in docs for s in d.sentences)

    def label_problems(self, spec: TaskSpec, doc: DocumentRecord, where: str) -> list[str]:
        problems = [
            f"{where}: sentence [{s.start}, {s.end}) has {len(s.labels)} classes but the task "
            "is single-label"
            for s in doc.sentences if not spec.multi_label and len(s.labels) > 1
        ]
        return problems + super().label_problems(spec, doc, where)

    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        feats, _ = sentence_features(tokenizer, spec, docs, max_length=max_length,
                                     labelled_only=True, with_gold=True)
        return feats

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        from core.engine.runtime import forward_features

        feats, where = sentence_features(
            tokenizer, spec, docs, max_length=options.max_length,
            labelled_only=with_loss, with_gold=with_loss,
        )
        res = forward_features(model, feats, task="classify", with_loss=with_loss, **common)
        per_doc: list[list[SentencePrediction]] = [[] for _ in docs]
        for i, (d, sent) in enumerate(where):
            c = decode_classes(spec, [res.outputs[i]], threshold=options.class_threshold)
            per_doc[d].append(SentencePrediction(sent.start, sent.end, c.probabilities, c.labels))
        preds: list[DocumentPrediction] = [SentencesPrediction(tuple(p)) for p in per_doc]
        return preds, res.loss

    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """Accuracy + macro-F1 over the gold (labelled) sentences, with ``per_label``."""
        from core.engine import metrics

        gold: list[tuple[str, ...]] = []
        predicted: list[tuple[str, ...]] = []
        for doc, pred in zip(docs, preds):
            by_span = {(p.start, p.end): p.labels
                       for p in getattr(pred, "sentences", ())}
            for s in doc.sentences:
                if s.labels:
                    gold.append(tuple(s.labels))
                    predicted.append(tuple(by_span.get((s.start, s.end), ())))
        out = metrics.classification_metrics(gold, predicted, spec.labels)
        out["sentences"] = len(gold)
        return out

    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        gold = {lab for d in docs for s in d.sentences for lab in s.labels}
        predicted = {lab for p in preds for s in getattr(p, "sentences", ()) for lab in s.labels}
        if len(gold) > 1 and len(predicted) == 1:
            return (f"the model predicts the same class ({next(iter(predicted))!r}) for every "
                    "dev sentence.")
        return None

    # --- suggestions ------------------------------------------------------------------

    def payload_from_json(self, data: Mapping[str, Any]) -> SentencePayload:
        return SentencePayload.from_json(data)

    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        from core.active.uncertainty import class_confidence

        out = []
        for s in getattr(prediction, "sentences", ()):
            if not s.labels:
                continue
            payload = SentencePayload(s.start, s.end, tuple(s.labels), dict(s.probabilities))
            confidence = class_confidence(ClassPrediction(s.probabilities, s.labels),
                                          multi_label=multi_label)
            out.append(NewSuggestion(doc_id, payload, confidence))
        return out

    def human_labels(self, session: Session, doc_ids: Sequence[int]) -> set[tuple[int, int]]:
        """``(doc_id, sentence start)`` of every sentence with a class."""
        from core.store.models import Sentence, SentenceClass

        return set(session.execute(
            select(Sentence.document_id, Sentence.start)
            .join(SentenceClass, SentenceClass.sentence_id == Sentence.id)
            .where(Sentence.document_id.in_(list(doc_ids)))
        ).tuples())

    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: Any,
        *, adds_to_existing: bool = False,
    ) -> bool:
        return not adds_to_existing and (doc_id, payload.start) in human

    def apply(
        self, session: Session, row: Suggestion, payload: Any, *, annotator: str, origin: str,
    ) -> None:
        from core.store import repo
        from core.store.models import Document
        from core.store.sentences import sentence_at, set_sentence_classes

        task = repo.require_task(session, TaskKind.SENTENCE)
        doc = session.get(Document, row.document_id)
        if doc is None:
            raise repo.AnnotationError(f"no document with id {row.document_id}")
        wanted = list(dict.fromkeys(payload.labels))
        if task.multi_label:  # keep the classes a person gave the sentence; add these
            have = [c.label.name for c in sentence_at(doc, payload.start, payload.end).classes]
            wanted = list(dict.fromkeys([*have, *wanted]))
        set_sentence_classes(session, doc, payload.start, payload.end, wanted,
                             annotator=annotator, origin=origin, suggestion_id=row.id)

    def accepting_adds(self, session: Session) -> bool:
        from core.store import repo

        return bool(repo.require_task(session, TaskKind.SENTENCE).multi_label)

    def edited(self, payload: Any, **changes: Any) -> SentencePayload:
        from core.store.repo import AnnotationError

        labels, label = changes.get("labels"), changes.get("label")
        if labels is not None:
            wanted = tuple(labels)
        elif label is not None:
            wanted = (label,)
        else:
            return payload  # type: ignore[no-any-return]
        if not wanted:
            raise AnnotationError("choose at least one class")
        if sorted(set(wanted)) == sorted(set(payload.labels)):
            return payload  # type: ignore[no-any-return]
        return SentencePayload(payload.start, payload.end, wanted, payload.probabilities)

    def pending_fields(
        self, payload: Any, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        return {
            "start": payload.start, "end": payload.end, "text": doc_text[payload.start:payload.end],
            "label": payload.label, "labels": payload.labels,
            "probabilities": dict(payload.probabilities),
        }

    def human_only(self, session: Session) -> int:
        from core.store.models import SentenceClass

        return int(session.scalar(
            select(func.count(SentenceClass.id)).where(
                SentenceClass.origin == "human", SentenceClass.suggestion_id.is_(None)
            )
        ) or 0)


# --- model inputs ----------------------------------------------------------------------


def _targets(spec: TaskSpec, labels: Sequence[str]) -> int | list[float]:
    index = {label: i for i, label in enumerate(spec.labels)}
    if spec.multi_label:
        row = [0.0] * len(spec.labels)
        for name in labels:
            row[index[name]] = 1.0
        return row
    return index[labels[0]]


def _window(n_tokens: int, lo: int, hi: int, budget: int) -> tuple[int, int]:
    """The token window of at most ``budget`` tokens holding ``[lo, hi)`` (cut to its first
    ``budget`` tokens when longer), with the context split evenly around it."""
    if hi - lo >= budget:
        return lo, lo + budget
    spare = budget - (hi - lo)
    left = min(lo, spare // 2)
    right = min(n_tokens - hi, spare - left)
    left = min(lo, spare - right)  # what the right side could not use goes left
    return lo - left, hi + right


def sentence_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    labelled_only: bool, with_gold: bool,
) -> tuple[list[Feature], list[tuple[int, SentenceLabel]]]:
    """One model input per sentence (``labelled_only``: per labelled sentence) in the
    layout of ``spec.sentence_context``, and for each input (document index, sentence)."""
    context = spec.sentence_context or DEFAULT_CONTEXT
    if context not in SENTENCE_CONTEXTS:
        raise ValueError(f"unknown sentence context {context!r} (known: "
                         f"{', '.join(SENTENCE_CONTEXTS)})")
    t = special_template(tokenizer)
    tokenized = tokenize_contexts(tokenizer, [d.text for d in docs])
    features: list[Feature] = []
    where: list[tuple[int, SentenceLabel]] = []
    for d, (doc, tok) in enumerate(zip(docs, tokenized)):
        for sent in sentences_of(doc):
            if labelled_only and not sent.labels:
                continue
            inside = [i for i, (a, b) in enumerate(tok.offsets) if a < sent.end and sent.start < b]
            if not inside:
                continue  # only spaces or characters the tokenizer drops
            lo, hi = inside[0], inside[-1] + 1
            ids = tok.ids
            if context == "none":
                budget = max_length - len(t.prefix) - len(t.suffix)
                s_ids = ids[lo:min(hi, lo + budget)]
                input_ids = [*t.prefix, *s_ids, *t.suffix]
                types = [0] * len(input_ids)
            elif context == "marked":
                budget = max_length - len(t.prefix) - len(t.suffix)
                a, b = _window(len(ids), lo, hi, budget)
                input_ids = [*t.prefix, *ids[a:b], *t.suffix]
                types = ([0] * len(t.prefix)
                         + [t.second_type if lo <= i < hi else 0 for i in range(a, b)]
                         + [0] * len(t.suffix))
            else:  # pair: the sentence, then the passage around it
                budget = max_length - len(t.prefix) - len(t.middle) - len(t.pair_suffix)
                s_ids = ids[lo:min(hi, lo + budget // 2)]
                a, b = _window(len(ids), lo, hi, budget - len(s_ids))
                first = [*t.prefix, *s_ids, *t.middle]
                second = [*ids[a:b], *t.pair_suffix]
                input_ids = first + second
                types = [0] * len(first) + [t.second_type] * len(second)
            features.append(Feature(
                input_ids=input_ids, token_type_ids=types, example=len(where),
                window=(lo, hi), content_offset=len(t.prefix),
                label=_targets(spec, sent.labels) if with_gold and sent.labels else None,
            ))
            where.append((d, sent))
    return features, where


SENTENCE = SentenceKind()
