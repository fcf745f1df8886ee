"""Pre-annotation: a model version predicts the project's unreviewed documents and its
predictions are stored as pending suggestions, with active-learning scores.

    result = preannotate(project, "ner", on_progress=print)

Called on a worker thread (it opens its own sessions; never touches widgets). Work goes
in chunks: a read transaction snapshots plain records, the model predicts with no session
open, and one short write transaction stores the chunk, so labelling in the GUI is never
blocked for long; the next chunk is read and the previous one written on two helper
threads while the model predicts. Cancelling (``cancel.set()``) stops after the current
chunk; what was stored stays (each chunk is complete on its own).

What is predicted: every unreviewed document of any split except test that has no
prediction from this model version yet (a :class:`DocumentScore` row of the version marks
a document as predicted, also when the model found nothing in it). For classification,
documents a person already classified are left out; for QA, only open questions
(no answer yet) are predicted.

What is stored: entity spans with their confidence, the class(es) with probabilities, an
answer span or "no answer" per open question. Pending suggestions of older versions for
the same documents are replaced; accepted/rejected/edited ones stay as history.
Suggestions never clash with human labels: an entity overlapping a human span (in a task
that lets entities overlap: one of the same extent, or overlapping one of the same label;
the model's suggestions may overlap each other), a class for a document a person
classified, an answer to a question a person answered are not stored. Dev documents get suggestions too, but only train/unassigned ones enter the
review queue (:mod:`core.active.queue`).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session

from core import models
from core.active import strategies
from core.active.uncertainty import probability_matrix
from core.errors import ModelError
from core.models import ModelVersionInfo, NoModelError  # noqa: F401  (NoModelError: re-exported)
from core.store import repo
from core.store.models import Document, DocumentScore, Suggestion, originals, utcnow
from core.tasks import kind_of
from core.tasks.base import DOCUMENTS, NewSuggestion
from core.types import DocumentRecord, Split, TaskKind

if TYPE_CHECKING:
    from core.engine.predict import Predictor
    from core.engine.results import DocumentPrediction
    from core.project import Project

DEFAULT_CHUNK = 64
# Chunks predicted and waiting for the writer thread at most (memory stays bounded when
# the store is slower than the model).
WRITE_AHEAD = 2
# suggestions.source of a model's suggestions (schema 6)
MODEL_SOURCE = "model"
# The scores stored for every predicted document (the queue reads them; no model needed).
SCORED_STRATEGIES = strategies.UNCERTAINTY_STRATEGIES


@dataclass(frozen=True)
class PreannotateProgress:
    """After each chunk: documents predicted so far out of ``total``."""

    done: int
    total: int
    suggestions: int
    seconds: float


# The backend and precision of a run that had no document to predict (no model loaded).
NOT_LOADED = "none"


@dataclass(frozen=True)
class PreannotateResult:
    """What a pre-annotation run did."""

    task: str
    model_version_id: int
    model_version: int
    documents: int
    suggestions: int
    replaced: int
    skipped_conflicts: int
    seconds: float
    documents_per_second: float
    cancelled: bool = False
    quantized: bool = False
    # What predicted: "torch" or "openvino" (Predictor.backend); NOT_LOADED when no document
    # was left to predict, so no model was loaded.
    backend: str = "torch"
    precision: str = "fp32"  # what the model predicted in: "fp32", "bf16", "fp16" (or NOT_LOADED)
    # The documents predicted (not in to_dict: the counts say it).
    document_ids: tuple[int, ...] = field(default=(), repr=False)
    # The kinds hanging on this one that pre-annotated after it (entities: attributes).
    followed: tuple[PreannotateResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("document_ids", None)
        out["followed"] = [r.to_dict() for r in self.followed]
        return out


@dataclass
class _Snapshot:
    """A document to predict: its plain record (QA: only its open questions) and the
    store ids of those questions, in the record's order."""

    doc_id: int
    record: DocumentRecord
    question_ids: list[int] = field(default_factory=list)


# --- the predictor ---------------------------------------------------------------------


def quantize_predictor(predictor: Predictor) -> None:
    """Replace the predictor's model by an int8 dynamically quantised copy (``nn.Linear``
    layers; CPU only). Faster on CPU at a small cost in agreement (see
    docs/active_learning.md)."""
    import torch

    if predictor.device.type != "cpu":
        raise ModelError("int8 quantisation is for CPU inference only")
    predictor.loaded.model = torch.ao.quantization.quantize_dynamic(
        predictor.loaded.model, {torch.nn.Linear}, dtype=torch.qint8
    )
    # int8 layers take fp32 inputs: no bf16 autocast around them.
    predictor.options = replace(predictor.options, precision="fp32")


