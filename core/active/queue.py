"""The review queue: the documents to label next, most useful first.

Candidates are the unreviewed TRAIN and unassigned documents that still want labels of
the task (the kind's ``wants_labels_sql``: not labelled for it; QA: at least one open
question).
Dev and test documents never enter the queue, so they stay unbiased measures.

Uncertainty strategies read the scores pre-annotation stored (:class:`DocumentScore`), so
ordering needs no model; documents never predicted come last, in id order. ``random``
needs nothing. ``diverse`` needs document embeddings from a model: use
:func:`build_queue` with a predictor (it embeds only the most uncertain candidates).
``cost_aware`` divides the stored entropy by each document's predicted labelling time
(:mod:`core.active.time_model`: fitted on the project's recorded times, a length prior
until there are enough); its entry scores are entropy per second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session, aliased

from core.active import strategies, time_model
from core.store import repo
from core.store.models import Assignment, Document, DocumentScore, originals
from core.tasks import kind_of
from core.tasks.base import DOCUMENTS
from core.types import Split, TaskKind

if TYPE_CHECKING:
    from core.engine.predict import Predictor
    from core.project import Project

QUEUE_SPLITS = (Split.TRAIN.value, Split.UNASSIGNED.value)
Layer = aliased(Document)


@dataclass(frozen=True)
class QueueEntry:
    """One document of the queue. ``score`` is its uncertainty under the strategy (random:
    the draw; ``None``: never predicted); ``model_version_id`` the version that scored it."""

    doc_id: int
    score: float | None
    model_version_id: int | None = None


def queue_candidates(
    session: Session, task: TaskKind | str, annotator: str | None = None
) -> list[int]:
    """Ids of the documents that may enter the queue for ``task``, in id order.

    With ``annotator``, in a project with assignments (team work): the documents given to
    them or to nobody, and in place of a double-annotated document their own layer of it;
    documents given to others, and others' layers, never. Without: the documents
    themselves (no layer)."""
    stmt = select(Document.id).where(
        Document.split.in_(QUEUE_SPLITS),
        Document.review_status == "unreviewed",
        text(f"({kind_of(task).wants_labels_sql(DOCUMENTS)})"),
    )
    if annotator is None:
        stmt = stmt.where(originals())
    else:
        given_to_others = exists().where(
            Assignment.document_id == Document.id, Assignment.annotator != annotator
        ) & ~exists().where(
            Assignment.document_id == Document.id, Assignment.annotator == annotator
        )
        layered = exists().where(Layer.layer_of == Document.id)
        stmt = stmt.where(
            (originals() & ~given_to_others & ~layered) | (Document.layer == annotator)
        )
    return list(session.scalars(stmt.order_by(func.coalesce(Document.layer_of, Document.id))))


def _layer_origins(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """``{layer_id: original_id}`` for the layers among ``ids``."""
    if not ids:
        return {}
    return {int(d): int(o) for d, o in session.execute(
        select(Document.id, Document.layer_of)
        .where(Document.id.in_(list(ids)), Document.layer_of.is_not(None))
    )}


def stored_scores(
    session: Session, task: TaskKind | str, strategy: str, doc_ids: Sequence[int] | None = None
) -> dict[int, tuple[float, int | None]]:
    """``{doc_id: (score, model_version_id)}`` stored by pre-annotation for a strategy.

    The scores of the kinds that hang on ``task`` (entities: their attributes) count too: a
    document is as uncertain as its most uncertain part (the larger score; the version is
    ``task``'s own)."""
    from core.tasks import dependent_kinds

    task_id = repo.require_task(session, task).id
    out = _scores_of(session, task_id, strategy, doc_ids)
    for dep in dependent_kinds(task):
        dep_task = repo.get_task(session, dep.kind)
        if dep_task is None:
            continue
        for d, (score, _) in _scores_of(session, dep_task.id, strategy, doc_ids).items():
            if d in out and score > out[d][0]:
                out[d] = (score, out[d][1])
    return out


def _scores_of(session: Session, task_id: int, strategy: str,
               doc_ids: Sequence[int] | None) -> dict[int, tuple[float, int | None]]:
    stmt = select(
        DocumentScore.document_id, DocumentScore.score, DocumentScore.model_version_id
    ).where(DocumentScore.task_id == task_id, DocumentScore.strategy == strategy)
    if doc_ids is not None:
        stmt = stmt.where(DocumentScore.document_id.in_(list(doc_ids)))
    return {int(d): (float(s), v) for d, s, v in session.execute(stmt)}


def review_queue(
    session: Session,
    task: TaskKind | str,
    *,
    strategy: str = "entropy",
    limit: int | None = None,
    seed: int = 0,
    embeddings: Mapping[int, np.ndarray] | None = None,
    batch_size: int = strategies.DEFAULT_BATCH,
    annotator: str | None = None,
) -> list[QueueEntry]:
    """The queue under ``strategy``, most useful first (at most ``limit`` entries), for
    ``annotator`` (see :func:`queue_candidates`; a layer ranks by its document's score).

    ``diverse`` needs ``embeddings`` for (at least) the top candidates; candidates
    without one follow the diverse batch by uncertainty.
    """
    name = strategies.canonical_strategy(strategy)
    ids = queue_candidates(session, task, annotator)
    if name == "random":
        ranked = strategies.rank(ids, None, strategy="random", seed=seed)
        entries = [QueueEntry(int(r.doc_id), r.score) for r in ranked]
        return entries[:limit] if limit is not None else entries
    base = strategies.COST_AWARE_BASE if name in ("diverse", "cost_aware") else name
    scores = stored_scores(session, task, base)
    for layer, original in _layer_origins(session, ids).items():
        if original in scores:
            scores[layer] = scores[original]
        if embeddings is not None and original in embeddings and layer not in embeddings:
            embeddings = {**embeddings, layer: embeddings[original]}
    if name == "cost_aware" and scores:
        model = time_model.fit_from_session(session, task)
        lengths = dict(session.execute(
            select(Document.id, func.length(Document.text)).where(Document.id.in_(list(scores)))
        ).all())
        per_second = time_model.information_per_second(
            {d: s for d, (s, _v) in scores.items()}, lengths, model)
        scores = {d: (per_second[d], v) for d, (_s, v) in scores.items()}
    scored = [d for d in ids if d in scores]
    scored.sort(key=lambda d: -scores[d][0])  # stable: ties keep id order
    unscored = [d for d in ids if d not in scores]
    if name == "diverse":
        if embeddings is None:
            raise ValueError("strategy 'diverse' needs document embeddings (build_queue)")
        with_vec = [d for d in scored if d in embeddings]
        if with_vec:
            vectors = np.stack([np.asarray(embeddings[d]) for d in with_vec])
            order = strategies.diverse_order(
                np.array([scores[d][0] for d in with_vec]), vectors, batch_size=batch_size,
                prefilter=1,
            )
            head = [with_vec[i] for i in order]
            scored = head + [d for d in scored if d not in embeddings]
    entries = [QueueEntry(d, scores[d][0], scores[d][1]) for d in scored]
    entries += [QueueEntry(d, None, None) for d in unscored]
    return entries[:limit] if limit is not None else entries


def build_queue(
    project: Project,
    task: TaskKind | str,
    *,
    strategy: str = "entropy",
    limit: int | None = None,
    seed: int = 0,
    predictor: Predictor | None = None,
    batch_size: int = strategies.DEFAULT_BATCH,
    prefilter: int = strategies.DEFAULT_PREFILTER,
    annotator: str | None = None,
) -> list[QueueEntry]:
    """The queue, opening its own sessions; for ``diverse`` embeds the
    ``prefilter * batch_size`` most uncertain candidates with ``predictor`` (no session
    is open while the model runs). Call it on a worker thread when a model is involved."""
    name = strategies.canonical_strategy(strategy)
    embeddings: dict[int, np.ndarray] | None = None
    if name == "diverse":
        if predictor is None:
            raise ValueError("strategy 'diverse' needs a model to embed documents")
        with project.read() as session:
            pre = review_queue(session, task, strategy="entropy", annotator=annotator)
            top = [e.doc_id for e in pre if e.score is not None][: prefilter * batch_size]
            records = list(repo.iter_records(session, doc_ids=top)) if top else []
        vectors = predictor.embed(records) if records else np.zeros((0, 1))
        embeddings = {int(r.doc_id): vectors[i] for i, r in enumerate(records)
                      if r.doc_id is not None}
    with project.read() as session:
        return review_queue(
            session, task, strategy=name, limit=limit, seed=seed, embeddings=embeddings,
            batch_size=batch_size, annotator=annotator,
        )
