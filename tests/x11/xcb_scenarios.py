"""The app in a real X server (run by test_real_window.py in a child pytest, with
QT_QPA_PLATFORM=xcb and openbox): the window opens and gets the focus, real key presses and
a mouse click (xdotool) reach it, the chosen class shows its colour on screen, an entity's
edge is dragged with the real mouse, the document list of a 1200 px window shows every
column and stays put when a row is clicked, in the Sentences view real keys choose a
sentence and give it a class, stored and tinted on screen, and nested entities are both
drawn, a real click again and Tab picking the other one."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("ANNOTATOR_REAL_X") != "1":  # collected only through test_real_window.py
    pytest.skip("run by tests/x11/test_real_window.py", allow_module_level=True)

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QTextCursor
from PySide6.QtWidgets import QApplication

from core.project import Project
from core.store import repo
from core.types import DocumentRecord, TaskKind

TEXTS = ["Patient A has asthma and takes salbutamol.", "Referral: chest pain on exertion.",
         "Progress note: hypertension stable."]


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def screenshot(qtbot, name: str) -> None:  # type: ignore[no-untyped-def]
    """With ANNOTATOR_X_SHOTS=<folder>: the screen as it is now, to look at afterwards."""
    folder = os.environ.get("ANNOTATOR_X_SHOTS")
    if folder:
        qtbot.wait(100)  # painted
        subprocess.run(["import", "-window", "root", str(Path(folder) / f"{name}.png")],
                       check=False, timeout=30)


def _open_window(qtbot, path: Path):  # type: ignore[no-untyped-def]
    """The app's window on ``path``, shown, with the focus (the window manager gave it)."""
    from annotator.app.qt_main_window import QtMainWindow

    QtMainWindow.warm_up_delay_ms = None
    win = QtMainWindow(Project.open(path))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(win.isActiveWindow, timeout=10000)
    return win


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    assert QGuiApplication.platformName() == "xcb"
    path = tmp_path / "p.db"
    project = Project.create(path, tasks={TaskKind.NER: ["Disease", "Medication"],
                                          TaskKind.CLASSIFY: ["discharge", "referral", "progress"]})
    with project.write() as session:
        repo.add_documents(session, [DocumentRecord(text=t, external_id=f"d{i}")
                                     for i, t in enumerate(TEXTS)])
        for name, colour in (("discharge", "#D55E00"), ("referral", "#0072B2"),
                             ("progress", "#009E73")):
            task = repo.require_task(session, TaskKind.CLASSIFY)
            label = next(lab for lab in task.labels if lab.name == name)
            repo.update_label(session, label.id, color=colour)
    project.close()
    win = _open_window(qtbot, path)
    yield win
    win.close()


