"""Reviewing the model's suggestions: accept, reject or edit them.

Every function takes a ``session``; the caller owns the unit of work
(``with project.write() as session:``), so one user action is one transaction.

An accepted suggestion becomes a human annotation through :mod:`core.store.repo` with
``origin="accepted"`` (taken as is) or ``origin="edited"`` (changed before acceptance) and
its ``suggestion_id`` kept, so :func:`suggestion_report` can tell how often the model was
right. Suggestions never mix with human annotations: a pending suggestion is only a
proposal until a person accepts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store import repo
from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    EntityAnnotation,
    QuestionRow,
    Suggestion,
    Task,
    utcnow,
)
from core.store.repo import AnnotationError
from core.types import TaskKind

__all__ = [
    "PendingSuggestion",
    "accept_suggestion",
    "reject_suggestion",
    "edit_suggestion",
    "accept_document",
    "reject_document",
    "accept_above",
    "pending_suggestions",
    "pending_counts",
    "suggestion_report",
    "SUGGESTION_KIND",
]

# The suggestion kind each task produces.
SUGGESTION_KIND: dict[TaskKind, str] = {
    TaskKind.NER: "entity",
    TaskKind.CLASSIFY: "class",
    TaskKind.QA: "answer",
}
_TASK_OF_KIND = {v: k for k, v in SUGGESTION_KIND.items()}


@dataclass(frozen=True)
class PendingSuggestion:
    """A plain copy of a pending suggestion, safe to hand to the GUI thread.

    Entities: ``start``/``end``/``label``/``text``. Classes: ``label`` (the top class),
    ``labels`` (all predicted classes) and ``probabilities``. Answers: ``question_id``,
    ``question``, and either ``start``/``end``/``text`` or ``no_answer=True``.
    ``confidence`` is in [0, 1].
    """

    id: int
    document_id: int
    task: TaskKind
    kind: str
    confidence: float
    model_version_id: int | None
    start: int | None = None
    end: int | None = None
    label: str | None = None
    labels: tuple[str, ...] = ()
    text: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)
    question_id: int | None = None
    question: str | None = None
    no_answer: bool = False


# --- helpers ------------------------------------------------------------------------------


def _suggestion(session: Session, suggestion_id: int) -> Suggestion:
    row = session.get(Suggestion, suggestion_id)
    if row is None:
        raise AnnotationError(f"no suggestion with id {suggestion_id}")
    return row


def _require_pending(row: Suggestion) -> None:
    if row.state != "pending":
        raise AnnotationError(
            f"suggestion {row.id} was already {row.state}; reload the document's suggestions"
        )


def _task_id(session: Session, task: TaskKind | str) -> int:
    return repo.require_task(session, task).id


def _class_labels(payload: dict[str, Any]) -> list[str]:
    labels = payload.get("labels")
    if labels:
        return [str(x) for x in labels]
    label = payload.get("label")
    return [str(label)] if label is not None else []


def _decide(row: Suggestion, state: str) -> None:
    row.state = state
    row.decided_at = utcnow()


def _describe(row: Suggestion, text: str | None = None) -> str:
    p = row.payload or {}
    if row.kind == "entity" and text is not None:
        return f"{p.get('label')} {text[p.get('start', 0):p.get('end', 0)]!r}"
    if row.kind == "class":
        return f"class {p.get('label')!r}"
    return f"suggestion {row.id}"


def _apply_entity(
    session: Session, row: Suggestion, start: int, end: int, label: str, *, annotator: str,
    origin: str,
) -> None:
    doc = session.get(Document, row.document_id)
    assert doc is not None  # the foreign key cascades deletes
    try:
        repo.add_entity(
            session, row.document_id, start, end, label,
            annotator=annotator, origin=origin, suggestion_id=row.id,
        )
    except AnnotationError as exc:
        raise AnnotationError(
            f"cannot accept the suggested {label} {doc.text[start:end]!r}: {exc}"
        ) from exc


def _apply_classes(
    session: Session, row: Suggestion, labels: Sequence[str], *, annotator: str, origin: str
) -> None:
    task = repo.require_task(session, TaskKind.CLASSIFY)
    if not labels:
        raise AnnotationError("choose at least one class")
    wanted = list(dict.fromkeys(labels))
    if task.multi_label:
        # Keep the classes a person already gave; add the suggested ones.
        have = [c.label.name for c in session.get(Document, row.document_id).classes]  # type: ignore[union-attr]
        wanted = list(dict.fromkeys([*have, *wanted]))
    repo.set_classes(
        session, row.document_id, wanted, annotator=annotator, origin=origin,
        suggestion_id=row.id,
    )


def _apply_answer(
    session: Session, row: Suggestion, start: int | None, end: int | None, *, annotator: str,
    origin: str,
) -> None:
    if row.question_id is None:
        raise AnnotationError(f"answer suggestion {row.id} has no question")
    repo.set_answer(
        session, row.question_id, start, end, annotator=annotator, origin=origin,
        suggestion_id=row.id,
    )


def _accept(session: Session, row: Suggestion, *, annotator: str) -> None:
    p = row.payload or {}
    if row.kind == "entity":
        _apply_entity(
            session, row, int(p["start"]), int(p["end"]), str(p["label"]),
            annotator=annotator, origin="accepted",
        )
    elif row.kind == "class":
        _apply_classes(session, row, _class_labels(p), annotator=annotator, origin="accepted")
    else:
        if p.get("no_answer"):
            _apply_answer(session, row, None, None, annotator=annotator, origin="accepted")
        else:
            _apply_answer(
                session, row, int(p["start"]), int(p["end"]), annotator=annotator,
                origin="accepted",
            )
    _decide(row, "accepted")


# --- single suggestions ---------------------------------------------------------------------


def accept_suggestion(session: Session, suggestion_id: int, *, annotator: str = "user") -> None:
    """Turn a pending suggestion into a human annotation with ``origin="accepted"``.

    Raises :class:`AnnotationError` if the suggestion is not pending, or (entities) if it
    overlaps a span a person already labelled; nothing is changed then.
    """
    row = _suggestion(session, suggestion_id)
    _require_pending(row)
    _accept(session, row, annotator=annotator)
    session.flush()


def reject_suggestion(session: Session, suggestion_id: int, *, annotator: str = "user") -> None:
    """Mark a pending suggestion rejected (kept for the report; no annotation is made)."""
    del annotator  # kept for a symmetric signature; the schema records no decider
    row = _suggestion(session, suggestion_id)
    _require_pending(row)
    _decide(row, "rejected")
    session.flush()


def edit_suggestion(
    session: Session,
    suggestion_id: int,
    *,
    start: int | None = None,
    end: int | None = None,
    label: str | None = None,
    labels: Sequence[str] | None = None,
    no_answer: bool | None = None,
    annotator: str = "user",
) -> None:
    """Accept a suggestion after changing it; the annotation gets ``origin="edited"``.

    Entities: new ``start``/``end``/``label`` (unset ones keep the suggested value).
    Classes: ``label`` or ``labels`` (multi-label). Answers: ``start``/``end``, or
    ``no_answer=True``. If nothing actually changes it counts as accepted as is.
    """
    row = _suggestion(session, suggestion_id)
    _require_pending(row)
    p = row.payload or {}
    if row.kind == "entity":
        new = (
            int(p["start"]) if start is None else start,
            int(p["end"]) if end is None else end,
            str(p["label"]) if label is None else label,
        )
        same = new == (int(p["start"]), int(p["end"]), str(p["label"]))
        _apply_entity(session, row, *new, annotator=annotator, origin="accepted" if same else "edited")
        _decide(row, "accepted" if same else "edited")
    elif row.kind == "class":
        if labels is not None:
            wanted = list(labels)
        elif label is not None:
            wanted = [label]
        else:
            wanted = _class_labels(p)
        same = sorted(set(wanted)) == sorted(set(_class_labels(p)))
        _apply_classes(session, row, wanted, annotator=annotator, origin="accepted" if same else "edited")
        _decide(row, "accepted" if same else "edited")
    else:
        was_none = bool(p.get("no_answer"))
        if no_answer:
            new_span: tuple[int | None, int | None] = (None, None)
        elif start is not None or end is not None:
            if was_none and (start is None or end is None):
                raise AnnotationError("give both start and end of the answer")
            new_span = (
                int(p["start"]) if start is None else start,
                int(p["end"]) if end is None else end,
            )
        else:
            new_span = (None, None) if was_none else (int(p["start"]), int(p["end"]))
        old_span = (None, None) if was_none else (int(p["start"]), int(p["end"]))
        same = new_span == old_span
        origin = "accepted" if same else "edited"
        _apply_answer(session, row, new_span[0], new_span[1], annotator=annotator, origin=origin)
        _decide(row, origin)
    session.flush()


# --- bulk actions -----------------------------------------------------------------------


def _pending_rows(
    session: Session, task_id: int, *, doc_ids: Sequence[int] | None = None,
    min_confidence: float | None = None,
) -> list[Suggestion]:
    stmt = select(Suggestion).where(Suggestion.task_id == task_id, Suggestion.state == "pending")
    if doc_ids is not None:
        stmt = stmt.where(Suggestion.document_id.in_(list(doc_ids)))
    if min_confidence is not None:
        stmt = stmt.where(Suggestion.confidence >= min_confidence)
    # Most confident first, so of two conflicting suggestions the surer one wins.
    stmt = stmt.order_by(Suggestion.document_id, Suggestion.confidence.desc(), Suggestion.id)
    return list(session.scalars(stmt))


def _conflicts(session: Session, row: Suggestion) -> bool:
    """Whether accepting ``row`` in a bulk action would overwrite or clash with a human label."""
    p = row.payload or {}
    if row.kind == "entity":
        s, e = int(p["start"]), int(p["end"])
        return (
            session.scalar(
                select(func.count(EntityAnnotation.id)).where(
                    EntityAnnotation.document_id == row.document_id,
                    EntityAnnotation.start < e,
                    EntityAnnotation.end > s,
                )
            )
            or 0
        ) > 0
    if row.kind == "class":
        task = repo.require_task(session, TaskKind.CLASSIFY)
        if task.multi_label:
            return False
        return (
            session.scalar(
                select(func.count(ClassAnnotation.id)).where(
                    ClassAnnotation.document_id == row.document_id
                )
            )
            or 0
        ) > 0
    q = session.get(QuestionRow, row.question_id) if row.question_id is not None else None
    return q is None or q.is_impossible or bool(q.answers)


def _accept_many(session: Session, rows: Sequence[Suggestion], *, annotator: str) -> int:
    accepted = 0
    for row in rows:
        if row.state != "pending" or _conflicts(session, row):
            # Left pending: the reviewer sees it and decides.
            continue
        try:
            _accept(session, row, annotator=annotator)
        except AnnotationError:
            continue
        accepted += 1
    session.flush()
    return accepted


def accept_document(
    session: Session,
    doc_id: int,
    task: TaskKind | str,
    *,
    annotator: str = "user",
    mark_reviewed: bool = False,
) -> int:
    """Accept every pending suggestion of one document for ``task``; returns how many.

    Suggestions that clash with a human label (overlapping span, document already
    classified, question already answered) stay pending. ``mark_reviewed`` also sets
    the document's review status to reviewed.
    """
    rows = _pending_rows(session, _task_id(session, task), doc_ids=[doc_id])
    accepted = _accept_many(session, rows, annotator=annotator)
    if mark_reviewed:
        repo.set_review_status(session, doc_id, "reviewed")
    return accepted


def reject_document(
    session: Session, doc_id: int, task: TaskKind | str, *, annotator: str = "user"
) -> int:
    """Reject every pending suggestion of one document for ``task``; returns how many."""
    del annotator
    rows = _pending_rows(session, _task_id(session, task), doc_ids=[doc_id])
    for row in rows:
        _decide(row, "rejected")
    session.flush()
    return len(rows)


def accept_above(
    session: Session,
    threshold: float,
    *,
    task: TaskKind | str,
    doc_ids: Sequence[int] | None = None,
    annotator: str = "user",
) -> int:
    """Accept all pending suggestions of ``task`` with confidence >= ``threshold`` (in
    ``doc_ids`` if given) in one action; returns how many were accepted.

    Suggestions that clash with a human label stay pending, as in :func:`accept_document`.
    """
    if not 0.0 <= threshold <= 1.0:
        raise AnnotationError(f"the confidence threshold must be in [0, 1] (got {threshold})")
    rows = _pending_rows(
        session, _task_id(session, task), doc_ids=doc_ids, min_confidence=threshold
    )
    return _accept_many(session, rows, annotator=annotator)


# --- reading ------------------------------------------------------------------------------


def _plain(row: Suggestion, doc_text: str, question: str | None) -> PendingSuggestion:
    p = row.payload or {}
    task = _TASK_OF_KIND[row.kind]
    common: dict[str, Any] = dict(
        id=row.id,
        document_id=row.document_id,
        task=task,
        kind=row.kind,
        confidence=float(row.confidence),
        model_version_id=row.model_version_id,
    )
    if row.kind == "entity":
        s, e = int(p["start"]), int(p["end"])
        return PendingSuggestion(**common, start=s, end=e, label=str(p["label"]), text=doc_text[s:e])
    if row.kind == "class":
        labels = tuple(_class_labels(p))
        return PendingSuggestion(
            **common,
            label=labels[0] if labels else None,
            labels=labels,
            probabilities={str(k): float(v) for k, v in (p.get("probabilities") or {}).items()},
        )
    if p.get("no_answer"):
        return PendingSuggestion(
            **common, question_id=row.question_id, question=question, no_answer=True
        )
    s, e = int(p["start"]), int(p["end"])
    return PendingSuggestion(
        **common, question_id=row.question_id, question=question, start=s, end=e,
        text=doc_text[s:e],
    )


def pending_suggestions(
    session: Session, doc_id: int, task: TaskKind | str | None = None
) -> list[PendingSuggestion]:
    """The document's pending suggestions as plain dataclasses (entities in text order)."""
    doc = session.get(Document, doc_id)
    if doc is None:
        raise AnnotationError(f"no document with id {doc_id}")
    stmt = select(Suggestion).where(
        Suggestion.document_id == doc_id, Suggestion.state == "pending"
    )
    if task is not None:
        stmt = stmt.where(Suggestion.kind == SUGGESTION_KIND[TaskKind(task)])
    rows = list(session.scalars(stmt))
    questions = {q.id: q.text for q in doc.questions}
    out = [_plain(row, doc.text, questions.get(row.question_id or -1)) for row in rows]
    order = {"class": 0, "entity": 1, "answer": 2}
    out.sort(key=lambda s: (order[s.kind], s.start if s.start is not None else -1, s.question_id or 0, s.id))
    return out


