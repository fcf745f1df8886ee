"""Overlapping and nested entities in the app (issue 13): each one drawn and visible, the
shortest under the cursor acted on, Tab or a click again picking another, nested ones
labelled by selecting inside an entity, and the setting in the labels dialog and the
new-project dialog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QHelpEvent, QImage, QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QToolTip

from annotator.app.qt_span_text import BAR_PX, QtSpanTextEdit, SpanStyle, stack_rows
from core.project import Project
from core.types import DocumentRecord, TaskKind
from tests.annotator.helpers import main_window

NOTE = "Chest X-ray: left lower lobe pneumonia, no effusion. Started amoxicillin 500 mg."
COLOURS = {"Condition": "#D55E00", "BodySite": "#0072B2", "Medication": "#009E73"}


# --- the rows spans are drawn on --------------------------------------------------------


def test_rows_nested_spans_go_up_crossing_ones_apart_disjoint_ones_share_row_0() -> None:
    assert stack_rows([(0, 25), (0, 15), (5, 10)]) == [0, 1, 2]  # three deep
    assert stack_rows([(0, 10), (5, 15)]) == [0, 1]  # crossing
    assert stack_rows([(0, 5), (5, 9), (12, 20)]) == [0, 0, 0]  # side by side: as today
    assert stack_rows([(0, 30), (2, 8), (10, 20), (12, 14)]) == [0, 1, 1, 2]  # two inside
    # A span inside another is above it even where a lower row is free.
    assert stack_rows([(0, 5), (3, 20), (10, 12)]) == [0, 1, 2]


# --- drawing ----------------------------------------------------------------------------


@pytest.fixture
def editor(qtbot) -> QtSpanTextEdit:  # type: ignore[no-untyped-def]
    view = QtSpanTextEdit()
    view.stack_overlaps = True
    qtbot.addWidget(view)
    view.resize(700, 200)
    view.show()
    qtbot.waitExposed(view)
    view.set_document_text(NOTE)
    return view


def _nested_spans(*, current: str = "", badge: str = "") -> list[SpanStyle]:
    a = NOTE.index("left")
    b = NOTE.index("pneumonia") + len("pneumonia")
    return [SpanStyle(a, b, COLOURS["Condition"], "Condition", current=current == "outer"),
            SpanStyle(a, a + len("left lower lobe"), COLOURS["BodySite"], "BodySite",
                      current=current == "inner", badge=badge, marked=bool(badge)),
            SpanStyle(a + 5, a + 10, COLOURS["Medication"], "Medication (a third, inside)")]


def _image(editor: QtSpanTextEdit) -> QImage:
    QApplication.processEvents()
    return editor.viewport().grab().toImage()


def _pixel(image: QImage, editor: QtSpanTextEdit, x: float, y: float) -> QColor:
    scale = image.width() / editor.viewport().width()
    return image.pixelColor(round(x * scale), round(y * scale))


def _close(got: QColor, want: str, tolerance: int = 40) -> bool:
    w = QColor(want)
    return all(abs(a - b) <= tolerance for a, b in
               ((got.red(), w.red()), (got.green(), w.green()), (got.blue(), w.blue())))


def test_every_nested_span_is_drawn_the_outer_as_a_tint_the_inner_ones_as_bars(editor) -> None:  # type: ignore[no-untyped-def]
    spans = _nested_spans()
    editor.set_spans(spans)
    outer, inner, third = spans
    assert [editor.row_of(s) for s in spans] == [0, 1, 2]
    # Row 0 is a format of the block's layout (what Qt draws with the text, nothing on
    # scroll); the nested spans are not, so the outer one's tint runs under them unbroken.
    formats = editor.document().firstBlock().layout().formats()
    assert [(r.start, r.length) for r in formats] == [(outer.start, outer.end - outer.start)]
    assert formats[0].format.background().color().name() == COLOURS["Condition"].lower()
    image = _image(editor)
    (bar1,) = editor.bar_rects(inner, 1)
    (bar2,) = editor.bar_rects(third, 2)
    assert bar1.height() == bar2.height() == editor.bar_height() >= 2
    assert bar2.bottom() < bar1.top()  # row 2 above row 1...
    # ...both under the letters: in the descent and at most 2 px above the baseline, not
    # through the middle of the glyphs as a strike-through
    (line,) = editor.line_rects(outer.start, outer.end)
    baseline = line.top() + QFontMetricsF(editor.font()).ascent()
    assert bar2.top() >= baseline - 2 - 1 and bar1.bottom() <= line.bottom()
    # The characters "lower" are under all three: the tint, and each bar in its colour.
    x = bar2.center().x()
    assert _close(_pixel(image, editor, x, bar1.center().y()), COLOURS["BodySite"])
    assert _close(_pixel(image, editor, x, bar2.center().y()), COLOURS["Medication"])
    tint = _pixel(image, editor, editor.line_rects(inner.end + 2, inner.end + 3)[0].center().x(),
                  line.top() + 2)  # above the glyphs of "pneumonia"
    assert tint.name() != _pixel(image, editor, 2, line.top() + 2).name()  # tinted...
    assert tint.red() > tint.blue()  # ...in the Condition's orange
    # "pneumonia" is in no nested span: no bar under it.
    below = _pixel(image, editor, editor.line_rects(inner.end + 2, inner.end + 3)[0].center().x(),
                   bar1.center().y())
    assert not _close(below, COLOURS["BodySite"], 30)


def test_a_suggestion_over_an_entity_is_a_dashed_bar_under_it(editor) -> None:  # type: ignore[no-untyped-def]
    a = NOTE.index("pneumonia")
    human = SpanStyle(a, a + 9, COLOURS["Condition"], "Condition")
    suggested = SpanStyle(a, a + 9, COLOURS["BodySite"], "suggested BodySite", suggestion=True)
    editor.set_spans([suggested, human])
    assert [editor.row_of(human), editor.row_of(suggested)] == [0, 1]
    image = _image(editor)
    (bar,) = editor.bar_rects(suggested, 1)
    y = bar.center().y()
    colours = {_close(_pixel(image, editor, x + 0.5, y), COLOURS["BodySite"])
               for x in range(int(bar.left()) + 1, int(bar.right()) - 1)}
    assert colours == {True, False}  # dashes and gaps


def test_without_stacking_overlapping_spans_stay_formats_and_no_bar_is_painted(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = QtSpanTextEdit()  # the other views (answers, adjudication) draw as before
    qtbot.addWidget(view)
    view.set_document_text(NOTE)
    view.set_spans(_nested_spans())
    assert view._bars == []
    assert len(view.document().firstBlock().layout().formats()) == 3


def test_the_current_nested_span_is_marked_by_its_own_tint_and_a_thicker_bar(editor) -> None:  # type: ignore[no-untyped-def]
    editor.set_spans(_nested_spans(current="inner"))
    inner = editor._spans[1]
    assert inner.current and editor.row_of(inner) == 1
    (bar,) = editor.bar_rects(inner, 1)
    assert bar.height() == editor.bar_height() + 1
    (selection,) = editor.extraSelections()
    assert (selection.cursor.selectionStart(), selection.cursor.selectionEnd()) == (
        inner.start, inner.end)
    assert selection.format.background().color().name() == COLOURS["BodySite"].lower()


def test_a_nested_spans_badge_gets_its_gap_inside_the_outer_span(editor) -> None:  # type: ignore[no-untyped-def]
    editor.set_spans(_nested_spans(badge="neg"))
    outer, inner, _third = editor._spans
    formats = editor.document().firstBlock().layout().formats()
    # The outer span's range is cut at the inner one's last character, which keeps the
    # outer colour and gets the letter spacing where the badge is painted.
    assert [(r.start, r.length) for r in formats] == [
        (outer.start, inner.end - 1 - outer.start), (inner.end - 1, 1),
        (inner.end, outer.end - inner.end)]
    gap = formats[1].format
    assert gap.fontLetterSpacing() > 0
    assert gap.background().color().name() == COLOURS["Condition"].lower()
    rect = editor.badge_rect(inner)
    end = QTextCursor(editor.document())
    end.setPosition(inner.end)
    assert rect.right() <= editor.cursorRect(end).left() + 1  # in the gap, before "pneumonia"


def test_the_tooltip_lists_every_span_at_the_point(qtbot, editor) -> None:  # type: ignore[no-untyped-def]
    editor.set_spans(_nested_spans())
    lower = NOTE.index("lower") + 2
    (line,) = editor.line_rects(lower, lower + 1)
    pos = QPoint(round(line.center().x()), round(line.center().y()))
    event = QHelpEvent(QHelpEvent.Type.ToolTip, pos, editor.viewport().mapToGlobal(pos))
    QApplication.sendEvent(editor.viewport(), event)
    qtbot.waitUntil(QToolTip.isVisible, timeout=3000)
    assert QToolTip.text().split("\n") == [
        "Condition", "BodySite", "Medication (a third, inside)"]
    QToolTip.hideText()


# --- the entities view on a project that lets entities overlap --------------------------


@pytest.fixture
def overlap_path(tmp_path: Path) -> Path:
    path = tmp_path / "overlap.db"
    project = Project.create(path, tasks={TaskKind.NER: list(COLOURS)})
    project.annotations.add_task(TaskKind.NER, overlapping=True)
    project.documents.add([DocumentRecord(NOTE, external_id="n0")])
    for label in project.documents.tasks()[TaskKind.NER].labels:
        project.annotations.update_label(label.id, color=COLOURS[label.name])
    project.close()
    return path


@pytest.fixture
def owin(qtbot, overlap_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield from main_window(qtbot, overlap_path)


def _ner(window):  # type: ignore[no-untyped-def]
    view = window.views[TaskKind.NER]
    window.tabs.setCurrentWidget(view)
    return view


def _stored(window) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    doc = window.project.documents.get(window.doc.id)
    return sorted((NOTE[e.start:e.end], e.label) for e in doc.entities)


def _label(qtbot, view, words: str, key: str) -> None:  # type: ignore[no-untyped-def]
    start = NOTE.index(words)
    view.editor.select_code_points(start, start + len(words))
    qtbot.keyClick(view.editor, key)


def _current(view) -> list[str]:  # type: ignore[no-untyped-def]
    return [NOTE[s.start:s.end] for s in view.editor._spans if s.current]


def test_selecting_inside_an_entity_labels_a_nested_one_drawn_on_a_bar(qtbot, owin) -> None:  # type: ignore[no-untyped-def]
    view = _ner(owin)
    _label(qtbot, view, "left lower lobe pneumonia", "1")  # Condition
    _label(qtbot, view, "left lower lobe", "2")  # BodySite, inside it
    assert _stored(owin) == [("left lower lobe", "BodySite"),
                             ("left lower lobe pneumonia", "Condition")]
    assert _current(view) == ["left lower lobe"]  # the new one is the current one
    rows = {NOTE[s.start:s.end]: view.editor.row_of(s) for s in view.editor._spans}
    assert rows == {"left lower lobe pneumonia": 0, "left lower lobe": 1}
    owin.act_undo.trigger()  # one step each
    assert _stored(owin) == [("left lower lobe pneumonia", "Condition")]


def test_keys_act_on_the_shortest_and_tab_picks_the_others(qtbot, owin) -> None:  # type: ignore[no-untyped-def]
    view = _ner(owin)
    _label(qtbot, view, "left lower lobe pneumonia", "1")
    _label(qtbot, view, "left lower lobe", "2")
    _label(qtbot, view, "lower", "3")  # a third level: Medication, to have three
    view.editor.set_cursor_code_point(NOTE.index("lower") + 1)
    assert _current(view) == ["lower"]  # the shortest
    assert "1 of 3 entities here" in view.info.text()
    qtbot.keyClick(view.editor, Qt.Key.Key_Tab)
    assert _current(view) == ["left lower lobe"]
    assert "2 of 3" in owin.statusBar().currentMessage()
    qtbot.keyClick(view.editor, Qt.Key.Key_Tab)
    assert _current(view) == ["left lower lobe pneumonia"]
    assert view.editor.hasFocus()  # Tab did not move the focus away
    qtbot.keyClick(view.editor, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert _current(view) == ["left lower lobe"]
    qtbot.keyClick(view.editor, "3")  # relabels the one picked, not the shortest
    assert _stored(owin) == [("left lower lobe", "Medication"),
                             ("left lower lobe pneumonia", "Condition"),
                             ("lower", "Medication")]
    qtbot.keyClick(view.editor, Qt.Key.Key_Tab)
    assert _current(view) == ["left lower lobe pneumonia"]
    qtbot.keyClick(view.editor, Qt.Key.Key_Delete)  # deletes the one picked
    assert _stored(owin) == [("left lower lobe", "Medication"), ("lower", "Medication")]
    assert _current(view) == ["lower"]  # the picked one is gone: the shortest again
    owin.act_undo.trigger()
    assert ("left lower lobe pneumonia", "Condition") in _stored(owin)
    # Leaving the entities forgets the pick; coming back gives the shortest.
    view.editor.set_cursor_code_point(NOTE.index("amoxicillin"))
    view.editor.set_cursor_code_point(NOTE.index("left") + 1)
    assert _current(view) == ["left lower lobe"]


def _click(editor, cp: int) -> None:  # type: ignore[no-untyped-def]
    (rect,) = editor.line_rects(cp, cp + 1)
    QTest.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(round(rect.center().x()), round(rect.center().y())))


def test_a_click_picks_the_shortest_and_a_click_again_the_next(qtbot, owin) -> None:  # type: ignore[no-untyped-def]
    view = _ner(owin)
    _label(qtbot, view, "left lower lobe pneumonia", "1")
    _label(qtbot, view, "left lower lobe", "2")
    view.editor.set_cursor_code_point(NOTE.index("amoxicillin"))
    assert _current(view) == []
    at = NOTE.index("lower") + 2
    _click(view.editor, at)
    assert _current(view) == ["left lower lobe"]
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # not a double click
    _click(view.editor, at)
    assert _current(view) == ["left lower lobe pneumonia"]
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    _click(view.editor, at)
    assert _current(view) == ["left lower lobe"]  # round again
    _click(view.editor, NOTE.index("pneumonia") + 3)  # only the outer one there
    assert _current(view) == ["left lower lobe pneumonia"]


def test_attribute_keys_and_links_act_on_the_entity_picked(qtbot, owin) -> None:  # type: ignore[no-untyped-def]
    owin.project.annotations.add_attribute("negation=Affirmed,Negated")
    owin.project.annotations.add_relation_type("site_of=BodySite>Condition")
    view = _ner(owin)
    view._on_labels_changed()
    _label(qtbot, view, "left lower lobe pneumonia", "1")
    _label(qtbot, view, "left lower lobe", "2")
    key = view.attribute_keys["negation"]
    view.editor.set_cursor_code_point(NOTE.index("lobe"))
    qtbot.keyClick(view.editor, Qt.Key.Key_Tab)  # the Condition
    qtbot.keyClick(view.editor, key)
    doc = owin.project.documents.get(owin.doc.id)
    values = {e.label: e.attributes["negation"] for e in doc.entities}
    assert values == {"Condition": "Negated", "BodySite": "Affirmed"}
    qtbot.keyClick(view.editor, Qt.Key.Key_Tab)  # back to the BodySite: link it...
    qtbot.keyClick(view.editor, "l")
    qtbot.keyClick(view.editor, Qt.Key.Key_Tab)  # ...to the Condition around it
    qtbot.keyClick(view.editor, "l")
    doc = owin.project.documents.get(owin.doc.id)
    assert [(NOTE[slice(*r.head)], r.label, NOTE[slice(*r.tail)]) for r in doc.relations] == [
        ("left lower lobe", "site_of", "left lower lobe pneumonia")]


def test_in_a_project_without_overlaps_nothing_changes(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from tests.annotator.helpers import doc_id, entities

    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    view = _ner(window)
    text = view.doc.text
    s = text.index("type 2 diabetes")
    view.editor.select_code_points(s, s + len("type 2 diabetes"))
    qtbot.keyClick(view.editor, "1")
    view.editor.select_code_points(s + 7, s + 15)  # "diabetes", inside it
    qtbot.keyClick(view.editor, "2")
    message = window.statusBar().currentMessage()
    assert "overlaps an entity" in message and "Entities may overlap or nest" in message
    assert entities(window.project, did) == [("type 2 diabetes", "Disease")]
    view.editor.set_cursor_code_point(s + 1)
    assert not view.cycle_entity(1)  # one entity here: Tab is left to move the focus


# --- the setting ------------------------------------------------------------------------


def test_labels_dialog_switches_overlaps_and_shows_the_refusal(qtbot, owin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_labels import QtLabelsDialog

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    view = _ner(owin)
    _label(qtbot, view, "left lower lobe pneumonia", "1")
    _label(qtbot, view, "left lower lobe", "2")
    dialog = QtLabelsDialog(owin.project, owin)
    qtbot.addWidget(dialog)
    assert dialog.overlapping.isVisible() or not dialog.isVisible()
    assert dialog.overlapping.text() == "Entities may overlap or nest"
    assert dialog.overlapping.isChecked()
    dialog.overlapping.setChecked(False)  # refused: two entities overlap
    assert len(warnings) == 1 and "overlap" in warnings[0]
    assert "left lower lobe" in warnings[0]  # it names them
    assert dialog.overlapping.isChecked()  # as it was
    assert owin.project.annotations.overlapping()
    assert dialog.applied == []
    owin.ctx.undo_stack.undo()  # the nested one goes: now it may be switched off
    dialog.overlapping.setChecked(False)
    assert len(warnings) == 1 and not owin.project.annotations.overlapping()
    assert not dialog.overlapping.isChecked()
    dialog.overlapping.setChecked(True)
    assert owin.project.annotations.overlapping() and len(dialog.applied) == 2


def test_the_checkbox_is_for_the_entities_task_only(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_labels import QtLabelsDialog

    dialog = QtLabelsDialog(window.project, window)
    qtbot.addWidget(dialog)
    dialog.show()
    kinds = [dialog.task_box.itemData(i) for i in range(dialog.task_box.count())]
    dialog.task_box.setCurrentIndex(kinds.index(TaskKind.NER))
    assert dialog.overlapping.isVisible() and not dialog.overlapping.isChecked()
    dialog.overlapping.setChecked(True)
    assert window.project.annotations.overlapping()
    dialog.task_box.setCurrentIndex(kinds.index(TaskKind.CLASSIFY))
    assert not dialog.overlapping.isVisible()
    dialog.close()


def test_new_project_dialog_creates_a_project_whose_entities_may_overlap(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_project_dialogs import QtNewProjectDialog

    dialog = QtNewProjectDialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "nested.db"))
    dialog.ner_labels.setText("Condition, BodySite")
    assert not dialog.overlapping.isChecked()  # off by default: as before
    dialog.overlapping.setChecked(True)
    project = dialog.create_project()
    try:
        assert project.annotations.overlapping()
        assert [lab.name for lab in project.documents.tasks()[TaskKind.NER].labels] == [
            "Condition", "BodySite"]
    finally:
        project.close()
    dialog.path.setText(str(tmp_path / "flat.db"))
    dialog.overlapping.setChecked(False)
    project = dialog.create_project()
    try:
        assert not project.annotations.overlapping()
    finally:
        project.close()
    dialog.ner.setChecked(False)
    assert not dialog.overlapping.isEnabled()


def test_one_row_of_bars_keeps_the_full_bar_height(editor) -> None:  # type: ignore[no-untyped-def]
    outer, inner, _third = _nested_spans()
    editor.set_spans([outer, inner])
    assert editor.bar_height() == BAR_PX
    (bar,) = editor.bar_rects(editor._spans[1], 1)
    assert bar.height() == BAR_PX