# --- which documents ---------------------------------------------------------------------


def documents_to_predict(
    session: Session, task: TaskKind | str, model_version_id: int,
    *, doc_ids: Sequence[int] | None = None, refresh: bool = False,
) -> list[int]:
    """Ids of the unreviewed, non-test documents this version has not predicted yet
    (``refresh``: predicted already or not, e.g. after the entities they hang on changed)."""
    task_id = repo.require_task(session, task).id
    predicted = exists().where(
        DocumentScore.document_id == Document.id,
        DocumentScore.task_id == task_id,
        DocumentScore.model_version_id == model_version_id,
    )
    stmt = select(Document.id).where(
        Document.split != Split.TEST.value,
        Document.review_status == "unreviewed",
        originals(),  # an annotator's layer of a double-annotated note is labelled unaided
    )
    if not refresh:
        stmt = stmt.where(~predicted)
    wanted = kind_of(task).predict_sql(DOCUMENTS)
    if wanted is not None:
        stmt = stmt.where(text(f"({wanted})"))
    if doc_ids is not None:
        stmt = stmt.where(Document.id.in_(list(doc_ids)))
    return list(session.scalars(stmt.order_by(Document.id)))


def _shortest_first(session: Session, doc_ids: Sequence[int]) -> list[int]:
    """``doc_ids`` by the length of their text, shortest first (ties by id). Chunks of
    documents of about one length are padded little in the model's batches: chunks of 64
    in id order computed 1.68x the real tokens of 1,000 NCBI sentences at batch 32, chunks
    in this order 1.06x (docs/active_learning.md)."""
    lengths: dict[int, int] = {}
    ids = list(doc_ids)
    for c in range(0, len(ids), 10_000):  # bound the IN list
        lengths.update(session.execute(
            select(Document.id, func.length(Document.text)).where(
                Document.id.in_(ids[c:c + 10_000]))).tuples().all())
    return sorted(ids, key=lambda i: (lengths.get(i, 0), i))


def _snapshot(session: Session, doc_ids: Sequence[int], kind: TaskKind) -> list[_Snapshot]:
    docs = session.scalars(repo.with_record_loads(
        select(Document).where(Document.id.in_(list(doc_ids))).order_by(Document.id)
    )).all()
    declared = repo.declarations(session)
    out = []
    for doc in docs:
        record, positions = kind_of(kind).prediction_snapshot(session, doc, declared)
        out.append(_Snapshot(doc.id, record, [doc.questions[i].id for i in positions]))
    return out


# --- from predictions to suggestions -------------------------------------------------------


def document_scores(
    prediction: DocumentPrediction, *, multi_label: bool = False
) -> dict[str, float]:
    """The document's uncertainty under each stored strategy."""
    probs = probability_matrix(prediction, multi_label=multi_label)
    return {
        name: strategies.aggregate(strategies.unit_scores(probs, name))
        for name in SCORED_STRATEGIES
    }


# --- writing -------------------------------------------------------------------------------

def _write_chunk(
    session: Session,
    task_id: int,
    model_version_id: int,
    doc_ids: Sequence[int],
    new: Sequence[NewSuggestion],
    scores: dict[int, dict[str, float]],
    kind: TaskKind,
) -> tuple[int, int, int]:
    """Store one chunk; returns (stored, replaced, skipped). Human labels are read again
    here, inside the write transaction, so labels made while the model ran are respected."""
    ids = list(doc_ids)
    task_kind = kind_of(kind)
    replaced = session.execute(
        delete(Suggestion).where(
            Suggestion.document_id.in_(ids),
            Suggestion.task_id == task_id,
            # Only this task's own kind of suggestion is replaced, never another writer's,
            # and only the model's (patterns' suggestions stay: core.active.pattern_suggestions).
            Suggestion.kind == task_kind.suggestion_kind,
            Suggestion.state == "pending",
            or_(Suggestion.source.is_(None), Suggestion.source == MODEL_SOURCE),
        )
    ).rowcount or 0
    clashes = task_kind.clash_check(session, ids)
    reviewed = set(session.scalars(
        select(Document.id).where(Document.id.in_(ids), Document.review_status != "unreviewed")
    ))
    # Rows as one multi-row INSERT each (a unit of work over thousands of ORM objects took
    # most of the writer's time). Nothing listens to these two tables' ORM events.
    now = utcnow()
    rows = []
    for s in new:
        if s.doc_id in reviewed or clashes(s.doc_id, s.question_id, s.payload, False):
            continue
        rows.append({
            "document_id": s.doc_id, "task_id": task_id, "question_id": s.question_id,
            "model_version_id": model_version_id, "kind": task_kind.suggestion_kind,
            "payload": s.payload.to_json(), "confidence": max(0.0, min(1.0, s.confidence)),
            "state": "pending", "created_at": now, "source": MODEL_SOURCE,
        })
    if rows:
        session.execute(insert(Suggestion), rows)
    session.execute(
        delete(DocumentScore).where(
            DocumentScore.document_id.in_(ids), DocumentScore.task_id == task_id
        )
    )
    score_rows = [
        {"document_id": doc_id, "task_id": task_id, "strategy": name,
         "model_version_id": model_version_id, "score": float(value)}
        for doc_id, by_strategy in scores.items() for name, value in by_strategy.items()
    ]
    if score_rows:
        session.execute(insert(DocumentScore), score_rows)
    return len(rows), int(replaced), len(new) - len(rows)


