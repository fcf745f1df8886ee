"""project.annotations: each edit's Changes value, refusals, and undo/redo through core's
inverses."""

from __future__ import annotations

import pytest

from core.errors import AnnotatorError
from core.project import Changes, Project
from core.project.edits import AddEntity
from core.types import TaskKind
from tests.core.project.conftest import add_suggestion, doc_id, state


def _undo_redo(project: Project, changes: Changes, before: dict, after: dict) -> None:
    """The inverse restores ``before``; the inverse of that restores ``after``."""
    undone = project.undo(changes)
    assert state(project) == before
    redone = project.undo(undone)
    assert state(project) == after
    project.undo(redone)
    assert state(project) == before


def test_add_entity_changes_and_inverse(project: Project) -> None:
    d0 = doc_id(project, "d0")
    before = state(project)
    changes = project.annotations.add_entity(d0, 30, 40, "Drug")
    assert changes.documents == {d0} and changes.kinds == {TaskKind.NER}
    assert not (changes.labels or changes.suggestions or changes.review_status)
    after = state(project)
    assert (30, 40, "Drug", "human", "user", None) in after["documents"][d0]["entities"]
    _undo_redo(project, changes, before, after)


def test_refused_edit_writes_nothing(project: Project) -> None:
    d0 = doc_id(project, "d0")
    before = state(project)
    with pytest.raises(AnnotatorError, match="overlaps"):
        project.annotations.add_entity(d0, 15, 25, "Drug")
    with pytest.raises(AnnotatorError, match="no label"):
        project.annotations.add_entity(d0, 30, 40, "Nope")
    with pytest.raises(AnnotatorError, match="single-label"):
        project.annotations.set_classes(d0, ["urgent", "routine"])
    assert state(project) == before


def test_remove_and_relabel_imported_entity_keep_provenance(project: Project) -> None:
    d0 = doc_id(project, "d0")
    before = state(project)
    removed = project.annotations.remove_entity(d0, 13, 19)
    assert state(project)["documents"][d0]["entities"] == []
    project.undo(removed)
    assert state(project) == before  # origin "imported" and annotator come back
    relabelled = project.annotations.relabel_entity(d0, 13, 19, "Drug")
    after = state(project)
    assert after["documents"][d0]["entities"][0][2] == "Drug"
    _undo_redo(project, relabelled, before, after)


def test_resize_entity(project: Project) -> None:
    d0 = doc_id(project, "d0")
    before = state(project)
    changes = project.annotations.resize_entity(d0, 13, 19, 8, 19)  # "with asthma"
    assert changes.documents == {d0} and changes.kinds == {TaskKind.NER}
    after = state(project)
    assert after["documents"][d0]["entities"][0][:3] == (8, 19, "Disease")
    _undo_redo(project, changes, before, after)
    with pytest.raises(AnnotatorError, match="outside"):
        project.annotations.resize_entity(d0, 13, 19, 13, 500)


def test_set_classes(project: Project) -> None:
    d1 = doc_id(project, "d1")
    before = state(project)
    changes = project.annotations.set_classes(d1, ["urgent"])
    assert changes.kinds == {TaskKind.CLASSIFY} and changes.documents == {d1}
    after = state(project)
    assert after["documents"][d1]["classes"] == [("urgent", "human", "user", None)]
    _undo_redo(project, changes, before, after)


def test_questions_and_answers(project: Project) -> None:
    d0, d1 = doc_id(project, "d0"), doc_id(project, "d1")
    q0 = project.documents.get(d0).questions[0].id
    q1 = project.documents.get(d1).questions[0].id
    for edit in (
        lambda: project.annotations.add_question(d1, "When is the follow-up?"),
        lambda: project.annotations.remove_question(q0),
        lambda: project.annotations.set_answer(q1, 13, 22),
        lambda: project.annotations.mark_no_answer(q1),
        lambda: project.annotations.clear_answer(q0),
    ):
        before = state(project)
        changes = edit()
        assert changes.kinds == {TaskKind.QA} and len(changes.documents) == 1
        after = state(project)
        assert after != before
        _undo_redo(project, changes, before, after)


def test_undoing_a_question_deletion_brings_back_its_suggestions(project: Project) -> None:
    d0 = doc_id(project, "d0")
    q0 = project.documents.get(d0).questions[0].id
    pending = add_suggestion(project, d0, "answer", {"start": 30, "end": 40}, 0.8, q0)
    taken = add_suggestion(project, d0, "answer", {"start": 0, "end": 7}, 0.6, q0)
    project.review.accept(d0, [taken])  # the answer now points at its suggestion
    before = state(project)
    removed = project.annotations.remove_question(q0)
    assert pending not in state(project)["suggestions"]  # deleted with the question
    _undo_redo(project, removed, before, state(project))
    assert before["suggestions"][pending][0] == "pending"


