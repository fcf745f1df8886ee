"""Importing documents with their labels into a project: validation, de-duplication by
content, merging of new labels into a known document, and conflicts reported, not applied.

Split from :mod:`core.store.repo` (which re-exports :func:`add_documents` and
:class:`ImportSummary`); like it, every function takes a ``session`` owned by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InputError
from core.store.attributes import attribute_specs, validation_problems
from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    EntityAnnotation,
    EntityAttribute,
    EntityRelation,
    Label,
    QuestionRow,
    SentenceClass,
    Task,
    utcnow,
)
from core.store.relations import relation_problem, relation_specs
from core.store.repo import (
    content_hash,
    ensure_labels,
    ensure_task,
    get_task,
    mark_labelled,
    overlapping_allowed,
)
from core.store.sentences import segment_document, store_sentences
from core.types import DocumentRecord, EntitySpan, Split, TaskKind

# The kinds whose task may be multi-label (a store-level fact: which table a row fills).
_CLASS_KINDS = (TaskKind.CLASSIFY, TaskKind.SENTENCE)

# --- documents ----------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import added; duplicates are documents whose text was already there."""

    documents_added: int = 0
    duplicates: int = 0
    annotations_added: int = 0
    questions_added: int = 0
    labels_added: list[str] = field(default_factory=list)
    # Labels on a repeated text that contradict the ones kept (the first seen wins):
    # "file:line: what" for each, so the user can check them.
    conflicts: list[str] = field(default_factory=list)


