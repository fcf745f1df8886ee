"""The app in a real X server (run by test_real_window.py in a child pytest, with
QT_QPA_PLATFORM=xcb and openbox): the window opens and gets the focus, real key presses and
a mouse click (xdotool) reach it, and the chosen class shows its colour on screen."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("ANNOTATOR_REAL_X") != "1":  # collected only through test_real_window.py
    pytest.skip("run by tests/x11/test_real_window.py", allow_module_level=True)

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication

from core.project import Project
from core.store import repo
from core.types import DocumentRecord, TaskKind

TEXTS = ["Patient A has asthma and takes salbutamol.", "Referral: chest pain on exertion.",
         "Progress note: hypertension stable."]


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow

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
    QtMainWindow.warm_up_delay_ms = None
    win = QtMainWindow(Project.open(path))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(win.isActiveWindow, timeout=10000)  # the window manager gave it focus
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
