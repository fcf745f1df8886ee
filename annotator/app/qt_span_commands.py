"""The undoable edits of an entity's extent, attributes and relations: thin commands over
``project.annotations``.

Like every edit it is committed at once; core computes the inverse that undo applies (see
:class:`annotator.app.qt_commands.ChangeCommand`). A refused move (it would overlap another
entity...) reports why and leaves the undo stack.
"""

from __future__ import annotations

from collections.abc import Mapping

from annotator.app.qt_commands import ChangeCommand, QtProjectContext
from core.project import Changes
from core.project.edits import SetEntityAttributes


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


class SetEntityAttributesCommand(ChangeCommand):
    """Give the entity ``span`` (``(start, end)``) of a document these attribute ``values``
    (name -> value; the others keep theirs)."""

    def __init__(
        self, ctx: QtProjectContext, doc_id: int, span: tuple[int, int],
        values: Mapping[str, str], label: str,
    ) -> None:
        what = ", ".join(f"{name} {value}" for name, value in values.items())
        super().__init__(ctx, doc_id, f"{label}: {what}")
        self.span, self.values = span, dict(values)
        self.focus = span[0]  # undo and redo go back to the entity

    def _do(self) -> Changes:
        return self.ctx.project.apply(SetEntityAttributes(self.doc_id, *self.span, self.values))


class AddRelationCommand(ChangeCommand):
    """Link the entity ``head`` (``(start, end)``) of a document to the entity ``tail`` by
    the relation type ``label``."""

    def __init__(
        self, ctx: QtProjectContext, doc_id: int, head: tuple[int, int],
        tail: tuple[int, int], label: str,
    ) -> None:
        super().__init__(ctx, doc_id, f"link {label}")
        self.head, self.tail, self.label = head, tail, label
        self.focus = head[0]

    def _do(self) -> Changes:
        return self.ctx.project.annotations.add_relation(
            self.doc_id, self.head, self.tail, self.label
        )


class RemoveRelationCommand(ChangeCommand):
    """Remove the ``label`` relation from the entity ``head`` to the entity ``tail``."""

    def __init__(
        self, ctx: QtProjectContext, doc_id: int, head: tuple[int, int],
        tail: tuple[int, int], label: str,
    ) -> None:
        super().__init__(ctx, doc_id, f"remove {label}")
        self.head, self.tail, self.label = head, tail, label
        self.focus = head[0]

    def _do(self) -> Changes:
        return self.ctx.project.annotations.remove_relation(
            self.doc_id, self.head, self.tail, self.label
        )
