"""Relations between entities through the facade: the declared types, the relations, what is
refused, and the inverse of every change (``project.undo`` puts back exactly what was there,
provenance included), also when removing an entity, a label or a type takes relations."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.project import Project
from core.store.models import EntityRelation
from core.store.repo import AnnotationError
from core.types import DocumentRecord, EntitySpan, Relation, RelationSpec, TaskKind

TEXT = "Take 10 mg of aspirin and 5 mg of warfarin daily."
#       0    5    10   15   20   25   30   35   40   45
DOSE_A, ASPIRIN, DOSE_W, WARFARIN = (5, 10), (14, 21), (26, 30), (34, 42)
DOSAGE_OF = RelationSpec("dosage_of", ("Dosage",), ("Medication",))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "r.db", tasks={"ner": ["Dosage", "Medication", "Route"]})
    p.annotations.add_task("ner", relations=[DOSAGE_OF])
    p.documents.add([DocumentRecord(TEXT, external_id="n1", spans=(
        EntitySpan(*DOSE_A, "Dosage"), EntitySpan(*ASPIRIN, "Medication"),
        EntitySpan(*DOSE_W, "Dosage"), EntitySpan(*WARFARIN, "Medication"),
    ))])
    yield p
    p.close()


def _doc(project: Project) -> int:
    return project.documents.filter()[0]


def _relations(project: Project) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    doc = project.documents.get(_doc(project))
    assert doc is not None
    return [(r.head, r.tail, r.label) for r in doc.relations]


def _rows(project: Project) -> list[tuple[object, ...]]:
    """Every stored relation row (read or not) with its provenance."""
    with project.read() as s:
        return sorted(((r.head.start, r.head.end), (r.tail.start, r.tail.end), r.label,
                       r.origin, r.annotator, r.suggestion_id)
                      for r in s.query(EntityRelation))


def test_the_declaration_is_parsed_checked_and_read_back() -> None:
    spec = RelationSpec.parse("dosage_of = Dosage , Strength > Medication")
    assert spec == RelationSpec("dosage_of", ("Dosage", "Strength"), ("Medication",))
    assert str(spec) == "dosage_of=Dosage,Strength>Medication"
    anything = RelationSpec.parse("related=*>*")
    assert anything.heads is None and anything.tails is None and str(anything) == "related=*>*"
    assert anything.allows("X", "Y") and not spec.allows("Medication", "Dosage")
    assert RelationSpec.from_json(spec.to_json()) == spec
    for bad, problem in [("dosage_of", "write it as"), ("a=B>C>D", "write it as"),
                         ("=A>B", "name is empty"), ("r=A,,B>C", "is empty"),
                         ("r=A,A>B", "twice"), ("r=A*>B", None)]:
        if problem is None:
            assert RelationSpec.parse(bad).heads == ("A*",)
            continue
        with pytest.raises(ValueError, match=problem):
            RelationSpec.parse(bad)


def test_types_are_declared_on_the_ner_task_and_undone(project: Project) -> None:
    assert project.annotations.relation_specs() == (DOSAGE_OF,)
    assert project.documents.tasks()["ner"].relations == (DOSAGE_OF,)
    assert TaskKind.RELATION not in project.documents.tasks()  # not a screen of its own
    changes = project.annotations.add_relation_type("route_of=Route>*")
    assert [str(s) for s in project.annotations.relation_specs()] == [
        "dosage_of=Dosage>Medication", "route_of=Route>*"]
    project.undo(changes)
    assert project.annotations.relation_specs() == (DOSAGE_OF,)
    with pytest.raises(AnnotationError, match="exists already"):
        project.annotations.add_relation_type("dosage_of=Dosage>Dosage")
    with pytest.raises(AnnotationError, match="'Strength'.*does not have"):
        project.annotations.add_relation_type("strength_of=Strength>Medication")
    with pytest.raises(AnnotationError, match="write it as"):
        project.annotations.add_relation_type("no separator")
    with pytest.raises(AnnotationError, match="declared already as dosage_of=Dosage>Medication"):
        project.annotations.add_task("ner", relations=[RelationSpec("dosage_of", None, None)])
    with pytest.raises(AnnotationError, match="declared on the ner task"):
        project.annotations.add_task("classify", ["x"], relations=[DOSAGE_OF])


def test_a_relation_is_added_refused_removed_and_undone(project: Project) -> None:
    d = _doc(project)
    changes = project.annotations.add_relation(d, DOSE_A, ASPIRIN, "dosage_of")
    assert _relations(project) == [(DOSE_A, ASPIRIN, "dosage_of")]
    assert project.documents.records()[0].relations == (Relation(0, 1, "dosage_of"),)
    assert _rows(project) == [(DOSE_A, ASPIRIN, "dosage_of", "human", "user", None)]
    redo = project.undo(changes)
    assert _relations(project) == []
    project.undo(redo)
    assert _relations(project) == [(DOSE_A, ASPIRIN, "dosage_of")]
    refused = [
        ((DOSE_A, DOSE_A, "dosage_of"), "itself"),
        ((ASPIRIN, DOSE_A, "dosage_of"), "does not link a Medication entity to a Dosage"),
        ((DOSE_A, ASPIRIN, "route_of"), "unknown relation 'route_of'"),
        ((DOSE_A, ASPIRIN, "dosage_of"), "there already"),
        ((DOSE_A, (0, 4), "dosage_of"), r"no entity at \[0, 4\)"),
    ]
    for (head, tail, label), problem in refused:
        with pytest.raises(AnnotationError, match=problem):
            project.annotations.add_relation(d, head, tail, label)
    assert _relations(project) == [(DOSE_A, ASPIRIN, "dosage_of")]
    # by entity ids too (the app's way); the op still names the spans
    ids = {(e.start, e.end): e.id for e in project.documents.get(d).entities}
    project.annotations.add_entity_relation(ids[DOSE_W], ids[WARFARIN], "dosage_of")
    changes = project.annotations.remove_relation(d, DOSE_A, ASPIRIN, "dosage_of")
    assert _relations(project) == [(DOSE_W, WARFARIN, "dosage_of")]
    project.undo(changes)
    assert _relations(project) == [(DOSE_A, ASPIRIN, "dosage_of"), (DOSE_W, WARFARIN, "dosage_of")]
    with pytest.raises(AnnotationError, match="no dosage_of relation"):
        project.annotations.remove_relation(d, DOSE_A, WARFARIN, "dosage_of")


def test_removing_an_entity_takes_its_relations_and_undo_puts_them_back(
    project: Project,
) -> None:
    d = _doc(project)
    project.annotations.add_relation(d, DOSE_A, ASPIRIN, "dosage_of")
    project.annotations.add_relation(d, DOSE_W, ASPIRIN, "dosage_of")
    with project.write() as s:  # a relation accepted from a suggestion keeps its provenance
        row = s.query(EntityRelation).filter_by(label="dosage_of").all()[1]
        row.origin, row.annotator = "accepted", "ana"
    before = _rows(project)
    changes = project.annotations.remove_entity(d, *ASPIRIN)
    assert _relations(project) == [] and _rows(project) == []
    project.undo(changes)
    assert _rows(project) == before


def test_a_relabelled_end_keeps_its_relation_unread_until_it_fits_again(
    project: Project,
) -> None:
    """The policy (core.store.relations): adding refuses labels a type does not allow; a
    stored relation whose end is relabelled is kept and not read, so relabelling back (or
    undo) brings it back."""
    d = _doc(project)
    project.annotations.add_relation(d, DOSE_A, ASPIRIN, "dosage_of")
    changes = project.annotations.relabel_entity(d, *ASPIRIN, "Route")
    assert _relations(project) == [] and project.documents.records()[0].relations == ()
    assert len(_rows(project)) == 1  # kept
    project.undo(changes)
    assert _relations(project) == [(DOSE_A, ASPIRIN, "dosage_of")]
    # resizing keeps the entity, so its relations
    project.annotations.resize_entity(d, *ASPIRIN, 14, 20)
    assert _relations(project) == [(DOSE_A, (14, 20), "dosage_of")]


def test_removing_a_type_or_a_label_takes_relations_and_undo_puts_them_back(
    project: Project,
) -> None:
    d = _doc(project)
    project.annotations.add_relation_type("route_of=Route>Medication,Dosage")
    project.annotations.add_relation(d, DOSE_A, ASPIRIN, "dosage_of")
    project.annotations.add_relation(d, DOSE_W, WARFARIN, "dosage_of")
    before, specs = _rows(project), project.annotations.relation_specs()
    changes = project.annotations.remove_relation_type("dosage_of")
    assert _rows(project) == [] and [s.name for s in project.annotations.relation_specs()] == [
        "route_of"]
    project.undo(changes)
    assert _rows(project) == before and project.annotations.relation_specs() == specs
    # Deleting Medication: its entities and their relations go; dosage_of loses its only
    # tail label, so it goes too; route_of no longer names it. Undo puts back the label,
    # the types, the entities and the relations.
    label = project.documents.tasks()["ner"].label("Medication")
    assert label is not None
    changes = project.annotations.delete_label(label.id)
    assert _rows(project) == []
    assert [str(s) for s in project.annotations.relation_specs()] == ["route_of=Route>Dosage"]
    project.undo(changes)
    assert _rows(project) == before and project.annotations.relation_specs() == specs
    # Renaming a label follows into the types.
    project.annotations.update_label(label.id, name="Drug")
    assert [str(s) for s in project.annotations.relation_specs()] == [
        "dosage_of=Dosage>Drug", "route_of=Route>Drug,Dosage"]


def test_accepting_a_relation_with_its_suggested_entity_at_once(project: Project) -> None:
    """Accepting several suggestions takes the entities first, so a relation suggested on a
    suggested entity is accepted with it whatever the order given; undo takes both back."""
    from sqlalchemy import select

    from core.store.models import Suggestion, Task

    d = _doc(project)
    project.annotations.remove_entity(d, *WARFARIN)
    with project.write() as s:
        tasks = {kind: id_ for kind, id_ in s.execute(select(Task.kind, Task.id))}
        rows = [Suggestion(document_id=d, task_id=tasks["relation"], kind="relation",
                           payload={"head": {"start": 26, "end": 30, "label": "Dosage"},
                                    "tail": {"start": 34, "end": 42, "label": "Medication"},
                                    "label": "dosage_of"}, confidence=0.9),
                Suggestion(document_id=d, task_id=tasks["ner"], kind="entity",
                           payload={"start": 34, "end": 42, "label": "Medication"},
                           confidence=0.5)]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
    changes = project.review.accept(d, ids)
    assert _relations(project) == [(DOSE_W, WARFARIN, "dosage_of")]
    assert not changes.messages
    project.undo(changes)
    assert _relations(project) == []
    assert {s.id for s in project.documents.get(d).suggestions} == set(ids)
