from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core import review
from core.project import Project
from core.store import repo
from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    EntityAnnotation,
    QuestionRow,
    Suggestion,
)
from core.store.repo import AnnotationError
from core.types import DocumentRecord, Question

TEXT = "Aspirin helps flu and cancer patients."
#       0123456789012345678901234567890123456
FLU = (14, 17)
CANCER = (22, 28)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project.create(
        tmp_path / "p.db",
        tasks={"ner": ["Disease", "Drug"], "classify": ["pos", "neg"], "qa": []},
    )
    with p.write() as s:
        repo.add_documents(
            s,
            [
                DocumentRecord(TEXT, split=None),
                DocumentRecord("Second document.", questions=(Question("What is it?"),)),
            ],
        )
    yield p
    p.close()


def _suggest(project: Project, doc_id: int, kind: str, payload: dict, confidence: float = 0.9,
             question_id: int | None = None) -> int:
    task = {"entity": "ner", "class": "classify", "answer": "qa"}[kind]
    with project.write() as s:
        row = Suggestion(
            document_id=doc_id, task_id=repo.require_task(s, task).id, kind=kind,
            payload=payload, confidence=confidence, question_id=question_id,
        )
        s.add(row)
        s.flush()
        return row.id


def _entity(project: Project, start_end: tuple[int, int], label: str = "Disease",
            confidence: float = 0.9, doc_id: int = 1) -> int:
    return _suggest(
        project, doc_id, "entity",
        {"start": start_end[0], "end": start_end[1], "label": label}, confidence,
    )


def _entities(project: Project, doc_id: int = 1) -> list[tuple[int, int, str, str, int | None]]:
    with project.read() as s:
        rows = s.scalars(
            select(EntityAnnotation).where(EntityAnnotation.document_id == doc_id)
            .order_by(EntityAnnotation.start)
        ).all()
        return [(r.start, r.end, r.label.name, r.origin, r.suggestion_id) for r in rows]


def test_accept_entity_keeps_origin_and_suggestion_id(project: Project) -> None:
    sid = _entity(project, FLU)
    with project.write() as s:
        review.accept_suggestion(s, sid)
    assert _entities(project) == [(14, 17, "Disease", "accepted", sid)]
    with project.read() as s:
        assert s.get(Suggestion, sid).state == "accepted"
        assert s.get(Suggestion, sid).decided_at is not None
        assert review.pending_suggestions(s, 1) == []


def test_accept_twice_is_refused(project: Project) -> None:
    sid = _entity(project, FLU)
    with project.write() as s:
        review.accept_suggestion(s, sid)
    with pytest.raises(AnnotationError, match="already accepted"), project.write() as s:
        review.accept_suggestion(s, sid)


def test_accept_overlapping_human_span_is_refused_and_changes_nothing(project: Project) -> None:
    with project.write() as s:
        repo.add_entity(s, 1, 14, 21, "Disease")  # "flu and"
    sid = _entity(project, FLU)
    with pytest.raises(AnnotationError, match="cannot accept the suggested Disease 'flu'.*overlaps"):
        with project.write() as s:
            review.accept_suggestion(s, sid)
    assert _entities(project) == [(14, 21, "Disease", "human", None)]
    with project.read() as s:
        assert s.get(Suggestion, sid).state == "pending"


def test_reject_makes_no_annotation(project: Project) -> None:
    sid = _entity(project, FLU)
    with project.write() as s:
        review.reject_suggestion(s, sid)
    assert _entities(project) == []
    with project.read() as s:
        assert s.get(Suggestion, sid).state == "rejected"


def test_edit_entity_creates_edited_annotation(project: Project) -> None:
    sid = _entity(project, (13, 17))  # " flu" — a boundary the reviewer fixes
    with project.write() as s:
        review.edit_suggestion(s, sid, start=14, label="Drug")
    assert _entities(project) == [(14, 17, "Drug", "edited", sid)]
    with project.read() as s:
        assert s.get(Suggestion, sid).state == "edited"


def test_edit_without_change_counts_as_accepted(project: Project) -> None:
    sid = _entity(project, FLU)
    with project.write() as s:
        review.edit_suggestion(s, sid, label="Disease")
    assert _entities(project)[0][3] == "accepted"


def test_class_accept_and_edit(project: Project) -> None:
    probs = {"pos": 0.8, "neg": 0.2}
    sid = _suggest(project, 1, "class", {"label": "pos", "probabilities": probs}, 0.8)
    with project.read() as s:
        (p,) = review.pending_suggestions(s, 1, "classify")
    assert p.label == "pos" and p.labels == ("pos",) and p.probabilities == probs
    with project.write() as s:
        review.accept_suggestion(s, sid)
    sid2 = _suggest(project, 2, "class", {"label": "pos", "probabilities": probs}, 0.8)
    with project.write() as s:
        review.edit_suggestion(s, sid2, label="neg")
    with project.read() as s:
        rows = s.scalars(select(ClassAnnotation).order_by(ClassAnnotation.document_id)).all()
        assert [(r.document_id, r.label.name, r.origin, r.suggestion_id) for r in rows] == [
            (1, "pos", "accepted", sid),
            (2, "neg", "edited", sid2),
        ]


