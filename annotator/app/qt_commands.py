"""Undoable edits as thin QUndoCommands over the project facade.

Core does the work: the first redo calls an area of the project (``project.annotations``,
``project.review``), which writes in its own transaction and returns a ``Changes`` carrying
the inverse; undo applies that inverse (``project.undo``), whose own inverse is what a later
redo applies. Ids stay valid across undo and redo because core pins them in the ops.

There is no Save button: each command commits as it runs, so nothing is lost if the app is
killed. A command whose write is refused (an ``AnnotatorError``: overlap, deleted row...)
reports the message and marks itself obsolete, so the undo stack drops it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.errors import AnnotatorError
from core.project import Changes, Project
from core.project.timings import format_duration
from core.types import TaskKind


class QtProjectContext(QObject):
    """The open project seen by the GUI thread: the facade, the undo stack, change signals.

    Lives on the GUI thread. Worker threads get ``project`` (thread-safe, each call opens
    its own session) but never this object.
    """

    changed = Signal(object)  # a Changes value, after every applied edit, undo or redo
    documentChanged = Signal(int)  # a document's labels or status changed
    labelsChanged = Signal()  # tasks or label sets changed
    documentsChanged = Signal()  # documents added/removed, scores or suggestions refreshed
    message = Signal(str)  # a short, user-readable message for the status bar
    timeSpent = Signal(str)  # the time spent per kind, after each timed decision
    # An undo or redo of a command with a ``focus``: (document id, code point) to go back to.
    returnTo = Signal(int, int)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.undo_stack = QUndoStack(self)
        self.view_kind: TaskKind | None = None  # the kind of the view shown (set by the window)
        # Whose decisions these are, for their times (the window sets the name chosen, and
        # the project's, under which the labels themselves are stored).
        self.annotator = "user"
        # The clock of each decision: when the document shown was shown, or decided last.
        self._clock: tuple[int, float] | None = None

    def document_shown(self, doc_id: int) -> None:
        """The document ``doc_id`` is now on screen: its decisions are timed from now (shown
        again while it stays on screen, after a rebuild of the views: the clock runs on)."""
        if self._clock is None or self._clock[0] != doc_id:
            self._clock = (doc_id, time.monotonic())

    def record_time(self, doc_id: int, action: str) -> None:
        """Record the seconds since ``doc_id`` was shown (or its previous timed action) for
        the kind of the view shown; the next action is timed from now, so they add up."""
        now = time.monotonic()
        if self._clock is None or self._clock[0] != doc_id or self.view_kind is None:
            return  # not an action on the document shown (a script, a test): not timed
        try:
            self.project.timings.record(doc_id, self.view_kind, action, now - self._clock[1],
                                        annotator=self.annotator)
        except AnnotatorError as exc:  # the decision itself is done: only its time is lost
            self.message.emit(f"the time of this decision was not recorded: {exc}")
        self._clock = (doc_id, now)
        self.timeSpent.emit(self.time_spent_text())

    def time_spent_text(self) -> str:
        """"Time: entities 12 min 5 s · classes 40 s" (every annotator), or ""."""
        totals: dict[str, float] = {}
        for kinds in self.project.timings.summary().values():
            for kind, t in kinds.items():
                totals[kind] = totals.get(kind, 0.0) + float(t["seconds"])
        names = {"ner": "entities", "classify": "classes", "qa": "answers",
                 "sentence": "sentences"}
        parts = [f"{names.get(k, k)} {format_duration(v)}" for k, v in sorted(totals.items())]
        return "Time: " + " · ".join(parts) if parts else ""

    def push(self, command: QUndoCommand) -> bool:
        """Run ``command`` and keep it for undo; False (and a status message) if refused."""
        before = self.undo_stack.count()
        self.undo_stack.push(command)
        return self.undo_stack.count() > before or not getattr(command, "failed", False)

    def announce(self, changes: Changes) -> None:
        """Tell the screens what changed (they refresh from it)."""
        for text in changes.messages:
            self.message.emit(text)
        self.changed.emit(changes)
        for doc_id in sorted(changes.documents):
            self.documentChanged.emit(doc_id)
        if changes.labels:
            self.labelsChanged.emit()
        if changes.document_set:
            self.documentsChanged.emit()


class ChangeCommand(QUndoCommand):
    """Base: ``_do()`` makes the change through the facade; undo/redo replay core's inverses."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, text: str) -> None:
        super().__init__(text)
        self.ctx = ctx
        self.doc_id = doc_id
        self.failed = False
        # Where in the text the view goes back to when this is undone or redone (a code
        # point; None: where it is): the sentence view returns to the sentence changed.
        self.focus: int | None = None
        self._done: Changes | None = None  # the last change made (undo applies its inverse)
        self._undone: Changes | None = None  # the last undo (redo applies its inverse)

    def _do(self) -> Changes:
        raise NotImplementedError

    def _run(self, step: str) -> None:
        project = self.ctx.project
        try:
            if step == "undo":
                assert self._done is not None
                self._undone = project.undo(self._done)
                changes = self._undone
            elif self._undone is None:  # the decision itself (not a redo): timed below
                self._done = changes = self._do()
            else:
                self._done = changes = project.undo(self._undone)
        except AnnotatorError as exc:
            self.failed = True
            self.setObsolete(True)
            self.ctx.message.emit(str(exc))
            self.ctx.documentChanged.emit(self.doc_id)
            return
        self.failed = False
        first = step == "redo" and self._undone is None
        if first:
            self.ctx.record_time(self.doc_id, self.text())
        self.ctx.announce(changes)
        if not first and self.focus is not None:
            self.ctx.returnTo.emit(self.doc_id, self.focus)

    def redo(self) -> None:
        self._run("redo")

    def undo(self) -> None:
        self._run("undo")


