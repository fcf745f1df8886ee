"""Undoable edits: every QUndoCommand's redo/undo is one store write in its own transaction.

There is no Save button: each command commits as it runs, so nothing is lost if the app is
killed. A command whose write is refused (an ``AnnotatorError``: overlap, deleted row...)
reports the message and marks itself obsolete, so the undo stack drops it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from sqlalchemy.orm import Session

from annotator.app import review_adapter
from core.errors import AnnotatorError
from core.project import Project
from core.store import repo
from core.store.models import QuestionRow


class QtProjectContext(QObject):
    """The open project seen by the GUI thread: the store, the undo stack and change signals.

    Lives on the GUI thread. Worker threads get ``project`` (thread-safe, each opens its own
    sessions) but never this object.
    """

    documentChanged = Signal(int)  # a document's labels or status changed
    labelsChanged = Signal()  # tasks or label sets changed
    documentsChanged = Signal()  # documents added/removed, scores or suggestions refreshed
    message = Signal(str)  # a short, user-readable message for the status bar

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.undo_stack = QUndoStack(self)
        # Undo + redo of a deletion re-creates rows with new ids; later commands that
        # name the old id follow this map.
        self._renamed: dict[tuple[str, int], int] = {}

    def resolve(self, kind: str, row_id: int) -> int:
        while (kind, row_id) in self._renamed:
            row_id = self._renamed[(kind, row_id)]
        return row_id

    def renamed(self, kind: str, old: int, new: int) -> None:
        if old != new:
            self._renamed[(kind, old)] = new

    def push(self, command: QUndoCommand) -> bool:
        """Run ``command`` and keep it for undo; False (and a status message) if refused."""
        before = self.undo_stack.count()
        self.undo_stack.push(command)
        return self.undo_stack.count() > before or not getattr(command, "failed", False)


class StoreCommand(QUndoCommand):
    """Base: ``_redo``/``_undo`` get a write session; the document is re-read afterwards."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, text: str) -> None:
        super().__init__(text)
        self.ctx = ctx
        self.doc_id = doc_id
        self.failed = False

    def _run(self, action: Callable[[Session], None]) -> None:
        try:
            with self.ctx.project.write() as session:
                action(session)
        except AnnotatorError as exc:
            self.failed = True
            self.setObsolete(True)
            self.ctx.message.emit(str(exc))
        else:
            self.failed = False
        self.ctx.documentChanged.emit(self.doc_id)

    def redo(self) -> None:
        self._run(self._redo)

    def undo(self) -> None:
        self._run(self._undo)

    def _redo(self, session: Session) -> None:
        raise NotImplementedError

    def _undo(self, session: Session) -> None:
        raise NotImplementedError


class AddEntityCommand(StoreCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, start: int, end: int, label: str) -> None:
        super().__init__(ctx, doc_id, f"label {label}")
        self.start, self.end, self.label = start, end, label
        self.entity_id: int | None = None

    def _redo(self, session: Session) -> None:
        row = repo.add_entity(session, self.doc_id, self.start, self.end, self.label)
        if self.entity_id is not None:
            self.ctx.renamed("entity", self.entity_id, row.id)
        self.entity_id = row.id

    def _undo(self, session: Session) -> None:
        assert self.entity_id is not None
        repo.delete_entity(session, self.ctx.resolve("entity", self.entity_id))


class DeleteEntityCommand(StoreCommand):
    def __init__(
        self, ctx: QtProjectContext, doc_id: int, entity_id: int, start: int, end: int, label: str
    ) -> None:
        super().__init__(ctx, doc_id, f"delete {label}")
        self.entity_id, self.start, self.end, self.label = entity_id, start, end, label

    def _redo(self, session: Session) -> None:
        repo.delete_entity(session, self.ctx.resolve("entity", self.entity_id))

    def _undo(self, session: Session) -> None:
        row = repo.add_entity(session, self.doc_id, self.start, self.end, self.label)
        self.ctx.renamed("entity", self.ctx.resolve("entity", self.entity_id), row.id)


class RelabelEntityCommand(StoreCommand):
    def __init__(
        self, ctx: QtProjectContext, doc_id: int, entity_id: int, old: str, new: str
    ) -> None:
        super().__init__(ctx, doc_id, f"relabel {old} → {new}")
        self.entity_id, self.old, self.new = entity_id, old, new

    def _redo(self, session: Session) -> None:
        repo.relabel_entity(session, self.ctx.resolve("entity", self.entity_id), self.new)

    def _undo(self, session: Session) -> None:
        repo.relabel_entity(session, self.ctx.resolve("entity", self.entity_id), self.old)


class SetClassesCommand(StoreCommand):
    def __init__(
        self, ctx: QtProjectContext, doc_id: int, old: Sequence[str], new: Sequence[str]
    ) -> None:
        super().__init__(ctx, doc_id, "set classes")
        self.old, self.new = list(old), list(new)

    def _redo(self, session: Session) -> None:
        repo.set_classes(session, self.doc_id, self.new)

    def _undo(self, session: Session) -> None:
        repo.set_classes(session, self.doc_id, self.old)