# --- the run -------------------------------------------------------------------------------


def _cancelled(cancel: threading.Event | Callable[[], bool] | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def preannotate(
    project: Project,
    task: TaskKind | str,
    *,
    version: int | None = None,
    model_version_id: int | None = None,
    predictor: Predictor | None = None,
    doc_ids: Sequence[int] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    batch_size: int = 32,
    quantize: bool = False,
    precision: str = "auto",
    backend: str = "auto",
    on_progress: Callable[[PreannotateProgress], None] | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    refresh: bool = False,
) -> PreannotateResult:
    """Predict the unreviewed documents with a model version and store suggestions and
    active-learning scores (see the module docstring). Incremental: documents this
    version already predicted are skipped; when none is left, no model is loaded (the
    result's ``backend`` and ``precision`` are :data:`NOT_LOADED`).

    ``version`` / ``model_version_id`` choose the version (default: the active one, else
    the newest); ``predictor`` reuses an already loaded model of that version (e.g. right
    after training); without it the version's model is loaded once and kept for the next
    run (:func:`core.engine.predict.cached_predictor`). ``precision``: of a model loaded
    here ("auto": bf16 where the CPU computes it natively; see
    :class:`core.engine.predict.Predictor`). ``on_progress`` is called after every chunk
    is stored, on this thread. Called on a worker thread; opens its own sessions (the
    next chunk is read and the previous one written on two helper threads while the
    model predicts).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1 (got {chunk_size})")
    kind = TaskKind(task)
    started = time.perf_counter()
    with project.read() as session:
        mv = models.resolve(session, kind, version, model_version_id=model_version_id)
        task_id = repo.require_task(session, kind).id
        todo = documents_to_predict(session, kind, mv.id, doc_ids=doc_ids, refresh=refresh)
        todo = _shortest_first(session, todo)
    if not todo and predictor is None:
        # Nothing left for this version: no model is loaded (torch takes seconds to start).
        seconds = time.perf_counter() - started
        return PreannotateResult(
            task=kind.value, model_version_id=mv.id, model_version=mv.version, documents=0,
            suggestions=0, replaced=0, skipped_conflicts=0, seconds=round(seconds, 3),
            documents_per_second=0.0, quantized=quantize, backend=NOT_LOADED,
            precision=NOT_LOADED)
    with contextlib.ExitStack() as stack:
        if predictor is None:
            from core.engine.predict import Predictor, cached_predictor

            if quantize:  # a quantised copy is this run's own
                predictor = Predictor(mv.path, precision="fp32", backend="torch")
            else:
                predictor = stack.enter_context(cached_predictor(
                    mv.path, precision=precision, backend=backend))
        if predictor.spec.task is not kind:
            raise ModelError(
                f"model version {mv.version} predicts {predictor.spec.task.value}, not "
                f"{kind.value}"
            )
        if quantize:
            quantize_predictor(predictor)
        run = _Run(project, kind, task_id, mv.id, predictor, batch_size, on_progress,
                   len(todo), started)
        chunks = [todo[c:c + chunk_size] for c in range(0, len(todo), chunk_size)]
        cancelled = run.pipeline(chunks, cancel)
    seconds = time.perf_counter() - started
    return PreannotateResult(
        task=kind.value,
        model_version_id=mv.id,
        model_version=mv.version,
        documents=run.done,
        suggestions=run.stored,
        replaced=run.replaced,
        skipped_conflicts=run.skipped,
        seconds=round(seconds, 3),
        documents_per_second=round(run.done / seconds, 2) if seconds > 0 else 0.0,
        cancelled=cancelled,
        quantized=quantize,
        # A predictor handed in need not say (any object with predict(), as in tests).
        precision=str(getattr(predictor, "precision", "unknown")),
        backend=str(getattr(predictor, "backend", "unknown")),
        document_ids=tuple(run.predicted),
    )


class _Run:
    """One pre-annotation run's three stages and its counts. Reading chunk k+1 (a read
    transaction) and writing chunk k-1 (a write transaction) run on two helper threads
    while the model predicts chunk k on the calling thread: torch leaves the interpreter
    while it computes, so the database work fills the gaps instead of adding to the time.
    At most :data:`WRITE_AHEAD` chunks wait to be written."""

    def __init__(self, project: Project, kind: TaskKind, task_id: int, model_version_id: int,
                 predictor: Predictor, batch_size: int,
                 on_progress: Callable[[PreannotateProgress], None] | None, total: int,
                 started: float) -> None:
        self.project, self.kind, self.task_id = project, kind, task_id
        self.model_version_id, self.predictor, self.batch_size = (
            model_version_id, predictor, batch_size)
        self.on_progress, self.total, self.started = on_progress, total, started
        self.done = self.stored = self.replaced = self.skipped = 0
        self.predicted: list[int] = []

    def pipeline(self, chunks: Sequence[list[int]],
                 cancel: threading.Event | Callable[[], bool] | None) -> bool:
        """Predict and store every chunk; whether the run was cancelled."""
        from concurrent.futures import Future, ThreadPoolExecutor

        if not chunks:
            return False
        cancelled = False
        pending: collections.deque[Future[tuple[list[_Snapshot], tuple[int, int, int]]]] = (
            collections.deque())
        with ThreadPoolExecutor(1, thread_name_prefix="preannotate-read") as reader, \
                ThreadPoolExecutor(1, thread_name_prefix="preannotate-write") as writer:
            ahead = reader.submit(self.read, chunks[0])
            try:
                for c in range(len(chunks)):
                    snaps = ahead.result()
                    if c + 1 < len(chunks) and not _cancelled(cancel):
                        ahead = reader.submit(self.read, chunks[c + 1])
                    if _cancelled(cancel):
                        cancelled = True
                        break
                    if not snaps:
                        continue
                    new, scores = self.predict(snaps)
                    while len(pending) >= WRITE_AHEAD:
                        self.count(*pending.popleft().result())
                    pending.append(writer.submit(self.write, snaps, new, scores))
                    while pending and pending[0].done():
                        self.count(*pending.popleft().result())
                while pending:
                    self.count(*pending.popleft().result())
            finally:
                ahead.cancel()
                for later in pending:
                    later.cancel()
        return cancelled

    def read(self, chunk: Sequence[int]) -> list[_Snapshot]:
        """Reader thread: the chunk's plain records (its own read session)."""
        with self.project.read() as session:
            return _snapshot(session, chunk, self.kind)

    def predict(self, snaps: Sequence[_Snapshot]
                ) -> tuple[list[NewSuggestion], dict[int, dict[str, float]]]:
        """Calling thread: the chunk's suggestions and uncertainty scores; no session."""
        multi = bool(self.predictor.spec.multi_label)
        preds = self.predictor.predict([s.record for s in snaps], batch_size=self.batch_size)
        new: list[NewSuggestion] = []
        scores: dict[int, dict[str, float]] = {}
        for snap, pred in zip(snaps, preds):
            new += kind_of(self.kind).suggestions(
                snap.doc_id, pred, multi_label=multi, question_ids=snap.question_ids
            )
            scores[snap.doc_id] = document_scores(pred, multi_label=multi)
        return new, scores

    def write(self, snaps: list[_Snapshot], new: Sequence[NewSuggestion],
              scores: dict[int, dict[str, float]]
              ) -> tuple[list[_Snapshot], tuple[int, int, int]]:
        """Writer thread: store the chunk in one write transaction (its own session)."""
        with self.project.write() as session:
            counts = _write_chunk(session, self.task_id, self.model_version_id,
                                  [s.doc_id for s in snaps], new, scores, self.kind)
        return snaps, counts

    def count(self, snaps: list[_Snapshot], counts: tuple[int, int, int]) -> None:
        """Calling thread: a stored chunk's counts, and the progress report."""
        stored, replaced, skipped = counts
        self.done += len(snaps)
        self.predicted += [s.doc_id for s in snaps]
        self.stored += stored
        self.replaced += replaced
        self.skipped += skipped
        if self.on_progress is not None:
            self.on_progress(PreannotateProgress(
                self.done, self.total, self.stored, time.perf_counter() - self.started
            ))
