"""The main window's menus: import, export, About, errors; the document list's layout and
the counts computed off the GUI thread."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from annotator.app import qt_main_window
from core.formats import read_file
from core.types import TaskKind


class Dialogs:
    """Stand-ins for the modal dialogs: file choosers, the split/format chooser, messages."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open_path = ""
        self.save_path = ""
        self.choice = ""
        self.messages: list[tuple[str, str, str]] = []  # (kind, title, text)
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *a, **k: (self.open_path, "")))
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, **k: (self.save_path, "")))
        monkeypatch.setattr(qt_main_window, "_choose", lambda *a: (self.choice, True))
        for kind in ("information", "warning", "about"):
            monkeypatch.setattr(QMessageBox, kind, staticmethod(self._record(kind)))

    def _record(self, kind: str) -> Any:
        def show(_parent: Any, title: str, text: str, *rest: Any) -> Any:
            self.messages.append((kind, title, text))
            return QMessageBox.StandardButton.Ok

        return show


def _menu_action(window: Any, menu_title: str, text: str) -> Any:
    for menu_action in window.menuBar().actions():
        if menu_action.text().replace("&", "") == menu_title:
            for action in menu_action.menu().actions():
                if action.text().replace("&", "").rstrip("…") == text:
                    return action
    raise AssertionError(f"no {menu_title} › {text} menu item")


