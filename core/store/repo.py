"""Operations on a project's data. Each takes a ``session``; the caller owns the transaction
(``with project.db.write() as session:``), so one user action is one unit of work."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session, selectinload

from core.errors import AnnotatorError
from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    DocumentTask,
    EntityAnnotation,
    Label,
    ProjectInfo,
    QuestionRow,
    Sentence,
    SentenceClass,
    Task,
    acting_annotator,
    originals,
    utcnow,
)
from core.types import (
    Answer,
    AttributeSpec,
    DocumentRecord,
    EntitySpan,
    Question,
    RelationSpec,
    Split,
    TaskKind,
)

# A palette that stays readable on light and dark backgrounds (Okabe-Ito plus extras).
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#8DD3C7", "#FB8072", "#80B1D3", "#FDB462", "#B3DE69", "#BC80BD", "#CCEBC5",
)
# Keys the desktop app keeps for review (accept, reject, next, previous, skip, unanswerable)
# are never handed out as label shortcuts.
RESERVED_KEYS = frozenset("ajkrsu")
SHORTCUTS = "".join(k for k in "123456789qwertyuiopasdfghjklzxcvbnm" if k not in RESERVED_KEYS)


class AnnotationError(AnnotatorError):
    """A labelling action that cannot be applied (overlap, offsets outside the text, ...)."""


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- tasks and labels -------------------------------------------------------------------


def get_task(session: Session, kind: TaskKind | str) -> Task | None:
    kind = TaskKind(kind).value
    return session.scalars(
        select(Task).where(Task.kind == kind).options(selectinload(Task.labels))
    ).first()


def require_task(session: Session, kind: TaskKind | str) -> Task:
    task = get_task(session, kind)
    if task is None:
        raise AnnotationError(
            f"the project has no {TaskKind(kind).value} task; add it first "
            f"(annotator init ... --task {TaskKind(kind).value})"
        )
    return task


def ensure_task(session: Session, kind: TaskKind | str, *, multi_label: bool = False) -> Task:
    task = get_task(session, kind)
    if task is None:
        task = Task(kind=TaskKind(kind).value, multi_label=multi_label, settings={})
        session.add(task)
        session.flush()
    return task


def ensure_labels(session: Session, task: Task, names: Iterable[str]) -> dict[str, Label]:
    """Add the labels not yet in the task's set (colour and shortcut chosen automatically)."""
    by_name = {label.name: label for label in task.labels}
    added = False
    for name in names:
        name = name.strip()
        if not name:
            raise AnnotationError("a label name cannot be empty")
        if name in by_name:
            continue
        used_keys = {label.shortcut for label in task.labels}
        key = next((k for k in SHORTCUTS if k not in used_keys), None)
        label = Label(
            name=name,
            color=PALETTE[len(task.labels) % len(PALETTE)],
            shortcut=key,
            position=len(task.labels),
        )
        task.labels.append(label)
        by_name[name] = label
        added = True
    if added:
        session.flush()
    return by_name


def update_label(
    session: Session,
    label_id: int,
    *,
    name: str | None = None,
    color: str | None = None,
    shortcut: str | None = None,
) -> Label:
    label = session.get(Label, label_id)
    if label is None:
        raise AnnotationError(f"no label with id {label_id}")
    if name is not None:
        name = name.strip()
        if not name:
            raise AnnotationError("a label name cannot be empty")
        clash = session.scalars(
            select(Label).where(Label.task_id == label.task_id, Label.name == name, Label.id != label.id)
        ).first()
        if clash is not None:
            raise AnnotationError(f"the label {name!r} exists already")
        label.name = name
    if color is not None:
        label.color = color
    if shortcut is not None:
        if shortcut:
            clash = session.scalars(
                select(Label).where(
                    Label.task_id == label.task_id, Label.shortcut == shortcut, Label.id != label.id
                )
            ).first()
            if clash is not None:
                raise AnnotationError(f"the key {shortcut!r} is already used by {clash.name!r}")
        label.shortcut = shortcut or None
    session.flush()
    return label


def delete_label(session: Session, label_id: int) -> None:
    """Delete a label and every annotation that uses it."""
    label = session.get(Label, label_id)
    if label is None:
        raise AnnotationError(f"no label with id {label_id}")
    session.delete(label)
    session.flush()


