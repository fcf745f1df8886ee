"""Applying the sentence ops (:class:`SetSentenceClasses`, :class:`SetSentences`) with
their inverses; registered in :mod:`core.project.ops`.

A new segmentation (a split, a merge, any :class:`SetSentences`) resolves the pending
suggestions made for the sentences it removed: they are deleted, as a deleted question's
are, since nothing could accept them any more (their extent is no sentence), and the
inverse puts them back as they were. Decided suggestions stay (the report counts them).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.project.changes import Changes, document_changes
from core.project.edits import (
    MergeSentences,
    SetSentenceClasses,
    SetSentences,
    SplitSentence,
    SuggestionCopy,
)
from core.store import repo
from core.store.models import Document, ModelVersion, Suggestion
from core.store.sentences import (
    SentenceClassMark,
    merge_with_next,
    replace_sentences,
    sentence_at,
    sentence_marks,
    set_sentence_classes,
    split_at,
)
from core.tasks import kind_of
from core.tasks.base import PayloadError
from core.tasks.sentences import SentencePayload
from core.types import TaskKind

SUGGESTION_KIND = kind_of(TaskKind.SENTENCE).suggestion_kind


def _document(session: Session, doc_id: int) -> Document:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise repo.AnnotationError(f"no document with id {doc_id}")
    return doc


def restore_sentence(doc: Document, start: int, end: int) -> SetSentenceClasses:
    """The op that gives the sentence ``[start, end)`` back its classes as they are now."""
    row = sentence_at(doc, start, end)
    marks = tuple(
        SentenceClassMark(c.label.name, c.origin, c.annotator, c.suggestion_id)
        for c in sorted(row.classes, key=lambda c: (c.label.position, c.label.name))
    )
    return SetSentenceClasses(doc.id, start, end, tuple(m.label for m in marks), marks)


def set_sentence_classes_op(session: Session, op: SetSentenceClasses) -> Changes:
    doc = _document(session, op.doc_id)
    inverse = restore_sentence(doc, op.start, op.end)
    set_sentence_classes(session, doc, op.start, op.end, op.labels, marks=op.marks)
    return document_changes(doc.id, TaskKind.SENTENCE).with_inverse(inverse)


def _extent(payload_json: dict[str, Any] | None) -> tuple[int, int] | None:
    """The sentence a sentence suggestion was made for (``None``: an unreadable payload)."""
    try:
        payload = SentencePayload.from_json(payload_json or {})
    except PayloadError:
        return None
    return payload.start, payload.end


def _copy(row: Suggestion) -> SuggestionCopy:
    return SuggestionCopy(row.id, row.task_id, row.model_version_id, row.kind,
                          dict(row.payload or {}), row.confidence, row.state, row.created_at,
                          row.decided_at, row.source, row.decided_by)


def _pending_rows(session: Session, doc_id: int) -> list[Suggestion]:
    return list(session.scalars(
        select(Suggestion).where(Suggestion.document_id == doc_id,
                                 Suggestion.kind == SUGGESTION_KIND,
                                 Suggestion.state == "pending")
        .order_by(Suggestion.id)
    ))


def drop_suggestions(
    session: Session, doc_id: int, removed: Collection[tuple[int, int]]
) -> tuple[SuggestionCopy, ...]:
    """Delete the document's pending sentence suggestions made for a sentence of
    ``removed``; returns copies of them (what an undo puts back)."""
    rows = [r for r in _pending_rows(session, doc_id) if _extent(r.payload) in removed]
    copies = tuple(_copy(r) for r in rows)
    for r in rows:
        session.delete(r)
    session.flush()
    return copies


def restore_suggestions(
    session: Session, doc: Document, copies: Sequence[SuggestionCopy]
) -> int:
    """Put back removed suggestions, each under its id, as it was; left out, one whose
    sentence is not there or whose id is taken or model version gone."""
    if not copies:
        return 0
    spans = {(s.start, s.end) for s in doc.sentences}
    versions = set(session.scalars(select(ModelVersion.id)))
    restored = 0
    for c in copies:
        if (_extent(c.payload) not in spans or session.get(Suggestion, c.id) is not None
                or (c.model_version_id is not None and c.model_version_id not in versions)):
            continue
        session.add(Suggestion(
            id=c.id, document_id=doc.id, task_id=c.task_id, model_version_id=c.model_version_id,
            kind=c.kind, payload=dict(c.payload), confidence=c.confidence, state=c.state,
            created_at=c.created_at, decided_at=c.decided_at, source=c.source,
            decided_by=c.decided_by,
        ))
        restored += 1
    session.flush()
    return restored


def set_sentences_op(session: Session, op: SetSentences) -> Changes:
    doc = _document(session, op.doc_id)
    before = sentence_marks(doc)
    replace_sentences(session, doc, op.sentences)
    removed = {(s.start, s.end) for s in before} - {(s.start, s.end) for s in op.sentences}
    dropped = drop_suggestions(session, doc.id, removed)
    restored = restore_suggestions(session, doc, op.suggestions)
    inverse = SetSentences(doc.id, before, dropped)
    return document_changes(
        doc.id, TaskKind.SENTENCE, suggestions=bool(dropped or restored)
    ).with_inverse(inverse)


def split_sentence_op(session: Session, op: SplitSentence) -> Changes:
    doc = _document(session, op.doc_id)
    return set_sentences_op(session, SetSentences(doc.id, tuple(split_at(doc, op.at))))


def merge_sentences_op(session: Session, op: MergeSentences) -> Changes:
    doc = _document(session, op.doc_id)
    task = repo.require_task(session, TaskKind.SENTENCE)
    merged = merge_with_next(doc, op.start, multi_label=task.multi_label)
    return set_sentences_op(session, SetSentences(doc.id, tuple(merged)))
