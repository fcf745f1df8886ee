"""The undoable edge move of an entity: a thin QUndoCommand over the project facade
(``project.apply`` of :class:`core.span_edit.ResizeEntity`).

Redo applies the operation in its own transaction (committed at once, like every edit);
core returns the inverse, which undo applies (and whose own inverse a later redo applies).
A refused move (it would overlap another entity...) reports why and leaves the stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from core.errors import AnnotatorError
from core.span_edit import ResizeEntity

if TYPE_CHECKING:
    from annotator.app.qt_commands import QtProjectContext


class ResizeEntityCommand(QUndoCommand):
    """Move the entity ``old`` of a document to ``new`` (both ``(start, end)``)."""

    def __init__(
        self, ctx: QtProjectContext, doc_id: int, old: tuple[int, int], new: tuple[int, int], label: str
    ) -> None:
        super().__init__(f"resize {label}")
        self.ctx = ctx
        self.doc_id = doc_id
        self.failed = False
        self._next = ResizeEntity(doc_id, old[0], old[1], new[0], new[1])

    def _apply(self) -> None:
        try:
            changes = self.ctx.project.apply(self._next)
        except AnnotatorError as exc:
            self.failed = True
            self.setObsolete(True)
            self.ctx.message.emit(str(exc))
        else:
            self.failed = False
            assert isinstance(changes.inverse, ResizeEntity)
            self._next = changes.inverse
        self.ctx.documentChanged.emit(self.doc_id)

    def redo(self) -> None:
        self._apply()

    def undo(self) -> None:
        self._apply()
