"""Applying user edits (the ops of :mod:`core.project.edits`, re-exported here).

:func:`apply_op` performs it in the caller's session and
returns a :class:`Changes` whose ``inverse`` is the op that puts everything back: applied in
turn, that inverse returns the op that redoes the edit, with every id pinned. So an undo stack
holds nothing but ops, and ids stay valid across undo and redo (a deleted question comes back
under its old id; entities are named by their span, which is unique: two entities never
share an extent, even in a task that lets them overlap).

Provenance (origin, annotator, the suggestion an annotation came from) is part of what an
inverse restores, so undoing a deletion of an accepted entity gives back an accepted entity.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.project import attribute_ops as attr
from core.project import relation_ops as rel
from core.project.changes import Changes, document_changes
from core.project.edits import (
    AddAttribute,
    AddAttributeValue,
    AddEntity,
    AddLabel,
    AddQuestion,
    AddRelation,
    AddRelationType,
    AnswerMark,
    Batch,
    ClassMark,
    Decide,
    DeleteLabel,
    MergeSentences,
    MoveAttributeValue,
    Op,
    RelabelEntity,
    RelationRow,
    RemoveAttribute,
    RemoveAttributeValue,
    RemoveEntity,
    RemoveQuestion,
    RemoveRelation,
    RemoveRelationType,
    RenameAttribute,
    RenameAttributeValue,
    SetAnswer,
    SetAttributeLabels,
    SetAttributeRows,
    SetClasses,
    SetEntityAttributes,
    SetOverlapping,
    SetRelationRows,
    SetRelationTypes,
    SetReviewStatus,
    SetSentenceClasses,
    SetSentences,
    SetSuggestionState,
    SplitSentence,
    SuggestionCopy,
    UpdateLabel,
)
from core.project.sentence_ops import (
    merge_sentences_op,
    restore_sentence,
    set_sentence_classes_op,
    set_sentences_op,
    split_sentence_op,
)
from core.span_edit import ResizeEntity, resize_entity
from core.store import repo
from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    EntityAnnotation,
    Label,
    ModelVersion,
    QuestionRow,
    Sentence,
    SentenceClass,
    Suggestion,
    acting_annotator,
    utcnow,
)
from core.store.repo import AnnotationError
from core.tasks import all_kinds
from core.types import TaskKind

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
    row = repo.add_entity(
        session, op.doc_id, op.start, op.end, op.label, annotator=op.annotator,
        origin=op.origin, suggestion_id=op.suggestion_id,
    )
    if op.attributes:
        attr.write_marks(session, row, op.attributes)
    if op.relations:
        rel.write_rows(session, op.relations)
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(
        RemoveEntity(op.doc_id, op.start, op.end)
    )


def entity_copy(row: EntityAnnotation, *, relations: bool = True) -> AddEntity:
    """The op that puts the entity back as it is, with its provenance, attributes and
    (``relations``) the relations it is an end of."""
    return AddEntity(
        row.document_id, row.start, row.end, row.label.name, row.origin, row.annotator,
        row.suggestion_id, attr.attribute_marks(row),
        rel.relation_rows(row) if relations else (),
    )


def _remove_entity(session: Session, op: RemoveEntity) -> Changes:
    row = attr.entity_at(session, op.doc_id, op.start, op.end)
    inverse = entity_copy(row)
    others = {r.tail for r in row.relations_out} | {r.head for r in row.relations_in}
    repo.delete_entity(session, row.id)
    for other in others:  # their loaded lists of relations still hold the deleted ones
        session.expire(other, ["relations_out", "relations_in"])
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(inverse)


def _relabel_entity(session: Session, op: RelabelEntity) -> Changes:
    row = attr.entity_at(session, op.doc_id, op.start, op.end)
    inverse = RelabelEntity(op.doc_id, op.start, op.end, row.label.name)
    repo.relabel_entity(session, row.id, op.label)
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(inverse)


def _resize_entity(session: Session, op: ResizeEntity) -> Changes:
    inverse = resize_entity(session, op)
    return document_changes(op.doc_id, TaskKind.NER).with_inverse(inverse)


def _set_overlapping(session: Session, op: SetOverlapping) -> Changes:
    before = repo.overlapping_allowed(session)
    if not op.allowed and before:
        pair = repo.first_overlap(session)
        if pair is not None:
            a, b = pair
            raise AnnotationError(
                "cannot stop entities overlapping while some do: "
                f"{repo.describe_overlap(a.document, a, b)} overlap; change or delete one "
                "of each such pair first"
            )
    repo.set_overlapping_allowed(session, op.allowed)
    return Changes(kinds=frozenset({TaskKind.NER}), labels=True,
                   inverse=SetOverlapping(before))


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
    versions = set(session.scalars(select(ModelVersion.id)))
    for c in op.suggestions:  # before the answers, which may point at them
        session.add(Suggestion(
            id=c.id, document_id=doc.id, task_id=c.task_id, question_id=q.id,
            model_version_id=c.model_version_id if c.model_version_id in versions else None,
            kind=c.kind, payload=dict(c.payload), confidence=c.confidence, state=c.state,
            created_at=c.created_at, decided_at=c.decided_at, source=c.source,
            decided_by=c.decided_by,
        ))
    session.flush()
    _write_answers(q, op.answers, op.impossible)
    session.flush()
    return document_changes(doc.id, TaskKind.QA).with_inverse(RemoveQuestion(q.id))


def _remove_question(session: Session, op: RemoveQuestion) -> Changes:
    q = _question(session, op.question_id)
    answer = restore_answer(q)
    copies = tuple(
        SuggestionCopy(r.id, r.task_id, r.model_version_id, r.kind, dict(r.payload or {}),
                       r.confidence, r.state, r.created_at, r.decided_at, r.source,
                       r.decided_by)
        for r in session.scalars(
            select(Suggestion).where(Suggestion.question_id == q.id).order_by(Suggestion.id))
    )
    inverse = AddQuestion(
        q.document_id, q.text, q.id, q.external_id, q.origin, q.annotator, answer.answers,
        answer.impossible, copies,
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
    row.decided_by = None if op.state == "pending" else acting_annotator()
    session.flush()
    return document_changes(
        row.document_id, SUGGESTION_TASK[row.kind], suggestions=True
    ).with_inverse(inverse)


def _add_label(session: Session, op: AddLabel) -> Changes:
    task = repo.require_task(session, op.kind)
    name = op.name.strip()
    if any(label.name == name for label in task.labels):
        raise AnnotationError(f"the label {name!r} exists already")
    if op.label_id is not None and session.get(Label, op.label_id) is not None:
        raise AnnotationError(f"label {op.label_id} exists already")
    if op.label_id is None:
        label = repo.ensure_labels(session, task, [name])[name]
    else:  # an undone deletion: the same row, in its old place
        label = Label(id=op.label_id, name=name, color=op.color or "#888888",
                      shortcut=op.shortcut or None,
                      position=len(task.labels) if op.position is None else op.position)
        task.labels.append(label)
        session.flush()
    if op.label_id is None and (op.color is not None or op.shortcut is not None):
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
    old_name = label.name
    repo.update_label(session, label.id, name=op.name, color=op.color, shortcut=op.shortcut)
    kind = TaskKind(label.task.kind)
    if kind is attr.DECLARED_ON and op.name is not None and label.name != old_name:
        attr.rename_label_in_specs(session, old_name, label.name)
    if kind is rel.DECLARED_ON and op.name is not None and label.name != old_name:
        rel.rename_label_in_specs(session, old_name, label.name)
    return Changes(kinds=frozenset({kind}), labels=True, inverse=inverse)


def _delete_label(session: Session, op: DeleteLabel) -> Changes:
    label = session.get(Label, op.label_id)
    if label is None:
        raise AnnotationError(f"no label with id {op.label_id}")
    kind = TaskKind(label.task.kind)
    entities = session.scalars(
        select(EntityAnnotation).where(EntityAnnotation.label_id == label.id)
        .order_by(EntityAnnotation.document_id, EntityAnnotation.start)
    ).all()
    classed = session.scalars(
        select(Document).join(ClassAnnotation, ClassAnnotation.document_id == Document.id)
        .where(ClassAnnotation.label_id == label.id).distinct().order_by(Document.id)
    ).all()
    # Put back: the label first (same id and place), then what used it, as it was.
    restore: list[Op] = [
        AddLabel(kind, label.name, label.color, label.shortcut or "", label.id, label.position)
    ]
    if kind is attr.DECLARED_ON:
        restore += attr.drop_label_from_specs(session, label.name)
    relations: tuple[RelationRow, ...] = ()
    if kind is rel.DECLARED_ON:
        declared, relations = rel.drop_label_from_specs(session, label.name)
        restore += declared
    # The entities first, then every relation they (or a removed type) had: both ends of a
    # relation between two of them must be back before it is.
    restore += [entity_copy(e, relations=False) for e in entities]
    relations = rel.unique_rows([*relations, *(r for e in entities
                                               for r in rel.relation_rows(e))])
    restore += [restore_classes(doc) for doc in classed]
    sentences = session.scalars(
        select(Sentence).join(SentenceClass, SentenceClass.sentence_id == Sentence.id)
        .where(SentenceClass.label_id == label.id).order_by(Sentence.document_id, Sentence.start)
    ).all()
    restore += [restore_sentence(s.document, s.start, s.end) for s in sentences]
    if relations:
        restore.append(SetRelationRows(relations))
    touched = frozenset({e.document_id for e in entities} | {doc.id for doc in classed}
                        | {s.document_id for s in sentences})
    repo.delete_label(session, label.id)
    inverse: Op = restore[0] if len(restore) == 1 else Batch(tuple(restore))
    return Changes(documents=touched, kinds=frozenset({kind}), labels=True, inverse=inverse)


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
    SetSentenceClasses: set_sentence_classes_op,
    SetSentences: set_sentences_op,
    SplitSentence: split_sentence_op,
    MergeSentences: merge_sentences_op,
    SetEntityAttributes: attr.set_entity_attributes_op,
    AddAttribute: attr.add_attribute_op,
    RemoveAttribute: attr.remove_attribute_op,
    RenameAttribute: attr.rename_attribute_op,
    AddAttributeValue: attr.add_attribute_value_op,
    RemoveAttributeValue: attr.remove_attribute_value_op,
    RenameAttributeValue: attr.rename_attribute_value_op,
    MoveAttributeValue: attr.move_attribute_value_op,
    SetAttributeLabels: attr.set_attribute_labels_op,
    SetAttributeRows: attr.set_attribute_rows_op,
    AddRelation: rel.add_relation_op,
    RemoveRelation: rel.remove_relation_op,
    SetRelationRows: rel.set_relation_rows_op,
    AddRelationType: rel.add_relation_type_op,
    RemoveRelationType: rel.remove_relation_type_op,
    SetRelationTypes: rel.set_relation_types_op,
    SetOverlapping: _set_overlapping,
}


def apply_op(session: Session, op: Op) -> Changes:
    """Apply ``op`` in ``session`` (the caller owns the transaction); returns what changed and
    the inverse. Raises :class:`AnnotationError` when the edit is refused."""
    try:
        fn = _APPLY[type(op)]
    except KeyError:
        raise TypeError(f"not an op: {op!r}") from None
    return fn(session, op)  # type: ignore[operator]
