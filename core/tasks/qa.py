"""Answers: questions about a document, each answered by a span of it or "no answer"."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import exists, func, select

from core.engine import decoding
from core.engine.decoding import group_by_example
from core.engine.features import Feature, QaExample, encode_qa, tokenize_contexts
from core.engine.results import AnswerPrediction, QuestionsPrediction
from core.engine.settings import TaskSpec
from core.tasks.base import DOCUMENTS, AnnotationKind, NewSuggestion, PayloadError, payload_field
from core.types import DocumentRecord, Question, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
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

    def training_labels(self, labels: Sequence[str]) -> tuple[str, ...]:
        return tuple(labels) or ("answer",)  # no label set: the span heads need none

    def allows_no_answer(self, train: Sequence[DocumentRecord]) -> bool:
        return any(q.is_impossible for d in train for q in d.questions)

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

    # --- the model --------------------------------------------------------------------

    per_label_metrics = False

    def label_set(self, docs: Sequence[DocumentRecord]) -> tuple[list[str], bool]:
        return ["answer"], False  # one "label": the answer span
    auto_model = "AutoModelForQuestionAnswering"
    label_head = False

    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        batch = qa_examples(docs, tokenizer, only_labelled=True)
        return list(qa_features(
            tokenizer, batch, with_targets=True, warn=warn, max_length=max_length,
            stride=stride,
        ))

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        from core.engine.runtime import forward_features

        batch = qa_examples(docs, tokenizer, only_labelled=with_loss)
        feats = qa_features(
            tokenizer, batch, max_length=options.max_length, stride=options.stride,
            with_targets=with_loss,
        )
        res = forward_features(model, feats, task="qa", with_loss=with_loss, **common)
        answers = []
        for k, group in enumerate(group_by_example(feats, len(batch.examples))):
            d, q = batch.owners[k]
            ctx = batch.contexts[batch.examples[k].context_index]
            answers.append(decode_answer(
                batch.examples[k].question, docs[d].text, ctx.offsets,
                [feats[i] for i in group], [res.outputs[i] for i in group],
                max_answer_length=options.max_answer_length,
                allow_no_answer=spec.allow_no_answer, null_threshold=options.null_threshold,
                external_id=docs[d].questions[q].external_id,
            ))
        return list(assemble_questions(docs, batch, answers)), res.loss

    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """SQuAD exact match + F1 over the answered (or unanswerable) questions."""
        from core.engine import metrics

        gold_answers: list[list[str]] = []
        predicted_text: list[str] = []
        for doc, pred in zip(docs, preds):
            by_question = iter(pred.answers)  # type: ignore[union-attr]
            for question in doc.questions:
                if not is_answered(question):
                    continue
                answer = next(by_question, None)
                gold_answers.append(
                    [] if question.is_impossible
                    else [a.text or doc.text[a.start:a.end] for a in question.answers]
                )
                predicted_text.append("" if answer is None or answer.no_answer else answer.text)
        return metrics.qa_metrics(gold_answers, predicted_text)

    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        answers = [a for p in preds for a in getattr(p, "answers", ())]
        if answers and all(a.no_answer for a in answers):
            return "the model answers no dev question."
        return None

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

    def pending_fields(
        self, payload: Any, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"question_id": question_id, "question": question}
        if payload.no_answer:
            return {**fields, "no_answer": True}
        return {
            **fields, "start": payload.start, "end": payload.end,
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


# --- model inputs and decoding ---------------------------------------------------------


@dataclass
class QaBatch:
    """QA examples of a set of documents, and where each question came from."""

    examples: list[QaExample]
    contexts: list[Any]
    owners: list[tuple[int, int]]  # (document index, question index) per example
    gold: list[list[str]]  # answer texts per example (empty: unanswerable)


def qa_examples(
    docs: Sequence[DocumentRecord], tokenizer: Any, *, only_labelled: bool
) -> QaBatch:
    """One example per question (with ``only_labelled``: answered or unanswerable ones)."""
    contexts = tokenize_contexts(tokenizer, [d.text for d in docs])
    examples: list[QaExample] = []
    owners: list[tuple[int, int]] = []
    gold: list[list[str]] = []
    for d, doc in enumerate(docs):
        for q, question in enumerate(doc.questions):
            if only_labelled and not (question.answers or question.is_impossible):
                continue
            answer = None
            if question.answers and not question.is_impossible:
                a = question.answers[0]
                answer = (a.start, a.end)
            examples.append(QaExample(question.text, d, answer))
            owners.append((d, q))
            gold.append(
                [] if question.is_impossible
                else [a.text or doc.text[a.start:a.end] for a in question.answers]
            )
    return QaBatch(examples, contexts, owners, gold)


def qa_features(
    tokenizer: Any, batch: QaBatch, *, max_length: int, stride: int, with_targets: bool,
    warn: Callable[[str], None] | None = None,
) -> list[Feature]:
    return encode_qa(
        tokenizer, batch.examples, batch.contexts, max_length=max_length, stride=stride,
        with_targets=with_targets, warn=warn,
    )


def decode_answer(
    question: str,
    context: str,
    offsets: Sequence[tuple[int, int]],
    features: Sequence[Feature],
    outputs: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    max_answer_length: int,
    allow_no_answer: bool,
    null_threshold: float = 0.0,
    external_id: str | None = None,
) -> AnswerPrediction:
    """The best passage span across all windows of one question.

    With ``allow_no_answer`` (SQuAD 2.0), the answer is "none" unless the best span scores
    more than the no-answer score ([CLS], minimum over windows) plus ``null_threshold``.
    """
    best: tuple[float, int, int, Feature, np.ndarray, np.ndarray] | None = None
    null_score = float("inf")
    for feature, (start_logits, end_logits) in zip(features, outputs):
        start_logits = np.asarray(start_logits, dtype=np.float64)
        end_logits = np.asarray(end_logits, dtype=np.float64)
        null_score = min(null_score, float(start_logits[0] + end_logits[0]))
        allowed = np.zeros(len(start_logits), dtype=bool)
        n_content = feature.window[1] - feature.window[0]
        allowed[feature.content_offset:feature.content_offset + n_content] = True
        choice = decoding.best_answer_span(
            start_logits, end_logits, allowed, max_answer_length=max_answer_length
        )
        if choice is not None and (best is None or choice.score > best[0]):
            best = (choice.score, choice.start, choice.end, feature, start_logits, end_logits)
    if best is None:  # empty passage
        return AnswerPrediction(
            question, None, None, "", float("-inf"), 0.0, 0.0, 0.0, True,
            null_score if null_score != float("inf") else 0.0, external_id,
        )
    score, s, e, feature, start_logits, end_logits = best
    g_start = feature.window[0] + s - feature.content_offset
    g_end = feature.window[0] + e - feature.content_offset
    char_start, char_end = offsets[g_start][0], offsets[g_end][1]
    p_start = float(decoding.softmax(start_logits)[s])
    p_end = float(decoding.softmax(end_logits)[e])
    no_answer = allow_no_answer and not score > null_score + null_threshold
    return AnswerPrediction(
        question=question,
        start=char_start,
        end=char_end,
        text=context[char_start:char_end],
        score=score,
        probability=p_start * p_end,
        start_probability=p_start,
        end_probability=p_end,
        no_answer=no_answer,
        no_answer_score=null_score,
        external_id=external_id,
    )


def assemble_questions(
    docs: Sequence[DocumentRecord], batch: QaBatch, answers: Sequence[AnswerPrediction]
) -> list[QuestionsPrediction]:
    """Per document, its questions' answers in question order."""
    per_doc: list[list[AnswerPrediction | None]] = [[None] * len(d.questions) for d in docs]
    for (d, q), answer in zip(batch.owners, answers):
        per_doc[d][q] = answer
    return [QuestionsPrediction(tuple(a for a in row if a is not None)) for row in per_doc]


QA = QaKind()