class AppliedChangeCommand(ChangeCommand):
    """A change made already (a dialog's edit, written as the user made it) put on the
    undo stack: its first redo only announces it; undo and redo replay core's inverses."""

    def __init__(self, ctx: QtProjectContext, changes: Changes, text: str) -> None:
        super().__init__(ctx, -1, text)  # no document shown: never timed
        self._applied = changes

    def _do(self) -> Changes:
        return self._applied


class AddEntityCommand(ChangeCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, start: int, end: int, label: str) -> None:
        super().__init__(ctx, doc_id, f"label {label}")
        self.start, self.end, self.label = start, end, label

    def _do(self) -> Changes:
        return self.ctx.project.annotations.add_entity(self.doc_id, self.start, self.end, self.label)


class DeleteEntityCommand(ChangeCommand):
    def __init__(
        self, ctx: QtProjectContext, doc_id: int, entity_id: int, start: int, end: int, label: str
    ) -> None:
        super().__init__(ctx, doc_id, f"delete {label}")
        self.entity_id, self.start, self.end = entity_id, start, end

    def _do(self) -> Changes:
        return self.ctx.project.annotations.remove_entity(self.doc_id, self.start, self.end)


class RelabelEntityCommand(ChangeCommand):
    def __init__(
        self, ctx: QtProjectContext, doc_id: int, start: int, end: int, old: str, new: str
    ) -> None:
        super().__init__(ctx, doc_id, f"relabel {old} → {new}")
        self.start, self.end, self.new = start, end, new

    def _do(self) -> Changes:
        return self.ctx.project.annotations.relabel_entity(
            self.doc_id, self.start, self.end, self.new
        )


class SetClassesCommand(ChangeCommand):
    def __init__(
        self, ctx: QtProjectContext, doc_id: int, old: Sequence[str], new: Sequence[str]
    ) -> None:
        del old  # core records what was there
        super().__init__(ctx, doc_id, "set classes")
        self.new = list(new)

    def _do(self) -> Changes:
        return self.ctx.project.annotations.set_classes(self.doc_id, self.new)


class SetSentenceClassesCommand(ChangeCommand):
    """The classes of the sentence ``[start, end)`` (``()``: none)."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, start: int, end: int,
                 labels: Sequence[str]) -> None:
        labels = list(labels)
        super().__init__(ctx, doc_id, f"sentence {', '.join(labels)}" if labels
                         else "clear sentence")
        self.start, self.end, self.labels = start, end, labels
        self.focus = start

    def _do(self) -> Changes:
        return self.ctx.project.annotations.set_sentence_classes(
            self.doc_id, self.start, self.end, self.labels
        )


class SplitSentenceCommand(ChangeCommand):
    """Split the sentence holding code point ``at`` there (core snaps it to a word start)."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, at: int) -> None:
        super().__init__(ctx, doc_id, "split sentence")
        self.at = at
        self.focus = at

    def _do(self) -> Changes:
        return self.ctx.project.annotations.split_sentence(self.doc_id, self.at)


