"""Changing an entity's extent in the entities view: drag an edge, or move it with the keys.

Each change is snapped to words, stored at once and undone in one step.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from core.types import TaskKind
from tests.annotator.helpers import add_suggestion, doc_id, drag_select, entities

ALT = Qt.KeyboardModifier.AltModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _open(window, ext: str = "d0"):  # type: ignore[no-untyped-def]
    did = doc_id(window.project, ext)
    window.doc_list.select_doc(did)
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    return did, window.views[TaskKind.NER]


def _label(qtbot, view, start: int, end: int, key: str) -> None:  # type: ignore[no-untyped-def]
    view.editor.select_code_points(start, end)
    qtbot.keyClick(view.editor, key)


def _caret(editor, cp: int) -> QPoint:  # type: ignore[no-untyped-def]
    """Viewport position of the gap before code point ``cp`` (the texts here are BMP-only)."""
    c = QTextCursor(editor.document())
    c.setPosition(cp)
    r = editor.cursorRect(c)
    return QPoint(r.x(), r.center().y())


def _drag(editor, start: QPoint, end: QPoint) -> None:  # type: ignore[no-untyped-def]
    viewport = editor.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, QPoint((start.x() + end.x()) // 2, end.y()))
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_drag_end_edge_snaps_to_words_and_undoes_in_one_step(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window)
    text = view.doc.text
    s = text.index("type 2")
    _label(qtbot, view, s, s + 6, "1")
    assert entities(window.project, did) == [("type 2", "Disease")]
    steps = window.ctx.undo_stack.count()
    d = text.index("diabetes")
    _drag(view.editor, _caret(view.editor, s + 6), _caret(view.editor, d + 3))  # into "diabetes"
    assert entities(window.project, did) == [("type 2 diabetes", "Disease")]
    assert window.ctx.undo_stack.count() == steps + 1
    window.act_undo.trigger()
    assert entities(window.project, did) == [("type 2", "Disease")]
    window.act_redo.trigger()
    assert entities(window.project, did) == [("type 2 diabetes", "Disease")]


def test_drag_start_edge_and_no_trailing_full_stop(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window)
    text = view.doc.text
    d = text.index("diabetes")
    _label(qtbot, view, d, d + 8, "1")
    _drag(view.editor, _caret(view.editor, d), _caret(view.editor, text.index("type") + 2))
    assert entities(window.project, did) == [("type 2 diabetes", "Disease")]
    m = text.index("500 mg")
    _label(qtbot, view, m, m + 6, "2")
    _drag(view.editor, _caret(view.editor, m + 6), _caret(view.editor, len(text)))  # past "."
    assert entities(window.project, did) == [
        ("type 2 diabetes", "Disease"), ("500 mg daily", "Medication"),
    ]


def test_resize_cursor_over_edges_only_of_human_entities(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window)
    text = view.doc.text
    m = text.index("metformin")
    _label(qtbot, view, m, m + 9, "2")
    a = text.index("diabetes")
    add_suggestion(window.project, did, "entity",
                   {"start": a, "end": a + 8, "label": "Disease"}, 0.9, "ner")
    window.doc_list.reload()
    did, view = _open(window)
    viewport = view.editor.viewport()
    QTest.mouseMove(viewport, _caret(view.editor, m + 9))
    assert viewport.cursor().shape() == Qt.CursorShape.SizeHorCursor
    QTest.mouseMove(viewport, _caret(view.editor, m + 4))  # inside the word
    assert viewport.cursor().shape() == Qt.CursorShape.IBeamCursor
    QTest.mouseMove(viewport, _caret(view.editor, a + 8))  # a suggestion's edge
    assert viewport.cursor().shape() == Qt.CursorShape.IBeamCursor
    assert view.editor.edge_at(_caret(view.editor, m)) is not None
    assert view.editor.edge_at(_caret(view.editor, a)) is None


def test_keyboard_moves_the_nearer_edge_one_word_and_refuses_overlaps(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window)
    text = view.doc.text
    m = text.index("metformin")
    _label(qtbot, view, m, m + 9, "2")
    d = text.index("500 mg")
    _label(qtbot, view, d, d + 3, "2")
    view.editor.set_cursor_code_point(d + 1)  # nearer the start of the one-word "500"...
    qtbot.keyClick(view.editor, Qt.Key.Key_Right, ALT)  # ...which cannot shrink: it grows
    assert entities(window.project, did)[1] == ("500 mg", "Medication")
    assert view.editor.cursor_code_point() == d + 6  # on the moved edge
    qtbot.keyClick(view.editor, Qt.Key.Key_Right, ALT)
    qtbot.keyClick(view.editor, Qt.Key.Key_Right, ALT)  # on purpose: the full stop too
    assert entities(window.project, did)[1] == ("500 mg daily.", "Medication")
    qtbot.keyClick(view.editor, Qt.Key.Key_Left, ALT)
    view.editor.set_cursor_code_point(d)  # at the start: the start edge moves
    qtbot.keyClick(view.editor, Qt.Key.Key_Right, ALT)
    assert entities(window.project, did)[1] == ("mg daily", "Medication")
    steps = window.ctx.undo_stack.count()
    qtbot.keyClick(view.editor, Qt.Key.Key_Left, ALT)
    qtbot.keyClick(view.editor, Qt.Key.Key_Left, ALT)  # onto "metformin": refused
    assert "overlap" in window.statusBar().currentMessage()
    assert entities(window.project, did) == [
        ("metformin", "Medication"), ("500 mg daily", "Medication"),
    ]
    assert window.ctx.undo_stack.count() == steps + 1
    view.editor.set_cursor_code_point(m + 9)  # the end of the one-word "metformin"
    qtbot.keyClick(view.editor, Qt.Key.Key_Left, ALT)  # cannot shrink: grows to the left
    assert entities(window.project, did)[0] == ("takes metformin", "Medication")
    for _ in range(7):  # the seven moves, each its own step
        window.act_undo.trigger()
    assert entities(window.project, did) == [("metformin", "Medication"), ("500", "Medication")]


def test_full_stop_kept_only_when_selected_with_the_keyboard(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window)
    text = view.doc.text
    d = text.index("daily.")
    drag_select(view.editor, d + 1, d + 6)  # the mouse over "daily."
    assert view.editor.selection_code_points() == (d, d + 5)
    qtbot.keyClick(view.editor, "1")
    assert entities(window.project, did) == [("daily", "Disease")]
    window.act_undo.trigger()
    view.editor.set_cursor_code_point(d)
    for _ in range(6):
        qtbot.keyClick(view.editor, Qt.Key.Key_Right, SHIFT)
    qtbot.keyClick(view.editor, "1")
    assert entities(window.project, did) == [("daily.", "Disease")]
