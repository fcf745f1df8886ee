"""User edits as plain values, and the one function that applies them.

Every op is a frozen dataclass. :func:`apply_op` performs it in the caller's session and
returns a :class:`Changes` whose ``inverse`` is the op that puts everything back: applied in
turn, that inverse returns the op that redoes the edit, with every id pinned. So an undo stack
holds nothing but ops, and ids stay valid across undo and redo (a deleted question comes back
under its old id; entities are named by their span, which is unique as spans never overlap).

Provenance (origin, annotator, the suggestion an annotation came from) is part of what an
inverse restores, so undoing a deletion of an accepted entity gives back an accepted entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.project.changes import Changes, document_changes
from core.span_edit import ResizeEntity, resize_entity
from core.store import repo
from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    EntityAnnotation,
    Label,
    QuestionRow,
    Suggestion,
    utcnow,
)
from core.store.repo import AnnotationError
from core.tasks import all_kinds
from core.types import TaskKind

# --- entities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AddEntity:
    doc_id: int
    start: int
    end: int
    label: str
    origin: str = "human"
    annotator: str = "user"
    suggestion_id: int | None = None


@dataclass(frozen=True)
class RemoveEntity:
    """Remove the entity ``[start, end)`` of a document (spans never overlap: it is unique)."""

    doc_id: int
    start: int
    end: int


@dataclass(frozen=True)
class RelabelEntity:
    doc_id: int
    start: int
    end: int
    label: str


# --- classes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassMark:
    """One class of a document with its provenance (what an inverse restores)."""

    label: str
    origin: str = "human"
    annotator: str = "user"
    suggestion_id: int | None = None


@dataclass(frozen=True)
class SetClasses:
    """Make ``labels`` the document's classes. With ``marks`` (inverses), each class also
    gets exactly that provenance; without, classes already there keep theirs."""

    doc_id: int
    labels: tuple[str, ...]
    marks: tuple[ClassMark, ...] | None = None


# --- questions and answers ----------------------------------------------------------------


@dataclass(frozen=True)
class AnswerMark:
    start: int
    end: int
    origin: str = "human"
    annotator: str = "user"
    suggestion_id: int | None = None


@dataclass(frozen=True)
class SetAnswer:
    """The question's answer: spans, or "no answer" (``impossible``), or open (neither)."""

    question_id: int
    answers: tuple[AnswerMark, ...] = ()
    impossible: bool = False


@dataclass(frozen=True)
class AddQuestion:
    """Add a question; ``question_id`` (inverses) brings a deleted one back under its id."""

    doc_id: int
    text: str
    question_id: int | None = None
    external_id: str | None = None
    origin: str = "human"
    annotator: str = "user"
    answers: tuple[AnswerMark, ...] = ()
    impossible: bool = False


@dataclass(frozen=True)
class RemoveQuestion:
    question_id: int


# --- documents, suggestions, labels -------------------------------------------------------


@dataclass(frozen=True)
class SetReviewStatus:
    doc_id: int
    status: str  # unreviewed | reviewed | skipped


@dataclass(frozen=True)
class SetSuggestionState:
    suggestion_id: int
    state: str  # pending | accepted | rejected | edited


@dataclass(frozen=True)
class Decide:
    """Accept (optionally as ``label``) or reject suggestions of one document, in one write.

    Accepting several at once skips the ones that cannot be applied (an overlap with a human
    label) and says so in ``Changes.messages``; if none can be, nothing changes.
    """

    doc_id: int
    suggestion_ids: tuple[int, ...]
    accept: bool
    label: str | None = None


@dataclass(frozen=True)
class AddLabel:
    kind: TaskKind
    name: str
    color: str | None = None
    shortcut: str | None = None


@dataclass(frozen=True)
class UpdateLabel:
    label_id: int
    name: str | None = None
    color: str | None = None
    shortcut: str | None = None


@dataclass(frozen=True)
class DeleteLabel:
    """Delete a label and every annotation that uses it (undoable only while it has none)."""

    label_id: int


@dataclass(frozen=True)
class Batch:
    """Several ops as one; its inverse is the inverses in reverse order."""

    ops: tuple[Op, ...]


Op = (
    AddEntity | RemoveEntity | RelabelEntity | ResizeEntity | SetClasses | SetAnswer | AddQuestion
    | RemoveQuestion | SetReviewStatus | SetSuggestionState | Decide | AddLabel | UpdateLabel
    | DeleteLabel | Batch
)

SUGGESTION_TASK = {k.suggestion_kind: k.kind for k in all_kinds()}


# --- reading the state an inverse restores --------------------------------------------------


def _document(session: Session, doc_id: int) -> Document:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise AnnotationError(f"no document with id {doc_id}")
    return doc


