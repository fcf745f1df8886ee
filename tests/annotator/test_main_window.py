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
    dialogs.choice = "train"
    before = window.doc_list.model.rowCount()
    with qtbot.waitSignal(window.countsUpdated, timeout=15000):
        _menu_action(window, "File", "Import").trigger()
        qtbot.waitUntil(lambda: bool(dialogs.messages), timeout=15000)
    kind, title, text = dialogs.messages[-1]
    assert (kind, title) == ("information", "Import"), dialogs.messages
    assert "2 document(s) added" in text
    assert window.doc_list.model.rowCount() == before + 2
    assert "5 documents" in window.counts_label.text()
    assert "5 shown of 5" in window.doc_list.counts.text()


def test_export_through_file_menu(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialogs = Dialogs(monkeypatch)
    target = tmp_path / "out.jsonl"
    dialogs.save_path = str(target)
    dialogs.choice = "jsonl"
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
