"""File › Import and Export of brat standoff folders in the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from annotator.app import qt_main_window
from core.formats import read_file


def _stub_dialogs(monkeypatch: pytest.MonkeyPatch, *, open_path: str = "",
                  save_path: str = "", choices: list[str]) -> list[tuple[str, str]]:
    """The file choosers give these paths, ``_choose`` these answers in turn; the messages
    shown are returned as (title, text)."""
    messages: list[tuple[str, str]] = []
    answers = iter(choices)
    asked: list[list[str]] = []

    def choose(_parent: Any, _title: str, _prompt: str, items: list[str], *_: Any) -> Any:
        asked.append(items)
        answer = next(answers)
        assert answer in items, (answer, items)
        return answer, True

    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (open_path, "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (save_path, "")))
    monkeypatch.setattr(qt_main_window, "_choose", choose)
    for kind in ("information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(
            lambda _parent, title, text, *a: messages.append((title, text))))
    return messages


def test_import_a_brat_folder_by_choosing_one_ann(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for stem, text, ann in [("a", "Fever since Monday.", "T1\tDisease 0 5\tFever\n"),
                            ("b", "Takes metformin.", "T1\tMedication 6 15\tmetformin\n")]:
        (corpus / f"{stem}.txt").write_text(text, encoding="utf-8")
        (corpus / f"{stem}.ann").write_text(ann, encoding="utf-8")
    messages = _stub_dialogs(monkeypatch, open_path=str(corpus / "a.ann"), choices=[
        "Every .txt + .ann pair in its folder", "Training: the model learns from them"])
    before = window.doc_list.model.rowCount()
    window.import_dialog()
    qtbot.waitUntil(lambda: bool(messages), timeout=15000)
    assert messages[-1][0] == "Import" and "2 document(s) added" in messages[-1][1], messages
    assert "2 label(s)" in messages[-1][1]
    qtbot.waitUntil(lambda: window.doc_list.model.rowCount() == before + 2, timeout=15000)


def test_export_brat_writes_a_folder(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "notes-brat"
    _stub_dialogs(monkeypatch, save_path=str(target),
                  choices=[qt_main_window.EXPORT_FORMATS["brat"]])
    window.export_dialog()
    qtbot.waitUntil(lambda: "written" in window.statusBar().currentMessage(), timeout=15000)
    assert "3 document(s) written" in window.statusBar().currentMessage()
    assert sorted(p.name for p in target.iterdir()) == [
        "d0.ann", "d0.txt", "d1.ann", "d1.txt", "d2.ann", "d2.txt"]
    records = read_file(target)
    assert [r.external_id for r in records] == ["d0", "d1", "d2"]
    assert "🙂" in records[1].text and "\r\n" in records[2].text  # the text as it is


def test_brat_import_keeps_nested_entities_in_an_overlapping_project(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    project = window.project
    project.annotations.add_label("ner", "BodySite")
    project.annotations.set_overlapping(True)
    corpus = tmp_path / "nested"
    corpus.mkdir()
    text = "left lower lobe pneumonia"
    (corpus / "n.txt").write_text(text, encoding="utf-8")
    (corpus / "n.ann").write_text("T1\tDisease 0 25\tleft lower lobe pneumonia\n"
                                  "T2\tBodySite 0 15\tleft lower lobe\n", encoding="utf-8")
    messages = _stub_dialogs(monkeypatch, open_path=str(corpus / "n.ann"), choices=[
        "Every .txt + .ann pair in its folder", "Training: the model learns from them"])
    window.import_dialog()
    qtbot.waitUntil(lambda: bool(messages), timeout=15000)
    assert "1 document(s) added" in messages[-1][1], messages
    doc = next(d for d in project.documents.records() if d.text == text)
    assert sorted((s.start, s.end, s.label) for s in doc.spans) == [
        (0, 15, "BodySite"), (0, 25, "Disease")]


def test_new_project_window_creates_the_overlapping_project_the_dialog_says(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    from annotator.app.qt_project_dialogs import QtNewProjectDialog

    target = tmp_path / "nested.db"

    class Filled(QtNewProjectDialog):
        def exec(self) -> int:
            self.path.setText(str(target))
            self.ner.setChecked(True)
            self.ner_labels.setText("Condition, BodySite")
            self.overlapping.setChecked(True)
            return 1

    monkeypatch.setattr(qt_main_window, "QtNewProjectDialog", Filled)
    before = window.project
    window.new_project()
    assert window.project is not before and target.exists()
    assert window.project.annotations.overlapping()
