"""The stable CLI contract of init / import / export / stats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.cli.main import run


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_creates_project_with_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.db"
    code, out, _ = cli("init", str(db), "--task", "ner", "--labels", "Disease,Medication", "--json", capsys=capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["labels"] == ["Disease", "Medication"] and payload["created"] is True
    code, out, _ = cli("init", str(db), "--task", "classify", "--labels", "a,b", "--multi-label", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["multi_label"] is True
    code, out, _ = cli("stats", str(db), "--json", capsys=capsys)
    stats = json.loads(out)
    assert stats["documents"] == 0 and stats["annotations"] == 0
    assert set(stats["tasks"]) == {"ner", "classify"}
    assert stats["splits"] == {"train": 0, "dev": 0, "test": 0, "unassigned": 0}


def test_stats_on_missing_or_junk_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli("stats", str(tmp_path / "nope.db"), capsys=capsys)
    assert code == 2 and "nope.db" in err and "no such project" in err
    junk = tmp_path / "junk.db"
    junk.write_text("hello, I am not a database\n" * 5)
    code, out, err = cli("stats", str(junk), "--json", capsys=capsys)
    assert code == 2 and "junk.db" in err and "not a project" in err
    assert json.loads(out)["error"]  # still exactly one JSON object on stdout


def test_unknown_command_or_bad_choice_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "annotator", "init", str(tmp_path / "x.db"), "--task", "poetry"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_gui_without_display_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "annotator"], capture_output=True, text=True, env=env)
    if sys.platform.startswith("linux"):
        assert result.returncode == 2 and "no display" in result.stderr


def test_stats_shows_the_time_spent_per_annotator_and_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.project import Project
    from core.types import DocumentRecord

    db = tmp_path / "notes.db"
    with Project.create(db, tasks={"ner": ["Disease"], "classify": ["a", "b"]}) as project:
        project.documents.add([DocumentRecord(text="asthma"), DocumentRecord(text="cough")])
        first, second = project.documents.filter()
        project.timings.record(first, "ner", "add Disease", 61.0)
        project.timings.record(second, "ner", "add Disease", 14.0)
        project.timings.record(second, "classify", "set a", 5.0, annotator="ana")
    code, out, _ = cli("stats", str(db), "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out)["time"] == {
        "ana": {"classify": {"seconds": 5.0, "actions": 1, "documents": 1}},
        "user": {"ner": {"seconds": 75.0, "actions": 2, "documents": 2}},
    }
    code, out, _ = cli("stats", str(db), capsys=capsys)
    assert "time spent by user: ner 1 min 15 s (2 actions, 2 documents)" in out
