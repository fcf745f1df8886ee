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
from sqlalchemy.orm import Session, selectinload

from core.store import repo
from core.store.models import Document, Suggestion, Task, acting_annotator, utcnow
from core.store.repo import AnnotationError
from core.tasks import all_kinds, kind_of, kind_of_suggestion
from core.tasks.base import AnnotationKind, PayloadError, SuggestionPayload
from core.types import TaskKind

__all__ = [
    "SUGGESTION_KIND",
    "PendingSuggestion",
    "accept_above",
    "accept_document",
    "accept_suggestion",
    "edit_suggestion",
    "pending_by_document",
    "pending_counts",
    "pending_suggestions",
    "read_payload",
    "reject_document",
    "reject_suggestion",
    "suggestion_report",
]

# The suggestion kind each task produces (``kind_of(task).suggestion_kind``).
SUGGESTION_KIND: dict[TaskKind, str] = {k.kind: k.suggestion_kind for k in all_kinds()}


@dataclass(frozen=True)
class PendingSuggestion:
    """A plain copy of a pending suggestion, safe to hand to the GUI thread.

    Entities: ``start``/``end``/``label``/``text``. Classes: ``label`` (the top class),
    ``labels`` (all predicted classes) and ``probabilities``. Answers: ``question_id``,
    ``question``, and either ``start``/``end``/``text`` or ``no_answer=True``. Attributes:
    the entity's ``start``/``end``/``label``/``text``, ``attribute``, ``value``. Relations:
    ``label`` (the type), ``head`` and ``tail`` (each ``(start, end, label)``), and
    ``start``/``end``/``text`` the stretch from the first end to the last.
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
    source: str = "model"  # who proposed it: "model" or "patterns:<name>"
    # Attributes: the entity's span and ``label``; the attribute and the suggested value
    # (``probabilities``: of each of its values).
    attribute: str | None = None
    value: str | None = None
    # Relations: the head and the tail entity, each (start, end, label).
    head: tuple[int, int, str] | None = None
    tail: tuple[int, int, str] | None = None


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


def _decide(row: Suggestion, state: str) -> None:
    row.state = state
    row.decided_at = utcnow()
    row.decided_by = acting_annotator()


def _kind(row: Suggestion) -> AnnotationKind:
    return kind_of_suggestion(row.kind)


def read_payload(row: Suggestion) -> SuggestionPayload:
    """The typed payload of a stored suggestion (validated; :class:`PayloadError` names
    the suggestion when the stored JSON does not fit its kind)."""
    try:
        return _kind(row).payload_from_json(row.payload or {})
    except PayloadError as exc:
        raise PayloadError(f"suggestion {row.id}: {exc}") from None


def _apply(
    session: Session, row: Suggestion, payload: SuggestionPayload, *, annotator: str
) -> None:
    """Make ``payload`` a human label: "accepted" when it is the suggestion as is,
    "edited" when the reviewer changed it."""
    state = "accepted" if payload == read_payload(row) else "edited"
    _kind(row).apply(session, row, payload, annotator=annotator, origin=state)
    _decide(row, state)


def _accept(session: Session, row: Suggestion, *, annotator: str) -> None:
    _apply(session, row, read_payload(row), annotator=annotator)


# --- single suggestions ---------------------------------------------------------------------


def accept_suggestion(session: Session, suggestion_id: int, *, annotator: str | None = None) -> None:
    """Turn a pending suggestion into a human annotation with ``origin="accepted"``.

    Raises :class:`AnnotationError` if the suggestion is not pending, or (entities) if it
    overlaps a span a person already labelled (in a task that lets entities overlap: has
    the extent of one); nothing is changed then.
    """
    row = _suggestion(session, suggestion_id)
    _require_pending(row)
    _accept(session, row, annotator=annotator)
    session.flush()


def reject_suggestion(session: Session, suggestion_id: int, *, annotator: str | None = None) -> None:
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
    annotator: str | None = None,
) -> None:
    """Accept a suggestion after changing it; the annotation gets ``origin="edited"``.

    Entities: new ``start``/``end``/``label`` (unset ones keep the suggested value).
    Classes: ``label`` or ``labels`` (multi-label). Answers: ``start``/``end``, or
    ``no_answer=True``. If nothing actually changes it counts as accepted as is.
    """
    row = _suggestion(session, suggestion_id)
    _require_pending(row)
    try:
        new = _kind(row).edited(
            read_payload(row), start=start, end=end, label=label, labels=labels,
            no_answer=no_answer,
        )
    except PayloadError as exc:  # offsets the edit made impossible
        raise AnnotationError(str(exc)) from None
    _apply(session, row, new, annotator=annotator)
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
    kind = _kind(row)
    clashes = kind.clash_check(session, [row.document_id])
    return clashes(row.document_id, row.question_id, read_payload(row),
                   kind.accepting_adds(session))


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
    annotator: str | None = None,
    mark_reviewed: bool = False,
) -> int:
    """Accept every pending suggestion of one document for ``task``; returns how many.

    Suggestions that clash with a human label (overlapping span, or in a task that lets
    entities overlap one of the same extent or an overlapping one of the same label;
    document already classified, question already answered) stay pending. ``mark_reviewed`` also sets
    the document's review status to reviewed.
    """
    rows = _pending_rows(session, _task_id(session, task), doc_ids=[doc_id])
    accepted = _accept_many(session, rows, annotator=annotator)
    if mark_reviewed:
        repo.set_review_status(session, doc_id, "reviewed")
    return accepted


def reject_document(
    session: Session, doc_id: int, task: TaskKind | str, *, annotator: str | None = None
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
    annotator: str | None = None,
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
    kind = _kind(row)
    fields = kind.pending_fields(
        read_payload(row), doc_text, question_id=row.question_id, question=question
    )
    return PendingSuggestion(
        id=row.id,
        document_id=row.document_id,
        task=kind.kind,
        kind=row.kind,
        confidence=float(row.confidence),
        model_version_id=row.model_version_id,
        source=row.source or "model",
        **fields,
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
    out.sort(key=_pending_order)
    return out


def pending_by_document(
    session: Session, task: TaskKind | str | None = None, *,
    doc_ids: Sequence[int] | None = None,
) -> dict[int, list[PendingSuggestion]]:
    """Every pending suggestion (of ``task``; in ``doc_ids`` when given) as plain
    dataclasses by document id, in each document's order of :func:`pending_suggestions`."""
    stmt = select(Suggestion).where(Suggestion.state == "pending")
    if task is not None:
        stmt = stmt.where(Suggestion.kind == SUGGESTION_KIND[TaskKind(task)])
    if doc_ids is not None:
        stmt = stmt.where(Suggestion.document_id.in_(list(doc_ids)))
    rows = list(session.scalars(stmt.order_by(Suggestion.document_id, Suggestion.id)))
    docs = {d.id: d for d in session.scalars(
        select(Document).where(Document.id.in_({r.document_id for r in rows}))
        .options(selectinload(Document.questions))
    )}
    out: dict[int, list[PendingSuggestion]] = {}
    for row in rows:
        doc = docs[row.document_id]
        questions = {q.id: q.text for q in doc.questions}
        out.setdefault(row.document_id, []).append(
            _plain(row, doc.text, questions.get(row.question_id or -1))
        )
    for items in out.values():
        items.sort(key=_pending_order)
    return out


