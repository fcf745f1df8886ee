"""The interface of an annotation kind: everything particular to one thing a user labels.

One subclass per kind (:mod:`core.tasks.ner`, :mod:`core.tasks.classify`,
:mod:`core.tasks.qa`), one instance of each in the registry (:func:`core.tasks.kind_of`).
Code outside this package asks the kind instead of branching on :class:`TaskKind`.

The labelled rule lives here twice, as Python over a plain :class:`DocumentRecord` and as
one SQL clause over the ``documents`` table, and the two must agree (tests check both on
the same documents): a document is labelled for a kind when it carries labels of the kind,
or it was imported with labels for the kind (``DocumentRecord.labelled_for``, stored as
``document_tasks`` rows), or the user marked it done. Kinds whose training examples need a
target (a class, an answered question) ask for one as well.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from sqlalchemy import ColumnElement, text

from core.types import DocumentRecord, TaskKind

# The table name the ORM selects from; clauses for ORM queries are written against it.
DOCUMENTS = "documents"


def marked_sql(alias: str, kind: TaskKind) -> str:
    """SQL: the document ``alias`` is marked labelled for ``kind`` (imported so, or done)."""
    return (
        "EXISTS (SELECT 1 FROM document_tasks _dt WHERE _dt.document_id = "
        f"{alias}.id AND _dt.kind = '{kind.value}')"
    )


class AnnotationKind(ABC):
    """What is particular to one annotation kind. Instances hold no state."""

    kind: ClassVar[TaskKind]
    # The ``suggestions.kind`` value this kind's suggestions are stored under.
    suggestion_kind: ClassVar[str]

    # --- which documents are labelled ---------------------------------------------------

    @abstractmethod
    def is_labelled(self, record: DocumentRecord) -> bool:
        """Whether ``record`` is labelled for this kind (the rule in the module docstring)."""

    @abstractmethod
    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        """The same rule as one SQL boolean expression over the ``documents`` row
        ``alias`` (for raw SQL: ``f"... WHERE {kind.labelled_sql('d')}"``)."""

    def labelled_clause(self) -> ColumnElement[bool]:
        """The rule as a SQLAlchemy clause, for ``select(Document...).where(...)``."""
        return text(f"({self.labelled_sql(DOCUMENTS)})")  # type: ignore[return-value]

    def wants_labels_sql(self, alias: str = DOCUMENTS) -> str:
        """SQL: the document still wants labels of this kind (the review queue's
        candidates). By default: not labelled."""
        return f"NOT ({self.labelled_sql(alias)})"

    def predict_sql(self, alias: str = DOCUMENTS) -> str | None:
        """SQL: pre-annotation predicts the document (beyond "unreviewed, not test, not
        predicted by this version yet"); ``None``: no further condition."""
        return self.wants_labels_sql(alias)

    def is_example(self, record: DocumentRecord) -> bool:
        """Whether a document handed to the trainer yields a training example: the caller
        chose the documents, so only a missing target (no class, no answer) leaves one
        out."""
        return True
