"""Helpers shared by the GUI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QTextCursor
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from core.project import Project
from core.store.models import Document, EntityAnnotation, Suggestion, Task


def doc_id(project: Project, external_id: str) -> int:
    with project.read() as s:
        return int(s.scalar(select(Document.id).where(Document.external_id == external_id)))


def entities(project: Project, did: int) -> list[tuple[str, str]]:
    """(text, label) of a document's entities, in order."""
    with project.read() as s:
        doc = s.get(Document, did)
        assert doc is not None
        rows = s.scalars(select(EntityAnnotation).where(EntityAnnotation.document_id == did)
                         .order_by(EntityAnnotation.start)).all()
        return [(doc.text[r.start:r.end], r.label.name) for r in rows]


def add_suggestion(project: Project, did: int, kind: str, payload: dict[str, Any],
                   confidence: float, task: str, question_id: int | None = None) -> int:
    with project.write() as s:
        task_id = s.scalar(select(Task.id).where(Task.kind == task))
        row = Suggestion(document_id=did, task_id=task_id, kind=kind, payload=payload,
                         confidence=confidence, question_id=question_id)
        s.add(row)
        s.flush()
        return row.id


def suggestion_state(project: Project, sid: int) -> str:
    with project.read() as s:
        row = s.get(Suggestion, sid)
        assert row is not None
        return row.state


def drag_select(editor: Any, start_u16: int, end_u16: int) -> None:
    """Select with the mouse: press at one position, move with the button held, release."""
    def point(pos: int) -> QPointF:
        c = QTextCursor(editor.document())
        c.setPosition(pos)
        r = editor.cursorRect(c)
        return QPointF(r.center().x(), r.center().y())

    viewport = editor.viewport()
    a, b = point(start_u16), point(end_u16)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier
    for etype, pos, button, buttons in (
        (QEvent.Type.MouseButtonPress, a, left, left),
        (QEvent.Type.MouseMove, b, none, left),
        (QEvent.Type.MouseButtonRelease, b, left, none),
    ):
        event = QMouseEvent(etype, pos, viewport.mapToGlobal(pos), button, buttons, mods)
        QApplication.sendEvent(viewport, event)


def main_window(qtbot: Any, path: Path) -> Iterator[Any]:
    """A main window on the project at ``path``, shown at 1200 x 800 (a fixture's body:
    ``yield from main_window(qtbot, path)``); closed afterwards if still open."""
    from annotator.app.qt_main_window import QtMainWindow

    win = QtMainWindow(Project.open(path))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if win.isVisible():
        win.close()
