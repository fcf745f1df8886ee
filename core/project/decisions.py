"""Review decisions with their inverses: accept, edit or reject suggestions through
:mod:`core.review`, recording what each one changed so it can be put back exactly.

The inverse of a decision restores the annotations it touched (the accepted entity or
relation removed, the document's previous classes, the question's previous answer, each with
its provenance) and makes the suggestion pending again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import review
from core.errors import AnnotatorError
from core.project.changes import Changes, document_changes
from core.project.edits import (
    Batch,
    Decide,
    Op,
    RemoveEntity,
    RemoveRelation,
    SetSuggestionState,
)
from core.project.ops import SUGGESTION_TASK, restore_answer, restore_classes
from core.project.sentence_ops import restore_sentence
from core.store import repo
from core.store.models import (
    Document,
    EntityAnnotation,
    EntityRelation,
    QuestionRow,
    Suggestion,
)
from core.store.repo import AnnotationError
from core.tasks import kind_of_suggestion


def _pending(session: Session, suggestion_id: int, doc_id: int) -> Suggestion:
    row = session.get(Suggestion, suggestion_id)
    if row is None or row.document_id != doc_id:
        raise AnnotationError(f"no suggestion with id {suggestion_id} in this document")
    if row.state != "pending":
        raise AnnotationError(f"this suggestion was already {row.state}")
    return row


def _accept_one(session: Session, row: Suggestion, label: str | None) -> Op:
    """Accept ``row`` (as ``label`` if given); returns the op that undoes it."""
    undo: list[Op] = []
    if row.kind == "class":
        doc = session.get(Document, row.document_id)
        assert doc is not None
        undo.append(restore_classes(doc))
    elif row.kind == "answer" and row.question_id is not None:
        q = session.get(QuestionRow, row.question_id)
        if q is not None:
            undo.append(restore_answer(q))
    elif row.kind == "attribute":
        payload = row.payload or {}
        if isinstance(payload.get("start"), int) and isinstance(payload.get("attribute"), str):
            undo += _restore_attribute(session, row.document_id, payload)
    elif row.kind == "sentence":
        doc = session.get(Document, row.document_id)
        payload = row.payload or {}
        if doc is not None and isinstance(payload.get("start"), int):
            try:
                undo.append(restore_sentence(doc, payload["start"], payload["end"]))
            except AnnotatorError:
                pass  # no such sentence any more: accepting it fails below, saying so
    if label is None:
        review.accept_suggestion(session, row.id)
    else:
        review.edit_suggestion(session, row.id, label=label)
    if row.kind == "entity":
        entity = session.scalars(
            select(EntityAnnotation).where(EntityAnnotation.suggestion_id == row.id)
        ).first()
        if entity is not None:
            undo.append(RemoveEntity(row.document_id, entity.start, entity.end))
    elif row.kind == "relation":
        made = session.scalars(
            select(EntityRelation).where(EntityRelation.suggestion_id == row.id)
        ).first()
        if made is not None:
            undo.append(RemoveRelation(row.document_id, (made.head.start, made.head.end),
                                       (made.tail.start, made.tail.end), made.label))
    undo.append(SetSuggestionState(row.id, "pending"))
    return Batch(tuple(undo))


def _suggestions_on(session: Session, row: Suggestion) -> list[Suggestion]:
    """The pending attribute suggestions on the span of the entity suggestion ``row``, and
    the pending relation suggestions with an end there."""
    span = ((row.payload or {}).get("start"), (row.payload or {}).get("end"))

    def at(end: object) -> bool:
        return isinstance(end, dict) and (end.get("start"), end.get("end")) == span

    out = []
    for s in session.scalars(select(Suggestion).where(
            Suggestion.document_id == row.document_id,
            Suggestion.kind.in_(("attribute", "relation")), Suggestion.state == "pending")):
        p = s.payload or {}
        on_it = ((p.get("start"), p.get("end")) == span if s.kind == "attribute"
                 else at(p.get("head")) or at(p.get("tail")))
        if on_it:
            out.append(s)
    return out


def _restore_attribute(session: Session, doc_id: int, payload: dict) -> list[Op]:
    """The op that puts back the entity's value of the suggested attribute (none when the
    entity is not there: accepting then fails, saying so)."""
    from core.project.attribute_ops import entity_at
    from core.project.edits import AttributeMark, SetEntityAttributes

    try:
        entity = entity_at(session, doc_id, payload["start"], payload["end"])
    except AnnotatorError:
        return []
    name = payload["attribute"]
    row = next((r for r in entity.attribute_values if r.name == name), None)
    mark = (AttributeMark(name, None) if row is None else
            AttributeMark(name, row.value, row.origin, row.annotator, row.suggestion_id))
    return [SetEntityAttributes(doc_id, entity.start, entity.end, {name: mark.value}, (mark,))]


def decide(session: Session, op: Decide) -> Changes:
    """Apply a :class:`Decide` op (see there); its inverse puts every decision back."""
    undo: list[Op] = []
    skipped: list[str] = []
    kinds = set()
    ids = op.suggestion_ids
    # Entities that may overlap: the store takes an overlap of the same label, which one
    # click on one suggestion may make, but accepting several skips it as a clash.
    overlapping = op.accept and len(ids) > 1 and repo.overlapping_allowed(session)
    if op.accept and len(ids) > 1:  # entities first: suggested values and relations need them
        first = {sid for sid in ids if _pending(session, sid, op.doc_id).kind == "entity"}
        ids = tuple(sorted(ids, key=lambda sid: sid not in first))
    for sid in ids:
        row = _pending(session, sid, op.doc_id)
        kinds.add(SUGGESTION_TASK[row.kind])
        if not op.accept:
            review.reject_suggestion(session, sid)
            undo.append(SetSuggestionState(sid, "pending"))
            if row.kind == "entity":  # its suggested attribute values and relations go too
                for other in _suggestions_on(session, row):
                    if other.id not in op.suggestion_ids:
                        review.reject_suggestion(session, other.id)
                        undo.append(SetSuggestionState(other.id, "pending"))
        elif len(op.suggestion_ids) == 1:
            undo.append(_accept_one(session, row, op.label))
        else:
            try:
                if overlapping and row.kind == "entity":
                    _refuse_nested_clash(session, row)
                with session.begin_nested():
                    undo.append(_accept_one(session, row, None))
            except AnnotatorError as exc:
                session.expire_all()  # the savepoint rolled back; re-read what it touched
                skipped.append(str(exc))
    if not undo:
        raise AnnotationError(skipped[0] if skipped else "nothing to accept")
    changes = document_changes(op.doc_id, *kinds, suggestions=True)
    if skipped:
        changes = changes.with_message(
            f"accepted {len(undo)}, skipped {len(skipped)}: {skipped[0]}"
        )
    return changes.with_inverse(Batch(tuple(reversed(undo))))


def _refuse_nested_clash(session: Session, row: Suggestion) -> None:
    """Refuse an entity suggestion that clashes with a person's entity (the ones accepted
    before it in the same decision included) by the rule of overlapping tasks."""
    payload: Any = review.read_payload(row)
    clashes = kind_of_suggestion(row.kind).clash_check(session, [row.document_id])
    if clashes(row.document_id, None, payload, False):
        doc = session.get(Document, row.document_id)
        text = doc.text[payload.start:payload.end] if doc is not None else ""
        raise AnnotationError(
            f"the suggested {payload.label} {text!r} has the extent of an entity or "
            "overlaps one of the same label")


def pending_above(session: Session, doc_id: int, kind: str, threshold: float) -> list[int]:
    """Ids of a document's pending suggestions of ``kind`` with confidence >= threshold,
    most confident first."""
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
