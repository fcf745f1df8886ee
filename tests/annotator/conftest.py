"""GUI test fixtures: a small project per test and an isolated QSettings / data dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.project import Project  # noqa: E402
from core.store import repo  # noqa: E402
from core.types import DocumentRecord, TaskKind  # noqa: E402
from tests.annotator.helpers import main_window  # noqa: E402

TEXTS = [
    "Patient A has type 2 diabetes and takes metformin 500 mg daily.",
    "Patient B 🙂 reports asthma; salbutamol given. Café visit — naïve.",
    "Progress note: hypertension stable.\r\nContinue amlodipine 5 mg.",
]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    # QSettings(org, app), as the app makes them, use the native format (an ini file under
    # ~/.config on Linux): without its own path each test read what the last one saved.
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    from annotator.app.qt_main_window import QtMainWindow

    # No background import of torch/transformers in GUI tests (the engine test imports them
    # itself); keeps the suite fast on a shared machine.
    monkeypatch.setattr(QtMainWindow, "warm_up_delay_ms", None)


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    path = tmp_path / "p.db"
    project = Project.create(
        path,
        tasks={TaskKind.NER: ["Disease", "Medication"], TaskKind.CLASSIFY: ["good", "bad"],
               TaskKind.QA: []},
    )
    with project.write() as session:
        repo.add_documents(session, [DocumentRecord(text=t, external_id=f"d{i}") for i, t in enumerate(TEXTS)])
    project.close()
    return path


@pytest.fixture
def window(qtbot, project_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield from main_window(qtbot, project_path)