def _pending_order(s: PendingSuggestion) -> tuple[int, int, int, int]:
    order = {"class": 0, "sentence": 1, "entity": 1, "attribute": 1, "relation": 1, "answer": 2}
    return (order.get(s.kind, 3), s.start if s.start is not None else -1, s.question_id or 0,
            s.id)


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
    decided (``None`` until something is decided). ``by_model_version`` splits the counts
    by model version (``"none"``: made without one, e.g. by patterns), ``by_source`` by who
    proposed them (``"model"``, ``"patterns:<name>"``), each with its own rates.
    """
    kind = TaskKind(task)
    task_row = repo.get_task(session, kind)
    counts = {"pending": 0, "accepted": 0, "edited": 0, "rejected": 0}
    by_version: dict[str, dict[str, int]] = {}
    by_source: dict[str, dict[str, int]] = {}
    if task_row is not None:
        rows = session.execute(
            select(Suggestion.model_version_id, Suggestion.source, Suggestion.state,
                   func.count(Suggestion.id))
            .where(Suggestion.task_id == task_row.id)
            .group_by(Suggestion.model_version_id, Suggestion.source, Suggestion.state)
        ).all()
        for version, source, state, n in rows:
            counts[state] = counts.get(state, 0) + int(n)
            key = str(version) if version is not None else "none"
            by_version.setdefault(key, {"pending": 0, "accepted": 0, "edited": 0, "rejected": 0})
            by_version[key][state] += int(n)
            by_source.setdefault(
                source or "model", {"pending": 0, "accepted": 0, "edited": 0, "rejected": 0}
            )[state] += int(n)
    human_only = kind_of(kind).human_only(session)
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
        "useful_rate": (
            round((counts["accepted"] + counts["edited"]) / decided, 4) if decided else None
        ),
        "by_model_version": by_version,
        "by_source": by_source,
        "rates_by_source": {name: _rates(c) for name, c in sorted(by_source.items())},
    }


def _rates(counts: dict[str, int]) -> dict[str, float | None]:
    decided = counts["accepted"] + counts["edited"] + counts["rejected"]
    return {
        "acceptance_rate": round(counts["accepted"] / decided, 4) if decided else None,
        "useful_rate": (
            round((counts["accepted"] + counts["edited"]) / decided, 4) if decided else None
        ),
    }
