"""Entities: spans of the text with a label, trained as BIO token tagging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from core.tasks.base import (
    DOCUMENTS,
    AnnotationKind,
    NewSuggestion,
    PayloadError,
    marked_sql,
    payload_field,
)
from core.types import DocumentRecord, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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

    def pending_fields(self, payload: Any, doc_text: str) -> dict[str, Any]:
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


NER = NerKind()
