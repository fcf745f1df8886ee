"""``project.annotations``: add, change and remove entities, classes, questions, answers,
review statuses and labels. Each call is one unit of work and returns :class:`Changes`
with the inverse; ``project.undo(changes)`` applies it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.project.changes import Changes
from core.project.edits import (
    AddEntity,
    AddLabel,
    AddQuestion,
    AnswerMark,
    DeleteLabel,
    MergeSentences,
    RelabelEntity,
    RemoveEntity,
    RemoveQuestion,
    ResizeEntity,
    SetAnswer,
    SetClasses,
    SetReviewStatus,
    SetSentenceClasses,
    SplitSentence,
    UpdateLabel,
)
from core.store import repo
from core.store.sentences import ensure_sentences
from core.types import TaskKind

if TYPE_CHECKING:
    from core.project.base import Project

# Keys the review flow uses; a label shortcut on one of them would never fire.
RESERVED_KEYS = repo.RESERVED_KEYS


class Annotations:
    def __init__(self, project: Project) -> None:
        self._project = project

    # --- entities -------------------------------------------------------------------

    def add_entity(self, doc_id: int, start: int, end: int, label: str) -> Changes:
        """Label ``text[start:end]``; refused outside the text or over another entity."""
        return self._project.apply(AddEntity(doc_id, start, end, label))

    def remove_entity(self, doc_id: int, start: int, end: int) -> Changes:
        return self._project.apply(RemoveEntity(doc_id, start, end))

    def resize_entity(
        self, doc_id: int, start: int, end: int, new_start: int, new_end: int
    ) -> Changes:
        """Move the entity ``[start, end)`` to ``[new_start, new_end)`` (an accepted one
        becomes "edited"); refused over another entity or outside the text."""
        return self._project.apply(ResizeEntity(doc_id, start, end, new_start, new_end))

    def relabel_entity(self, doc_id: int, start: int, end: int, label: str) -> Changes:
        return self._project.apply(RelabelEntity(doc_id, start, end, label))

    # --- classes, questions, answers --------------------------------------------------

    def set_classes(self, doc_id: int, labels: Sequence[str]) -> Changes:
        """Make ``labels`` the document's classes (one unless the task is multi-label)."""
        return self._project.apply(SetClasses(doc_id, tuple(labels)))

    def set_sentence_classes(self, doc_id: int, start: int, end: int,
                             labels: Sequence[str]) -> Changes:
        """Make ``labels`` the classes of the sentence ``[start, end)`` (``()``: none)."""
        return self._project.apply(SetSentenceClasses(doc_id, start, end, tuple(labels)))

    def split_sentence(self, doc_id: int, at: int) -> Changes:
        """Split the sentence holding character ``at`` there; both halves keep its classes."""
        return self._project.apply(SplitSentence(doc_id, at))

    def merge_sentences(self, doc_id: int, start: int) -> Changes:
        """Merge the sentence starting at ``start`` with the next; it keeps both's classes
        (single-label: refused when they differ)."""
        return self._project.apply(MergeSentences(doc_id, start))

    def add_question(self, doc_id: int, text: str) -> Changes:
        return self._project.apply(AddQuestion(doc_id, text))

    def remove_question(self, question_id: int) -> Changes:
        return self._project.apply(RemoveQuestion(question_id))

    def set_answer(self, question_id: int, start: int, end: int) -> Changes:
        return self._project.apply(SetAnswer(question_id, (AnswerMark(start, end),)))

    def mark_no_answer(self, question_id: int) -> Changes:
        return self._project.apply(SetAnswer(question_id, (), impossible=True))

    def clear_answer(self, question_id: int) -> Changes:
        return self._project.apply(SetAnswer(question_id))

    def set_review_status(self, doc_id: int, status: str) -> Changes:
        """``unreviewed``, ``reviewed`` (the user marked it done) or ``skipped``."""
        return self._project.apply(SetReviewStatus(doc_id, status))

    # --- tasks and labels -----------------------------------------------------------

    def add_task(
        self, kind: TaskKind | str, labels: Sequence[str] = (), *, multi_label: bool = False
    ) -> Changes:
        """Switch a task on (or extend it): its labels are added, ``multi_label`` only ever
        turns on. Not undoable (the CLI's ``init``)."""
        kind = TaskKind(kind)
        with self._project.write() as session:
            task = repo.ensure_task(session, kind, multi_label=multi_label)
            if multi_label:
                task.multi_label = True
            repo.ensure_labels(session, task, labels)
            if kind is TaskKind.SENTENCE:  # every document gets its sentences, once
                ensure_sentences(session)
        return Changes(kinds=frozenset({kind}), labels=True)

    def add_label(self, kind: TaskKind | str, name: str) -> Changes:
        return self._project.apply(AddLabel(TaskKind(kind), name))

    def update_label(
        self, label_id: int, *, name: str | None = None, color: str | None = None,
        shortcut: str | None = None,
    ) -> Changes:
        """Rename, recolour or re-key a label (``shortcut=""`` removes the key)."""
        if shortcut and shortcut.lower() in RESERVED_KEYS:
            raise repo.AnnotationError(
                f"the key {shortcut!r} is used by the review flow; pick another"
            )
        if shortcut is not None and len(shortcut) > 1:
            raise repo.AnnotationError("a shortcut is one key (a letter or digit)")
        return self._project.apply(UpdateLabel(label_id, name, color, shortcut))

    def delete_label(self, label_id: int) -> Changes:
        """Delete a label and every annotation that uses it."""
        return self._project.apply(DeleteLabel(label_id))
