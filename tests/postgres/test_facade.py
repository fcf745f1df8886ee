"""The facade on both back ends: the same calls on a project file and on a project in a
PostgreSQL database (the test server) give the same results: create, import, label, undo
and redo, the document list's queries, review of suggestions, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.project import DocFilter, Project
from core.types import Answer, DocumentRecord, EntitySpan, Question

TEXTS = (
    "Patient with asthma was given salbutamol twice daily.",
    "No diabetes; metformin stopped. Follow up in two weeks.",
    "Chest pain resolved after aspirin.",
)


@pytest.fixture(params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    where = (str(tmp_path / "p.db") if request.param == "sqlite"
             else request.getfixturevalue("pg_url"))
    p = Project.create(
        where, tasks={"ner": ["Disease", "Drug"], "classify": ["urgent", "routine"], "qa": [],
                      "sentence": ["Finding", "Plan"]},
    )
    yield p
    p.close()


def _records() -> list[DocumentRecord]:
    return [
        DocumentRecord(
            text=TEXTS[0], external_id="d0", spans=(EntitySpan(13, 19, "Disease"),),
            questions=(Question("What drug?", (Answer(30, 40, "salbutamol"),)),),
        ),
        DocumentRecord(text=TEXTS[1], external_id="d1", classes=("routine",),
                       questions=(Question("What was stopped?"),)),
        DocumentRecord(text=TEXTS[2], external_id="d2"),
    ]


def _ids(project: Project) -> dict[str, int]:
    return {project.documents.get(i).external_id: i  # type: ignore[union-attr]
            for i in project.documents.filter(DocFilter())}


def _summary(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for doc_id in project.documents.filter(DocFilter()):
        view = project.documents.get(doc_id)
        assert view is not None
        out[view.external_id] = {
            "entities": [(e.start, e.end, e.label) for e in view.entities],
            "classes": sorted(view.classes),
            "questions": [(q.text, [(a.start, a.end) for a in q.answers], q.is_impossible)
                          for q in view.questions],
            "status": view.review_status,
        }
    return out


def test_create_import_label_undo_redo(project: Project) -> None:
    summary, _ = project.documents.add(_records())
    assert summary.documents_added == 3
    again, _ = project.documents.add(_records())
    assert again.documents_added == 0 and again.duplicates == 3
    ids = _ids(project)
    before = _summary(project)
    added = project.annotations.add_entity(ids["d0"], 30, 40, "Drug")
    classes = project.annotations.set_classes(ids["d2"], ["urgent"])
    done = project.annotations.set_review_status(ids["d1"], "reviewed")
    labelled = _summary(project)
    assert labelled["d0"]["entities"] == [(13, 19, "Disease"), (30, 40, "Drug")]
    assert labelled["d2"]["classes"] == ["urgent"] and labelled["d1"]["status"] == "reviewed"
    redo = [project.undo(c) for c in (done, classes, added)]
    assert _summary(project) == before
    for c in reversed(redo):
        project.undo(c)
    assert _summary(project) == labelled
    with pytest.raises(Exception, match="overlaps"):
        project.annotations.add_entity(ids["d0"], 15, 35, "Drug")
    assert _summary(project) == labelled


def test_document_list_queries(project: Project) -> None:
    project.documents.add(_records())
    ids = _ids(project)
    project.annotations.add_entity(ids["d2"], 26, 33, "Drug")
    assert project.documents.filter(DocFilter(search="METFORMIN")) == [ids["d1"]]
    assert project.documents.filter(DocFilter(search="100%")) == []
    assert project.documents.filter(DocFilter(label="Drug", kind="ner")) == [ids["d2"]]
    assert project.documents.filter(DocFilter(label="routine")) == [ids["d1"]]
    assert project.documents.filter(DocFilter(status="labelled", kind="ner")) == [ids["d0"], ids["d2"]]
    assert sorted(project.documents.filter(DocFilter(sort_by_score=True))) == sorted(ids.values())
    rows = {r.id: r for r in project.documents.page(list(ids.values()), kind="ner")}
    assert rows[ids["d2"]].labels == "Drug" and rows[ids["d2"]].status == "labelled"
    assert rows[ids["d1"]].status == "unlabelled"
    counts = project.documents.counts("ner")
    assert counts.statuses["labelled"] == 2 and counts.statuses["unlabelled"] == 1
    stats = project.documents.stats()
    assert stats["documents"] == 3 and stats["entities"] == 2
    records = {r.external_id: r for r in project.documents.records()}
    assert [(s.start, s.end, s.label) for s in records["d2"].spans] == [(26, 33, "Drug")]
    assert records["d1"].classes == ("routine",)


def test_reviewing_suggestions(project: Project) -> None:
    from core.patterns import PhrasePattern

    project.documents.add(_records())
    ids = _ids(project)
    result = project.review.apply_patterns(
        "ner", [PhrasePattern("Drug", "metformin"), PhrasePattern("Drug", "aspirin")],
        source="patterns:drugs.txt",
    )
    assert result.suggestions == 2
    view = project.documents.get(ids["d1"])
    assert view is not None
    (pending,) = view.suggestions
    accepted = project.review.accept(ids["d1"], [pending.id])
    assert _summary(project)["d1"]["entities"] == [(13, 22, "Drug")]
    project.undo(accepted)
    assert _summary(project)["d1"]["entities"] == []
    report = project.review.report("ner")
    assert report["by_source"]["patterns:drugs.txt"]["pending"] == 2
