"""What one change did, as a small frozen value the screens refresh from.

Like anki's ``OpChanges``: a screen looks at the flags it cares about (the document list at
``documents`` and ``review_status``, the label bar at ``labels``...) and ignores the rest.
``inverse`` is the operation that undoes the change, computed in core when it was made;
applying it returns a ``Changes`` whose ``inverse`` redoes the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from core.types import TaskKind

if TYPE_CHECKING:
    from core.project.edits import Op


@dataclass(frozen=True)
class Changes:
    """Which documents and kinds a change touched, what else changed, and its inverse."""

    documents: frozenset[int] = frozenset()
    kinds: frozenset[TaskKind] = frozenset()
    review_status: bool = False  # a document's reviewed / skipped status
    suggestions: bool = False  # suggestions decided, restored or stored
    labels: bool = False  # tasks or label sets
    document_set: bool = False  # documents added or removed
    models: bool = False  # model versions registered or activated
    inverse: Op | None = field(default=None, compare=False)
    messages: tuple[str, ...] = ()

    def touches(self, doc_id: int) -> bool:
        return doc_id in self.documents

    def merged(self, other: Changes) -> Changes:
        """Both changes, as one (the inverse is dropped: build a ``Batch`` for that)."""
        return Changes(
            documents=self.documents | other.documents,
            kinds=self.kinds | other.kinds,
            review_status=self.review_status or other.review_status,
            suggestions=self.suggestions or other.suggestions,
            labels=self.labels or other.labels,
            document_set=self.document_set or other.document_set,
            models=self.models or other.models,
            messages=self.messages + other.messages,
        )

    def with_inverse(self, inverse: Op | None) -> Changes:
        return replace(self, inverse=inverse)

    def with_message(self, message: str) -> Changes:
        return replace(self, messages=(*self.messages, message))


NO_CHANGES = Changes()


def document_changes(doc_id: int, *kinds: TaskKind, **flags: bool) -> Changes:
    return Changes(documents=frozenset({doc_id}), kinds=frozenset(kinds), **flags)