def _question(session: Session, question_id: int) -> QuestionRow:
    q = session.get(QuestionRow, question_id)
    if q is None:
        raise AnnotationError("this question no longer exists")
    return q


def _entity_at(session: Session, doc_id: int, start: int, end: int) -> EntityAnnotation:
    row = session.scalars(
        select(EntityAnnotation).where(
            EntityAnnotation.document_id == doc_id,
            EntityAnnotation.start == start,
            EntityAnnotation.end == end,
        )
    ).first()
    if row is None:
        raise AnnotationError(f"no entity at [{start}, {end}) in document {doc_id}")
    return row


def class_marks(doc: Document) -> tuple[ClassMark, ...]:
    return tuple(
        ClassMark(c.label.name, c.origin, c.annotator, c.suggestion_id)
        for c in sorted(doc.classes, key=lambda c: (c.label.position, c.label.name))
    )


def restore_classes(doc: Document) -> SetClasses:
    marks = class_marks(doc)
    return SetClasses(doc.id, tuple(m.label for m in marks), marks)


def restore_answer(q: QuestionRow) -> SetAnswer:
    return SetAnswer(
        q.id,
        tuple(AnswerMark(a.start, a.end, a.origin, a.annotator, a.suggestion_id) for a in q.answers),
        bool(q.is_impossible),
    )


# --- applying -------------------------------------------------------------------------------


def _write_answers(q: QuestionRow, answers: Sequence[AnswerMark], impossible: bool) -> None:
    n = len(q.document.text)
    for a in answers:
        if not (0 <= a.start < a.end <= n):
            raise AnnotationError(f"answer [{a.start}, {a.end}) lies outside the passage")
    q.answers.clear()
    q.is_impossible = bool(impossible) and not answers
    for a in answers:
        q.answers.append(
            AnswerAnnotation(
                start=a.start, end=a.end, origin=a.origin, annotator=a.annotator,
                suggestion_id=a.suggestion_id,
            )
        )


def _add_entity(session: Session, op: AddEntity) -> Changes:
    repo.add_entity(
        session, op.doc_id, op.start, op.end, op.label, annotator=op.annotator,
        origin=op.origin, suggestion_id=op.suggestion_id,
    )
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(
        RemoveEntity(op.doc_id, op.start, op.end)
    )


def _remove_entity(session: Session, op: RemoveEntity) -> Changes:
    row = _entity_at(session, op.doc_id, op.start, op.end)
    inverse = AddEntity(
        op.doc_id, row.start, row.end, row.label.name, row.origin, row.annotator,
        row.suggestion_id,
    )
    repo.delete_entity(session, row.id)
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(inverse)


def _relabel_entity(session: Session, op: RelabelEntity) -> Changes:
    row = _entity_at(session, op.doc_id, op.start, op.end)
    inverse = RelabelEntity(op.doc_id, op.start, op.end, row.label.name)
    repo.relabel_entity(session, row.id, op.label)
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(inverse)


def _resize_entity(session: Session, op: ResizeEntity) -> Changes:
    inverse = resize_entity(session, op)
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(inverse)


def _set_classes(session: Session, op: SetClasses) -> Changes:
    doc = _document(session, op.doc_id)
    inverse = restore_classes(doc)
    repo.set_classes(session, op.doc_id, list(op.labels))
    if op.marks is not None:
        by_name = {m.label: m for m in op.marks}
        for row in doc.classes:
            mark = by_name.get(row.label.name)
            if mark is not None:
                row.origin, row.annotator = mark.origin, mark.annotator
                row.suggestion_id = mark.suggestion_id
        session.flush()
    return document_changes(op.doc_id, TaskKind.CLASSIFY).with_inverse(inverse)


def _set_answer(session: Session, op: SetAnswer) -> Changes:
    q = _question(session, op.question_id)
    inverse = restore_answer(q)
    _write_answers(q, op.answers, op.impossible)
    session.flush()
    return document_changes(q.document_id, TaskKind.QA).with_inverse(inverse)


def _add_question(session: Session, op: AddQuestion) -> Changes:
    doc = _document(session, op.doc_id)
    if not op.text.strip():
        raise AnnotationError("a question cannot be empty")
    if op.question_id is not None and session.get(QuestionRow, op.question_id) is not None:
        raise AnnotationError(f"question {op.question_id} exists already")
    q = QuestionRow(
        id=op.question_id, document_id=doc.id, text=op.text.strip(), external_id=op.external_id,
        origin=op.origin, annotator=op.annotator,
    )
    doc.questions.append(q)
    session.flush()
    _write_answers(q, op.answers, op.impossible)
    session.flush()
    return document_changes(doc.id, TaskKind.QA).with_inverse(RemoveQuestion(q.id))