def test_the_window_gets_focus_and_real_keys(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert QApplication.focusWidget() is not None
    assert window.isAncestorOf(QApplication.focusWidget())
    first = window.doc.id
    xdotool("key", "--clearmodifiers", "j")
    qtbot.waitUntil(lambda: window.doc.id != first, timeout=5000)
    xdotool("key", "--clearmodifiers", "k")
    qtbot.waitUntil(lambda: window.doc.id == first, timeout=5000)


def test_f1_and_question_mark_open_the_shortcut_sheet(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer

    from annotator.app.qt_help import QtHelpDialog

    for key in ("F1", "question"):
        seen: list[str] = []

        def look(seen: list[str] = seen) -> None:
            # Runs inside the dialog's own event loop (exec): note it, then close it.
            dialog = QApplication.activeModalWidget()
            if isinstance(dialog, QtHelpDialog) and not seen:
                seen.append(dialog.text.toPlainText())
                dialog.reject()
            elif not seen:
                QTimer.singleShot(50, look)

        qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # focus back after a dialog
        QTimer.singleShot(50, look)
        xdotool("key", "--clearmodifiers", key)
        qtbot.waitUntil(lambda s=seen: bool(s) and QApplication.activeModalWidget() is None,
                        timeout=10000)
        assert "Keyboard shortcuts" in seen[0], key


def _on_screen(widget, x: int, y: int) -> QColor:  # type: ignore[no-untyped-def]
    top = widget.window()
    origin = widget.mapTo(top, QPoint(0, 0))
    return top.grab(QRect(origin, widget.size())).toImage().pixelColor(x, y)


def test_a_mouse_click_chooses_a_class_and_its_tint_shows(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_classes import CHOSEN_ALPHA

    view = window.views[TaskKind.CLASSIFY]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(view.isVisible)
    for name, colour in (("referral", "#0072B2"), ("discharge", "#D55E00"),
                         ("progress", "#009E73")):
        button = view.buttons[name]
        centre = button.mapToGlobal(button.rect().center())
        xdotool("mousemove", "--sync", str(centre.x()), str(centre.y()))
        xdotool("click", "1")
        qtbot.waitUntil(lambda b=button: b.isChecked(), timeout=5000)
        assert window.doc.classes == (name,)
        button = view.buttons[name]
        got = _on_screen(button, 8, button.height() // 2)
        label, back = QColor(colour), window.palette().color(window.backgroundRole())
        want = [CHOSEN_ALPHA * a + (1 - CHOSEN_ALPHA) * b for a, b in (
            (label.red(), back.red()), (label.green(), back.green()), (label.blue(), back.blue()))]
        assert all(abs(g - w) <= 14 for g, w in zip((got.red(), got.green(), got.blue()), want)), (
            name, got.name(), [round(w) for w in want])


def _entities(window, doc_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    doc = window.project.documents.get(doc_id)
    return [(doc.text[e.start:e.end], e.label) for e in doc.entities]


def _gap_on_screen(editor, cp: int) -> QPoint:  # type: ignore[no-untyped-def]
    """Screen position of the gap before code point ``cp`` (the texts here are BMP-only)."""
    cursor = QTextCursor(editor.document())
    cursor.setPosition(cp)
    rect = editor.cursorRect(cursor)
    return editor.viewport().mapToGlobal(QPoint(rect.x(), rect.center().y()))


def test_dragging_an_entitys_edge_with_the_real_mouse(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    view = window.views[TaskKind.NER]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(view.editor.isVisible)
    doc_id = window.doc.id
    text = view.doc.text  # "Patient A has asthma and takes salbutamol."
    a = text.index("asthma")
    view.editor.select_code_points(a, a + 6)
    xdotool("key", "--clearmodifiers", "1")  # Disease, with a real key press
    qtbot.waitUntil(lambda: _entities(window, doc_id) == [("asthma", "Disease")], timeout=5000)

    editor = view.editor
    edge = _gap_on_screen(editor, a + 6)
    xdotool("mousemove", "--sync", str(edge.x()), str(edge.y()))
    # Hovering the edge (real motion events, no button): the resize pointer.
    qtbot.waitUntil(lambda: editor.viewport().cursor().shape() == Qt.CursorShape.SizeHorCursor,
                    timeout=5000)
    target = _gap_on_screen(editor, text.index("takes") + 3)  # into "takes": whole words
    xdotool("mousedown", "1")
    for frac in (0.3, 0.7, 1.0):
        x = edge.x() + round((target.x() - edge.x()) * frac)
        xdotool("mousemove", "--sync", str(x), str(target.y()))
    screenshot(qtbot, "edge_drag_held")  # the new extent shown while the button is held
    xdotool("mouseup", "1")
    qtbot.waitUntil(lambda: _entities(window, doc_id) == [("asthma and takes", "Disease")],
                    timeout=5000)
    screenshot(qtbot, "edge_drag_done")
    xdotool("key", "--clearmodifiers", "ctrl+z")  # one step back: the drag was one edit
    qtbot.waitUntil(lambda: _entities(window, doc_id) == [("asthma", "Disease")], timeout=5000)

    start = _gap_on_screen(editor, a)  # the start edge, dragged left onto "has"
    xdotool("mousemove", "--sync", str(start.x()), str(start.y()))
    qtbot.waitUntil(lambda: editor.viewport().cursor().shape() == Qt.CursorShape.SizeHorCursor,
                    timeout=5000)
    left = _gap_on_screen(editor, text.index("has") + 1)
    xdotool("mousedown", "1")
    xdotool("mousemove", "--sync", str((start.x() + left.x()) // 2), str(left.y()))
    xdotool("mousemove", "--sync", str(left.x()), str(left.y()))
    xdotool("mouseup", "1")
    qtbot.waitUntil(lambda: _entities(window, doc_id) == [("has asthma", "Disease")],
                    timeout=5000)
    screenshot(qtbot, "edge_drag_start_edge")


def test_the_document_list_of_a_1200_px_window(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_documents import COLUMNS

    window.resize(1200, 900)
    doc_list = window.doc_list
    table = doc_list.table
    qtbot.waitUntil(lambda: window.width() == 1200, timeout=5000)
    qtbot.waitUntil(lambda: doc_list.width() >= doc_list.comfortable_width() - 20, timeout=5000)
    header = table.horizontalHeader()
    visible = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
    right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in visible)
    assert right <= table.viewport().width() and table.horizontalScrollBar().maximum() == 0
    window.splitter.setSizes([300, 900])  # the list as narrow as it goes: columns shrink
    qtbot.waitUntil(lambda: doc_list.width() < doc_list.comfortable_width() - 60, timeout=5000)
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() == 0, timeout=5000)
    row = 1
    cell = table.visualRect(doc_list.model.index(row, COLUMNS.index("labels")))
    point = table.viewport().mapToGlobal(cell.center())
    xdotool("mousemove", "--sync", str(point.x()), str(point.y()))
    xdotool("click", "1")
    qtbot.waitUntil(lambda: window.doc.id == doc_list.model.doc_id(row), timeout=5000)
    qtbot.wait(QApplication.doubleClickInterval() + 200)  # Qt's delayed scroll after a click
    id_cell = table.visualRect(doc_list.model.index(row, COLUMNS.index("id")))
    assert table.horizontalScrollBar().value() == 0
    assert id_cell.left() >= 0 and id_cell.right() <= table.viewport().width()
    screenshot(qtbot, "document_list_1200_clicked")
    counts = doc_list.counts  # whole: on one line, or wrapped onto two
    needed = counts.fontMetrics().boundingRect(
        QRect(0, 0, counts.contentsRect().width(), 10_000), int(Qt.TextFlag.TextWordWrap),
        counts.text())
    assert needed.height() <= counts.contentsRect().height(), counts.text()


NOTE = ("Smokes ten cigarettes a day. Chest clear on examination. Plan to start varenicline. "
        "Review in four weeks.")
SENTENCE_COLOURS = {"Finding": "#D55E00", "Plan": "#0072B2", "Other": "#009E73"}


def _sentence_labels(window) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return [s.labels for s in window.project.documents.get(window.doc.id).sentences]


def _tint_on_screen(text_view, start: int, end: int) -> tuple[QColor, QColor]:  # type: ignore[no-untyped-def]
    """From a grab of the note as drawn: the commonest colour inside the sentence
    ``[start, end)`` (its background: glyphs are a minority of its pixels) and the
    background where there is no text."""
    viewport = text_view.viewport()
    image: QImage = viewport.grab().toImage()
    cursor = QTextCursor(text_view.document())
    cursor.setPosition(text_view.utf16_of(start) + 1)
    left = text_view.cursorRect(cursor)
    cursor.setPosition(text_view.utf16_of(end) - 1)
    right = text_view.cursorRect(cursor)
    assert left.top() == right.top(), "the sentence should fit on one line here"
    scale = image.width() / viewport.width()  # device pixels per logical pixel
    counts: dict[str, int] = {}
    for x in range(left.right() + 3, right.left() - 3):
        for y in range(left.top() + 2, left.bottom() - 2):
            name = image.pixelColor(round(x * scale), round(y * scale)).name()
            counts[name] = counts.get(name, 0) + 1
    tint = QColor(max(counts, key=lambda n: counts[n]))
    empty = image.pixelColor(image.width() - 5, image.height() - 5)
    return tint, empty


def test_sentences_a_real_key_picks_a_sentence_and_another_sets_its_class(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    from annotator.app.qt_span_text import _HUMAN_ALPHA

    path = tmp_path / "s.db"
    project = Project.create(path, tasks={TaskKind.SENTENCE: list(SENTENCE_COLOURS)})
    project.documents.add([DocumentRecord(NOTE, external_id="s0")])
    for label in project.documents.tasks()[TaskKind.SENTENCE].labels:
        project.annotations.update_label(label.id, color=SENTENCE_COLOURS[label.name])
    project.close()
    window = _open_window(qtbot, path)
    try:
        view = window.views[TaskKind.SENTENCE]
        window.tabs.setCurrentWidget(view)
        qtbot.waitUntil(lambda: view.text.isVisible() and view.doc is not None, timeout=5000)
        view.text.setFocus()
        qtbot.waitUntil(view.text.hasFocus, timeout=5000)
        assert view.current == 0
        xdotool("key", "--clearmodifiers", "Down")  # the second sentence
        qtbot.waitUntil(lambda: view.current == 1, timeout=5000)
        second = view.sentences[1]
        assert NOTE[second.start:second.end] == "Chest clear on examination."
        plan = QColor(SENTENCE_COLOURS["Plan"])
        before, _ = _tint_on_screen(view.text, second.start, second.end)
        assert before.name() != plan.name()
        xdotool("key", "--clearmodifiers", "2")  # Plan, the second label's key
        qtbot.waitUntil(lambda: _sentence_labels(window) == [(), ("Plan",), (), ()],
                        timeout=5000)
        qtbot.waitUntil(lambda: view.current == 2, timeout=5000)  # on to the next sentence
        qtbot.wait(100)  # painted
        screenshot(qtbot, "sentences_class_set")
        # The sentence is drawn in the class's colour, blended onto the background as a
        # labelled sentence that is not the current one is.
        tint, back = _tint_on_screen(view.text, second.start, second.end)
        alpha = _HUMAN_ALPHA[False] / 255
        want = [alpha * a + (1 - alpha) * b for a, b in (
            (plan.red(), back.red()), (plan.green(), back.green()), (plan.blue(), back.blue()))]
        got = (tint.red(), tint.green(), tint.blue())
        assert all(abs(g - w) <= 14 for g, w in zip(got, want)), (
            tint.name(), back.name(), [round(w) for w in want])
        from annotator.app.qt_sentence_parts import SentenceTableModel

        row = view.model.index(1, SentenceTableModel.CLASS)  # the table's class column too
        assert row.data() == "Plan"
        xdotool("key", "--clearmodifiers", "ctrl+z")  # and a real Ctrl+Z takes it back
        qtbot.waitUntil(lambda: _sentence_labels(window) == [(), (), (), ()], timeout=5000)
    finally:
        window.close()


NESTED_NOTE = "Chest X-ray: left lower lobe pneumonia, no effusion. Started amoxicillin."
NESTED_COLOURS = {"Condition": "#D55E00", "BodySite": "#0072B2", "Medication": "#009E73"}


def test_nested_entities_both_drawn_and_a_real_click_again_picks_the_outer(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    """Issue 13: "[left lower lobe] pneumonia", a BodySite inside a Condition. On screen the
    Condition is tinted and the BodySite has a bar in its colour under its words; a real
    click on them makes the BodySite current, a second one (not a double click) the
    Condition, Tab the BodySite again, and a real label key on words selected inside the
    Condition adds a nested entity."""
    from sqlalchemy import select

    from annotator.app.qt_span_text import BAR_PX
    from core.store.models import Document

    path = tmp_path / "nested.db"
    project = Project.create(path, tasks={TaskKind.NER: list(NESTED_COLOURS)})
    project.annotations.add_task(TaskKind.NER, overlapping=True)
    project.documents.add([DocumentRecord(NESTED_NOTE, external_id="n0")])
    with project.read() as session:
        doc_id = int(session.scalar(select(Document.id)))
    for label in project.documents.tasks()[TaskKind.NER].labels:
        project.annotations.update_label(label.id, color=NESTED_COLOURS[label.name])
    a = NESTED_NOTE.index("left")
    project.annotations.add_entity(doc_id, a, NESTED_NOTE.index(",", a), "Condition")
    project.annotations.add_entity(doc_id, a, a + len("left lower lobe"), "BodySite")
    project.close()
    window = _open_window(qtbot, path)
    try:
        view = window.views[TaskKind.NER]
        window.tabs.setCurrentWidget(view)
        qtbot.waitUntil(lambda: view.editor.isVisible() and view.doc is not None, timeout=5000)
        editor = view.editor

        def current() -> list[str]:
            return [NESTED_NOTE[s.start:s.end] for s in editor._spans if s.current]

        lower = NESTED_NOTE.index("lower") + 2
        (line,) = editor.line_rects(lower, lower + 1)
        point = editor.viewport().mapToGlobal(line.center().toPoint())
        xdotool("mousemove", "--sync", str(point.x()), str(point.y()))
        xdotool("click", "1")
        qtbot.waitUntil(lambda: current() == ["left lower lobe"], timeout=5000)
        screenshot(qtbot, "nested_inner_current")
        # On screen: under "lower", the BodySite's bar; above it, the Condition's tint.
        inner = next(s for s in editor._spans if s.current)
        (bar,) = editor.bar_rects(inner, editor.row_of(inner))
        assert bar.height() == BAR_PX + 1
        qtbot.wait(100)
        image = editor.viewport().grab().toImage()
        scale = image.width() / editor.viewport().width()
        got = image.pixelColor(round(bar.center().x() * scale), round(bar.center().y() * scale))
        want = QColor(NESTED_COLOURS["BodySite"])
        assert abs(got.red() - want.red()) + abs(got.blue() - want.blue()) < 60, got.name()
        qtbot.wait(QApplication.doubleClickInterval() + 200)  # a second click, not a double one
        xdotool("click", "1")
        qtbot.waitUntil(lambda: current() == ["left lower lobe pneumonia"], timeout=5000)
        screenshot(qtbot, "nested_outer_current")
        xdotool("key", "--clearmodifiers", "Tab")
        qtbot.waitUntil(lambda: current() == ["left lower lobe"], timeout=5000)
        assert editor.hasFocus()
        editor.select_code_points(lower - 2, lower + 3)  # "lower", inside both
        xdotool("key", "--clearmodifiers", "3")  # Medication: a third, nested entity
        qtbot.waitUntil(lambda: len(window.project.documents.get(doc_id).entities) == 3,
                        timeout=5000)
        qtbot.waitUntil(lambda: current() == ["lower"], timeout=5000)
        screenshot(qtbot, "nested_three_levels")
    finally:
        window.close()