class MergeSentencesCommand(ChangeCommand):
    """Merge the sentence starting at ``start`` with the next one."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, start: int) -> None:
        super().__init__(ctx, doc_id, "merge sentences")
        self.start = start
        self.focus = start

    def _do(self) -> Changes:
        return self.ctx.project.annotations.merge_sentences(self.doc_id, self.start)


class AddQuestionCommand(ChangeCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, text: str) -> None:
        super().__init__(ctx, doc_id, "add question")
        self.question_text = text

    def _do(self) -> Changes:
        return self.ctx.project.annotations.add_question(self.doc_id, self.question_text)


class DeleteQuestionCommand(ChangeCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, question_id: int) -> None:
        super().__init__(ctx, doc_id, "delete question")
        self.question_id = question_id

    def _do(self) -> Changes:
        return self.ctx.project.annotations.remove_question(self.question_id)


class SetAnswerCommand(ChangeCommand):
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

    def _do(self) -> Changes:
        annotations = self.ctx.project.annotations
        if self.clear:
            return annotations.clear_answer(self.question_id)
        if self.start is None or self.end is None:
            return annotations.mark_no_answer(self.question_id)
        return annotations.set_answer(self.question_id, self.start, self.end)


class SetReviewStatusCommand(ChangeCommand):
    def __init__(self, ctx: QtProjectContext, doc_id: int, old: str, new: str) -> None:
        del old  # core records what was there
        super().__init__(ctx, doc_id, f"mark {new}")
        self.new = new

    def _do(self) -> Changes:
        return self.ctx.project.annotations.set_review_status(self.doc_id, self.new)


class DecideSuggestionsCommand(ChangeCommand):
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

    def _do(self) -> Changes:
        review = self.ctx.project.review
        if not self.accept:
            return review.reject(self.doc_id, self.ids)
        if self.label is not None and len(self.ids) == 1:
            return review.edit(self.doc_id, self.ids[0], label=self.label)
        return review.accept(self.doc_id, self.ids)


class AcceptAboveCommand(ChangeCommand):
    """Accept a document's pending ``kind`` suggestions at or above ``threshold``, in one
    write (refused, with core's message, when there is none)."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, kind: str, threshold: float) -> None:
        super().__init__(ctx, doc_id, f"accept all ≥ {threshold:.2f}")
        self.kind, self.threshold = kind, threshold

    def _do(self) -> Changes:
        return self.ctx.project.review.accept_above(self.doc_id, self.kind, self.threshold)


class AdjudicateCommand(ChangeCommand):
    """Write the gold labels of a double-annotated document from its layers
    (``project.team.gold_op``: the agreed items, and each disputed one as ``choices``
    names, ``None`` leaving it out); the document is marked reviewed. Undo takes the gold
    back whole (the labels it had before, its status)."""

    def __init__(self, ctx: QtProjectContext, doc_id: int,
                 choices: Mapping[str, str | None], *, force: bool = False) -> None:
        super().__init__(ctx, doc_id, "adjudicate")
        self.choices, self.force = dict(choices), force

    def _do(self) -> Changes:
        team = self.ctx.project.team
        return self.ctx.project.apply(team.gold_op(self.doc_id, self.choices, force=self.force))


class LabelAllCommand(ChangeCommand):
    """Label all occurrences of an entity's text (``project.review.label_all``): applied,
    undo is core's inverse (every added entity removed); suggested, undo withdraws the
    suggestions still pending and redo suggests again."""

    def __init__(self, ctx: QtProjectContext, doc_id: int, start: int, end: int, *,
                 suggest: bool) -> None:
        super().__init__(ctx, doc_id, "suggest all occurrences" if suggest
                         else "label all occurrences")
        self.start, self.end, self.suggest = start, end, suggest
        self._source: str | None = None

    def _do(self) -> Changes:
        review = self.ctx.project.review
        if not self.suggest:
            return review.label_all(self.doc_id, self.start, self.end,
                                    annotator=self.ctx.annotator)
        result = review.label_all(self.doc_id, self.start, self.end, suggest=True)
        self._source = result.source
        # No core inverse: undo withdraws the source's pending suggestions (below).
        return Changes(suggestions=True, kinds=frozenset({TaskKind.NER}),
                       messages=(f"{result.suggestions} occurrence(s) suggested",))

    def undo(self) -> None:
        if self.suggest and self._source is not None:
            try:
                n = self.ctx.project.review.withdraw_label_all(self._source)
            except AnnotatorError as exc:
                self.ctx.message.emit(str(exc))
                return
            self.ctx.announce(Changes(suggestions=True, kinds=frozenset({TaskKind.NER}),
                                      messages=(f"{n} suggestion(s) withdrawn",)))
            return  # a redo suggests afresh (_undone stays None, so redo calls _do)
        super().undo()