def test_answer_accept_span_and_no_answer(project: Project) -> None:
    with project.read() as s:
        qid = s.scalars(select(QuestionRow.id)).one()
    sid = _suggest(project, 2, "answer", {"start": 0, "end": 6, "text": "Second"}, 0.7, qid)
    with project.read() as s:
        (p,) = review.pending_suggestions(s, 2)
    assert (p.kind, p.text, p.question, p.no_answer) == ("answer", "Second", "What is it?", False)
    with project.write() as s:
        review.edit_suggestion(s, sid, no_answer=True)
    with project.read() as s:
        q = s.get(QuestionRow, qid)
        assert q.is_impossible and q.answers == []
        assert s.get(Suggestion, sid).state == "edited"
    with project.write() as s:
        repo.clear_answer(s, qid)
    sid2 = _suggest(project, 2, "answer", {"start": 0, "end": 6, "text": "Second"}, 0.7, qid)
    with project.write() as s:
        review.accept_suggestion(s, sid2)
    with project.read() as s:
        (a,) = s.scalars(select(AnswerAnnotation)).all()
        assert (a.start, a.end, a.origin, a.suggestion_id) == (0, 6, "accepted", sid2)


def test_accept_document_skips_conflicts_and_marks_reviewed(project: Project) -> None:
    with project.write() as s:
        repo.add_entity(s, 1, 0, 7, "Drug")
    a = _entity(project, FLU)
    b = _entity(project, CANCER)
    clash = _entity(project, (0, 7), "Disease")
    with project.write() as s:
        assert review.accept_document(s, 1, "ner", mark_reviewed=True) == 2
    assert [e[:4] for e in _entities(project)] == [
        (0, 7, "Drug", "human"), (14, 17, "Disease", "accepted"), (22, 28, "Disease", "accepted"),
    ]
    with project.read() as s:
        assert [p.id for p in review.pending_suggestions(s, 1)] == [clash]
        assert s.get(Document, 1).review_status == "reviewed"
        assert {s.get(Suggestion, i).state for i in (a, b)} == {"accepted"}
    with project.write() as s:
        assert review.reject_document(s, 1, "ner") == 1
    with project.read() as s:
        assert s.get(Suggestion, clash).state == "rejected"


def test_accept_above_threshold(project: Project) -> None:
    high = _entity(project, FLU, confidence=0.95)
    low = _entity(project, CANCER, confidence=0.4)
    with project.write() as s:
        assert review.accept_above(s, 0.9, task="ner") == 1
    with project.read() as s:
        assert s.get(Suggestion, high).state == "accepted"
        assert s.get(Suggestion, low).state == "pending"
    with project.write() as s:
        assert review.accept_above(s, 0.3, task="ner", doc_ids=[2]) == 0
    with pytest.raises(AnnotationError, match="threshold"), project.write() as s:
        review.accept_above(s, 1.5, task="ner")


def test_accept_above_keeps_the_surer_of_two_overlapping(project: Project) -> None:
    weak = _entity(project, (14, 21), confidence=0.91)
    strong = _entity(project, FLU, confidence=0.99)
    with project.write() as s:
        assert review.accept_above(s, 0.9, task="ner") == 1
    assert _entities(project)[0][4] == strong
    with project.read() as s:
        assert s.get(Suggestion, weak).state == "pending"


def test_suggestion_report(project: Project) -> None:
    ids = [_entity(project, FLU), _entity(project, CANCER), _entity(project, (0, 7), "Drug"),
           _entity(project, (0, 6), doc_id=2)]
    with project.write() as s:
        review.accept_suggestion(s, ids[0])
        review.edit_suggestion(s, ids[1], label="Drug")
        review.reject_suggestion(s, ids[2])
        repo.add_entity(s, 2, 7, 15, "Disease")  # human-only
    with project.read() as s:
        report = review.suggestion_report(s, "ner")
        assert review.pending_counts(s, "ner") == {2: 1}
    assert report["accepted"] == 1 and report["edited"] == 1 and report["rejected"] == 1
    assert report["pending"] == 1 and report["suggestions"] == 4
    assert report["human_only"] == 1
    assert report["acceptance_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["useful_rate"] == pytest.approx(2 / 3, abs=1e-3)
    with project.read() as s:
        empty = review.suggestion_report(s, "classify")
    assert empty["acceptance_rate"] is None and empty["suggestions"] == 0


def test_unknown_suggestion(project: Project) -> None:
    with pytest.raises(AnnotationError, match="no suggestion"), project.write() as s:
        review.accept_suggestion(s, 999)
