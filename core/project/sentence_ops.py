"""Applying the sentence ops (:class:`SetSentenceClasses`, :class:`SetSentences`) with
their inverses; registered in :mod:`core.project.ops`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.project.changes import Changes, document_changes
from core.project.edits import MergeSentences, SetSentenceClasses, SetSentences, SplitSentence
from core.store import repo
from core.store.models import Document
from core.store.sentences import (
    SentenceClassMark,
    merge_with_next,
    replace_sentences,
    sentence_at,
    sentence_marks,
    set_sentence_classes,
    split_at,
)
from core.types import TaskKind


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


def set_sentences_op(session: Session, op: SetSentences) -> Changes:
    doc = _document(session, op.doc_id)
    inverse = SetSentences(doc.id, sentence_marks(doc))
    replace_sentences(session, doc, op.sentences)
    return document_changes(doc.id, TaskKind.SENTENCE).with_inverse(inverse)


def split_sentence_op(session: Session, op: SplitSentence) -> Changes:
    doc = _document(session, op.doc_id)
    return set_sentences_op(session, SetSentences(doc.id, tuple(split_at(doc, op.at))))


def merge_sentences_op(session: Session, op: MergeSentences) -> Changes:
    doc = _document(session, op.doc_id)
    task = repo.require_task(session, TaskKind.SENTENCE)
    merged = merge_with_next(doc, op.start, multi_label=task.multi_label)
    return set_sentences_op(session, SetSentences(doc.id, tuple(merged)))
