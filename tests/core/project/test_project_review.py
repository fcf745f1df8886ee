"""project.review: accept, edit, reject, accept-above, and undo of every decision."""

from __future__ import annotations

import pytest

from core.errors import AnnotatorError
from core.project import Project
from core.types import TaskKind
from tests.core.project.conftest import add_suggestion, doc_id, state


def _check_undo(project: Project, changes, before: dict) -> None:  # type: ignore[no-untyped-def]
    after = state(project)
    redo = project.review.undo(changes)
    assert state(project) == before
    assert redo.suggestions
    project.undo(redo)
    assert state(project) == after


def test_accept_entity(project: Project) -> None:
    d0 = doc_id(project, "d0")
    sid = add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Drug"})
    before = state(project)
    changes = project.review.accept(d0, [sid])
    assert changes.documents == {d0} and changes.kinds == {TaskKind.NER} and changes.suggestions
    after = state(project)
    assert after["suggestions"][sid][:2] == ("accepted", False)
    assert (30, 40, "Drug", "accepted", "user", sid) in after["documents"][d0]["entities"]
    _check_undo(project, changes, before)


def test_edit_entity_label(project: Project) -> None:
    d0 = doc_id(project, "d0")
    sid = add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Disease"})
    before = state(project)
    changes = project.review.edit(d0, sid, label="Drug")
    after = state(project)
    assert after["suggestions"][sid][0] == "edited"
    assert (30, 40, "Drug", "edited", "user", sid) in after["documents"][d0]["entities"]
    _check_undo(project, changes, before)


def test_reject(project: Project) -> None:
    d2 = doc_id(project, "d2")
    sid = add_suggestion(project, d2, "class", {"label": "urgent"})
    before = state(project)
    changes = project.review.reject(d2, [sid])
    assert state(project)["suggestions"][sid][0] == "rejected"
    assert state(project)["documents"] == before["documents"]
    _check_undo(project, changes, before)


def test_accept_class_replaces_and_undo_restores_provenance(project: Project) -> None:
    d1 = doc_id(project, "d1")  # imported class "routine"
    sid = add_suggestion(project, d1, "class", {"label": "urgent"})
    before = state(project)
    changes = project.review.accept(d1, [sid])
    assert state(project)["documents"][d1]["classes"] == [("urgent", "accepted", "user", sid)]
    _check_undo(project, changes, before)
    assert before["documents"][d1]["classes"][0][1] == "imported"


def test_accept_answer(project: Project) -> None:
    d1 = doc_id(project, "d1")
    qid = project.documents.get(d1).questions[0].id
    sid = add_suggestion(project, d1, "answer", {"start": 13, "end": 22, "text": "metformin"},
                         question_id=qid)
    nid = add_suggestion(project, d1, "answer", {"no_answer": True}, 0.2, question_id=qid)
    before = state(project)
    changes = project.review.accept(d1, [sid])
    assert changes.kinds == {TaskKind.QA}
    assert project.documents.get(d1).questions[0].answers[0].start == 13
    _check_undo(project, changes, before)
    project.review.undo(changes)  # sid pending again; now take the "no answer" one
    changes = project.review.accept(d1, [nid])
    assert project.documents.get(d1).questions[0].status == "no answer"
    _check_undo(project, changes, before)


def test_accept_several_skips_conflicts(project: Project) -> None:
    d0 = doc_id(project, "d0")
    clash = add_suggestion(project, d0, "entity", {"start": 8, "end": 19, "label": "Disease"})
    good = add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Drug"})
    before = state(project)
    changes = project.review.accept(d0, [clash, good])
    assert len(changes.messages) == 1 and changes.messages[0].startswith("accepted 1, skipped 1")
    after = state(project)
    assert after["suggestions"][clash][:2] == ("pending", True)
    assert after["suggestions"][good][0] == "accepted"
    _check_undo(project, changes, before)
    with pytest.raises(AnnotatorError, match="overlaps"):
        project.review.accept(d0, [clash])  # alone, the refusal is an error
    assert state(project) == after


def test_accept_above(project: Project) -> None:
    d0 = doc_id(project, "d0")
    high = add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Drug"}, 0.95)
    low = add_suggestion(project, d0, "entity", {"start": 0, "end": 7, "label": "Drug"}, 0.3)
    assert project.review.pending_above(d0, "entity", 0.5) == [high]
    before = state(project)
    changes = project.review.accept_above(d0, "entity", 0.5)
    assert state(project)["suggestions"][low][:2] == ("pending", True)
    _check_undo(project, changes, before)
    with pytest.raises(AnnotatorError, match="no suggestion at or above"):
        project.review.accept_above(d0, "entity", 0.99)
    with pytest.raises(AnnotatorError, match=r"\[0, 1\]"):
        project.review.accept_above(d0, "entity", 1.5)


def test_decided_suggestion_cannot_be_decided_again(project: Project) -> None:
    d0, d2 = doc_id(project, "d0"), doc_id(project, "d2")
    sid = add_suggestion(project, d0, "entity", {"start": 30, "end": 40, "label": "Drug"})
    project.review.reject(d0, [sid])
    with pytest.raises(AnnotatorError, match="already rejected"):
        project.review.accept(d0, [sid])
    with pytest.raises(AnnotatorError, match="no suggestion"):
        project.review.accept(d2, [sid])  # not this document's