def _remove_question(session: Session, op: RemoveQuestion) -> Changes:
    q = _question(session, op.question_id)
    answer = restore_answer(q)
    inverse = AddQuestion(
        q.document_id, q.text, q.id, q.external_id, q.origin, q.annotator, answer.answers,
        answer.impossible,
    )
    doc_id = q.document_id
    repo.delete_question(session, q.id)
    return document_changes(doc_id, TaskKind.QA).with_inverse(inverse)


def _set_review_status(session: Session, op: SetReviewStatus) -> Changes:
    doc = _document(session, op.doc_id)
    inverse = SetReviewStatus(doc.id, doc.review_status)
    repo.set_review_status(session, doc.id, op.status)
    return document_changes(doc.id, review_status=True).with_inverse(inverse)


def _set_suggestion_state(session: Session, op: SetSuggestionState) -> Changes:
    row = session.get(Suggestion, op.suggestion_id)
    if row is None:
        raise AnnotationError(f"no suggestion with id {op.suggestion_id}")
    if op.state not in ("pending", "accepted", "rejected", "edited"):
        raise AnnotationError(f"unknown suggestion state {op.state!r}")
    inverse = SetSuggestionState(row.id, row.state)
    row.state = op.state
    row.decided_at = None if op.state == "pending" else utcnow()
    session.flush()
    return document_changes(
        row.document_id, SUGGESTION_TASK[row.kind], suggestions=True
    ).with_inverse(inverse)


def _add_label(session: Session, op: AddLabel) -> Changes:
    task = repo.require_task(session, op.kind)
    if any(label.name == op.name.strip() for label in task.labels):
        raise AnnotationError(f"the label {op.name.strip()!r} exists already")
    label = repo.ensure_labels(session, task, [op.name])[op.name.strip()]
    if op.color is not None or op.shortcut is not None:
        repo.update_label(session, label.id, color=op.color, shortcut=op.shortcut)
    return Changes(kinds=frozenset({op.kind}), labels=True, inverse=DeleteLabel(label.id))


def _update_label(session: Session, op: UpdateLabel) -> Changes:
    label = session.get(Label, op.label_id)
    if label is None:
        raise AnnotationError(f"no label with id {op.label_id}")
    inverse = UpdateLabel(
        label.id,
        None if op.name is None else label.name,
        None if op.color is None else label.color,
        None if op.shortcut is None else (label.shortcut or ""),
    )
    repo.update_label(session, label.id, name=op.name, color=op.color, shortcut=op.shortcut)
    kind = TaskKind(label.task.kind)
    return Changes(kinds=frozenset({kind}), labels=True, inverse=inverse)


def _delete_label(session: Session, op: DeleteLabel) -> Changes:
    label = session.get(Label, op.label_id)
    if label is None:
        raise AnnotationError(f"no label with id {op.label_id}")
    kind = TaskKind(label.task.kind)
    used = session.scalar(
        select(EntityAnnotation.id).where(EntityAnnotation.label_id == label.id).limit(1)
    ) or session.scalar(
        select(ClassAnnotation.id).where(ClassAnnotation.label_id == label.id).limit(1)
    )
    # A label still in use takes its annotations with it: that cannot be put back.
    inverse = None if used else AddLabel(kind, label.name, label.color, label.shortcut or "")
    repo.delete_label(session, label.id)
    return Changes(kinds=frozenset({kind}), labels=True, inverse=inverse)


def _batch(session: Session, op: Batch) -> Changes:
    total = Changes()
    inverses: list[Op] = []
    for part in op.ops:
        changes = apply_op(session, part)
        total = total.merged(changes)
        if changes.inverse is None:
            return total  # not undoable as a whole
        inverses.append(changes.inverse)
    return total.with_inverse(Batch(tuple(reversed(inverses))))


def _decide(session: Session, op: Decide) -> Changes:
    from core.project.decisions import decide

    return decide(session, op)


_APPLY = {
    AddEntity: _add_entity,
    RemoveEntity: _remove_entity,
    RelabelEntity: _relabel_entity,
    ResizeEntity: _resize_entity,
    SetClasses: _set_classes,
    SetAnswer: _set_answer,
    AddQuestion: _add_question,
    RemoveQuestion: _remove_question,
    SetReviewStatus: _set_review_status,
    SetSuggestionState: _set_suggestion_state,
    Decide: _decide,
    AddLabel: _add_label,
    UpdateLabel: _update_label,
    DeleteLabel: _delete_label,
    Batch: _batch,
}


def apply_op(session: Session, op: Op) -> Changes:
    """Apply ``op`` in ``session`` (the caller owns the transaction); returns what changed and
    the inverse. Raises :class:`AnnotationError` when the edit is refused."""
    try:
        fn = _APPLY[type(op)]
    except KeyError:
        raise TypeError(f"not an op: {op!r}") from None
    return fn(session, op)  # type: ignore[operator]
