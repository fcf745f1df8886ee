"""Moving an entity's edges: one plain operation and the inverse that puts it back.

Shaped like the project's other edit operations (a frozen dataclass naming the entity by its
span, which is unique as two entities never share an extent, even in a task that lets them
overlap; applying it returns the inverse), so the
project facade can take it over as one more op.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.models import Document, EntityAnnotation
from core.store.repo import AnnotationError, check_entity_span


@dataclass(frozen=True)
class ResizeEntity:
    """Move the entity ``[start, end)`` of a document to ``[new_start, new_end)``.

    ``origin``: the provenance the entity has afterwards; None keeps it, except that an
    accepted suggestion whose edges move becomes ``"edited"``.
    """

    doc_id: int
    start: int
    end: int
    new_start: int
    new_end: int
    origin: str | None = None


def resize_entity(session: Session, op: ResizeEntity) -> ResizeEntity:
    """Apply ``op`` in the caller's session; returns the op that undoes it.

    Refused (:class:`AnnotationError`, nothing changed) when no entity has the old span, or
    the new one lies outside the text, is only white space, is another entity's extent, or
    overlaps another entity in a task that does not let entities overlap.
    """
    doc = session.get(Document, op.doc_id)
    if doc is None:
        raise AnnotationError(f"no document with id {op.doc_id}")
    row = session.scalars(
        select(EntityAnnotation).where(
            EntityAnnotation.document_id == op.doc_id,
            EntityAnnotation.start == op.start,
            EntityAnnotation.end == op.end,
        )
    ).first()
    if row is None:
        raise AnnotationError(f"no entity at [{op.start}, {op.end}) in this document")
    start, end = op.new_start, op.new_end
    check_entity_span(doc, start, end, moving=row)
    inverse = ResizeEntity(op.doc_id, start, end, row.start, row.end, row.origin)
    if op.origin is not None:
        row.origin = op.origin
    elif row.origin == "accepted":
        row.origin = "edited"
    row.start, row.end = start, end
    session.flush()
    return inverse
