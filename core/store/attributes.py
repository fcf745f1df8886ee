"""Attributes of entities in the store: the declaration on the NER task and the values.

The declaration is a list of :class:`core.types.AttributeSpec` kept in the NER task's
``settings["attributes"]`` (JSON, in order). A value is an :class:`EntityAttribute` row
(schema 7) pointing at its entity (``ON DELETE CASCADE``: deleting the entity deletes its
values). An entity without a row for an attribute that applies to its label has the
default (the first value); a row whose attribute no longer applies to the label is kept
and ignored, so setting the labels back brings it back.

Like :mod:`core.store.repo`, every function takes a ``session`` owned by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.models import EntityAnnotation, EntityAttribute, Task
from core.types import AttributeSpec, TaskKind, fill_attributes

SETTINGS_KEY = "attributes"


def _ner_task(session: Session) -> Task | None:
    return session.scalars(select(Task).where(Task.kind == TaskKind.NER.value)).first()


def specs_of(task: Task | None) -> tuple[AttributeSpec, ...]:
    """The attributes a NER task row declares, in order."""
    if task is None:
        return ()
    return tuple(AttributeSpec.from_json(d) for d in (task.settings or {}).get(SETTINGS_KEY, ()))


def attribute_specs(session: Session) -> tuple[AttributeSpec, ...]:
    """The attributes the project's NER task declares (``()`` without one)."""
    return specs_of(_ner_task(session))


def write_specs(session: Session, specs: Sequence[AttributeSpec]) -> None:
    """Make ``specs`` the NER task's declaration (checked: unique names, known labels)."""
    from core.store.repo import AnnotationError, require_task

    task = require_task(session, TaskKind.NER)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise AnnotationError(f"the attribute {twice!r} is declared twice")
    known = {label.name for label in task.labels}
    for spec in specs:
        unknown = [x for x in (spec.labels or ()) if x not in known]
        if unknown:
            raise AnnotationError(
                f"attribute {spec.name!r} names label(s) {', '.join(map(repr, unknown))} "
                f"that the ner task does not have (labels: {sorted(known)})"
            )
    settings = dict(task.settings or {})
    settings[SETTINGS_KEY] = [s.to_json() for s in specs]
    task.settings = settings  # a new dict: the JSON column sees the change
    if specs:  # the attribute model's task: its versions, runs and suggestions
        from core.store.repo import ensure_task

        ensure_task(session, TaskKind.ATTRIBUTE)
    session.flush()


def spec_named(specs: Sequence[AttributeSpec], name: str) -> AttributeSpec:
    from core.store.repo import AnnotationError

    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(repr(s.name) for s in specs) or "none declared"
    raise AnnotationError(f"unknown attribute {name!r} (attributes: {known})")


def validation_problems(
    specs: Sequence[AttributeSpec], label: str, values: Mapping[str, str]
) -> list[str]:
    """Why ``values`` cannot be the attributes of a ``label`` entity: an unknown attribute,
    an unknown value, an attribute that does not apply to the label (``[]``: none)."""
    by_name = {s.name: s for s in specs}
    problems = []
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(repr(s.name) for s in specs) or "none declared"
            problems.append(f"unknown attribute {name!r} (attributes: {known})")
        elif not isinstance(value, str) or value not in spec.values:
            problems.append(f"attribute {name!r} has no value {value!r} (values: "
                            f"{', '.join(map(repr, spec.values))})")
        elif not spec.applies_to(label):
            problems.append(f"attribute {name!r} does not apply to {label} entities "
                            f"(only to {', '.join(spec.labels or ())})")
    return problems


def check_values(specs: Sequence[AttributeSpec], label: str, values: Mapping[str, str]) -> None:
    """Raise ``AnnotationError`` naming every unknown attribute or value in ``values``."""
    from core.store.repo import AnnotationError

    problems = validation_problems(specs, label, values)
    if problems:
        raise AnnotationError("; ".join(problems))


def stored_values(entity: EntityAnnotation) -> dict[str, EntityAttribute]:
    """The entity's attribute rows by name (applicable or not)."""
    return {row.name: row for row in entity.attribute_values}


def entity_attributes(
    entity: EntityAnnotation, specs: Sequence[AttributeSpec]
) -> dict[str, str]:
    """The value of every attribute that applies to the entity's label, defaults filled."""
    given = {row.name: row.value for row in entity.attribute_values}
    return fill_attributes(specs, entity.label.name, given)


def set_values(
    session: Session,
    entity: EntityAnnotation,
    values: Mapping[str, str],
    *,
    specs: Sequence[AttributeSpec] | None = None,
    annotator: str | None = None,
    origin: str = "human",
    suggestion_id: int | None = None,
) -> None:
    """Give the entity these attribute values (each stored, the default too: a value a
    person set is never a suggestion's to change); validated against the declaration."""
    specs = attribute_specs(session) if specs is None else specs
    check_values(specs, entity.label.name, values)
    rows = stored_values(entity)
    for name, value in values.items():
        row = rows.get(name)
        if row is None:
            entity.attribute_values.append(EntityAttribute(
                name=name, value=value, annotator=annotator, origin=origin,
                suggestion_id=suggestion_id,
            ))
        else:
            row.value, row.annotator, row.origin = value, annotator, origin
            row.suggestion_id = suggestion_id
    session.flush()


def clear_values(session: Session, entity: EntityAnnotation, names: Sequence[str]) -> None:
    """Remove the rows of ``names`` (the entity reads the defaults again)."""
    for row in [r for r in entity.attribute_values if r.name in set(names)]:
        entity.attribute_values.remove(row)
        session.delete(row)
    session.flush()


def rows_named(session: Session, name: str, value: str | None = None) -> list[EntityAttribute]:
    """Every value row of the attribute ``name`` (of one ``value``), in entity order."""
    stmt = select(EntityAttribute).where(EntityAttribute.name == name)
    if value is not None:
        stmt = stmt.where(EntityAttribute.value == value)
    return list(session.scalars(stmt.order_by(EntityAttribute.entity_id)))
