"""``project.review``: make suggestions (pre-annotate with a model version, or apply patterns
and term lists), rank what to label next (the queue), accept, reject or edit suggestions,
accept those above a confidence, undo any decision (the inverse comes with the returned
:class:`Changes`), and report how often suggestions were taken."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from core.project.changes import Changes
from core.project.decisions import pending_above
from core.project.edits import Decide
from core.store.repo import AnnotationError
from core.types import TaskKind

if TYPE_CHECKING:
    from core.active.pattern_suggestions import PatternProgress, PatternResult
    from core.active.preannotate import PreannotateProgress, PreannotateResult
    from core.active.queue import QueueEntry
    from core.engine.predict import Predictor
    from core.patterns import Pattern, PhrasePattern
    from core.project.base import Project
    from core.review import PendingSuggestion


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
        thread (a worker's, in the app); ``options``: chunk_size, batch_size, quantize.

        Entities: then, when there is an attribute model, attribute values are suggested
        for the entities of the documents just predicted, a person's and the suggested
        ones (``result.followed``; ``on_progress`` sees that run too)."""
        import dataclasses

        from core import models
        from core.active.preannotate import preannotate
        from core.tasks import dependent_kinds

        result = preannotate(self._project, kind, version=version, predictor=predictor,
                             on_progress=on_progress, cancel=cancel, **options)
        followed = []
        for dep in dependent_kinds(kind):
            if result.cancelled or not result.document_ids:
                break
            try:
                models.resolve(self._project, dep.kind)
            except (models.NoModelError, AnnotationError):  # no model, or no such task
                continue
            followed.append(preannotate(
                self._project, dep.kind, doc_ids=result.document_ids, refresh=True,
                on_progress=on_progress, cancel=cancel, **options))
        return dataclasses.replace(result, followed=tuple(followed)) if followed else result

    def apply_patterns(
        self,
        kind: TaskKind | str,
        patterns: Sequence[Pattern],
        *,
        source: str,
        confidence: float | None = None,
        doc_ids: Sequence[int] | None = None,
        on_progress: Callable[[PatternProgress], None] | None = None,
    ) -> PatternResult:
        """Store the matches of ``patterns`` (``core.patterns``; read a file with
        ``core.formats.patterns.read_patterns``) in the unreviewed, non-test documents as
        pending entity suggestions of ``source`` (``"patterns:<name>"``): never over a human
        entity, the longest of overlapping matches, idempotent (see
        :mod:`core.active.pattern_suggestions`). Runs on the caller's thread."""
        from core.active import pattern_suggestions as ps

        return ps.suggest_from_patterns(
            self._project, kind, patterns, source=source, doc_ids=doc_ids,
            confidence=ps.DEFAULT_CONFIDENCE if confidence is None else confidence,
            on_progress=on_progress,
        )

    def label_terms(self, kind: TaskKind | str = TaskKind.NER) -> list[PhrasePattern]:
        """A term list from the project's own entities (outside the test split): each
        distinct text once, under the label it carries most often."""
        from core.active.pattern_suggestions import label_terms

        return label_terms(self._project, kind)

    def label_all(self, doc_id: int, start: int, end: int, *, suggest: bool = False,
                  annotator: str | None = None) -> Changes | PatternResult:
        """The entity ``[start, end)`` of ``doc_id``, its label on every other occurrence of
        its phrase in the unreviewed, non-test documents, never over a human entity
        (:mod:`core.project.occurrences`). Applied at once (``Changes``: one inverse takes
        every added entity back), or with ``suggest`` stored as pending suggestions of
        their own source (a ``PatternResult``; :meth:`withdraw_label_all` takes back what
        is still pending)."""
        from core.project import occurrences

        if suggest:
            return occurrences.suggest_all(self._project, doc_id, start, end)
        op, phrase, label, n = occurrences.label_all_op(self._project, doc_id, start, end,
                                                        annotator=annotator)
        changes = self._project.apply(op)
        return replace(changes, messages=changes.messages + (
            f"labelled {n} more occurrence{'s' if n != 1 else ''} of \"{phrase}\" as {label}",))

    def withdraw_label_all(self, source: str) -> int:
        """Remove the pending suggestions a suggesting :meth:`label_all` stored
        (``source``: its ``PatternResult.source``); the number removed."""
        from core.project import occurrences

        return occurrences.withdraw(self._project, source)

    def pending(
        self, kind: TaskKind | str | None = None, *, doc_ids: Sequence[int] | None = None
    ) -> dict[int, list[PendingSuggestion]]:
        """Pending suggestions (of ``kind``, or every kind) by document id, each a plain
        :class:`core.review.PendingSuggestion` with its ``source`` and ``confidence``."""
        from core.review import pending_by_document

        with self._project.read() as session:
            return pending_by_document(session, kind, doc_ids=doc_ids)

    def report(self, kind: TaskKind | str) -> dict[str, Any]:
        """How often suggestions for ``kind`` were accepted, edited or rejected, in all,
        by model version and by source (``core.review.suggestion_report``)."""
        from core.review import suggestion_report

        with self._project.read() as session:
            return suggestion_report(session, kind)

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
