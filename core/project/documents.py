"""``project.documents``: the document list (filter, search, pages), counts, one document
as a plain view, imports and exports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.project.changes import Changes
from core.project.queries import DocFilter, DocRow, filtered_ids, page_rows, status_counts
from core.project.views import CountsView, DocumentView, TaskInfo, read_document, read_tasks
from core.store import repo
from core.store.models import Document
from core.types import DocumentRecord, Split, TaskKind

if TYPE_CHECKING:
    from core.project.base import Project


@dataclass(frozen=True)
class ImportSummary:
    """What an import added (plain copy of the store's summary)."""

    documents_added: int
    duplicates: int
    annotations_added: int
    questions_added: int
    labels_added: tuple[str, ...]
    conflicts: tuple[str, ...]


class Documents:
    """Reading the project's documents. Any thread: every call opens its own session."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def tasks(self) -> dict[TaskKind, TaskInfo]:
        """The project's tasks and their label sets, in label order."""
        with self._project.read() as session:
            return read_tasks(session)

    def get(self, doc_id: int) -> DocumentView | None:
        """One document with its human labels and pending suggestions."""
        with self._project.read() as session:
            return read_document(session, doc_id)

    def filter(self, flt: DocFilter = DocFilter()) -> list[int]:  # noqa: B008
        """The ids of the documents matching ``flt``, in display order."""
        with self._project.read() as session:
            return filtered_ids(session, flt)

    def search(self, text: str, *, kind: TaskKind | None = None) -> list[int]:
        """The ids of the documents containing ``text``."""
        return self.filter(DocFilter(search=text, kind=kind))

    def page(
        self, ids: Sequence[int], *, kind: TaskKind | None = None, preview_chars: int = 80
    ) -> list[DocRow]:
        """The list rows of ``ids`` (in that order) as the view of ``kind`` shows them."""
        with self._project.read() as session:
            return page_rows(session, ids, preview_chars, kind)

    def heads(self, ids: Iterable[int], chars: int = 80) -> dict[int, tuple[str | None, str]]:
        """External id and the first ``chars`` characters of each document."""
        with self._project.read() as session:
            return {
                doc_id: (doc.external_id, doc.text[:chars])
                for doc_id in ids
                if (doc := session.get(Document, doc_id)) is not None
            }

    def counts(self, kind: TaskKind | None = None, annotator: str | None = None) -> CountsView:
        """Whole-project counts and the per-status counts of the view of ``kind`` (as
        ``annotator`` sees the list). A few hundred ms at 100,000 documents: callers run it
        on a worker thread."""
        with self._project.read() as session:
            return CountsView(dict(repo.stats(session)), status_counts(session, kind, annotator))

    def stats(self) -> dict[str, Any]:
        """Counts of documents, annotations, splits, review statuses and labels."""
        with self._project.read() as session:
            return dict(repo.stats(session))

    def records(
        self, *, split: Split | str | None = None, reviewed_only: bool = False
    ) -> list[DocumentRecord]:
        """Every document (of ``split``) as a plain record, for export."""
        with self._project.read() as session:
            return list(repo.iter_records(session, split=split, reviewed_only=reviewed_only))

    def add(
        self,
        records: Sequence[DocumentRecord],
        *,
        split: Split | str | None = None,
        multi_label: bool | None = None,
        annotator: str = "import",
    ) -> tuple[ImportSummary, Changes]:
        """Import ``records`` in one unit of work (all or nothing). Repeated texts are
        skipped; new labels are added to their task."""
        with self._project.write() as session:
            s = repo.add_documents(
                session, records, split=split, annotator=annotator, multi_label=multi_label
            )
        summary = ImportSummary(
            s.documents_added, s.duplicates, s.annotations_added, s.questions_added,
            tuple(s.labels_added), tuple(s.conflicts),
        )
        return summary, Changes(
            document_set=True, labels=bool(summary.labels_added), kinds=frozenset(TaskKind)
        )
