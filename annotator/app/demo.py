"""The demo project: synthetic clinical-style notes, created once under the user data dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import platformdirs

from core.project import Project
from core.types import Answer, DocumentRecord, EntitySpan, Question, TaskKind

DEMO_DATA = Path(__file__).resolve().parents[2] / "resources" / "demo" / "demo_notes.json"
APP_NAME = "text-annotator"


def demo_records(data: dict[str, Any]) -> list[DocumentRecord]:
    """The shipped JSON as records (entities, a class and questions where labelled)."""
    out = []
    for d in data["documents"]:
        text = d["text"]
        questions = []
        for q in d.get("questions", []):
            ans = q.get("answer")
            if ans is None:
                questions.append(Question(q["question"], is_impossible=True))
            elif ans == "open":
                questions.append(Question(q["question"]))
            else:
                questions.append(Question(q["question"], (Answer(ans[0], ans[1], text[ans[0]:ans[1]]),)))
        out.append(DocumentRecord(
            text=text,
            external_id=d["external_id"],
            spans=tuple(EntitySpan(s["start"], s["end"], s["label"]) for s in d.get("spans", [])),
            classes=tuple(d.get("classes", [])),
            questions=tuple(questions),
            meta={"note_type": d.get("note_type")},
            source="demo",
        ))
    return out


def build_demo_project(path: Path) -> Path:
    """Create the demo project at ``path`` (which must not exist)."""
    data = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    tasks = {TaskKind(k): v for k, v in data["tasks"].items()}
    project = Project.create(path, tasks=tasks, name="Demo: clinical notes")
    try:
        project.documents.add(demo_records(data), annotator="demo")
    finally:
        project.close()
    return path


def ensure_demo_project() -> Path:
    """The demo project's path, created on first use (and again if it was deleted)."""
    folder = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    if not path.exists():
        build_demo_project(path)
    return path