def test_import_through_file_menu(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialogs = Dialogs(monkeypatch)
    source = tmp_path / "more.jsonl"
    source.write_text(
        "\n".join(json.dumps(r) for r in [
            {"text": "Fever and cough since Monday.", "id": "x1",
             "entities": [{"start": 0, "end": 5, "label": "Disease"}]},
            {"text": "Started warfarin 5 mg.", "id": "x2"},
        ]) + "\n",
        encoding="utf-8",
    )
    dialogs.open_path = str(source)
    dialogs.choice = "Training: the model learns from them"
    before = window.doc_list.model.rowCount()
    with qtbot.waitSignal(window.countsUpdated, timeout=15000):
        _menu_action(window, "File", "Import").trigger()
        qtbot.waitUntil(lambda: bool(dialogs.messages), timeout=15000)
    kind, title, text = dialogs.messages[-1]
    assert (kind, title) == ("information", "Import"), dialogs.messages
    assert "2 document(s) added" in text
    assert window.doc_list.model.rowCount() == before + 2
    # The first countsUpdated may carry a count started before the import (a slow
    # machine): the recount the import asked for follows it.
    qtbot.waitUntil(lambda: "5 documents" in window.counts_label.text(), timeout=15000)
    assert "5 shown of 5" in window.doc_list.counts.text()


def test_export_through_file_menu(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialogs = Dialogs(monkeypatch)
    target = tmp_path / "out.jsonl"
    dialogs.save_path = str(target)
    dialogs.choice = qt_main_window.EXPORT_FORMATS["jsonl"]
    _menu_action(window, "File", "Export").trigger()
    qtbot.waitUntil(lambda: "written" in window.statusBar().currentMessage(), timeout=15000)
    assert "3 document(s) written" in window.statusBar().currentMessage()
    records = read_file(target, "jsonl")
    assert [r.external_id for r in records] == ["d0", "d1", "d2"]
    assert "🙂" in records[1].text  # the text round-trips unchanged
    assert not dialogs.messages


def test_import_error_is_a_plain_message(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialogs = Dialogs(monkeypatch)
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": \n', encoding="utf-8")
    dialogs.open_path = str(bad)
    dialogs.choice = "(as in the file)"
    before = window.doc_list.model.rowCount()
    _menu_action(window, "File", "Import").trigger()
    qtbot.waitUntil(lambda: bool(dialogs.messages), timeout=15000)
    kind, title, text = dialogs.messages[-1]
    assert (kind, title) == ("warning", "Import")
    assert f"{bad}:2: " in text, text  # the file and the line of the cut record
    assert "Traceback" not in text and 'File "' not in text
    qtbot.wait(50)
    assert window.doc_list.model.rowCount() == before  # nothing half-imported


def test_about_shows_versions_and_device(window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialogs = Dialogs(monkeypatch)
    from annotator.app import main

    monkeypatch.setattr(main, "runtime_versions", lambda: {
        "app": "9.9", "qt": "6.x", "pyside": "6.y", "torch": "2.z", "transformers": "4.w",
        "device": "CPU (2 threads)"})
    _menu_action(window, "Help", "About").trigger()
    kind, title, text = dialogs.messages[-1]
    assert kind == "about" and "About" in title
    for part in ("Qt 6.x", "PySide6 6.y", "torch 2.z", "transformers 4.w", "CPU (2 threads)"):
        assert part in text
    assert str(window.project.path) in text


def test_runtime_versions_are_real() -> None:
    from annotator.app.main import runtime_versions

    v = runtime_versions()
    assert v["qt"].startswith("6.") and v["pyside"].startswith("6.")
    assert v["device"]


def test_document_list_fits_and_remembers_columns(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_documents import COLUMNS

    window.resize(1500, 900)
    qtbot.wait(20)
    window._default_split()  # what the first show does when no layout was saved
    qtbot.wait(20)
    table = window.doc_list.table
    header = table.horizontalHeader()
    visible = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
    right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in visible)
    assert right <= table.viewport().width() + 1  # status, labels and score all on screen
    score = COLUMNS.index("score")
    header.resizeSection(score, 90)
    window.save_state()
    second = qt_main_window.QtMainWindow(window.project)
    qtbot.addWidget(second)
    assert second.doc_list.table.horizontalHeader().sectionSize(score) == 90


def test_counts_arrive_from_a_worker(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.countsUpdated, timeout=10000) as blocker:
        window.update_counts()
        window.update_counts()  # coalesced with the first
    counts = blocker.args[0]
    assert counts.stats["documents"] == 3
    assert counts.statuses["unlabelled"] == 3
    assert window.counts_label.text().startswith("3 documents")


def test_export_offers_jsonl_beside_the_project(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """It defaulted to "text" (which drops every label) in the program's folder."""
    asked: dict[str, Any] = {}

    def fake_choose(_parent, _title, _prompt, items, current=None):  # type: ignore[no-untyped-def]
        asked["items"], asked["current"] = items, current
        return current, True

    def fake_save(_parent, _title, start, _filter):  # type: ignore[no-untyped-def]
        asked["start"] = start
        return "", ""

    monkeypatch.setattr(qt_main_window, "_choose", fake_choose)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    window.export_dialog()
    assert asked["current"] == asked["items"][0] and asked["current"].startswith("JSON lines")
    assert any("drops every label" in item for item in asked["items"])
    assert asked["start"] == str(window.project.path.with_name("p.jsonl"))


def test_import_asks_in_plain_words(window, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    asked: dict[str, Any] = {}
    source = tmp_path / "a.txt"
    source.write_text("Fever.\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(source), "")))

    def fake_choose(_parent, _title, prompt, items, current=None):  # type: ignore[no-untyped-def]
        asked["prompt"], asked["items"] = prompt, items
        return items[2], True

    monkeypatch.setattr(qt_main_window, "_choose", fake_choose)
    calls: list[Any] = []
    monkeypatch.setattr(window, "import_file", lambda path, split=None: calls.append(split))
    window.import_dialog()
    assert "split" not in asked["prompt"]
    assert not any(item.startswith("(") for item in asked["items"])
    assert any("measure the model" in item for item in asked["items"])
    assert calls == ["dev"]


def test_new_project_has_a_browse_button(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_project_dialogs import QtNewProjectDialog

    dialog = QtNewProjectDialog()
    qtbot.addWidget(dialog)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "notes"), "")))
    assert dialog.browse.text().startswith("Browse")
    dialog.browse.click()
    assert dialog.path.text() == str(tmp_path / "notes.db")


def test_restored_sizes_never_squeeze_the_editor(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """A saved layout with a huge training dock and document list (as a squeezed project
    left it) comes back with a usable text editor."""
    from PySide6.QtCore import Qt

    window.resize(1400, 850)
    qtbot.wait(20)
    window.resizeDocks([window.training_dock], [1100], Qt.Orientation.Horizontal)
    window.splitter.setSizes([900, 10])
    window.save_state()
    second = qt_main_window.QtMainWindow(window.project)
    qtbot.addWidget(second)
    second.resize(1400, 850)
    second.show()
    qtbot.waitExposed(second)
    qtbot.waitUntil(lambda: second.tabs.width() >= qt_main_window.MIN_EDITOR_WIDTH, timeout=3000)
    editor = second.views[next(iter(second.views))]
    assert editor.width() >= qt_main_window.MIN_EDITOR_WIDTH - 20
    assert second.tabs.width() >= 0.3 * second.width()
    second.close()


def test_help_has_shortcut_sheet_on_f1_and_question_mark_and_a_how_to(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialog

    from annotator.app import qt_help

    shown: list[str] = []
    monkeypatch.setattr(qt_help.QtHelpDialog, "exec",
                        lambda self: shown.append(self.text.toPlainText()) or 0)
    titles = [a.text().replace("&", "") for a in
              next(m.menu() for m in window.menuBar().actions()
                   if m.text().replace("&", "") == "Help").actions() if a.text()]
    assert titles == ["How to work", "Keyboard shortcuts", "About"]
    view = window.current_view()
    window.activateWindow()
    qtbot.keyClick(view.editor, Qt.Key.Key_F1)
    assert shown and "Keyboard shortcuts" in shown[-1]
    sheet = shown[-1]
    for keys in ("Ctrl+Z", "J", "Ctrl+Return", "F1", "Shift+A", "Enter"):
        assert keys in sheet, keys
    qtbot.keyClick(view.editor, "?")
    assert len(shown) == 2
    _menu_action(window, "Help", "How to work").trigger()
    assert "Label." in shown[-1] and "Train." in shown[-1] and "Review." in shown[-1]
    assert QDialog  # the dialogs are QDialogs closed with Esc


def test_theme_is_in_the_view_menu_and_remembered(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from annotator.app import qt_theme

    app = QApplication.instance()
    assert set(window.theme_actions) == {"system", "light", "dark"}
    assert window.theme_actions["system"].isChecked()  # the default
    try:
        window.theme_actions["dark"].trigger()
        assert qt_theme.is_dark()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 128
        assert qt_main_window.app_settings().value("view/theme") == "dark"
        window.theme_actions["system"].trigger()
        assert qt_theme.current_theme() == "system"
        assert app.palette().color(QPalette.ColorRole.Window).lightness() >= 128
    finally:
        qt_theme.apply_theme(app, "system")


def test_a_finished_runs_curves_come_back_after_a_restart(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from core.store.models import Task, TrainingRun

    with window.project.write() as s:
        task_id = s.scalar(select(Task.id).where(Task.kind == "ner"))
        s.add(TrainingRun(task_id=task_id, settings={}, status="completed", epochs=[
            {"epoch": e, "step": 4 * e, "train_loss": 1.0 / e, "val_loss": 0.9, "f1": 0.2 * e}
            for e in (1, 2, 3)]))
        # The app was killed during a later run: a row without epochs, still "running".
        s.add(TrainingRun(task_id=task_id, settings={}, status="running", epochs=[]))
    second = qt_main_window.QtMainWindow(window.project)
    qtbot.addWidget(second)
    panel = second.training
    assert panel.epoch_table.rowCount() == 3
    xs, _ys = panel.loss_curve.getData()
    assert list(xs) == [4, 8, 12]
    fx, fy = panel.f1_curve.getData()
    assert list(fx) == [1, 2, 3] and abs(fy[-1] - 0.6) < 1e-9
    assert "completed" in panel.status.text() and "without finishing" in panel.status.text()


def test_deleting_a_used_label_in_the_dialog_is_undone_by_one_undo(window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The labels dialog writes each edit at once; its edits then sit on the window's undo
    stack as one step, and Undo puts a deleted label back with the entity that used it."""
    from annotator.app.qt_labels import QtLabelsDialog
    from tests.annotator.helpers import doc_id, entities

    project = window.project
    d0 = doc_id(project, "d0")
    project.annotations.add_entity(d0, 0, 4, "Disease")

    def delete_disease(dialog: QtLabelsDialog) -> int:
        dialog.table.setCurrentCell(0, 0)  # Disease, the first label of the entity task
        dialog._delete()
        return 0

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QtLabelsDialog, "exec", delete_disease)
    window.edit_labels()
    assert entities(project, d0) == []
    assert "Disease" not in [lab.name for lab in project.documents.tasks()["ner"].labels]
    assert window.ctx.undo_stack.undoText() == "edit labels"
    window.ctx.undo_stack.undo()
    assert entities(project, d0) == [(project.documents.get(d0).text[0:4], "Disease")]
    window.ctx.undo_stack.redo()
    assert entities(project, d0) == []


def test_undoing_a_label_edit_gives_the_class_view_its_labels_again(window) -> None:  # type: ignore[no-untyped-def]
    """The labels dialog's edits are undone from the window's stack: the classes view and
    the list's label filter must show the label set as it is again, not as it was."""
    from annotator.app.qt_commands import AppliedChangeCommand

    project = window.project
    bad = next(lab for lab in project.documents.tasks()["classify"].labels if lab.name == "bad")
    view = window.views[TaskKind.CLASSIFY]
    changes = project.annotations.delete_label(bad.id)
    window.ctx.undo_stack.push(AppliedChangeCommand(window.ctx, changes, "edit labels"))
    window._rebuild_views()  # what the dialog's closing does
    view = window.views[TaskKind.CLASSIFY]
    assert sorted(view.buttons) == ["good"]
    window.ctx.undo_stack.undo()
    assert sorted(view.buttons) == ["bad", "good"]
    labels = [window.doc_list.label_box.itemText(i) for i in range(window.doc_list.label_box.count())]
    assert "bad" in labels
    window.ctx.undo_stack.redo()
    assert sorted(view.buttons) == ["good"]
