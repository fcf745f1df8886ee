"""The undoable edge move of an entity: a thin command over ``project.annotations``.

Like every edit it is committed at once; core computes the inverse that undo applies (see
:class:`annotator.app.qt_commands.ChangeCommand`). A refused move (it would overlap another
entity...) reports why and leaves the undo stack.
"""

from __future__ import annotations

from annotator.app.qt_commands import ChangeCommand, QtProjectContext
from core.project import Changes


class ResizeEntityCommand(ChangeCommand):
    """Move the entity ``old`` of a document to ``new`` (both ``(start, end)``)."""

    def __init__(
        self, ctx: QtProjectContext, doc_id: int, old: tuple[int, int], new: tuple[int, int],
        label: str,
    ) -> None:
        super().__init__(ctx, doc_id, f"resize {label}")
        self.old, self.new = old, new

    def _do(self) -> Changes:
        return self.ctx.project.annotations.resize_entity(self.doc_id, *self.old, *self.new)