def project_name(session: Session) -> str:
    info = session.scalars(select(ProjectInfo)).first()
    return info.name if info else ""


def set_split(session: Session, doc_ids: Iterable[int], split: Split | str) -> None:
    value = Split(split).value
    for doc_id in doc_ids:
        doc = _document(session, doc_id)
        doc.split = value


def set_review_status(session: Session, doc_id: int, status: str) -> Document:
    """Set a document's review status. "reviewed" marks it done: labelled for every task of
    the project, with or without labels in it (a ``user`` mark in ``document_tasks``);
    any other status takes the user's marks away again (marks from an import stay)."""
    if status not in ("unreviewed", "reviewed", "skipped"):
        raise AnnotationError(f"unknown review status {status!r}")
    doc = _document(session, doc_id)
    doc.review_status = status
    doc.reviewed_at = utcnow() if status == "reviewed" else None
    doc.reviewed_by = None if status == "unreviewed" else acting_annotator()
    if status == "reviewed":
        kinds = [TaskKind(k) for k in session.scalars(select(Task.kind))]
        mark_labelled(session, doc, kinds, source="user")
    else:
        for mark in [m for m in doc.task_marks if m.source == "user"]:
            doc.task_marks.remove(mark)
    session.flush()
    return doc


def mark_labelled(
    session: Session, doc: Document, kinds: Iterable[TaskKind], *, source: str
) -> None:
    """Record that ``doc`` is labelled for ``kinds`` as a whole (``source``: "import" or
    "user"); marks it has already are kept as they are."""
    have = {(m.kind, m.source) for m in doc.task_marks}
    for kind in kinds:
        if (kind.value, source) not in have:
            doc.task_marks.append(DocumentTask(kind=kind.value, source=source))
            have.add((kind.value, source))


def _document(session: Session, doc_id: int) -> Document:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise AnnotationError(f"no document with id {doc_id}")
    return doc


def _label(session: Session, kind: TaskKind, name: str) -> Label:
    task = require_task(session, kind)
    for label in task.labels:
        if label.name == name:
            return label
    raise AnnotationError(f"the {kind.value} task has no label {name!r}")


# --- entity annotations ------------------------------------------------------------------

# The NER task's ``settings`` key that lets its entities overlap and nest (issue 13; absent:
# False, the default, entities never overlap). Two entities never share the same extent.
OVERLAPPING_KEY = "overlapping"


def overlapping_allowed(session: Session) -> bool:
    """Whether the project's NER task lets entities overlap and nest (``init --overlapping``)."""
    settings = session.scalars(
        select(Task.settings).where(Task.kind == TaskKind.NER.value)
    ).first()
    return _overlap_allowed_in(settings)


def _overlap_allowed_in(settings: dict | None) -> bool:
    return bool((settings or {}).get(OVERLAPPING_KEY, False))


@dataclass(frozen=True)
class Declarations:
    """What the NER task declares that a document's record depends on: its attributes, its
    relation types, and whether its entities may overlap. Read once for a batch of
    documents (:func:`declarations`), not once a document (two queries each)."""

    attributes: tuple[AttributeSpec, ...] = ()
    relations: tuple[RelationSpec, ...] = ()
    overlapping: bool = False


def declarations(session: Session) -> Declarations:
    """The NER task's :class:`Declarations` as stored now (all empty without a NER task)."""
    from core.store import attributes, relations

    task = session.scalars(select(Task).where(Task.kind == TaskKind.NER.value)).first()
    return Declarations(attributes.specs_of(task), relations.specs_of(task),
                        _overlap_allowed_in(task.settings if task else None))


def set_overlapping_allowed(session: Session, allowed: bool) -> None:
    """Let the NER task's entities overlap (``allowed``) or not. The caller refuses to
    switch it off while entities overlap (:func:`first_overlap`)."""
    task = require_task(session, TaskKind.NER)
    settings = dict(task.settings or {})
    if allowed:
        settings[OVERLAPPING_KEY] = True
    else:
        settings.pop(OVERLAPPING_KEY, None)
    task.settings = settings  # a new dict: the JSON column sees the change
    session.flush()


