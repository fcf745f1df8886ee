"""Classes: one (or, multi-label, several) labels on a whole document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from core.engine import decoding
from core.engine.decoding import group_by_example
from core.engine.features import Feature, encode_texts
from core.engine.results import ClassPrediction
from core.engine.settings import TaskSpec
from core.tasks.base import DOCUMENTS, AnnotationKind, NewSuggestion, PayloadError
from core.types import DocumentRecord, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
    from core.engine.results import DocumentPrediction
    from core.store.models import Suggestion


@dataclass(frozen=True)
class ClassPayload:
    """Suggested classes, the top one first, with the model's probability of each label."""

    labels: tuple[str, ...]
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if not self.labels or not all(isinstance(x, str) and x for x in self.labels):
            raise PayloadError(f"class suggestion without a class: {self.labels!r}")

    @property
    def label(self) -> str:
        return self.labels[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.labels[0],
            "labels": list(self.labels),
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassPayload:
        labels = data.get("labels")
        if not labels:
            label = data.get("label")
            labels = [label] if label is not None else []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise PayloadError(f"class payload: 'labels' should be a list of names: {dict(data)!r}")
        probs = data.get("probabilities") or {}
        if not isinstance(probs, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in probs.values()
        ):
            raise PayloadError(f"class payload: bad 'probabilities': {probs!r}")
        return cls(tuple(labels), {str(k): float(v) for k, v in probs.items()})


class ClassifyKind(AnnotationKind):
    """Document classes. A document is labelled once it has a class: without one there is
    nothing to train on, whether or not it was imported or marked done."""

    kind = TaskKind.CLASSIFY
    suggestion_kind = "class"
    Payload = ClassPayload
    multi_label_capable = True
    label_table = "class_annotations"

    # --- which documents are labelled -------------------------------------------------

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.classes)

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return f"EXISTS (SELECT 1 FROM class_annotations _c WHERE _c.document_id = {alias}.id)"

    def is_example(self, record: DocumentRecord) -> bool:
        return bool(record.classes)

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
        return doc.classes

    def label_set(self, docs: Sequence[DocumentRecord]) -> tuple[list[str], bool]:
        labels, _ = super().label_set(docs)
        return labels, any(len(d.classes) > 1 for d in docs)

    def label_problems(self, spec: TaskSpec, doc: DocumentRecord, where: str) -> list[str]:
        problems = []
        if not spec.multi_label and len(doc.classes) > 1:
            problems.append(f"{where} has {len(doc.classes)} classes but the task is single-label")
        return problems + super().label_problems(spec, doc, where)

    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        return list(class_features(
            tokenizer, spec, docs, with_gold=True, max_length=max_length, stride=stride
        ))

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        from core.engine.runtime import forward_features

        feats = class_features(
            tokenizer, spec, docs, max_length=options.max_length, stride=options.stride,
            with_gold=with_loss,
        )
        res = forward_features(model, feats, task="classify", with_loss=with_loss, **common)
        preds: list[DocumentPrediction] = []
        for group in group_by_example(feats, len(docs)):
            preds.append(decode_classes(
                spec, [res.outputs[i] for i in group], threshold=options.class_threshold
            ))
        return preds, res.loss

    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """Accuracy + macro-F1, with ``per_label``."""
        from core.engine import metrics

        gold = [tuple(d.classes) for d in docs]
        predicted = [p.labels for p in preds]  # type: ignore[union-attr]
        return metrics.classification_metrics(gold, predicted, spec.labels)

    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        gold = {c for d in docs for c in d.classes}
        predicted = {lab for p in preds for lab in getattr(p, "labels", ())}
        if len(gold) > 1 and len(predicted) == 1:
            return (f"the model predicts the same class ({next(iter(predicted))!r}) for every "
                    "dev document.")
        return None

    # --- suggestions ------------------------------------------------------------------

    def payload_from_json(self, data: Mapping[str, Any]) -> ClassPayload:
        return ClassPayload.from_json(data)

    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        from core.active.uncertainty import class_confidence

        labels = tuple(getattr(prediction, "labels", ()))
        if not labels:
            return []
        payload = ClassPayload(labels, dict(prediction.probabilities))  # type: ignore[union-attr]
        return [NewSuggestion(
            doc_id, payload, class_confidence(prediction, multi_label=multi_label)  # type: ignore[arg-type]
        )]

    def human_labels(self, session: Session, doc_ids: Sequence[int]) -> set[int]:
        from core.store.models import ClassAnnotation

        return set(session.scalars(
            select(ClassAnnotation.document_id).where(ClassAnnotation.document_id.in_(list(doc_ids)))
        ))

    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: Any,
        *, adds_to_existing: bool = False,
    ) -> bool:
        # Multi-label: accepting adds the classes to the person's, nothing is overwritten.
        return not adds_to_existing and doc_id in human

    def apply(
        self, session: Session, row: Suggestion, payload: Any, *, annotator: str, origin: str,
    ) -> None:
        from core.store import repo
        from core.store.models import Document

        task = repo.require_task(session, TaskKind.CLASSIFY)
        wanted = list(dict.fromkeys(payload.labels))
        if task.multi_label:
            # Keep the classes a person already gave; add the suggested ones.
            doc = session.get(Document, row.document_id)
            have = [c.label.name for c in doc.classes] if doc is not None else []
            wanted = list(dict.fromkeys([*have, *wanted]))
        repo.set_classes(
            session, row.document_id, wanted, annotator=annotator, origin=origin,
            suggestion_id=row.id,
        )

    def accepting_adds(self, session: Session) -> bool:
        from core.store import repo

        return bool(repo.require_task(session, TaskKind.CLASSIFY).multi_label)

    def edited(self, payload: Any, **changes: Any) -> ClassPayload:
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
        return ClassPayload(tuple(wanted), payload.probabilities)

    def pending_fields(
        self, payload: Any, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        return {
            "label": payload.label, "labels": payload.labels,
            "probabilities": dict(payload.probabilities),
        }

    def human_only(self, session: Session) -> int:
        from core.store.models import ClassAnnotation

        return int(session.scalar(
            select(func.count(ClassAnnotation.id)).where(
                ClassAnnotation.origin == "human", ClassAnnotation.suggestion_id.is_(None)
            )
        ) or 0)


# --- model inputs and decoding ---------------------------------------------------------


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


CLASSIFY = ClassifyKind()
