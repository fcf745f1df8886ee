"""A small project with every kind, and a full dump of its editable state to compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.project import Project
from core.store.models import Document, Label, Suggestion, Task
from core.types import Answer, DocumentRecord, EntitySpan, Question

TEXTS = (
    "Patient with asthma was given salbutamol twice daily.",
    "No diabetes; metformin stopped. Follow up in two weeks.",
    "Chest pain resolved after aspirin.",
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(
        tmp_path / "p.db",
        tasks={"ner": ["Disease", "Drug"], "classify": ["urgent", "routine"], "qa": []},
    )
    records = [
        DocumentRecord(
            text=TEXTS[0], external_id="d0", spans=(EntitySpan(13, 19, "Disease"),),
            questions=(Question("What drug?", (Answer(30, 40, "salbutamol"),)),),
        ),
        DocumentRecord(text=TEXTS[1], external_id="d1", classes=("routine",),
                       questions=(Question("What was stopped?"),)),
        DocumentRecord(text=TEXTS[2], external_id="d2"),
    ]
    p.documents.add(records)
    yield p
    p.close()


def doc_id(project: Project, external_id: str) -> int:
    with project.read() as s:
        return int(s.scalar(select(Document.id).where(Document.external_id == external_id)))


def add_suggestion(project: Project, did: int, kind: str, payload: dict[str, Any],
                   confidence: float = 0.9, question_id: int | None = None) -> int:
    task = {"entity": "ner", "class": "classify", "answer": "qa", "relation": "relation"}[kind]
    with project.write() as s:
        row = Suggestion(
            document_id=did, task_id=s.scalar(select(Task.id).where(Task.kind == task)),
            kind=kind, payload=payload, confidence=confidence, question_id=question_id,
        )
        s.add(row)
        s.flush()
        return row.id


def state(project: Project) -> dict[str, Any]:
    """Everything an edit or a review decision may change, provenance included (not ids of
    entity and class rows, which an undo may renumber, nor timestamps)."""
    with project.read() as s:
        docs = {}
        for d in s.scalars(select(Document).order_by(Document.id)):
            docs[d.id] = {
                "status": d.review_status,
                "marks": sorted((m.kind, m.source) for m in d.task_marks),
                "entities": sorted(
                    (e.start, e.end, e.label.name, e.origin, e.annotator, e.suggestion_id)
                    for e in d.entities
                ),
                "classes": sorted(
                    (c.label.name, c.origin, c.annotator, c.suggestion_id) for c in d.classes
                ),
                "relations": sorted(
                    ((r.head.start, r.head.end), (r.tail.start, r.tail.end), r.label, r.origin,
                     r.annotator, r.suggestion_id)
                    for e in d.entities for r in e.relations_out
                ),
                "questions": [
                    (q.id, q.text, q.external_id, q.origin, q.annotator, q.is_impossible,
                     [(a.start, a.end, a.origin, a.annotator, a.suggestion_id) for a in q.answers])
                    for q in d.questions
                ],
            }
        suggestions = {
            r.id: (r.state, r.decided_at is None, r.kind, r.payload, r.confidence,
                   r.question_id, r.document_id, r.model_version_id)
            for r in s.scalars(select(Suggestion))
        }
        labels = sorted(
            (lab.task.kind, lab.name, lab.color, lab.shortcut, lab.id, lab.position)
            for lab in s.scalars(select(Label))
        )
    return {"documents": docs, "suggestions": suggestions, "labels": labels}