def first_overlap(
    session: Session, doc_ids: Sequence[int] | None = None,
) -> tuple[EntityAnnotation, EntityAnnotation] | None:
    """Two entities of one document that overlap (the first document by id, the earliest
    pair there), or None; ``doc_ids`` limits the search."""
    from sqlalchemy.orm import aliased

    other = aliased(EntityAnnotation)
    stmt = (
        select(EntityAnnotation, other)
        .join(other, (other.document_id == EntityAnnotation.document_id)
              & (other.id != EntityAnnotation.id)
              & (other.start < EntityAnnotation.end) & (EntityAnnotation.start < other.end)
              & ((EntityAnnotation.start < other.start)
                 | ((EntityAnnotation.start == other.start)
                    & (EntityAnnotation.id < other.id))))
        .order_by(EntityAnnotation.document_id, EntityAnnotation.start, other.start,
                  EntityAnnotation.id, other.id)
        .limit(1)
    )
    if doc_ids is not None:
        stmt = stmt.where(EntityAnnotation.document_id.in_(list(doc_ids)))
    row = session.execute(stmt).first()
    return None if row is None else (row[0], row[1])


def describe_overlap(doc: Document, a: EntityAnnotation | EntitySpan,
                     b: EntityAnnotation | EntitySpan) -> str:
    """``document 'n1' (id 3): [0, 15) Condition 'left lower lobe' and ...``, for messages."""
    name = f"{doc.external_id!r} (id {doc.id})" if doc.external_id else f"id {doc.id}"

    def one(x: EntityAnnotation | EntitySpan) -> str:
        label = x.label if isinstance(x, EntitySpan) else x.label.name
        return f"[{x.start}, {x.end}) {label} {doc.text[x.start:x.end]!r}"

    return f"document {name}: {one(a)} and {one(b)}"


def check_entity_span(doc: Document, start: int, end: int, *,
                      moving: EntityAnnotation | None = None,
                      overlapping: bool | None = None) -> None:
    """Refuse ``[start, end)`` as an entity of ``doc``: outside the text, only white space,
    the extent of another entity, or (unless ``overlapping``: the project lets entities
    overlap, read from ``doc``'s session when None) overlapping another entity.
    ``moving``, the entity being moved, does not count."""
    if not (0 <= start < end <= len(doc.text)):
        raise AnnotationError(
            f"span [{start}, {end}) lies outside the document (length {len(doc.text)})"
        )
    if not doc.text[start:end].strip():
        raise AnnotationError("an entity cannot be only white space")
    if overlapping is None:
        session = Session.object_session(doc)
        overlapping = session is not None and overlapping_allowed(session)
    for other in doc.entities:
        if other is moving or not (other.start < end and start < other.end):
            continue
        if not overlapping:
            raise AnnotationError(
                f"overlaps the {other.label.name} entity "
                f"{doc.text[other.start:other.end]!r}; change or delete that one first"
            )
        if (other.start, other.end) == (start, end):
            raise AnnotationError(
                f"an entity already spans exactly {doc.text[start:end]!r} [{start}, {end}) "
                f"(the {other.label.name} one): two entities never share an extent; "
                "relabel that one instead"
            )


def add_entity(
    session: Session,
    doc_id: int,
    start: int,
    end: int,
    label: str,
    *,
    annotator: str | None = None,
    origin: str = "human",
    suggestion_id: int | None = None,
) -> EntityAnnotation:
    """Label ``text[start:end]``. Refuses offsets outside the text, the extent of another
    entity and (unless the project allows overlaps) overlapping spans."""
    doc = _document(session, doc_id)
    check_entity_span(doc, start, end)
    row = EntityAnnotation(
        document_id=doc.id,
        label_id=_label(session, TaskKind.NER, label).id,
        start=start,
        end=end,
        annotator=annotator,
        origin=origin,
        suggestion_id=suggestion_id,
    )
    session.add(row)
    doc.entities.append(row)
    session.flush()
    return row


def delete_entity(session: Session, entity_id: int) -> None:
    row = session.get(EntityAnnotation, entity_id)
    if row is None:
        raise AnnotationError(f"no entity with id {entity_id}")
    session.delete(row)
    session.flush()