def test_undoing_a_deletion_after_new_rows_were_written(project: Project) -> None:
    """Pre-annotation and imports write rows between a deletion and its undo: none of them
    takes the deleted question's, suggestion's or label's id, so the undo puts each back."""
    d0, d2 = doc_id(project, "d0"), doc_id(project, "d2")
    q0 = project.documents.get(d0).questions[0].id
    last = add_suggestion(project, d0, "answer", {"start": 0, "end": 7}, 0.6, q0)
    drug = project.documents.tasks()[TaskKind.NER].label("Drug")
    project.annotations.add_label("ner", "Dose")  # the largest label id
    dose = project.documents.tasks()[TaskKind.NER].label("Dose")
    before = state(project)
    removed = project.annotations.remove_question(q0)
    deleted = project.annotations.delete_label(dose.id)
    new = add_suggestion(project, d2, "entity", {"start": 0, "end": 5, "label": "Drug"})
    project.annotations.add_label("ner", "Route")
    assert new > last and project.documents.tasks()[TaskKind.NER].label("Route").id > dose.id
    project.undo(deleted)
    project.undo(removed)
    after = state(project)
    assert after["suggestions"].pop(new) and before["suggestions"] == after["suggestions"]
    assert project.documents.get(d0).questions[0].id == q0
    labels = {lab.name: lab.id for lab in project.documents.tasks()[TaskKind.NER].labels}
    assert labels["Dose"] == dose.id and labels["Drug"] == drug.id


def test_deleted_question_comes_back_under_its_id(project: Project) -> None:
    d0 = doc_id(project, "d0")
    q0 = project.documents.get(d0).questions[0].id
    removed = project.annotations.remove_question(q0)
    project.undo(removed)
    assert project.documents.get(d0).questions[0].id == q0
    # so a later edit naming that id (an undo stack's next command) still applies
    project.annotations.mark_no_answer(q0)
    assert project.documents.get(d0).questions[0].status == "no answer"


def test_review_status(project: Project) -> None:
    d2 = doc_id(project, "d2")
    before = state(project)
    changes = project.annotations.set_review_status(d2, "skipped")
    assert changes.review_status and changes.documents == {d2} and not changes.kinds
    _undo_redo(project, changes, before, state(project))
    with pytest.raises(AnnotatorError, match="unknown review status"):
        project.annotations.set_review_status(d2, "done")


def test_labels(project: Project) -> None:
    before = state(project)
    added = project.annotations.add_label("ner", "Symptom")
    assert added.labels and added.kinds == {TaskKind.NER}
    _undo_redo(project, added, before, state(project))
    drug = project.documents.tasks()[TaskKind.NER].label("Drug")
    before = state(project)
    renamed = project.annotations.update_label(drug.id, name="Medication", color="#123456")
    after = state(project)
    assert ("ner", "Medication", "#123456", drug.shortcut, drug.id, 1) in after["labels"]
    _undo_redo(project, renamed, before, after)
    with pytest.raises(AnnotatorError, match="review flow"):
        project.annotations.update_label(drug.id, shortcut="a")
    with pytest.raises(AnnotatorError, match="exists already"):
        project.annotations.update_label(drug.id, name="Disease")



def test_deleting_a_used_label_is_undone_with_everything_it_took(project: Project) -> None:
    d0, d1 = doc_id(project, "d0"), doc_id(project, "d1")
    project.apply(AddEntity(d0, 30, 40, "Disease", annotator="ann"))  # a 2nd, another author
    disease = project.documents.tasks()[TaskKind.NER].label("Disease")
    routine = project.documents.tasks()[TaskKind.CLASSIFY].label("routine")
    before = state(project)
    deleted = project.annotations.delete_label(disease.id)
    after = state(project)
    assert deleted.documents == {d0} and deleted.labels
    assert after["documents"][d0]["entities"] == []  # both entities went with it
    _undo_redo(project, deleted, before, after)  # label (id, place) and entities as they were
    before = state(project)
    deleted = project.annotations.delete_label(routine.id)
    assert deleted.documents == {d1} and state(project)["documents"][d1]["classes"] == []
    _undo_redo(project, deleted, before, state(project))


def test_add_task(project: Project) -> None:
    changes = project.annotations.add_task("classify", ["urgent", "later"], multi_label=True)
    task = project.documents.tasks()[TaskKind.CLASSIFY]
    assert changes.labels and task.multi_label
    assert [lab.name for lab in task.labels] == ["urgent", "routine", "later"]
