"""Classes and answers views by keyboard, their suggestions, and undo."""

from __future__ import annotations

from PySide6.QtCore import Qt
from sqlalchemy import select

from core.store.models import QuestionRow
from core.types import TaskKind
from tests.annotator.helpers import add_suggestion, doc_id, suggestion_state


def _classes(window, did):  # type: ignore[no-untyped-def]
    return window.project.documents.get(did).classes


def test_classes_by_key_and_suggestion(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did = doc_id(window.project, "d1")
    sid = add_suggestion(window.project, did, "class",
                         {"label": "bad", "probabilities": {"good": 0.2, "bad": 0.8}}, 0.8, "classify")
    window.doc_list.select_doc(did)
    view = window.views[TaskKind.CLASSIFY]
    window.tabs.setCurrentWidget(view)
    assert "80%" in view.buttons["bad"].text()
    qtbot.keyClick(view.text, "a")
    assert _classes(window, did) == ("bad",)
    assert suggestion_state(window.project, sid) == "accepted"
    window.act_undo.trigger()
    assert _classes(window, did) == ()
    assert suggestion_state(window.project, sid) == "pending"
    qtbot.keyClick(view.text, "1")  # choose "good": decides the suggestion as edited
    assert _classes(window, did) == ("good",)
    assert suggestion_state(window.project, sid) == "edited"
    did0 = doc_id(window.project, "d0")
    window.doc_list.select_doc(did0)
    qtbot.keyClick(view.text, "2")
    assert _classes(window, did0) == ("bad",)
    view.buttons["good"].click()
    assert _classes(window, did0) == ("good",)


def test_multi_label_checkboxes(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from core.store import repo

    with window.project.write() as s:
        repo.require_task(s, "classify").multi_label = True
    window._rebuild_views()
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    view = window.views[TaskKind.CLASSIFY]
    from PySide6.QtWidgets import QCheckBox

    assert isinstance(view.buttons["good"], QCheckBox)
    qtbot.keyClick(view.text, "1")
    qtbot.keyClick(view.text, "2")
    assert set(_classes(window, did)) == {"good", "bad"}
    qtbot.keyClick(view.text, "1")
    assert _classes(window, did) == ("bad",)


def test_answers_add_select_unanswerable_and_suggestion(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    view = window.views[TaskKind.QA]
    window.tabs.setCurrentWidget(view)
    view.new_question.setText("What medication?")
    qtbot.keyClick(view.new_question, Qt.Key.Key_Return)
    assert view.questions.count() == 1
    text = view.doc.text
    s = text.index("metformin")
    view.passage.select_code_points(s + 1, s + 4)
    qtbot.keyClick(view.passage, Qt.Key.Key_Return)
    q = view.current_question()
    assert q is not None and [(a.start, a.end) for a in q.answers] == [(s, s + 9)]
    qtbot.keyClick(view.passage, "u")
    assert view.current_question().is_impossible
    window.act_undo.trigger()
    assert view.current_question().answers
    with window.project.read() as session:
        qid = session.scalar(select(QuestionRow.id).where(QuestionRow.document_id == did))
    d = text.index("500 mg")
    sid = add_suggestion(window.project, did, "answer", {"start": d, "end": d + 6, "text": "500 mg"},
                         0.7, "qa", question_id=qid)
    window.show_document(did)
    assert "Model suggests" in view.info.text()
    qtbot.keyClick(view.passage, "a")
    assert suggestion_state(window.project, sid) == "accepted"
    assert [(a.start, a.end) for a in view.current_question().answers] == [(d, d + 6)]
    window.act_undo.trigger()
    assert [(a.start, a.end) for a in view.current_question().answers] == [(s, s + 9)]
    # Undo the question itself, then redo it and its answer: ids are followed.
    window.act_undo.trigger()  # answer
    window.act_undo.trigger()  # question
    assert view.questions.count() == 0
    window.act_redo.trigger()
    window.act_redo.trigger()
    assert [(a.start, a.end) for a in view.current_question().answers] == [(s, s + 9)]