class AddQuestionCommand(StoreCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, text: str) -> None:
        super().__init__(ctx, doc_id, "add question")
        self.question_text = text
        self.question_id: int | None = None

    def _redo(self, session: Session) -> None:
        row = repo.add_question(session, self.doc_id, self.question_text)
        if self.question_id is not None:
            self.ctx.renamed("question", self.question_id, row.id)
        self.question_id = row.id

    def _undo(self, session: Session) -> None:
        assert self.question_id is not None
        repo.delete_question(session, self.ctx.resolve("question", self.question_id))


class DeleteQuestionCommand(StoreCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, question_id: int) -> None:
        super().__init__(ctx, doc_id, "delete question")
        self.question_id = question_id
        self.snapshot: dict[str, Any] | None = None

    def _redo(self, session: Session) -> None:
        qid = self.ctx.resolve("question", self.question_id)
        q = session.get(QuestionRow, qid)
        if q is not None:
            self.snapshot = {
                "text": q.text,
                "answers": [(a.start, a.end) for a in q.answers],
                "impossible": q.is_impossible,
            }
        repo.delete_question(session, qid)

    def _undo(self, session: Session) -> None:
        assert self.snapshot is not None
        row = repo.add_question(session, self.doc_id, self.snapshot["text"])
        if self.snapshot["answers"]:
            s, e = self.snapshot["answers"][0]
            repo.set_answer(session, row.id, s, e)
        elif self.snapshot["impossible"]:
            repo.set_answer(session, row.id, None, None)
        self.ctx.renamed("question", self.ctx.resolve("question", self.question_id), row.id)


class SetAnswerCommand(StoreCommand):
    """Set an answer span, mark "no answer" (``start is None``) or clear (``clear=True``)."""

    def __init__(
        self,
        ctx: QtProjectContext,
        doc_id: int,
        question_id: int,
        start: int | None,
        end: int | None,
        *,
        clear: bool = False,
    ) -> None:
        super().__init__(ctx, doc_id, "clear answer" if clear else "set answer")
        self.question_id, self.start, self.end, self.clear = question_id, start, end, clear
        self.before: tuple[list[tuple[int, int]], bool] | None = None

    def _redo(self, session: Session) -> None:
        qid = self.ctx.resolve("question", self.question_id)
        q = session.get(QuestionRow, qid)
        if q is None:
            raise repo.AnnotationError("this question no longer exists")
        self.before = ([(a.start, a.end) for a in q.answers], q.is_impossible)
        if self.clear:
            repo.clear_answer(session, qid)
        else:
            repo.set_answer(session, qid, self.start, self.end)

    def _undo(self, session: Session) -> None:
        assert self.before is not None
        qid = self.ctx.resolve("question", self.question_id)
        answers, impossible = self.before
        if answers:
            repo.set_answer(session, qid, *answers[0])
        elif impossible:
            repo.set_answer(session, qid, None, None)
        else:
            repo.clear_answer(session, qid)


class SetReviewStatusCommand(StoreCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, old: str, new: str) -> None:
        super().__init__(ctx, doc_id, f"mark {new}")
        self.old, self.new = old, new

    def _redo(self, session: Session) -> None:
        repo.set_review_status(session, self.doc_id, self.new)

    def _undo(self, session: Session) -> None:
        repo.set_review_status(session, self.doc_id, self.old)


class DecideSuggestionsCommand(StoreCommand):
    """Accept (optionally as ``label``) or reject one or more suggestions in one write.

    When accepting several at once, the ones that cannot be applied (an overlap with a
    human label) are skipped and reported, and the rest go through.
    """

    def __init__(
        self,
        ctx: QtProjectContext,
        doc_id: int,
        suggestion_ids: Sequence[int],
        *,
        accept: bool,
        label: str | None = None,
    ) -> None:
        n = len(suggestion_ids)
        verb = "accept" if accept else "reject"
        super().__init__(ctx, doc_id, f"{verb} {n} suggestion{'s' if n != 1 else ''}")
        self.ids, self.accept, self.label = list(suggestion_ids), accept, label
        self.decisions: list[review_adapter.Decision] = []

    def _redo(self, session: Session) -> None:
        self.decisions = []
        skipped: list[str] = []
        for sid in self.ids:
            if not self.accept:
                self.decisions.append(review_adapter.reject_suggestion(session, sid))
                continue
            if len(self.ids) == 1:
                self.decisions.append(
                    review_adapter.accept_suggestion(session, sid, label=self.label)
                )
                continue
            try:
                with session.begin_nested():
                    self.decisions.append(review_adapter.accept_suggestion(session, sid))
            except AnnotatorError as exc:
                skipped.append(str(exc))
        if not self.decisions:
            raise repo.AnnotationError(skipped[0] if skipped else "nothing to accept")
        if skipped:
            self.ctx.message.emit(
                f"accepted {len(self.decisions)}, skipped {len(skipped)}: {skipped[0]}"
            )

    def _undo(self, session: Session) -> None:
        for decision in reversed(self.decisions):
            review_adapter.restore_suggestion(session, decision)
