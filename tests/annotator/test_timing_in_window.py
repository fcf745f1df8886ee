"""Each decision is timed from the document being shown, recorded under the annotator's
name, and shown in the status bar."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QInputDialog

from annotator.app import qt_annotator_name, qt_commands
from core.types import TaskKind
from tests.annotator.helpers import doc_id


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_decisions_are_timed_from_the_document_shown(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = _Clock()
    monkeypatch.setattr(qt_commands.time, "monotonic", clock)
    d0, d1 = doc_id(window.project, "d0"), doc_id(window.project, "d1")
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    window.doc_list.select_doc(d1)  # the window may have shown d0 before the clock was set
    window.doc_list.select_doc(d0)
    view = window.views[TaskKind.NER]
    clock.now += 42.0
    s = view.doc.text.index("metformin")
    view.editor.select_code_points(s, s + 9)
    qtbot.keyClick(view.editor, "2")  # Medication: 42 s after the note was shown
    clock.now += 8.0
    window.doc_list.select_doc(d1)  # another note: its own clock
    clock.now += 5.0
    window.tabs.setCurrentWidget(window.views[TaskKind.CLASSIFY])
    window.ctx.push(qt_commands.SetClassesCommand(window.ctx, d1, [], ["good"]))
    summary = window.project.timings.summary()[window.ctx.annotator]
    assert summary["ner"] == {"seconds": 42.0, "actions": 1, "documents": 1}
    assert summary["classify"] == {"seconds": 5.0, "actions": 1, "documents": 1}
    assert window.time_label.text() == "Time: classes 5 s · entities 42 s"
    # Undo and redo are not new decisions: no time is added.
    window.ctx.undo_stack.undo()
    window.ctx.undo_stack.redo()
    assert window.project.timings.summary()[window.ctx.annotator]["classify"]["actions"] == 1


class _NameDialog:
    """QInputDialog.exec stand-in: types ``answer`` (None: Cancel) and notes each prompt."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: str | None) -> None:
        self.answer = answer
        self.asked: list[str] = []
        monkeypatch.setattr(QInputDialog, "exec", lambda dialog: self._exec(dialog))

    def _exec(self, dialog: QInputDialog) -> int:
        self.asked.append(dialog.textValue())  # the name filled in
        if self.answer is None:
            return 0
        dialog.setTextValue(self.answer)
        return 1


def _label_metformin(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    view = window.views[TaskKind.NER]
    window.tabs.setCurrentWidget(view)
    window.doc_list.select_doc(doc_id(window.project, "d0"))
    s = view.doc.text.index("metformin")
    view.editor.select_code_points(s, s + 9)
    qtbot.keyClick(view.editor, "2")


def test_a_timing_carries_the_name_chosen_in_the_edit_menu(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow

    monkeypatch.setattr(qt_annotator_name.getpass, "getuser", lambda: "jdoe")
    dialog = _NameDialog(monkeypatch, "  Dr. Ada   Lovelace ")
    edit = next(m.menu() for m in window.menuBar().actions() if m.text().replace("&", "") == "Edit")
    action = next(a for a in edit.actions() if a.text().replace("&", "") == "Annotator name…")
    action.trigger()
    assert dialog.asked == ["jdoe"]  # the login name offered (none chosen before)
    assert window.annotator_label.text() == "Annotator: Dr. Ada Lovelace"
    _label_metformin(qtbot, window)
    assert list(window.project.timings.summary()) == ["Dr. Ada Lovelace"]
    # Remembered: the next window (the next start) records under the same name.
    second = QtMainWindow(window.project)
    qtbot.addWidget(second)
    assert second.ctx.annotator == "Dr. Ada Lovelace"
    assert second.annotator_label.text() == "Annotator: Dr. Ada Lovelace"


def test_the_login_name_by_default_and_the_first_start_asks_once(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow

    monkeypatch.setattr(qt_annotator_name.getpass, "getuser", lambda: "jdoe")
    dialog = _NameDialog(monkeypatch, None)
    second = QtMainWindow(window.project)  # a window (a test, a script) never asks
    qtbot.addWidget(second)
    assert dialog.asked == []
    assert second.ctx.annotator == "jdoe" and second.annotator_label.text() == "Annotator: jdoe"
    second.ask_annotator_name_once()  # the app's first start: asked, cancelled
    second.ask_annotator_name_once()  # the next start: not asked again
    assert dialog.asked == ["jdoe"]
    assert qt_annotator_name.saved_name() == "jdoe"
    second.show()
    qtbot.waitExposed(second)
    _label_metformin(qtbot, second)
    assert list(second.project.timings.summary()) == ["jdoe"]
