"""Answers: questions about a document, each answered by a span of it or "no answer"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select

from core.tasks.base import DOCUMENTS, AnnotationKind, NewSuggestion, PayloadError, payload_field
from core.types import DocumentRecord, Question, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.results import DocumentPrediction
    from core.store.models import Suggestion


def is_answered(question: Question) -> bool:
    """An answered question, or one marked unanswerable: a training example."""
    return bool(question.answers) or question.is_impossible


@dataclass(frozen=True)
class AnswerPayload:
    """A suggested answer to one question: ``text[start:end]``, or no answer in the passage
    (``start`` and ``end`` both ``None``)."""

    start: int | None = None
    end: int | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise PayloadError("answer suggestion with only one of start and end")
        if self.start is not None and not (0 <= self.start < self.end):  # type: ignore[operator]
            raise PayloadError(f"answer suggestion with bad offsets [{self.start}, {self.end})")

    @property
    def no_answer(self) -> bool:
        return self.start is None

    def to_json(self) -> dict[str, Any]:
        if self.no_answer:
            return {"no_answer": True}
        return {"start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnswerPayload:
        if data.get("no_answer"):
            return cls()
        text = data.get("text", "")
        return cls(
            payload_field(data, "start", int, "answer"),
            payload_field(data, "end", int, "answer"),
            text if isinstance(text, str) else "",
        )


class QaKind(AnnotationKind):
    """Extractive question answering. A document is labelled once one of its questions is
    answered (or marked unanswerable); it still wants labels while a question is open."""

    kind = TaskKind.QA
    suggestion_kind = "answer"
    Payload = AnswerPayload

    # --- which documents are labelled -------------------------------------------------

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

    def prediction_input(self, record: DocumentRecord) -> tuple[DocumentRecord, list[int]]:
        positions = [i for i, q in enumerate(record.questions) if not is_answered(q)]
        questions = tuple(record.questions[i] for i in positions)
        return replace(record, questions=questions), positions

    # --- suggestions ------------------------------------------------------------------

    def payload_from_json(self, data: Mapping[str, Any]) -> AnswerPayload:
        return AnswerPayload.from_json(data)

    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        from core.active.uncertainty import answer_confidence

        out = []
        for qid, answer in zip(question_ids, getattr(prediction, "answers", ())):
            if answer.no_answer or answer.start is None or answer.end is None:
                payload = AnswerPayload()
            else:
                payload = AnswerPayload(int(answer.start), int(answer.end), answer.text)
            out.append(NewSuggestion(doc_id, payload, answer_confidence(answer), qid))
        return out

    def human_labels(self, session: Session, doc_ids: Sequence[int]) -> set[int]:
        """The ids of the answered (or unanswerable) questions of ``doc_ids``."""
        from core.store.models import AnswerAnnotation, QuestionRow

        return set(session.scalars(
            select(QuestionRow.id).where(
                QuestionRow.document_id.in_(list(doc_ids)),
                (QuestionRow.is_impossible.is_(True))
                | exists().where(AnswerAnnotation.question_id == QuestionRow.id),
            )
        ))

    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: Any,
        *, adds_to_existing: bool = False,
    ) -> bool:
        return question_id is None or question_id in human

    def apply(
        self, session: Session, row: Suggestion, payload: Any, *, annotator: str, origin: str,
    ) -> None:
        from core.store import repo

        if row.question_id is None:
            raise repo.AnnotationError(f"answer suggestion {row.id} has no question")
        repo.set_answer(
            session, row.question_id, payload.start, payload.end, annotator=annotator,
            origin=origin, suggestion_id=row.id,
        )

    def edited(self, payload: Any, **changes: Any) -> AnswerPayload:
        from core.store.repo import AnnotationError

        start, end = changes.get("start"), changes.get("end")
        if changes.get("no_answer"):
            return AnswerPayload()
        if start is None and end is None:
            return payload  # type: ignore[no-any-return]
        if payload.no_answer and (start is None or end is None):
            raise AnnotationError("give both start and end of the answer")
        start = payload.start if start is None else int(start)
        end = payload.end if end is None else int(end)
        if (start, end) == (payload.start, payload.end):
            return payload  # type: ignore[no-any-return]
        return AnswerPayload(start, end)

    def pending_fields(self, payload: Any, doc_text: str) -> dict[str, Any]:
        if payload.no_answer:
            return {"no_answer": True}
        return {
            "start": payload.start, "end": payload.end,
            "text": doc_text[payload.start:payload.end],
        }

    def human_only(self, session: Session) -> int:
        from core.store.models import AnswerAnnotation, QuestionRow, Suggestion

        answers = int(session.scalar(
            select(func.count(AnswerAnnotation.id)).where(
                AnswerAnnotation.origin == "human", AnswerAnnotation.suggestion_id.is_(None)
            )
        ) or 0)
        # "No answer" decisions made by a person are questions, not answer rows.
        no_answers = int(session.scalar(
            select(func.count(QuestionRow.id)).where(
                QuestionRow.is_impossible.is_(True),
                QuestionRow.origin == "human",
                QuestionRow.id.not_in(
                    select(Suggestion.question_id).where(
                        Suggestion.question_id.is_not(None),
                        Suggestion.state.in_(("accepted", "edited")),
                    )
                ),
            )
        ) or 0)
        return answers + no_answers


QA = QaKind()
