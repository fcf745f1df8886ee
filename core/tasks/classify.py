"""Classes: one (or, multi-label, several) labels on a whole document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from core.tasks.base import DOCUMENTS, AnnotationKind, NewSuggestion, PayloadError
from core.types import DocumentRecord, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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

    # --- which documents are labelled -------------------------------------------------

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.classes)

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return f"EXISTS (SELECT 1 FROM class_annotations _c WHERE _c.document_id = {alias}.id)"

    def is_example(self, record: DocumentRecord) -> bool:
        return bool(record.classes)

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

    def pending_fields(self, payload: Any, doc_text: str) -> dict[str, Any]:
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


CLASSIFY = ClassifyKind()
