"""Suggestions in an imported JSONL file are never read as labels, and the import says so:
the app's import message and ``annotator import`` count the suggested spans and the
records' ``"suggestions"`` lists they left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from annotator.cli.main import run
from core.formats import suggestions_in

RECORDS = [
    {"text": "aspirin for fever", "spans": [
        {"start": 0, "end": 7, "label": "Medication"},
        {"start": 12, "end": 17, "label": "Disease", "suggested": True, "confidence": 0.9}]},
    {"text": "fever again", "spans": [
        {"start": 0, "end": 5, "label": "Disease", "suggested": True}],
     "suggestions": [{"suggested": True, "kind": "entity", "start": 6, "end": 11}]},
    {"text": "nothing suggested here", "spans": []},
]


def _file(tmp_path: Path, records: list[dict]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_suggestions_in_counts_suggested_spans_and_listed_suggestions(tmp_path: Path) -> None:
    path = _file(tmp_path, RECORDS)
    assert suggestions_in(path) == 3
    assert suggestions_in(_file(tmp_path, RECORDS[2:])) == 0


def test_the_cli_import_says_how_many_suggestions_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.formats import _common

    db = tmp_path / "p.db"
    assert run(["init", str(db), "--task", "ner", "--labels", "Disease,Medication"]) == 0
    capsys.readouterr()
    path = _file(tmp_path, RECORDS)
    reads: list[Path] = []
    real = _common.read_text
    monkeypatch.setattr(_common, "read_text", lambda p, *a: reads.append(Path(p)) or real(p, *a))
    for module in ("core.formats", "core.formats.jsonl"):
        monkeypatch.setattr(f"{module}.read_text", _common.read_text)
    assert run(["import", str(db), str(path), "--json"]) == 0
    assert reads == [path]  # the file is read once: the count comes with the records
    out = json.loads(capsys.readouterr().out)
    assert out["annotations_added"] == 1 and out["suggestions_not_imported"] == 3
    plain = _file(tmp_path, [{"text": "another note", "spans": []}])
    assert run(["import", str(db), str(plain)]) == 0
    line = capsys.readouterr().out
    assert "imported 1 documents" in line and "suggestion" not in line


def test_the_app_import_message_names_the_suggestions_left_out(  # type: ignore[no-untyped-def]
        qtbot, window, tmp_path: Path, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda _p, _t, text, *a: shown.append(text)))
    window.import_file(str(_file(tmp_path, RECORDS)))
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert "3 document(s) added" in shown[0] and "1 label(s)" in shown[0]
    assert "3 suggestion(s) in the file were not imported" in shown[0]
