"""Answers: questions about a document, each answered by a span of it or "no answer"."""

from __future__ import annotations

from core.tasks.base import DOCUMENTS, AnnotationKind
from core.types import DocumentRecord, Question, TaskKind


def is_answered(question: Question) -> bool:
    """An answered question, or one marked unanswerable: a training example."""
    return bool(question.answers) or question.is_impossible


class QaKind(AnnotationKind):
    """Extractive question answering. A document is labelled once one of its questions is
    answered (or marked unanswerable); it still wants labels while a question is open."""

    kind = TaskKind.QA
    suggestion_kind = "answer"

    def is_labelled(self, record: DocumentRecord) -> bool:
        return any(is_answered(q) for q in record.questions)

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "EXISTS (SELECT 1 FROM questions _q WHERE _q.document_id = "
            f"{alias}.id AND (_q.is_impossible OR EXISTS (SELECT 1 FROM answer_annotations"
            " _a WHERE _a.question_id = _q.id)))"
        )

    def wants_labels_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "EXISTS (SELECT 1 FROM questions _q WHERE _q.document_id = "
            f"{alias}.id AND NOT _q.is_impossible AND NOT EXISTS (SELECT 1 FROM"
            " answer_annotations _a WHERE _a.question_id = _q.id))"
        )

    def is_example(self, record: DocumentRecord) -> bool:
        return self.is_labelled(record)


QA = QaKind()