def pending_counts(session: Session, task: TaskKind | str) -> dict[int, int]:
    """Number of pending suggestions per document id for ``task`` (documents with none
    are left out)."""
    rows = session.execute(
        select(Suggestion.document_id, func.count(Suggestion.id))
        .join(Task, Task.id == Suggestion.task_id)
        .where(Task.kind == TaskKind(task).value, Suggestion.state == "pending")
        .group_by(Suggestion.document_id)
    ).all()
    return {int(d): int(n) for d, n in rows}


def suggestion_report(session: Session, task: TaskKind | str) -> dict[str, Any]:
    """How often the model's suggestions for ``task`` were right.

    ``accepted`` (as is), ``edited`` (changed, then accepted), ``rejected``, ``pending``;
    ``human_only``: annotations a person made without a suggestion (imports excluded);
    ``acceptance_rate`` = accepted / decided, ``useful_rate`` = (accepted + edited) /
    decided (``None`` until something is decided). ``by_model_version`` splits the counts.
    """
    kind = TaskKind(task)
    task_row = repo.get_task(session, kind)
    counts = {"pending": 0, "accepted": 0, "edited": 0, "rejected": 0}
    by_version: dict[str, dict[str, int]] = {}
    if task_row is not None:
        rows = session.execute(
            select(Suggestion.model_version_id, Suggestion.state, func.count(Suggestion.id))
            .where(Suggestion.task_id == task_row.id)
            .group_by(Suggestion.model_version_id, Suggestion.state)
        ).all()
        for version, state, n in rows:
            counts[state] = counts.get(state, 0) + int(n)
            key = str(version) if version is not None else "none"
            by_version.setdefault(key, {"pending": 0, "accepted": 0, "edited": 0, "rejected": 0})
            by_version[key][state] += int(n)
    model = {
        TaskKind.NER: EntityAnnotation,
        TaskKind.CLASSIFY: ClassAnnotation,
        TaskKind.QA: AnswerAnnotation,
    }[kind]
    human_only = int(
        session.scalar(
            select(func.count(model.id)).where(
                model.origin == "human", model.suggestion_id.is_(None)
            )
        )
        or 0
    )
    if kind is TaskKind.QA:
        # "No answer" decisions made by a person are questions, not answer rows.
        human_only += int(
            session.scalar(
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
            )
            or 0
        )
    decided = counts["accepted"] + counts["edited"] + counts["rejected"]
    return {
        "task": kind.value,
        "suggestions": decided + counts["pending"],
        "pending": counts["pending"],
        "accepted": counts["accepted"],
        "edited": counts["edited"],
        "rejected": counts["rejected"],
        "human_only": human_only,
        "acceptance_rate": round(counts["accepted"] / decided, 4) if decided else None,
        "useful_rate": round((counts["accepted"] + counts["edited"]) / decided, 4) if decided else None,
        "by_model_version": by_version,
    }
