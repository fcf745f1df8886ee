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


def _fill_at(button, x: int, y: int):  # type: ignore[no-untyped-def]
    """The colour on screen at (x, y) of ``button``: grabbed with what lies behind it."""
    from PySide6.QtCore import QPoint, QRect

    top = button.window()
    origin = button.mapTo(top, QPoint(0, 0))
    return top.grab(QRect(origin, button.size())).toImage().pixelColor(x, y)


def test_chosen_class_button_is_tinted_with_its_colour(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Each label's checked button shows a light tint of that label's own colour (the
    fill was once written "#RRGGBBAA", which Qt reads as #AARRGGBB)."""
    from PySide6.QtGui import QColor

    from annotator.app.qt_classes import CHOSEN_ALPHA

    view = window.views[TaskKind.CLASSIFY]
    window.tabs.setCurrentWidget(view)
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    # Colours where the old format went wrong: a low last byte (transparent), others
    # that turned into another hue.
    for name, colour in (("good", "#0072B2"), ("bad", "#D55E00")):
        lab = view.task.label(name)
        assert lab is not None
        with window.project.write() as s:
            from core.store import repo

            repo.update_label(s, lab.id, color=colour)
        window._rebuild_views()
        view = window.views[TaskKind.CLASSIFY]
        window.tabs.setCurrentWidget(view)
        unchosen = _fill_at(view.buttons[name], 8, view.buttons[name].height() // 2)
        view.toggle(name)
        qtbot.waitUntil(lambda n=name, v=view: v.buttons[n].isChecked())
        button = view.buttons[name]
        got = _fill_at(button, 8, button.height() // 2)
        label, back = QColor(colour), window.palette().color(window.backgroundRole())
        want = [CHOSEN_ALPHA * a + (1 - CHOSEN_ALPHA) * b for a, b in
                ((label.red(), back.red()), (label.green(), back.green()),
                 (label.blue(), back.blue()))]
        assert all(abs(g - w) <= 12 for g, w in zip((got.red(), got.green(), got.blue()), want)), (
            name, got.name(), [round(w) for w in want])
        assert got != unchosen


def test_a_duplicate_question_is_refused_with_a_message(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    view = window.views[TaskKind.QA]
    window.tabs.setCurrentWidget(view)
    view.new_question.setText("What dose of metformin?")
    view.add_question()
    assert view.questions.count() == 1
    messages: list[str] = []
    window.ctx.message.connect(messages.append)
    view.new_question.setText("  what dose of  Metformin? ")
    view.add_question()
    with window.project.read() as s:
        texts = s.scalars(select(QuestionRow.text).where(QuestionRow.document_id == did)).all()
    assert texts == ["What dose of metformin?"]
    assert view.questions.count() == 1
    assert messages and "already has the question" in messages[-1]
