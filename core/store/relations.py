"""Relations between entities in the store: the declared types and the relation rows.

The types are a list of :class:`core.types.RelationSpec` kept in the NER task's
``settings["relations"]`` (JSON, in order). A relation is an :class:`EntityRelation` row
(schema 9) from a head entity to a tail entity of the same document (both ``ON DELETE
CASCADE``: deleting either entity deletes it).

**What is read** (training, export, the views, agreement): a row whose type is declared
and allows its ends' labels. A row whose ends' labels stop fitting (an entity relabelled,
the type's labels changed) is kept and not read, as attribute values are, so relabelling
back brings it back; adding a relation is refused unless it fits.

Like :mod:`core.store.repo`, every function takes a ``session`` owned by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.models import EntityAnnotation, EntityRelation, Task
from core.types import Relation, RelationSpec, TaskKind

SETTINGS_KEY = "relations"


def _ner_task(session: Session) -> Task | None:
    return session.scalars(select(Task).where(Task.kind == TaskKind.NER.value)).first()


def specs_of(task: Task | None) -> tuple[RelationSpec, ...]:
    """The relation types a NER task row declares, in order."""
    if task is None:
        return ()
    return tuple(RelationSpec.from_json(d) for d in (task.settings or {}).get(SETTINGS_KEY, ()))


def relation_specs(session: Session) -> tuple[RelationSpec, ...]:
    """The relation types the project's NER task declares (``()`` without one)."""
    return specs_of(_ner_task(session))


def write_specs(session: Session, specs: Sequence[RelationSpec]) -> None:
    """Make ``specs`` the NER task's relation types (checked: unique names, known labels)."""
    from core.store.repo import AnnotationError, ensure_task, require_task

    task = require_task(session, TaskKind.NER)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise AnnotationError(f"the relation {twice!r} is declared twice")
    known = {label.name for label in task.labels}
    for spec in specs:
        unknown = sorted(spec.labels() - known)
        if unknown:
            raise AnnotationError(
                f"relation {spec.name!r} names label(s) {', '.join(map(repr, unknown))} "
                f"that the ner task does not have (labels: {sorted(known)})"
            )
    settings = dict(task.settings or {})
    settings[SETTINGS_KEY] = [s.to_json() for s in specs]
    task.settings = settings  # a new dict: the JSON column sees the change
    if specs:  # the relation model's task: its versions, runs and suggestions
        ensure_task(session, TaskKind.RELATION)
    session.flush()


def spec_named(specs: Sequence[RelationSpec], name: str) -> RelationSpec:
    from core.store.repo import AnnotationError

    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(repr(s.name) for s in specs) or "none declared"
    raise AnnotationError(f"unknown relation {name!r} (relations: {known})")


def relation_problem(specs: Sequence[RelationSpec], label: str, head_label: str,
                     tail_label: str) -> str | None:
    """Why a ``label`` relation from a ``head_label`` entity to a ``tail_label`` one
    cannot be stored (an unknown type, labels the type does not allow), or ``None``."""
    spec = next((s for s in specs if s.name == label), None)
    if spec is None:
        known = ", ".join(repr(s.name) for s in specs) or "none declared"
        return f"unknown relation {label!r} (relations: {known})"
    if not spec.allows(head_label, tail_label):
        return (f"relation {label!r} does not link a {head_label} entity to a {tail_label} "
                f"entity (it is declared as {spec})")
    return None


def is_read(row: EntityRelation, specs: Sequence[RelationSpec]) -> bool:
    """Whether the row counts: its type is declared and allows its ends' labels."""
    return relation_problem(specs, row.label, row.head.label.name, row.tail.label.name) is None


def add_relation(
    session: Session,
    head: EntityAnnotation,
    tail: EntityAnnotation,
    label: str,
    *,
    specs: Sequence[RelationSpec] | None = None,
    annotator: str | None = None,
    origin: str = "human",
    suggestion_id: int | None = None,
) -> EntityRelation:
    """Store a ``label`` relation from ``head`` to ``tail``. Refused (``AnnotationError``,
    nothing written) for an entity linked to itself, ends in two documents, an unknown
    type, labels the type does not allow, or the same relation stored already."""
    from core.store.repo import AnnotationError

    specs = relation_specs(session) if specs is None else specs
    if head.id == tail.id:
        raise AnnotationError("a relation links two different entities, not an entity to "
                              "itself")
    if head.document_id != tail.document_id:
        raise AnnotationError("a relation links two entities of the same document")
    problem = relation_problem(specs, label, head.label.name, tail.label.name)
    if problem is not None:
        raise AnnotationError(problem)
    if any(r.tail_id == tail.id and r.label == label for r in head.relations_out):
        raise AnnotationError(
            f"the {label} relation from [{head.start}, {head.end}) to [{tail.start}, "
            f"{tail.end}) is there already")
    row = EntityRelation(head=head, tail=tail, label=label, annotator=annotator,
                         origin=origin, suggestion_id=suggestion_id)
    session.add(row)
    session.flush()
    return row


def write_relation(session: Session, head: EntityAnnotation, tail: EntityAnnotation,
                   label: str, *, origin: str, annotator: str | None,
                   suggestion_id: int | None) -> EntityRelation:
    """Store the relation exactly so, unchecked but for the self-link and a duplicate
    (an inverse restores a row as it was, fitting its type or not)."""
    from core.store.repo import AnnotationError

    if head.id == tail.id:
        raise AnnotationError("a relation links two different entities")
    if any(r.tail_id == tail.id and r.label == label for r in head.relations_out):
        raise AnnotationError(f"the {label} relation is there already")
    row = EntityRelation(head=head, tail=tail, label=label, annotator=annotator,
                         origin=origin, suggestion_id=suggestion_id)
    session.add(row)
    session.flush()
    return row


def remove_relation(session: Session, row: EntityRelation) -> None:
    ends = (row.head, row.tail)
    session.delete(row)
    session.flush()
    for entity in ends:  # their loaded lists of relations still hold the row
        session.expire(entity, ["relations_out", "relations_in"])


def relation_between(head: EntityAnnotation, tail: EntityAnnotation,
                     label: str) -> EntityRelation | None:
    return next((r for r in head.relations_out if r.tail_id == tail.id and r.label == label),
                None)


def record_relations(entities: Sequence[EntityAnnotation],
                     specs: Sequence[RelationSpec]) -> tuple[Relation, ...]:
    """The relations read among ``entities`` (a document's, in the order of its record's
    spans) as indices into that order, by head, then tail, then label."""
    if not specs:
        return ()
    index = {e.id: i for i, e in enumerate(entities)}
    out = [Relation(index[r.head_id], index[r.tail_id], r.label)
           for e in entities for r in e.relations_out
           if r.tail_id in index and is_read(r, specs)]
    return tuple(sorted(out, key=lambda r: (r.head, r.tail, r.label)))


def rows_labelled(session: Session, label: str) -> list[EntityRelation]:
    """Every relation row of the type ``label``, in id order."""
    return list(session.scalars(
        select(EntityRelation).where(EntityRelation.label == label).order_by(EntityRelation.id)))


def document_relations(session: Session, doc_ids: Iterable[int]) -> list[EntityRelation]:
    """Every relation row of the documents ``doc_ids`` (read or not)."""
    ids = list(doc_ids)
    if not ids:
        return []
    return list(session.scalars(
        select(EntityRelation).join(EntityAnnotation, EntityAnnotation.id == EntityRelation.head_id)
        .where(EntityAnnotation.document_id.in_(ids)).order_by(EntityRelation.id)))
