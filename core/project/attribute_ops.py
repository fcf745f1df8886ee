"""The ops on attributes of entities (:mod:`core.project.edits`): values on one entity and
the NER task's declaration, each with its inverse (registered in :mod:`core.project.ops`).

Values of an entity are named by the entity's span (unique: two entities never share an
extent, even in a task that lets them overlap). A
declaration change that deletes values (removing an attribute or one of its values)
returns an inverse that puts the declaration and every deleted value back, with its
provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.project.changes import Changes, document_changes
from core.project.edits import (
    AddAttribute,
    AddAttributeValue,
    AttributeMark,
    AttributeRow,
    Batch,
    MoveAttributeValue,
    Op,
    RemoveAttribute,
    RemoveAttributeValue,
    RenameAttribute,
    RenameAttributeValue,
    SetAttributeLabels,
    SetAttributeRows,
    SetEntityAttributes,
)
from core.store import attributes as store
from core.store.models import EntityAnnotation, EntityAttribute
from core.store.repo import AnnotationError
from core.tasks import kind_of
from core.types import AttributeSpec, TaskKind

# The kind whose task declares the attributes (entities), and the kinds an edit touches.
DECLARED_ON = kind_of(TaskKind.ATTRIBUTE).hangs_on
KINDS = frozenset({TaskKind.NER, TaskKind.ATTRIBUTE})


def entity_at(session: Session, doc_id: int, start: int, end: int) -> EntityAnnotation:
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


def attribute_marks(entity: EntityAnnotation) -> tuple[AttributeMark, ...]:
    """The entity's stored attribute values with their provenance."""
    return tuple(
        AttributeMark(r.name, r.value, r.origin, r.annotator, r.suggestion_id)
        for r in sorted(entity.attribute_values, key=lambda r: r.name)
    )


def write_marks(session: Session, entity: EntityAnnotation,
                marks: Sequence[AttributeMark]) -> None:
    """Store exactly these marks (``value`` None: no row) for their attributes, unchecked
    (an inverse restores what was there)."""
    rows = store.stored_values(entity)
    for m in marks:
        row = rows.get(m.name)
        if m.value is None:
            if row is not None:
                entity.attribute_values.remove(row)
                session.delete(row)
            continue
        if row is None:
            row = EntityAttribute(name=m.name, value=m.value)
            entity.attribute_values.append(row)
        row.value, row.origin, row.annotator = m.value, m.origin, m.annotator
        row.suggestion_id = m.suggestion_id
    session.flush()


def set_entity_attributes_op(session: Session, op: SetEntityAttributes) -> Changes:
    entity = entity_at(session, op.doc_id, op.start, op.end)
    rows = store.stored_values(entity)
    inverse_marks = tuple(
        AttributeMark(name, rows[name].value, rows[name].origin, rows[name].annotator,
                      rows[name].suggestion_id) if name in rows else AttributeMark(name, None)
        for name in op.values
    )
    if op.marks is not None:
        write_marks(session, entity, op.marks)
    else:
        given = {k: v for k, v in op.values.items() if v is not None}
        cleared = [k for k, v in op.values.items() if v is None]
        specs = store.attribute_specs(session)
        store.check_values(specs, entity.label.name,
                           {**given, **{k: store.spec_named(specs, k).default for k in cleared}})
        store.set_values(session, entity, given, specs=specs)
        store.clear_values(session, entity, cleared)
    inverse = SetEntityAttributes(
        op.doc_id, op.start, op.end, {m.name: m.value for m in inverse_marks}, inverse_marks
    )
    return document_changes(op.doc_id, *KINDS).with_inverse(inverse)


# --- the declaration ---------------------------------------------------------------------


def _specs(session: Session) -> list[AttributeSpec]:
    return list(store.attribute_specs(session))


def _index(specs: Sequence[AttributeSpec], name: str) -> int:
    store.spec_named(specs, name)  # raises naming the known ones
    return next(i for i, s in enumerate(specs) if s.name == name)


def _declared(session: Session, specs: Sequence[AttributeSpec], inverse: Op,
              documents: frozenset[int] = frozenset()) -> Changes:
    store.write_specs(session, specs)
    return Changes(documents=documents, kinds=KINDS, labels=True, inverse=inverse)


def _checked(spec: AttributeSpec) -> AttributeSpec:
    problem = spec.problem()
    if problem is not None:
        raise AnnotationError(problem)
    return spec


def _new_spec(spec: AttributeSpec, **changes: object) -> AttributeSpec:
    try:
        return replace(spec, **changes)  # type: ignore[arg-type]
    except ValueError as exc:
        raise AnnotationError(str(exc)) from None


def _rows(session: Session, name: str, value: str | None = None) -> tuple[AttributeRow, ...]:
    return tuple(
        AttributeRow(r.entity.document_id, r.entity.start, r.entity.end, r.value, r.origin,
                     r.annotator, r.suggestion_id)
        for r in store.rows_named(session, name, value)
    )


def _delete_rows(session: Session, name: str, value: str | None = None) -> frozenset[int]:
    docs = set()
    for row in store.rows_named(session, name, value):
        docs.add(row.entity.document_id)
        row.entity.attribute_values.remove(row)
        session.delete(row)
    session.flush()
    return frozenset(docs)


def add_attribute_op(session: Session, op: AddAttribute) -> Changes:
    specs = _specs(session)
    spec = _checked(op.spec)
    if any(s.name == spec.name for s in specs):
        raise AnnotationError(f"the attribute {spec.name!r} exists already")
    specs.insert(len(specs) if op.position is None else op.position, spec)
    return _declared(session, specs, RemoveAttribute(spec.name))


