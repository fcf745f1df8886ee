"""``project.review``: make suggestions (pre-annotate with a model version), rank what to
label next (the queue), accept, reject or edit suggestions, accept those above a confidence,
and undo any decision (the inverse comes with the returned :class:`Changes`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.project.changes import Changes
from core.project.decisions import pending_above
from core.project.edits import Decide
from core.store.repo import AnnotationError
from core.types import TaskKind

if TYPE_CHECKING:
    from core.active.preannotate import PreannotateProgress, PreannotateResult
    from core.active.queue import QueueEntry
    from core.engine.predict import Predictor
    from core.project.base import Project


class Review:
    def __init__(self, project: Project) -> None:
        self._project = project

    def preannotate(
        self,
        kind: TaskKind | str,
        *,
        version: int | None = None,
        predictor: Predictor | None = None,
        on_progress: Callable[[PreannotateProgress], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        **options: Any,
    ) -> PreannotateResult:
        """Suggestions and active-learning scores for the unreviewed documents of ``kind``
        from a model version (the named one, else the active one, else the newest; see
        :mod:`core.models`). Incremental; never over human labels. Runs on the caller's
        thread (a worker's, in the app); ``options``: chunk_size, batch_size, quantize."""
        from core.active.preannotate import preannotate

        return preannotate(self._project, kind, version=version, predictor=predictor,
                           on_progress=on_progress, cancel=cancel, **options)

    def queue(
        self,
        kind: TaskKind | str,
        *,
        strategy: str = "entropy",
        limit: int | None = None,
        seed: int = 0,
        predictor: Predictor | None = None,
        **options: Any,
    ) -> list[QueueEntry]:
        """What to label next for ``kind``: unreviewed documents not yet labelled, ranked
        by ``strategy`` (``core.active.strategies``); ``diverse`` needs ``predictor``."""
        from core.active.queue import build_queue

        return build_queue(self._project, kind, strategy=strategy, limit=limit, seed=seed,
                           predictor=predictor, **options)

    def accept(self, doc_id: int, suggestion_ids: Sequence[int]) -> Changes:
        """Accept suggestions of one document as they are. Of several, those that clash with
        a human label are skipped (``Changes.messages`` says so)."""
        return self._project.apply(Decide(doc_id, tuple(suggestion_ids), accept=True))

    def edit(self, doc_id: int, suggestion_id: int, *, label: str) -> Changes:
        """Accept one suggestion as ``label`` (an entity's or a class's)."""
        return self._project.apply(Decide(doc_id, (suggestion_id,), accept=True, label=label))

    def reject(self, doc_id: int, suggestion_ids: Sequence[int]) -> Changes:
        return self._project.apply(Decide(doc_id, tuple(suggestion_ids), accept=False))

    def pending_above(self, doc_id: int, kind: str, threshold: float) -> list[int]:
        """Ids of a document's pending ``kind`` suggestions (entity | class | answer) with
        confidence >= ``threshold``, most confident first."""
        with self._project.read() as session:
            return pending_above(session, doc_id, kind, threshold)

    def accept_above(self, doc_id: int, kind: str, threshold: float) -> Changes:
        """Accept a document's pending ``kind`` suggestions with confidence >= ``threshold``."""
        if not 0.0 <= threshold <= 1.0:
            raise AnnotationError(f"the confidence threshold must be in [0, 1] (got {threshold})")
        ids = self.pending_above(doc_id, kind, threshold)
        if not ids:
            raise AnnotationError(f"no suggestion at or above {threshold:.2f}")
        return self.accept(doc_id, ids)

    def undo(self, changes: Changes) -> Changes:
        """Put back what a decision (or any change) did; returns the redo in ``inverse``."""
        return self._project.undo(changes)
