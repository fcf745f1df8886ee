"""Each decision is timed from the document being shown, recorded, and shown in the status bar."""

from __future__ import annotations

from annotator.app import qt_commands
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
    summary = window.project.timings.summary()["user"]
    assert summary["ner"] == {"seconds": 42.0, "actions": 1, "documents": 1}
    assert summary["classify"] == {"seconds": 5.0, "actions": 1, "documents": 1}
    assert window.time_label.text() == "Time: classes 5 s · entities 42 s"
    # Undo and redo are not new decisions: no time is added.
    window.ctx.undo_stack.undo()
    window.ctx.undo_stack.redo()
    assert window.project.timings.summary()["user"]["classify"]["actions"] == 1
