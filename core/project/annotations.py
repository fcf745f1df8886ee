"""``project.annotations``: add, change and remove entities, classes, questions, answers,
review statuses and labels. Each call is one unit of work and returns :class:`Changes`
with the inverse; ``project.undo(changes)`` applies it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from core.project.attribute_ops import DECLARED_ON
from core.project.changes import Changes
from core.project.edits import (
    AddAttribute,
    AddAttributeValue,
    AddEntity,
    AddLabel,
    AddQuestion,
    AddRelation,
    AddRelationType,
    AnswerMark,
    DeleteLabel,
    MergeSentences,
    MoveAttributeValue,
    RelabelEntity,
    RemoveAttribute,
    RemoveAttributeValue,
    RemoveEntity,
    RemoveQuestion,
    RemoveRelation,
    RemoveRelationType,
    RenameAttribute,
    RenameAttributeValue,
    ResizeEntity,
    SetAnswer,
    SetAttributeLabels,
    SetClasses,
    SetEntityAttributes,
    SetOverlapping,
    SetReviewStatus,
    SetSentenceClasses,
    SplitSentence,
    UpdateLabel,
)
from core.project.relation_ops import DECLARED_ON as RELATIONS_ON
from core.store import attributes as attribute_store
from core.store import relations as relation_store
from core.store import repo
from core.store.models import EntityAnnotation
from core.store.sentences import ensure_sentences
from core.types import AttributeSpec, RelationSpec, TaskKind

if TYPE_CHECKING:
    from core.project.base import Project

# Keys the review flow uses; a label shortcut on one of them would never fire.
RESERVED_KEYS = repo.RESERVED_KEYS


def _span(span: Sequence[int]) -> tuple[int, int]:
    start, end = span
    return int(start), int(end)


class Annotations:
    def __init__(self, project: Project) -> None:
        self._project = project

    # --- entities -------------------------------------------------------------------

    def add_entity(self, doc_id: int, start: int, end: int, label: str) -> Changes:
        """Label ``text[start:end]``; refused outside the text, on another entity's extent,
        or over another entity unless the task lets entities overlap."""
        return self._project.apply(AddEntity(doc_id, start, end, label))

    def remove_entity(self, doc_id: int, start: int, end: int) -> Changes:
        return self._project.apply(RemoveEntity(doc_id, start, end))

    def resize_entity(
        self, doc_id: int, start: int, end: int, new_start: int, new_end: int
    ) -> Changes:
        """Move the entity ``[start, end)`` to ``[new_start, new_end)`` (an accepted one
        becomes "edited"); refused outside the text, on another entity's extent, or over
        another entity unless the task lets entities overlap."""
        return self._project.apply(ResizeEntity(doc_id, start, end, new_start, new_end))

    def relabel_entity(self, doc_id: int, start: int, end: int, label: str) -> Changes:
        return self._project.apply(RelabelEntity(doc_id, start, end, label))

    # --- overlapping and nested entities --------------------------------------------

    def overlapping(self) -> bool:
        """Whether the NER task lets entities overlap and nest (two never share an extent)."""
        with self._project.read() as session:
            return repo.overlapping_allowed(session)

    def set_overlapping(self, allowed: bool) -> Changes:
        """Let entities overlap and nest, or not (undoable). Switching off is refused,
        naming a document and two of its entities, while any two entities overlap."""
        return self._project.apply(SetOverlapping(bool(allowed)))

    # --- attributes of entities -------------------------------------------------------

    def attribute_specs(self) -> tuple[AttributeSpec, ...]:
        """The attributes the NER task declares, in order (``()``: none)."""
        with self._project.read() as session:
            return attribute_store.attribute_specs(session)

    def set_entity_attributes(self, entity_id: int, values: Mapping[str, str | None]) -> Changes:
        """Give the entity ``entity_id`` these attribute values (``None``: back to the
        default). Refused, naming them, for an unknown attribute or value or one that does
        not apply to the entity's label. The op (``SetEntityAttributes``) names the entity
        by its span, so its inverse stays valid when undo re-creates the entity."""
        with self._project.read() as session:
            row = session.get(EntityAnnotation, entity_id)
            if row is None:
                raise repo.AnnotationError(f"no entity with id {entity_id}")
            doc_id, start, end = row.document_id, row.start, row.end
        return self._project.apply(SetEntityAttributes(doc_id, start, end, dict(values)))

    def set_span_attributes(self, doc_id: int, start: int, end: int,
                            values: Mapping[str, str | None]) -> Changes:
        """The same as :meth:`set_entity_attributes`, the entity named by its span."""
        return self._project.apply(SetEntityAttributes(doc_id, start, end, dict(values)))

    def add_attribute(self, spec: AttributeSpec | str, *, position: int | None = None) -> Changes:
        """Declare an attribute (an :class:`AttributeSpec` or its text form,
        ``"negation=Affirmed,Negated@Condition"``) on the NER task."""
        if isinstance(spec, str):
            try:
                spec = AttributeSpec.parse(spec)
            except ValueError as exc:
                raise repo.AnnotationError(str(exc)) from None
        return self._project.apply(AddAttribute(spec, position))

    def remove_attribute(self, name: str) -> Changes:
        """Remove an attribute and every value given for it (undo puts them back)."""
        return self._project.apply(RemoveAttribute(name))

    def rename_attribute(self, name: str, new_name: str) -> Changes:
        return self._project.apply(RenameAttribute(name, new_name))

    def add_attribute_value(self, name: str, value: str, *,
                            position: int | None = None) -> Changes:
        return self._project.apply(AddAttributeValue(name, value, position))

    def remove_attribute_value(self, name: str, value: str) -> Changes:
        """Remove a value; entities that had it read the default again."""
        return self._project.apply(RemoveAttributeValue(name, value))

    def rename_attribute_value(self, name: str, value: str, new_value: str) -> Changes:
        return self._project.apply(RenameAttributeValue(name, value, new_value))

    def move_attribute_value(self, name: str, value: str, position: int) -> Changes:
        """Move a value to ``position`` among the attribute's values (0: the default)."""
        return self._project.apply(MoveAttributeValue(name, value, position))

    def set_attribute_default(self, name: str, value: str) -> Changes:
        return self.move_attribute_value(name, value, 0)

    def set_attribute_labels(self, name: str, labels: Sequence[str] | None) -> Changes:
        """The entity labels the attribute applies to (``None``: every label)."""
        return self._project.apply(
            SetAttributeLabels(name, None if labels is None else tuple(labels)))

    # --- relations between entities ---------------------------------------------------

    def relation_specs(self) -> tuple[RelationSpec, ...]:
        """The relation types the NER task declares, in order (``()``: none)."""
        with self._project.read() as session:
            return relation_store.relation_specs(session)

    def add_relation_type(self, spec: RelationSpec | str, *,
                          position: int | None = None) -> Changes:
        """Declare a relation type (a :class:`RelationSpec` or its text form,
        ``"dosage_of=Dosage>Medication"``, a side ``*`` for any label) on the NER task."""
        if isinstance(spec, str):
            try:
                spec = RelationSpec.parse(spec)
            except ValueError as exc:
                raise repo.AnnotationError(str(exc)) from None
        return self._project.apply(AddRelationType(spec, position))

    def remove_relation_type(self, name: str) -> Changes:
        """Remove a relation type and every relation of it (undo puts them back)."""
        return self._project.apply(RemoveRelationType(name))

    def add_relation(self, doc_id: int, head: tuple[int, int], tail: tuple[int, int],
                     label: str) -> Changes:
        """Link the entity at the span ``head`` to the one at ``tail`` by the relation type
        ``label``. Refused, saying why: an entity linked to itself, no entity there, an
        unknown type, labels the type does not allow, the same relation twice."""
        return self._project.apply(AddRelation(doc_id, _span(head), _span(tail), label))

    def add_entity_relation(self, head_id: int, tail_id: int, label: str) -> Changes:
        """The same as :meth:`add_relation`, the entities named by their ids (the op names
        them by their spans, so undo stays valid when an entity is re-created)."""
        with self._project.read() as session:
            ends = []
            for entity_id in (head_id, tail_id):
                row = session.get(EntityAnnotation, entity_id)
                if row is None:
                    raise repo.AnnotationError(f"no entity with id {entity_id}")
                ends.append(row)
            head, tail = ends
            if head.document_id != tail.document_id:
                raise repo.AnnotationError("a relation links two entities of the same document")
            op = AddRelation(head.document_id, (head.start, head.end), (tail.start, tail.end),
                             label)
        return self._project.apply(op)

    def remove_relation(self, doc_id: int, head: tuple[int, int], tail: tuple[int, int],
                        label: str) -> Changes:
        """Remove the ``label`` relation from the entity at ``head`` to the one at ``tail``."""
        return self._project.apply(RemoveRelation(doc_id, _span(head), _span(tail), label))

    # --- classes, questions, answers --------------------------------------------------

    def set_classes(self, doc_id: int, labels: Sequence[str]) -> Changes:
        """Make ``labels`` the document's classes (one unless the task is multi-label)."""
        return self._project.apply(SetClasses(doc_id, tuple(labels)))

    def set_sentence_classes(self, doc_id: int, start: int, end: int,
                             labels: Sequence[str]) -> Changes:
        """Make ``labels`` the classes of the sentence ``[start, end)`` (``()``: none)."""
        return self._project.apply(SetSentenceClasses(doc_id, start, end, tuple(labels)))

    def split_sentence(self, doc_id: int, at: int) -> Changes:
        """Split the sentence holding character ``at`` there; both halves keep its classes."""
        return self._project.apply(SplitSentence(doc_id, at))

    def merge_sentences(self, doc_id: int, start: int) -> Changes:
        """Merge the sentence starting at ``start`` with the next; it keeps both's classes
        (single-label: refused when they differ)."""
        return self._project.apply(MergeSentences(doc_id, start))

    def add_question(self, doc_id: int, text: str) -> Changes:
        return self._project.apply(AddQuestion(doc_id, text))

    def remove_question(self, question_id: int) -> Changes:
        return self._project.apply(RemoveQuestion(question_id))

    def set_answer(self, question_id: int, start: int, end: int) -> Changes:
        return self._project.apply(SetAnswer(question_id, (AnswerMark(start, end),)))

    def mark_no_answer(self, question_id: int) -> Changes:
        return self._project.apply(SetAnswer(question_id, (), impossible=True))

    def clear_answer(self, question_id: int) -> Changes:
        return self._project.apply(SetAnswer(question_id))

    def set_review_status(self, doc_id: int, status: str) -> Changes:
        """``unreviewed``, ``reviewed`` (the user marked it done) or ``skipped``."""
        return self._project.apply(SetReviewStatus(doc_id, status))

    # --- tasks and labels -----------------------------------------------------------

    def add_task(
        self, kind: TaskKind | str, labels: Sequence[str] = (), *, multi_label: bool = False,
        attributes: Sequence[AttributeSpec] = (), relations: Sequence[RelationSpec] = (),
        overlapping: bool = False,
    ) -> Changes:
        """Switch a task on (or extend it): its labels are added, ``multi_label`` only ever
        turns on; ``attributes`` and ``relations`` (NER only) are declared, one declared
        the same way already is left as it is; ``overlapping`` (NER only) lets entities
        overlap and nest, and only ever turns on. Not undoable (the CLI's ``init``)."""
        kind = TaskKind(kind)
        if attributes and kind is not DECLARED_ON:
            raise repo.AnnotationError("attributes are declared on the ner task (entities)")
        if relations and kind is not RELATIONS_ON:
            raise repo.AnnotationError("relations are declared on the ner task (entities)")
        if overlapping and kind is not TaskKind.NER:
            raise repo.AnnotationError("overlapping spans are for the ner task (entities)")
        with self._project.write() as session:
            task = repo.ensure_task(session, kind, multi_label=multi_label)
            if multi_label:
                task.multi_label = True
            repo.ensure_labels(session, task, labels)
            if attributes:
                specs = list(attribute_store.specs_of(task))
                for spec in attributes:
                    same = next((s for s in specs if s.name == spec.name), None)
                    if same is None:
                        specs.append(spec)
                    elif same != spec:
                        raise repo.AnnotationError(
                            f"the attribute {spec.name!r} is declared already as {same}; "
                            "change it in the label editor")
                attribute_store.write_specs(session, specs)
            if relations:
                types = list(relation_store.specs_of(task))
                for rspec in relations:
                    known = next((s for s in types if s.name == rspec.name), None)
                    if known is None:
                        types.append(rspec)
                    elif known != rspec:
                        raise repo.AnnotationError(
                            f"the relation {rspec.name!r} is declared already as {known}; "
                            "change it in the label editor")
                relation_store.write_specs(session, types)
            if overlapping:
                repo.set_overlapping_allowed(session, True)
            if kind is TaskKind.SENTENCE:  # every document gets its sentences, once
                ensure_sentences(session)
        return Changes(kinds=frozenset({kind}), labels=True)

    def add_label(self, kind: TaskKind | str, name: str) -> Changes:
        return self._project.apply(AddLabel(TaskKind(kind), name))

    def update_label(
        self, label_id: int, *, name: str | None = None, color: str | None = None,
        shortcut: str | None = None,
    ) -> Changes:
        """Rename, recolour or re-key a label (``shortcut=""`` removes the key)."""
        if shortcut and shortcut.lower() in RESERVED_KEYS:
            raise repo.AnnotationError(
                f"the key {shortcut!r} is used by the review flow; pick another"
            )
        if shortcut is not None and len(shortcut) > 1:
            raise repo.AnnotationError("a shortcut is one key (a letter or digit)")
        return self._project.apply(UpdateLabel(label_id, name, color, shortcut))

    def delete_label(self, label_id: int) -> Changes:
        """Delete a label and every annotation that uses it."""
        return self._project.apply(DeleteLabel(label_id))
