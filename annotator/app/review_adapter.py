"""The one place the app decides model suggestions: a thin layer over ``core.review``.

It adds what undo needs: each ``accept``/``reject`` returns a :class:`Decision` recording
what it changed, and :func:`restore_suggestion` puts it back (the suggestion pending again).
Every function takes a session; the caller owns the transaction (one user action = one
unit of work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from sqlalchemy.orm import Session

from core import review
from core.store import repo
from core.store.models import Document, EntityAnnotation, QuestionRow, Suggestion


@dataclass(frozen=True)
class Decision:
    """What one accept/reject changed, enough to put it back."""

    suggestion_id: int
    kind: str
    entity_id: int | None = None
    previous_classes: tuple[str, ...] | None = None
    question_id: int | None = None
    previous_answers: tuple[tuple[int, int], ...] | None = None
    previous_impossible: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _pending(session: Session, suggestion_id: int) -> Suggestion:
    row = session.get(Suggestion, suggestion_id)
    if row is None:
        raise repo.AnnotationError(f"no suggestion with id {suggestion_id}")
    if row.state != "pending":
        raise repo.AnnotationError(f"this suggestion was already {row.state}")
    return row


def accept_suggestion(session: Session, suggestion_id: int, *, label: str | None = None) -> Decision:
    """Turn a suggestion into a human annotation; ``label`` (entity/class) edits it on the way."""
    row = _pending(session, suggestion_id)
    doc = session.get(Document, row.document_id)
    assert doc is not None
    before_classes = tuple(c.label.name for c in doc.classes)
    q = session.get(QuestionRow, row.question_id) if row.question_id else None
    before_answers = tuple((a.start, a.end) for a in q.answers) if q else ()
    before_impossible = bool(q.is_impossible) if q else False
    if label is None:
        review.accept_suggestion(session, suggestion_id)
    else:
        review.edit_suggestion(session, suggestion_id, label=label)
    if row.kind == "entity":
        entity_id = session.scalar(
            select(EntityAnnotation.id).where(EntityAnnotation.suggestion_id == row.id)
        )
        return Decision(row.id, row.kind, entity_id=entity_id)
    if row.kind == "class":
        return Decision(row.id, row.kind, previous_classes=before_classes)
    return Decision(
        row.id, row.kind, question_id=row.question_id, previous_answers=before_answers,
        previous_impossible=before_impossible,
    )


def reject_suggestion(session: Session, suggestion_id: int) -> Decision:
    row = _pending(session, suggestion_id)
    review.reject_suggestion(session, suggestion_id)
    return Decision(row.id, row.kind)


def restore_suggestion(session: Session, decision: Decision) -> None:
    """Undo an accept or reject: remove what it added and make the suggestion pending."""
    row = session.get(Suggestion, decision.suggestion_id)
    if row is None:
        return
    if row.state in ("accepted", "edited"):
        if decision.entity_id is not None:
            try:
                repo.delete_entity(session, decision.entity_id)
            except repo.AnnotationError:
                pass  # already deleted by a later edit
        if decision.previous_classes is not None:
            repo.set_classes(session, row.document_id, list(decision.previous_classes))
        if decision.question_id is not None:
            q = session.get(QuestionRow, decision.question_id)
            if q is not None:
                if decision.previous_answers:
                    s, e = decision.previous_answers[0]
                    repo.set_answer(session, q.id, s, e)
                elif decision.previous_impossible:
                    repo.set_answer(session, q.id, None, None)
                else:
                    repo.clear_answer(session, q.id)
    row.state = "pending"
    row.decided_at = None
    session.flush()


def pending_above(session: Session, doc_id: int, kind: str, threshold: float) -> list[int]:
    """Ids of a document's pending suggestions of ``kind`` with confidence >= threshold."""
    return list(
        session.scalars(
            select(Suggestion.id)
            .where(
                Suggestion.document_id == doc_id,
                Suggestion.kind == kind,
                Suggestion.state == "pending",
                Suggestion.confidence >= threshold,
            )
            .order_by(Suggestion.confidence.desc())
        )
    )
