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


def test_a_brat_import_that_needs_an_option_asks_for_it_and_imports_nothing_if_refused(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    """A discontinuous entity and a relation the project does not declare: the CLI names
    its options; the app asks, one problem at a time, and reads the folder again."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "Pain in the left and right knee, on aspirin."
    (corpus / "k.txt").write_text(text, encoding="utf-8")
    (corpus / "k.ann").write_text(
        "T1\tDisease 0 4;27 31\tPain knee\nT2\tMedication 36 43\taspirin\n"
        "R1\ttreats Arg1:T2 Arg2:T1\n", encoding="utf-8")
    asked: list[tuple[str, str, str]] = []
    answers: list[bool] = []

    def ask(_parent: Any, where: str, remedy: Any) -> bool:
        asked.append((where, remedy.problem, remedy.action))
        return answers.pop(0)

    monkeypatch.setattr(qt_main_window, "ask_remedy", ask)
    choices = ["Every .txt + .ann pair in its folder", "Training: the model learns from them"]
    messages = _stub_dialogs(monkeypatch, open_path=str(corpus / "k.ann"), choices=choices * 2)
    before = window.doc_list.model.rowCount()
    answers[:] = [False]  # refused: nothing imported, nothing said after
    window.import_dialog()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=15000)
    assert asked[0][0] == f"{corpus / 'k.ann'}:1" and asked[0][2] == "Join the fragments"
    assert "T1 Disease is discontinuous (2 fragments: 0 4;27 31)" in asked[0][1]
    assert "--discontinuous" not in asked[0][1]  # the command line's words are not the app's
    qtbot.wait(300)
    assert messages == [] and window.doc_list.model.rowCount() == before
    answers[:] = [True, True]
    window.import_dialog()
    qtbot.waitUntil(lambda: bool(messages), timeout=15000)
    assert [a[2] for a in asked[1:]] == ["Join the fragments", "Leave the relations out"]
    assert asked[2][0] == f"{corpus / 'k.ann'}:3"
    assert "1 document(s) added" in messages[-1][1], messages
    assert "1 discontinuous entity joined into the span covering its fragments" in \
        messages[-1][1]
    assert "relations 1" in messages[-1][1]
    doc = next(d for d in window.project.documents.records() if d.text == text)
    assert sorted((s.start, s.end, s.label) for s in doc.spans) == [
        (0, 31, "Disease"), (36, 43, "Medication")]
    assert doc.relations == ()


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
