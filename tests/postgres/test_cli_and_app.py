"""The command line and the app take a database URL wherever they take a project file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run
from core.project import DocFilter, Project


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_init_import_stats_export_on_a_database(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["init", pg_url, "--task", "ner", "--labels", "Disease,Drug", "--json"]) == 0
    made = _json(capsys)
    assert made["created"] is True and made["project"].startswith("postgresql://")
    # A second init adds a task to the same database project.
    assert run(["init", pg_url, "--task", "classify", "--labels", "urgent,routine", "--json"]) == 0
    assert _json(capsys)["created"] is False
    data = tmp_path / "in.jsonl"
    data.write_text(
        json.dumps({"text": "Asthma treated with salbutamol.", "spans": [
            {"start": 0, "end": 6, "label": "Disease"}]}) + "\n"
        + json.dumps({"text": "Routine visit.", "label": ["routine"]}) + "\n",
        encoding="utf-8")
    assert run(["import", pg_url, str(data), "--json"]) == 0
    assert _json(capsys)["documents_added"] == 2
    assert run(["stats", pg_url, "--json"]) == 0
    stats = _json(capsys)
    assert stats["documents"] == 2 and stats["entities"] == 1
    out = tmp_path / "out.jsonl"
    assert run(["export", pg_url, str(out), "--format", "jsonl", "--json"]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["text"] for line in lines) == ["Asthma treated with salbutamol.",
                                                      "Routine visit."]


def test_a_failed_init_leaves_the_database_empty(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The schema is made, then the task is refused (an attribute naming no label): the
    tables go again, so the same init, corrected, works on the same database."""
    assert run(["init", pg_url, "--task", "ner", "--labels", "Disease",
                "--attribute", "negation=Affirmed,Negated@Finding"]) == 2
    assert "Finding" in capsys.readouterr().err
    assert not Project.exists(pg_url)
    assert run(["stats", pg_url]) == 2 and "the database is empty" in capsys.readouterr().err
    assert run(["init", pg_url, "--task", "ner", "--labels", "Disease,Finding",
                "--attribute", "negation=Affirmed,Negated@Finding", "--json"]) == 0
    assert _json(capsys)["created"] is True


def test_cli_says_when_the_database_has_no_project(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["stats", pg_url]) == 2
    err = capsys.readouterr().err
    assert "the database is empty" in err and "annotator init" in err


def test_app_opens_a_database_project(qtbot, pg_url: str, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    from annotator.app import qt_main_window
    from annotator.app.qt_main_window import QtMainWindow

    monkeypatch.setattr(QtMainWindow, "warm_up_delay_ms", None)
    with Project.create(pg_url, tasks={"ner": ["Disease"]}) as p:
        from core.types import DocumentRecord

        p.documents.add([DocumentRecord("Asthma again.")])
    window = QtMainWindow(Project.open(pg_url))
    qtbot.addWidget(window)
    name = pg_url.split("/")[3].split("?")[0]
    assert window.windowTitle().startswith(name)
    assert window.project.location in qt_main_window.recent_projects()
    # File › Open database… takes the URL.
    monkeypatch.setattr(qt_main_window, "ask_database_url", lambda parent: pg_url)
    window.open_database_dialog()
    assert window.project.is_database
    assert window.project.documents.filter(DocFilter()) != []
    window.close()
    window.project.close()


def test_new_project_dialog_takes_a_database_url(qtbot, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_project_dialogs import QtNewProjectDialog

    dialog = QtNewProjectDialog()
    qtbot.addWidget(dialog)
    assert "postgresql://" in dialog.path.placeholderText()
    dialog.path.setText(pg_url)
    dialog._check()
    assert dialog.result() == 1
    with Project.create(dialog.path.text().strip(), tasks=dialog.tasks()) as p:
        assert p.is_database and "ner" in {t.value for t in p.documents.tasks()}


def test_annotator_url_opens_the_app_on_it(monkeypatch, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """``annotator postgresql://...`` is ``annotator gui postgresql://...``, as for a file."""
    from annotator.app import main as app_main

    opened: list[str | None] = []
    monkeypatch.setattr(app_main, "run_app", lambda target: opened.append(target) or 0)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert run([pg_url]) == 0
    assert opened == [pg_url]


def test_training_commands_take_a_database_url(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """train, evaluate and the other engine commands open the database project (they
    checked for a file first and said "no such project")."""
    assert run(["init", pg_url, "--task", "ner", "--labels", "Disease", "--json"]) == 0
    capsys.readouterr()
    code = run(["train", pg_url, "--task", "ner", "--json"])
    err = capsys.readouterr().err
    assert "no such project" not in err
    # It got as far as the training data: none labelled yet.
    assert code == 2 and "no labelled training documents" in err
