"""Entities: spans of the text with a label, trained as BIO token tagging."""

from __future__ import annotations

from core.tasks.base import DOCUMENTS, AnnotationKind, marked_sql
from core.types import DocumentRecord, TaskKind


class NerKind(AnnotationKind):
    """Entity spans. A document labelled for entities with no span in it is a true
    negative: it teaches "nothing here"."""

    kind = TaskKind.NER
    suggestion_kind = "entity"

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.spans) or TaskKind.NER in record.labelled_for

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "(EXISTS (SELECT 1 FROM entity_annotations _e WHERE _e.document_id = "
            f"{alias}.id) OR {marked_sql(alias, TaskKind.NER)})"
        )

    def predict_sql(self, alias: str = DOCUMENTS) -> str | None:
        # Every unreviewed document is predicted, partly labelled ones too: suggestions
        # that overlap a human span are dropped when stored.
        return None


NER = NerKind()
