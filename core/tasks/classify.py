"""Classes: one (or, multi-label, several) labels on a whole document."""

from __future__ import annotations

from core.tasks.base import DOCUMENTS, AnnotationKind
from core.types import DocumentRecord, TaskKind


class ClassifyKind(AnnotationKind):
    """Document classes. A document is labelled once it has a class: without one there is
    nothing to train on, whether or not it was imported or marked done."""

    kind = TaskKind.CLASSIFY
    suggestion_kind = "class"

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.classes)

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return f"EXISTS (SELECT 1 FROM class_annotations _c WHERE _c.document_id = {alias}.id)"

    def is_example(self, record: DocumentRecord) -> bool:
        return bool(record.classes)


CLASSIFY = ClassifyKind()