def _unencodable(value: object) -> str | None:
    """The first string inside ``value`` that cannot be stored as UTF-8 (a lone surrogate)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            bad = _unencodable(k) or _unencodable(v)
            if bad is not None:
                return bad
    elif isinstance(value, (list, tuple)):
        for v in value:
            bad = _unencodable(v)
            if bad is not None:
                return bad
    return None


def _validate_record(record: DocumentRecord) -> None:
    n = len(record.text)
    where_line = record.line

    def fail(problem: str) -> None:
        raise InputError(record.source, where_line, problem)

    fields: list[tuple[str, object]] = [
        ("the text", record.text),
        ("the id", record.external_id),
        ("a label", [sp.label for sp in record.spans]),
        ("a class", list(record.classes)),
        ("a question", [(q.text, q.external_id) for q in record.questions]),
        ("the metadata", record.meta),
    ]
    for what, value in fields:
        bad = _unencodable(value)
        if bad is not None:
            fail(
                f"{what} holds half of a character (an unpaired UTF-16 surrogate) in {bad!r}; "
                "the file was probably cut in the middle of an emoji or made by a broken exporter"
            )

    for span in record.spans:
        if not (0 <= span.start < span.end <= n):
            fail(f"entity [{span.start}, {span.end}) lies outside the text (length {n})")
        if not span.label.strip():
            fail("an entity has an empty label")
    for q in record.questions:
        if not q.text.strip():
            fail("a question is empty")
        for a in q.answers:
            if not (0 <= a.start < a.end <= n):
                fail(f"answer [{a.start}, {a.end}) lies outside the text (length {n})")
    for c in record.classes:
        if not c.strip():
            fail("a class label is empty")
    last = 0
    for sent in record.sentences:
        if not (0 <= sent.start < sent.end <= n):
            fail(f"sentence [{sent.start}, {sent.end}) lies outside the text (length {n})")
        if sent.start < last:
            fail(f"sentence [{sent.start}, {sent.end}) overlaps the one before it or is out "
                 "of order")
        last = sent.end
        if any(not lab.strip() for lab in sent.labels):
            fail(f"sentence [{sent.start}, {sent.end}) has an empty class label")


def _spans_overlap(spans: Sequence[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    ordered = sorted(spans)
    for (s1, e1), (s2, e2) in zip(ordered, ordered[1:]):
        if s2 < e1:
            return s1, e1, s2, e2
    return None


def _same_extent(spans: Sequence[EntitySpan]) -> tuple[EntitySpan, EntitySpan] | None:
    """Two spans of different labels with the same extent (two entities never share one; the
    same span and label twice is one entity)."""
    seen: dict[tuple[int, int], EntitySpan] = {}
    for sp in spans:
        first = seen.setdefault((sp.start, sp.end), sp)
        if first.label != sp.label:
            return first, sp
    return None


def add_documents(
    session: Session,
    records: Iterable[DocumentRecord],
    *,
    split: Split | str | None = None,
    annotator: str = "import",
    multi_label: bool | None = None,
    chunk_size: int = 500,
) -> ImportSummary:
    """Add documents with their labels. Texts already in the project are not duplicated;
    their new labels are merged in. Labels found in the data join the task's label set.

    Raises :class:`InputError` (naming file and line) on any bad record: the caller's
    transaction then rolls back, so an import is all or nothing.
    """
    importer = _Importer(session, split=split, annotator=annotator, multi_label=multi_label)
    chunk: list[DocumentRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= chunk_size:
            importer.add_chunk(chunk)
            chunk = []
    if chunk:
        importer.add_chunk(chunk)
    return importer.finish()


class _Importer:
    """The state of one import: tasks and label maps, looked up once."""

    def __init__(
        self, session: Session, *, split: Split | str | None, annotator: str,
        multi_label: bool | None,
    ) -> None:
        self.session = session
        self.split = Split(split).value if split else None
        self.annotator = annotator
        self.multi_label = multi_label
        self.summary = ImportSummary()
        self.tasks: dict[TaskKind, Task] = {}
        self.labels: dict[TaskKind, dict[str, Label]] = {}
        self.labels_before: dict[TaskKind, set[str]] = {}
        self.now = utcnow()
        self.attribute_specs = attribute_specs(session)
        self.relation_specs = relation_specs(session)
        # The NER task lets entities overlap and nest (init --overlapping): a record's
        # overlapping spans are kept; else they are refused, as two spans of one extent are.
        self.overlapping = overlapping_allowed(session)

    def task(self, kind: TaskKind) -> Task:
        if kind not in self.tasks:
            task = get_task(self.session, kind)
            if task is None:
                task = ensure_task(
                    self.session, kind,
                    multi_label=bool(self.multi_label) if kind in _CLASS_KINDS else False,
                )
            self.tasks[kind] = task
            self.labels[kind] = {label.name: label for label in task.labels}
            self.labels_before[kind] = set(self.labels[kind])
        return self.tasks[kind]

    def label_ids(self, kind: TaskKind, names: Iterable[str]) -> dict[str, int]:
        task = self.task(kind)
        missing = [n for n in dict.fromkeys(names) if n not in self.labels[kind]]
        if missing:
            self.labels[kind] = ensure_labels(self.session, task, missing)
        return {name: self.labels[kind][name].id for name in names}

    def add_chunk(self, records: list[DocumentRecord]) -> None:
        session = self.session
        for record in records:
            _validate_record(record)
            for sp in record.spans:
                problems = validation_problems(self.attribute_specs, sp.label, sp.attributes)
                if problems:
                    raise InputError(record.source, record.line,
                                     f"entity [{sp.start}, {sp.end}) {sp.label}: "
                                     + "; ".join(problems))
            self._check_relations(record)
            if self.overlapping:
                twice = _same_extent(record.spans)
                if twice is not None:
                    a, b = twice
                    raise InputError(
                        record.source, record.line,
                        f"entities [{a.start}, {a.end}) {a.label} and {b.label} have the same "
                        "extent; two entities never span exactly the same text (keep one)",
                    )
                continue
            overlap = _spans_overlap([(sp.start, sp.end) for sp in record.spans])
            if overlap is not None:
                raise InputError(
                    record.source,
                    record.line,
                    f"entities [{overlap[0]}, {overlap[1]}) and [{overlap[2]}, {overlap[3]}) "
                    "overlap; this project's entities do not overlap (annotator init PROJECT "
                    "--task ner --overlapping lets them overlap and nest)",
                )
        digests = [content_hash(r.text) for r in records]
        existing = {
            doc.content_hash: doc
            for doc in session.scalars(
                select(Document).where(Document.content_hash.in_(set(digests)))
            )
        }
        for record, digest in zip(records, digests):
            doc_split = self.split or (record.split.value if record.split else None)
            doc = existing.get(digest)
            if doc is None:
                doc = Document(
                    text=record.text,
                    external_id=record.external_id,
                    source=record.source,
                    meta=dict(record.meta),
                    content_hash=digest,
                    split=doc_split or "unassigned",
                )
                session.add(doc)
                existing[digest] = doc
                self.summary.documents_added += 1
                fresh = True
            else:
                self.summary.duplicates += 1
                if doc_split:
                    doc.split = doc_split
                fresh = doc.id is None
            if record.spans:
                self._add_spans(doc, record, fresh)
            if record.relations:
                self._add_relations(doc, record)
            if record.classes:
                self._add_classes(doc, record, fresh)
            if record.questions:
                self._add_questions(doc, record, fresh)
            if record.sentences or self.sentence_task() is not None:
                self._add_sentences(doc, record)
            if record.labelled_for:
                for kind in record.labelled_for:
                    self.task(kind)
                mark_labelled(session, doc, record.labelled_for, source="import")
        session.flush()

    def _add_spans(self, doc: Document, record: DocumentRecord, fresh: bool) -> None:
        ids = self.label_ids(TaskKind.NER, [sp.label for sp in record.spans])
        stored = {(a.start, a.end): a for a in doc.entities} if not fresh or doc.entities else {}
        have = set(stored)
        for span in record.spans:
            if (span.start, span.end) in have:
                known = stored.get((span.start, span.end))
                if known is not None and known.label_id != ids[span.label]:
                    self._conflict(
                        record,
                        f"entity [{span.start}, {span.end}) {span.label}: the document already "
                        f"has {known.label.name} there; kept {known.label.name}",
                    )
                elif known is not None:
                    self._merge_attributes(known, span, record)
                continue
            if not self.overlapping and any(s < span.end and span.start < e for s, e in have):
                self._conflict(
                    record,
                    f"entity [{span.start}, {span.end}) {span.label} overlaps another labelling "
                    "of the same text; kept the first",
                )
                continue
            entity = EntityAnnotation(
                label_id=ids[span.label], start=span.start, end=span.end,
                annotator=self.annotator, origin="imported", created_at=self.now,
            )
            for name, value in span.attributes.items():
                entity.attribute_values.append(self._attribute_row(name, value))
            doc.entities.append(entity)
            have.add((span.start, span.end))
            self.summary.annotations_added += 1

    def _check_relations(self, record: DocumentRecord) -> None:
        """Refuse (file and line) a relation that is not between two of the record's
        entities, links an entity to itself, or that the declared types do not allow."""
        for r in record.relations:
            if not (0 <= r.head < len(record.spans) and 0 <= r.tail < len(record.spans)):
                raise InputError(record.source, record.line, f"a {r.label} relation names "
                                 f"entity {max(r.head, r.tail)}, but the record has "
                                 f"{len(record.spans)}")
            head, tail = record.spans[r.head], record.spans[r.tail]
            where = (f"relation {r.label} from [{head.start}, {head.end}) {head.label} to "
                     f"[{tail.start}, {tail.end}) {tail.label}")
            if r.head == r.tail:
                raise InputError(record.source, record.line,
                                 f"{where}: links an entity to itself")
            if not self.relation_specs:
                raise InputError(record.source, record.line, f"{where}: the project declares "
                                 "no relation type (declare them first: annotator init ... "
                                 '--relation "name=Head>Tail")')
            problem = relation_problem(self.relation_specs, r.label, head.label, tail.label)
            if problem is not None:
                raise InputError(record.source, record.line, f"{where}: {problem}")

    def _add_relations(self, doc: Document, record: DocumentRecord) -> None:
        """The record's relations between its entities as the document now has them (a
        relation whose end was not stored, overlapping another labelling, is reported)."""
        entities = {(a.start, a.end): a for a in doc.entities}
        for r in record.relations:
            h, t = record.spans[r.head], record.spans[r.tail]
            head, tail = entities.get((h.start, h.end)), entities.get((t.start, t.end))
            if head is None or tail is None or head.label_id != self.labels[TaskKind.NER][
                    h.label].id or tail.label_id != self.labels[TaskKind.NER][t.label].id:
                self._conflict(record, f"relation {r.label} from [{h.start}, {h.end}) to "
                               f"[{t.start}, {t.end}): an end is labelled otherwise in the "
                               "project; left out")
                continue
            if any(x.tail is tail and x.label == r.label for x in head.relations_out):
                continue
            self.session.add(EntityRelation(
                head=head, tail=tail, label=r.label, annotator=self.annotator,
                origin="imported", created_at=self.now))
            self.summary.annotations_added += 1

    def _attribute_row(self, name: str, value: str) -> EntityAttribute:
        return EntityAttribute(name=name, value=value, annotator=self.annotator,
                               origin="imported", created_at=self.now)

    def _merge_attributes(self, entity: EntityAnnotation, span: EntitySpan,
                          record: DocumentRecord) -> None:
        """The attribute values of a span the project has already: those it lacks are
        added, contradicting ones reported (the first seen wins)."""
        rows = {row.name: row for row in entity.attribute_values}
        for name, value in span.attributes.items():
            row = rows.get(name)
            if row is None:
                entity.attribute_values.append(self._attribute_row(name, value))
            elif row.value != value:
                self._conflict(record, f"entity [{span.start}, {span.end}) {span.label}: "
                               f"{name}={value} contradicts {name}={row.value} given before; "
                               "kept the first")

    def _add_classes(self, doc: Document, record: DocumentRecord, fresh: bool) -> None:
        task = self.task(TaskKind.CLASSIFY)
        if len(set(record.classes)) > 1 and not task.multi_label:
            if self.multi_label is False:
                raise InputError(
                    record.source,
                    record.line,
                    f"{len(set(record.classes))} classes on one document, but the "
                    "classification task is single-label",
                )
            task.multi_label = True
        ids = self.label_ids(TaskKind.CLASSIFY, record.classes)
        have_ids = {c.label_id for c in doc.classes}
        if not task.multi_label and have_ids and ids[record.classes[0]] not in have_ids:
            self._conflict(
                record,
                f"class {record.classes[0]!r} contradicts the class already given to the same "
                "text; kept the first",
            )
            return
        for name in dict.fromkeys(record.classes):
            if ids[name] in have_ids:
                continue
            doc.classes.append(
                ClassAnnotation(
                    label_id=ids[name], annotator=self.annotator, origin="imported",
                    created_at=self.now,
                )
            )
            self.summary.annotations_added += 1

    def sentence_task(self) -> Task | None:
        """The sentence task if the project has one (then every document gets sentences)."""
        if TaskKind.SENTENCE not in self.tasks and get_task(self.session,
                                                            TaskKind.SENTENCE) is None:
            return None
        return self.task(TaskKind.SENTENCE)

    def _add_sentences(self, doc: Document, record: DocumentRecord) -> None:
        """The record's sentences (else the tool's segmentation) for a document that has
        none; then their classes, on the stored sentences with the same offsets."""
        if not doc.sentences:
            if record.sentences:
                store_sentences(doc, [(x.start, x.end) for x in record.sentences])
            else:
                segment_document(doc)
        labelled = [x for x in record.sentences if x.labels]
        if not labelled:
            return
        task = self.task(TaskKind.SENTENCE)
        if any(len(set(x.labels)) > 1 for x in labelled) and not task.multi_label:
            if self.multi_label is False:
                raise InputError(record.source, record.line,
                                 "a sentence has several classes, but the sentence task is "
                                 "single-label")
            task.multi_label = True
        ids = self.label_ids(TaskKind.SENTENCE, [lab for x in labelled for lab in x.labels])
        stored = {(row.start, row.end): row for row in doc.sentences}
        for x in labelled:
            row = stored.get((x.start, x.end))
            if row is None:
                self._conflict(record, f"sentence [{x.start}, {x.end}) is not a sentence of "
                               "the stored document (its sentences were split differently); "
                               "its classes were not imported")
                continue
            have = {c.label_id for c in row.classes}
            if not task.multi_label and have and ids[x.labels[0]] not in have:
                self._conflict(record, f"class {x.labels[0]!r} of sentence [{x.start}, "
                               f"{x.end}) contradicts the one already given; kept the first")
                continue
            for name in dict.fromkeys(x.labels):
                if ids[name] in have:
                    continue
                row.classes.append(SentenceClass(
                    label_id=ids[name], annotator=self.annotator, origin="imported",
                    created_at=self.now,
                ))
                self.summary.annotations_added += 1

    def _add_questions(self, doc: Document, record: DocumentRecord, fresh: bool) -> None:
        self.task(TaskKind.QA)
        # A question is the same one again when its id matches (or, without ids, its text).
        existing_q = {(q.external_id or q.text) for q in doc.questions}
        for q in record.questions:
            key = q.external_id or q.text
            if key in existing_q:
                continue
            row = QuestionRow(
                text=q.text,
                external_id=q.external_id,
                is_impossible=q.is_impossible and not q.answers,
                annotator=self.annotator,
                origin="imported",
                created_at=self.now,
            )
            for a in q.answers:
                row.answers.append(
                    AnswerAnnotation(
                        start=a.start, end=a.end, annotator=self.annotator, origin="imported",
                        created_at=self.now,
                    )
                )
                self.summary.annotations_added += 1
            doc.questions.append(row)
            existing_q.add(key)
            self.summary.questions_added += 1

    def _conflict(self, record: DocumentRecord, problem: str) -> None:
        where = f"{record.source or '<input>'}:{record.line}" if record.line else (record.source or "")
        self.summary.conflicts.append(f"{where}: {problem}".lstrip(": "))

    def finish(self) -> ImportSummary:
        self.session.flush()
        for kind, names in self.labels_before.items():
            for label in self.tasks[kind].labels:
                if label.name not in names:
                    self.summary.labels_added.append(label.name)
        return self.summary


