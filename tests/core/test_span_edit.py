"""Moving an entity's edges in the store, and putting them back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.project import Project
from core.span_edit import ResizeEntity, resize_entity
from core.store import repo
from core.store.models import EntityAnnotation
from core.store.repo import AnnotationError
from core.types import DocumentRecord, EntitySpan, TaskKind

TEXT = "Continue bisoprolol 2.5 mg once daily. Please consider a chest X-ray."


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "p.db", tasks={TaskKind.NER: ["Medication", "Dosage", "Procedure"]})
    s = TEXT.index
    with p.write() as session:
        repo.add_documents(session, [DocumentRecord(
            text=TEXT, external_id="n1",
            spans=(EntitySpan(s("bisoprolol"), s("bisoprolol") + 10, "Medication"),
                   EntitySpan(s("2.5"), s("2.5") + 6, "Dosage")),
        )])
    return p


def spans(project: Project) -> list[tuple[str, str, str]]:
    with project.read() as session:
        rows = session.scalars(select(EntityAnnotation).order_by(EntityAnnotation.start)).all()
        return [(TEXT[r.start:r.end], r.label.name, r.origin) for r in rows]


def test_resize_and_undo_restores_offsets_and_origin(project: Project) -> None:
    s = TEXT.index("2.5")
    with project.write() as session:
        doc_id = session.scalars(select(EntityAnnotation.document_id)).first()
        row = session.scalars(select(EntityAnnotation).where(EntityAnnotation.start == s)).one()
        row.origin = "accepted"
    new_end = TEXT.index("daily") + 5
    with project.write() as session:
        inverse = resize_entity(session, ResizeEntity(doc_id, s, s + 6, s, new_end))
    assert spans(project)[1] == ("2.5 mg once daily", "Dosage", "edited")
    with project.write() as session:
        redo = resize_entity(session, inverse)
    assert spans(project)[1] == ("2.5 mg", "Dosage", "accepted")
    with project.write() as session:
        resize_entity(session, redo)
    assert spans(project)[1] == ("2.5 mg once daily", "Dosage", "edited")


def test_refused_resizes_change_nothing(project: Project) -> None:
    s = TEXT.index("2.5")
    with project.read() as session:
        doc_id = session.scalars(select(EntityAnnotation.document_id)).first()
    before = spans(project)
    bad = [
        (ResizeEntity(doc_id, s, s + 6, s - 5, s + 6), "overlaps the Medication"),
        (ResizeEntity(doc_id, s, s + 6, s, len(TEXT) + 1), "outside the document"),
        (ResizeEntity(doc_id, s, s + 6, s + 3, s + 4), "white space"),
        (ResizeEntity(doc_id, s, s + 5, s, s + 6), "no entity at"),
    ]
    for op, message in bad:
        with pytest.raises(AnnotationError, match=message), project.write() as session:
            resize_entity(session, op)
        assert spans(project) == before