def relabel_entity(session: Session, entity_id: int, label: str) -> EntityAnnotation:
    row = session.get(EntityAnnotation, entity_id)
    if row is None:
        raise AnnotationError(f"no entity with id {entity_id}")
    row.label_id = _label(session, TaskKind.NER, label).id
    session.flush()
    return row


# --- class annotations -------------------------------------------------------------------


def set_classes(
    session: Session,
    doc_id: int,
    labels: Sequence[str],
    *,
    annotator: str | None = None,
    origin: str = "human",
    suggestion_id: int | None = None,
) -> list[ClassAnnotation]:
    """Make ``labels`` the document's classes (replacing the previous ones)."""
    task = require_task(session, TaskKind.CLASSIFY)
    if len(labels) > 1 and not task.multi_label:
        raise AnnotationError("the classification task is single-label: choose one class")
    doc = _document(session, doc_id)
    wanted = {_label(session, TaskKind.CLASSIFY, name).id for name in labels}
    kept = []
    for row in list(doc.classes):
        if row.label_id in wanted:
            wanted.discard(row.label_id)
            kept.append(row)
        else:
            doc.classes.remove(row)
            session.delete(row)
    for label_id in wanted:
        row = ClassAnnotation(
            document_id=doc.id, label_id=label_id, annotator=annotator, origin=origin,
            suggestion_id=suggestion_id,
        )
        doc.classes.append(row)
        kept.append(row)
    session.flush()
    return kept


# --- questions and answers ---------------------------------------------------------------


def add_question(
    session: Session, doc_id: int, text: str, *, annotator: str | None = None
) -> QuestionRow:
    doc = _document(session, doc_id)
    if not text.strip():
        raise AnnotationError("a question cannot be empty")
    row = QuestionRow(document_id=doc.id, text=text.strip(), annotator=annotator, origin="human")
    doc.questions.append(row)
    session.flush()
    return row


def _question(session: Session, question_id: int) -> QuestionRow:
    row = session.get(QuestionRow, question_id)
    if row is None:
        raise AnnotationError(f"no question with id {question_id}")
    return row


def set_answer(
    session: Session,
    question_id: int,
    start: int | None,
    end: int | None,
    *,
    annotator: str | None = None,
    origin: str = "human",
    suggestion_id: int | None = None,
) -> QuestionRow:
    """Set the question's answer to ``text[start:end]``; ``None`` offsets mean "no answer"."""
    q = _question(session, question_id)
    q.answers.clear()
    if start is None or end is None:
        q.is_impossible = True
    else:
        text = q.document.text
        if not (0 <= start < end <= len(text)):
            raise AnnotationError(f"answer [{start}, {end}) lies outside the passage")
        q.is_impossible = False
        q.answers.append(
            AnswerAnnotation(
                start=start, end=end, annotator=annotator, origin=origin,
                suggestion_id=suggestion_id,
            )
        )
    session.flush()
    return q


def clear_answer(session: Session, question_id: int) -> QuestionRow:
    q = _question(session, question_id)
    q.answers.clear()
    q.is_impossible = False
    session.flush()
    return q


def delete_question(session: Session, question_id: int) -> None:
    session.delete(_question(session, question_id))
    session.flush()


# --- reading --------------------------------------------------------------------------------


def document_record(
    doc: Document, specs: Sequence[AttributeSpec] | None = None, *,
    relation_specs: Sequence[RelationSpec] | None = None,
) -> DocumentRecord:
    """A plain, thread-safe copy of a document and its human labels; each entity with the
    value of every attribute that applies to it (``specs``: the declaration, read from the
    document's session when not given), and the relations between them that their types
    allow (``relation_specs``: likewise)."""
    from core.store import relations
    from core.store.attributes import attribute_specs, entity_attributes

    session = Session.object_session(doc)
    if specs is None:
        specs = attribute_specs(session) if session is not None else ()
    if relation_specs is None:
        relation_specs = relations.relation_specs(session) if session is not None else ()
    # In text order (nested ones, of an overlapping task, by end too); the relations are
    # indices into the same order.
    entities = sorted(doc.entities, key=lambda a: (a.start, a.end))
    return DocumentRecord(
        text=doc.text,
        external_id=doc.external_id,
        spans=tuple(
            EntitySpan(a.start, a.end, a.label.name,
                       entity_attributes(a, specs) if specs else {})
            for a in entities
        ),
        classes=tuple(c.label.name for c in doc.classes),
        questions=tuple(
            Question(
                text=q.text,
                answers=tuple(Answer(a.start, a.end, doc.text[a.start : a.end]) for a in q.answers),
                is_impossible=q.is_impossible,
                external_id=q.external_id,
            )
            for q in doc.questions
        ),
        sentences=sentence_labels(doc),
        split=Split(doc.split),
        meta=dict(doc.meta or {}),
        source=doc.source,
        doc_id=doc.id,
        labelled_for=frozenset(TaskKind(m.kind) for m in doc.task_marks),
        relations=relations.record_relations(entities, relation_specs),
    )