def remove_attribute_op(session: Session, op: RemoveAttribute) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    rows = _rows(session, op.name)
    docs = _delete_rows(session, op.name)
    inverse: Op = AddAttribute(specs.pop(i), i)
    if rows:
        inverse = Batch((inverse, SetAttributeRows(op.name, rows)))
    return _declared(session, specs, inverse, docs)


def rename_attribute_op(session: Session, op: RenameAttribute) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    if op.new_name != op.name and any(s.name == op.new_name for s in specs):
        raise AnnotationError(f"the attribute {op.new_name!r} exists already")
    specs[i] = _new_spec(specs[i], name=op.new_name)
    docs = set()
    for row in store.rows_named(session, op.name):
        row.name = op.new_name
        docs.add(row.entity.document_id)
    session.flush()
    return _declared(session, specs, RenameAttribute(op.new_name, op.name), frozenset(docs))


def add_attribute_value_op(session: Session, op: AddAttributeValue) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    values = list(specs[i].values)
    if op.value in values:
        raise AnnotationError(f"attribute {op.name!r} has the value {op.value!r} already")
    values.insert(len(values) if op.position is None else op.position, op.value)
    specs[i] = _new_spec(specs[i], values=tuple(values))
    return _declared(session, specs, RemoveAttributeValue(op.name, op.value))


def remove_attribute_value_op(session: Session, op: RemoveAttributeValue) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    values = list(specs[i].values)
    if op.value not in values:
        raise AnnotationError(f"attribute {op.name!r} has no value {op.value!r}")
    if len(values) <= 2:
        raise AnnotationError(f"attribute {op.name!r} keeps at least two values; remove the "
                              "attribute instead")
    position = values.index(op.value)
    values.remove(op.value)
    specs[i] = _new_spec(specs[i], values=tuple(values))
    rows = _rows(session, op.name, op.value)
    docs = _delete_rows(session, op.name, op.value)
    inverse: Op = AddAttributeValue(op.name, op.value, position)
    if rows:
        inverse = Batch((inverse, SetAttributeRows(op.name, rows)))
    return _declared(session, specs, inverse, docs)


def rename_attribute_value_op(session: Session, op: RenameAttributeValue) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    values = list(specs[i].values)
    if op.value not in values:
        raise AnnotationError(f"attribute {op.name!r} has no value {op.value!r}")
    if op.new_value != op.value and op.new_value in values:
        raise AnnotationError(f"attribute {op.name!r} has the value {op.new_value!r} already")
    values[values.index(op.value)] = op.new_value
    specs[i] = _new_spec(specs[i], values=tuple(values))
    docs = set()
    for row in store.rows_named(session, op.name, op.value):
        row.value = op.new_value
        docs.add(row.entity.document_id)
    session.flush()
    return _declared(session, specs, RenameAttributeValue(op.name, op.new_value, op.value),
                     frozenset(docs))


def move_attribute_value_op(session: Session, op: MoveAttributeValue) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    values = list(specs[i].values)
    if op.value not in values:
        raise AnnotationError(f"attribute {op.name!r} has no value {op.value!r}")
    if not 0 <= op.position < len(values):
        raise AnnotationError(f"no position {op.position} among {len(values)} values")
    old = values.index(op.value)
    values.insert(op.position, values.pop(old))
    specs[i] = _new_spec(specs[i], values=tuple(values))
    return _declared(session, specs, MoveAttributeValue(op.name, op.value, old))


def set_attribute_labels_op(session: Session, op: SetAttributeLabels) -> Changes:
    specs = _specs(session)
    i = _index(specs, op.name)
    old = specs[i].labels
    specs[i] = _new_spec(specs[i], labels=None if op.labels is None else tuple(op.labels))
    return _declared(session, specs, SetAttributeLabels(op.name, old))


def set_attribute_rows_op(session: Session, op: SetAttributeRows) -> Changes:
    docs = set()
    undo: list[Op] = []
    for r in op.rows:
        entity = entity_at(session, r.doc_id, r.start, r.end)
        before = store.stored_values(entity).get(op.name)
        undo.append(SetEntityAttributes(
            r.doc_id, r.start, r.end, {op.name: None if before is None else before.value},
            (AttributeMark(op.name, None) if before is None else AttributeMark(
                op.name, before.value, before.origin, before.annotator, before.suggestion_id),),
        ))
        write_marks(session, entity, [AttributeMark(op.name, r.value, r.origin, r.annotator,
                                                    r.suggestion_id)])
        docs.add(r.doc_id)
    return Changes(documents=frozenset(docs), kinds=KINDS,
                   inverse=Batch(tuple(reversed(undo))))


def rename_label_in_specs(session: Session, old: str, new: str) -> None:
    """A NER label renamed: the attributes limited to it name the new name."""
    specs = _specs(session)
    changed = [
        replace(s, labels=tuple(new if x == old else x for x in s.labels))
        if s.labels is not None and old in s.labels else s
        for s in specs
    ]
    if changed != specs:
        store.write_specs(session, changed)


def drop_label_from_specs(session: Session, name: str) -> list[Op]:
    """A NER label deleted: the attributes limited to it no longer name it; returns the ops
    that put the declaration back (for the deletion's inverse)."""
    specs = _specs(session)
    restore: list[Op] = []
    changed = []
    for s in specs:
        if s.labels is not None and name in s.labels:
            restore.append(SetAttributeLabels(s.name, s.labels))
            s = replace(s, labels=tuple(x for x in s.labels if x != name))
        changed.append(s)
    if restore:
        store.write_specs(session, changed)
    return restore
