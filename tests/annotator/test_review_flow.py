"""Keyboard review flow, the document list's filters, and restart showing every label."""

from __future__ import annotations

from PySide6.QtCore import Qt

from core.project import DocFilter, Project
from core.types import TaskKind
from tests.annotator.helpers import doc_id, entities


def test_next_previous_reviewed_skip(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    view = window.views[TaskKind.NER]
    first = window.doc.id
    qtbot.keyClick(view.editor, "j")
    assert window.doc.id != first
    qtbot.keyClick(view.editor, "k")
    assert window.doc.id == first
    qtbot.keyClick(view.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.project.documents.get(first).review_status == "reviewed"
    second = window.doc.id
    assert second != first
    qtbot.keyClick(view.editor, "s")
    assert window.project.documents.get(second).review_status == "skipped"
    window.act_undo.trigger()
    assert window.project.documents.get(second).review_status == "unreviewed"


def test_document_list_filters(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    model = window.doc_list.model
    assert model.rowCount() == 3
    window.doc_list.search.setText("asthma")
    with qtbot.waitSignal(model.modelReset, timeout=2000):
        pass
    assert model.rowCount() == 1
    window.doc_list.search.setText("")
    model.set_filter(DocFilter(status="unlabelled"))
    assert model.rowCount() == 3
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    view = window.views[TaskKind.NER]
    s = view.doc.text.index("metformin")
    view.editor.select_code_points(s, s + 9)
    qtbot.keyClick(view.editor, "2")
    model.set_filter(DocFilter(status="labelled"))
    assert [model.doc_id(r) for r in range(model.rowCount())] == [did]
    model.set_filter(DocFilter(label="Medication"))
    assert model.rowCount() == 1
    row = model.doc_row(0)
    assert row.status == "labelled" and row.labels == "Medication"


def test_restart_shows_every_label(qtbot, project_path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow

    win = QtMainWindow(Project.open(project_path))
    qtbot.addWidget(win)
    win.show()
    did = doc_id(win.project, "d0")
    win.doc_list.select_doc(did)
    view = win.views[TaskKind.NER]
    s = view.doc.text.index("metformin")
    view.editor.select_code_points(s, s + 9)
    qtbot.keyClick(view.editor, "2")
    qtbot.keyClick(win.views[TaskKind.CLASSIFY].text, "1")
    win.close()  # no save step: every edit was committed

    again = QtMainWindow(Project.open(project_path))
    qtbot.addWidget(again)
    again.show()
    again.doc_list.select_doc(did)
    assert entities(again.project, did) == [("metformin", "Medication")]
    assert [(sp.start, sp.end) for sp in again.views[TaskKind.NER].editor._spans] == [(s, s + 9)]
    assert again.views[TaskKind.CLASSIFY].buttons["good"].isChecked()
    assert str(project_path) in __import__("annotator.app.qt_main_window", fromlist=["x"]).recent_projects()
    again.close()


def test_status_column_follows_the_view_shown(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """A note labelled for entities is "labelled" in the entities view only."""
    did = doc_id(window.project, "d0")
    window.project.annotations.add_entity(did, 40, 49, "Medication")  # "metformin"
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    model = window.doc_list.model
    model.refresh()
    assert window.doc_list.kind is TaskKind.NER
    assert model.doc_row(model.row_of(did)).status == "labelled"
    window.tabs.setCurrentWidget(window.views[TaskKind.CLASSIFY])
    assert window.doc_list.kind is TaskKind.CLASSIFY
    row = model.doc_row(model.row_of(did))
    assert row.status == "unlabelled" and row.labels == ""
    with qtbot.waitSignal(window.countsUpdated, timeout=5000) as blocker:
        window.update_counts()
    assert blocker.args[0].statuses["labelled"] == 0


def test_most_uncertain_first_and_the_uncertainty_column(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Labelled notes come after the ones wanting labels; the score column says what it is."""
    from sqlalchemy import select

    from annotator.app.qt_documents import COLUMNS
    from core.store.models import DocumentScore, Task

    d0, d1, d2 = (doc_id(window.project, f"d{i}") for i in range(3))
    with window.project.write() as s:
        ner = s.scalar(select(Task.id).where(Task.kind == "ner"))
        for did, value in ((d0, 0.9), (d1, 0.3), (d2, 0.6)):
            s.add(DocumentScore(document_id=did, task_id=ner, strategy="entropy", score=value))
    window.project.annotations.add_entity(d0, 40, 49, "Medication")  # labelled by hand
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    doc_list = window.doc_list
    doc_list.sort_box.setChecked(True)
    model = doc_list.model
    assert [model.doc_row(r).id for r in range(model.rowCount())] == [d2, d1, d0]
    col = COLUMNS.index("score")
    assert model.headerData(col, Qt.Orientation.Horizontal) == "uncertainty"
    tip = model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "uncertainty" in tip and "less sure" in tip and "label it first" in tip
    assert model.data(model.index(model.row_of(d2), col)) == "0.600"