def with_record_loads(stmt):  # type: ignore[no-untyped-def]
    """``stmt`` (a select of documents) loading, in a few queries for all of them, what
    :func:`document_record` reads of each document (not one query per document)."""
    return stmt.options(
        selectinload(Document.entities).selectinload(EntityAnnotation.label),
        selectinload(Document.entities).selectinload(EntityAnnotation.attribute_values),
        selectinload(Document.entities).selectinload(EntityAnnotation.relations_out),
        selectinload(Document.classes).selectinload(ClassAnnotation.label),
        selectinload(Document.questions).selectinload(QuestionRow.answers),
        selectinload(Document.task_marks),
        selectinload(Document.sentences).selectinload(Sentence.classes)
        .selectinload(SentenceClass.label),
    )


def iter_records(
    session: Session,
    *,
    split: Split | str | None = None,
    reviewed_only: bool = False,
    doc_ids: Sequence[int] | None = None,
    where: ColumnElement[bool] | None = None,
    batch: int = 1000,
) -> Iterable[DocumentRecord]:
    """Yield the project's documents as plain records, in id order, a batch at a time
    (``where``: a further condition on the ``documents`` row, e.g. a kind's labelled
    rule). Annotators' layers (copies of double-annotated documents) are left out unless
    ``doc_ids`` names them."""
    declared = declarations(session)
    last = 0
    while True:
        stmt = select(Document).where(Document.id > last).order_by(Document.id).limit(batch)
        if split is not None:
            stmt = stmt.where(Document.split == Split(split).value)
        if reviewed_only:
            stmt = stmt.where(Document.review_status == "reviewed")
        if doc_ids is not None:
            stmt = stmt.where(Document.id.in_(list(doc_ids)))
        else:
            stmt = stmt.where(originals())
        if where is not None:
            stmt = stmt.where(where)
        docs = session.scalars(with_record_loads(stmt)).all()
        if not docs:
            return
        for doc in docs:
            yield document_record(doc, declared.attributes, relation_specs=declared.relations)
        last = docs[-1].id


def delete_documents(session: Session, doc_ids: Iterable[int]) -> int:
    ids = list(doc_ids)
    result = session.execute(delete(Document).where(Document.id.in_(ids)))
    return int(result.rowcount or 0)


# --- training runs ---------------------------------------------------------------------------


def this_process() -> tuple[int, str]:
    import os
    import socket

    return os.getpid(), socket.gethostname()


def _process_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def mark_interrupted_runs(session: Session) -> list[int]:
    """Mark "running" training runs whose process is gone (killed, crashed, machine
    restarted) as failed, so no run stays "running" forever. Runs started on another
    machine are left alone unless they have no process recorded. Returns their ids."""
    from core.store.models import TrainingRun

    pid_now, host_now = this_process()
    marked = []
    for run in session.scalars(select(TrainingRun).where(TrainingRun.status == "running")):
        if run.pid is not None and run.host not in (None, host_now):
            continue
        if run.pid is not None and (run.pid == pid_now or _process_alive(run.pid)):
            continue
        run.status = "failed"
        run.error = "interrupted: the program running it stopped before the run finished"
        run.finished_at = utcnow()
        marked.append(run.id)
    session.flush()
    return marked


# Importing lives in its own module; these names stay importable from here.
from core.store.importing import ImportSummary, add_documents  # noqa: E402, F401
from core.store.sentences import sentence_labels  # noqa: E402
from core.store.stats import label_counts, seconds_per_annotation, stats  # noqa: E402, F401
