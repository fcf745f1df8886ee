"""The ops on relations between entities (:mod:`core.project.edits`): a relation between two
entities and the NER task's relation types, each with its inverse (registered in
:mod:`core.project.ops`).

Entities are named by their spans (unique: two entities never share an
extent, even in a task that lets them overlap). Removing an entity, a
label or a relation type deletes relations; the inverse puts them back with their
provenance (:class:`SetRelationRows`). Relabelling an entity keeps its relations: one
whose ends' labels no longer fit its type is kept and not read (see
:mod:`core.store.relations`), so relabelling back brings it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from core.project.attribute_ops import entity_at
from core.project.changes import Changes, document_changes
from core.project.edits import (
    AddRelation,
    AddRelationType,
    Batch,
    Op,
    RelationRow,
    RemoveRelation,
    RemoveRelationType,
    SetRelationRows,
    SetRelationTypes,
)
from core.store import relations as store
from core.store.models import EntityAnnotation, EntityRelation
from core.store.repo import AnnotationError
from core.tasks import kind_of
from core.types import RelationSpec, TaskKind

# The kind whose task declares the relation types (entities), and the kinds an edit touches.
DECLARED_ON = kind_of(TaskKind.RELATION).hangs_on
KINDS = frozenset({TaskKind.NER, TaskKind.RELATION})


def row_copy(row: EntityRelation) -> RelationRow:
    """The stored relation as plain data, its ends named by their spans."""
    return RelationRow(row.head.document_id, (row.head.start, row.head.end),
                       (row.tail.start, row.tail.end), row.label, row.origin, row.annotator,
                       row.suggestion_id)


def relation_rows(entity: EntityAnnotation) -> tuple[RelationRow, ...]:
    """Every relation the entity is an end of (read or not), by id."""
    rows = sorted({*entity.relations_out, *entity.relations_in}, key=lambda r: r.id)
    return tuple(row_copy(r) for r in rows)


def unique_rows(rows: Iterable[RelationRow]) -> tuple[RelationRow, ...]:
    """``rows`` without repeats (a relation between two removed entities is in both)."""
    return tuple(dict.fromkeys(rows))


def write_rows(session: Session, rows: Sequence[RelationRow]) -> None:
    """Store exactly these relations (an inverse: unchecked against the types)."""
    for r in rows:
        head = entity_at(session, r.doc_id, *r.head)
        tail = entity_at(session, r.doc_id, *r.tail)
        store.write_relation(session, head, tail, r.label, origin=r.origin,
                             annotator=r.annotator, suggestion_id=r.suggestion_id)


def _row_at(session: Session, doc_id: int, head: tuple[int, int], tail: tuple[int, int],
            label: str) -> EntityRelation:
    row = store.relation_between(entity_at(session, doc_id, *head),
                                 entity_at(session, doc_id, *tail), label)
    if row is None:
        raise AnnotationError(f"no {label} relation from [{head[0]}, {head[1]}) to "
                              f"[{tail[0]}, {tail[1]}) in document {doc_id}")
    return row


def add_relation_op(session: Session, op: AddRelation) -> Changes:
    head = entity_at(session, op.doc_id, *op.head)
    tail = entity_at(session, op.doc_id, *op.tail)
    store.add_relation(session, head, tail, op.label, annotator=op.annotator,
                       origin=op.origin, suggestion_id=op.suggestion_id)
    return document_changes(op.doc_id, *KINDS).with_inverse(
        RemoveRelation(op.doc_id, op.head, op.tail, op.label))


def remove_relation_op(session: Session, op: RemoveRelation) -> Changes:
    row = _row_at(session, op.doc_id, op.head, op.tail, op.label)
    inverse = SetRelationRows((row_copy(row),))
    store.remove_relation(session, row)
    return document_changes(op.doc_id, *KINDS).with_inverse(inverse)


def set_relation_rows_op(session: Session, op: SetRelationRows) -> Changes:
    write_rows(session, op.rows)
    undo = tuple(RemoveRelation(r.doc_id, r.head, r.tail, r.label) for r in reversed(op.rows))
    return Changes(documents=frozenset(r.doc_id for r in op.rows), kinds=KINDS,
                   inverse=Batch(undo))


# --- the declaration ---------------------------------------------------------------------


def _specs(session: Session) -> list[RelationSpec]:
    return list(store.relation_specs(session))


def _declared(session: Session, specs: Sequence[RelationSpec], inverse: Op,
              documents: frozenset[int] = frozenset()) -> Changes:
    store.write_specs(session, specs)
    return Changes(documents=documents, kinds=KINDS, labels=True, inverse=inverse)


def add_relation_type_op(session: Session, op: AddRelationType) -> Changes:
    problem = op.spec.problem()
    if problem is not None:
        raise AnnotationError(problem)
    specs = _specs(session)
    if any(s.name == op.spec.name for s in specs):
        raise AnnotationError(f"the relation {op.spec.name!r} exists already")
    specs.insert(len(specs) if op.position is None else op.position, op.spec)
    return _declared(session, specs, RemoveRelationType(op.spec.name))


def _delete_rows(session: Session, rows: Sequence[EntityRelation]) -> frozenset[int]:
    docs = set()
    for row in rows:
        docs.add(row.head.document_id)
        store.remove_relation(session, row)
    return frozenset(docs)


def remove_relation_type_op(session: Session, op: RemoveRelationType) -> Changes:
    specs = _specs(session)
    spec = store.spec_named(specs, op.name)  # raises naming the known ones
    i = specs.index(spec)
    rows = store.rows_labelled(session, op.name)
    copies = tuple(row_copy(r) for r in rows)
    docs = _delete_rows(session, rows)
    specs.pop(i)
    inverse: Op = AddRelationType(spec, i)
    if copies:
        inverse = Batch((inverse, SetRelationRows(copies)))
    return _declared(session, specs, inverse, docs)


def set_relation_types_op(session: Session, op: SetRelationTypes) -> Changes:
    inverse = SetRelationTypes(tuple(_specs(session)))
    return _declared(session, op.specs, inverse)


def rename_label_in_specs(session: Session, old: str, new: str) -> None:
    """A NER label renamed: the relation types naming it name the new name."""
    specs = _specs(session)

    def renamed(labels: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if labels is None else tuple(new if x == old else x for x in labels)

    changed = [replace(s, heads=renamed(s.heads), tails=renamed(s.tails)) for s in specs]
    if changed != specs:
        store.write_specs(session, changed)


def drop_label_from_specs(session: Session, name: str) -> tuple[list[Op], tuple[RelationRow, ...]]:
    """A NER label deleted: the relation types naming it no longer do, and a type left
    with no label at one end is removed with its relations. Returns the op that puts the
    declaration back and the relations removed (both for the deletion's inverse, the
    relations after the entities)."""
    specs = _specs(session)
    kept: list[RelationSpec] = []
    removed: list[EntityRelation] = []
    for s in specs:
        if name not in s.labels():
            kept.append(s)
            continue
        heads = None if s.heads is None else tuple(x for x in s.heads if x != name)
        tails = None if s.tails is None else tuple(x for x in s.tails if x != name)
        if heads == () or tails == ():
            removed += store.rows_labelled(session, s.name)
        else:
            kept.append(replace(s, heads=heads, tails=tails))
    if kept == specs:
        return [], ()
    copies = tuple(row_copy(r) for r in removed)
    _delete_rows(session, removed)
    store.write_specs(session, kept)
    return [SetRelationTypes(tuple(specs))], copies
