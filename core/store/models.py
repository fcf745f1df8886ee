"""The project's tables: SQLAlchemy 2.0 typed ORM models.

One SQLite file holds one project. Character offsets (Python code points) into
``Document.text`` are the one truth for every span.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The kinds a task, a mark, a timing and a suggestion may be of (schema 5 added
# 'sentence', schema 7 'attribute', schema 9 'relation'); the CHECK constraints are written
# from these.
KINDS_SQL = "('ner', 'classify', 'qa', 'sentence', 'attribute', 'relation')"
SUGGESTION_KINDS_SQL = "('entity', 'class', 'answer', 'sentence', 'attribute', 'relation')"
# The tables whose rows an undo puts back under their old ids (labels, questions,
# suggestions; core.project.ops): a deleted row's id must never be handed to a new row
# meanwhile, or the undo meets a UNIQUE conflict. SQLite reuses the largest id once its
# row is gone unless the table is AUTOINCREMENT (schema 11); PostgreSQL's sequences never
# go back.
NEVER_REUSED_IDS = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Who is acting: every label, decision and status written without a name gets this one
# (``Project.write`` sets it from ``Project.annotator``; "user" when nobody said).
_ACTING: ContextVar[str] = ContextVar("acting_annotator", default="user")


def acting_annotator() -> str:
    return _ACTING.get()


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Write as ``name`` inside the block (``None``: as whoever acts already)."""
    if not name:
        yield
        return
    token = _ACTING.set(name)
    try:
        yield
    finally:
        _ACTING.reset(token)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    """Key/value facts about the file itself (schema version, creating app version)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ProjectInfo(Base):
    """The project's single row: its name and free settings."""

    __tablename__ = "project"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Task(Base):
    """A labelling task switched on for the project: ner, classify or qa."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), unique=True)
    multi_label: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    labels: Mapped[list[Label]] = relationship(
        back_populates="task", order_by="Label.position", cascade="all, delete-orphan"
    )
    __table_args__ = (CheckConstraint(f"kind IN {KINDS_SQL}", name="task_kind"),)


class Label(Base):
    """One label of a task's label set, with its colour and keyboard shortcut."""

    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    color: Mapped[str] = mapped_column(String(16))
    shortcut: Mapped[str | None] = mapped_column(String(16), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    task: Mapped[Task] = relationship(back_populates="labels")
    __table_args__ = (
        UniqueConstraint("task_id", "name", name="label_name_unique"), NEVER_REUSED_IDS)


class Document(Base):
    """A text to label. ``content_hash`` keeps re-imports from duplicating it."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(500), default=None)
    source: Mapped[str | None] = mapped_column(Text, default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    split: Mapped[str] = mapped_column(String(16), default="unassigned")
    review_status: Mapped[str] = mapped_column(String(16), default="unreviewed")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Schema 8, team work: a document labelled by two annotators independently has one
    # copy per annotator, their layer (``layer_of`` the original, ``layer`` the annotator);
    # the original holds the gold labels (adjudicated). Copies are never listed, trained
    # on, predicted or exported as documents of their own: ``originals()`` is the filter.
    layer_of: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), default=None
    )
    layer: Mapped[str | None] = mapped_column(String(100), default=None)
    # Who set the review status (schema 10; None while unreviewed). Columns in the order
    # the upgrades add them, so an upgraded file's tables read as a new file's.
    reviewed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    entities: Mapped[list[EntityAnnotation]] = relationship(
        # Nested entities (an overlapping task) may share a start: the shorter first.
        back_populates="document", cascade="all, delete-orphan",
        order_by=lambda: (EntityAnnotation.start, EntityAnnotation.end),
    )
    classes: Mapped[list[ClassAnnotation]] = relationship(
        back_populates="document", cascade="all, delete-orphan"
    )
    questions: Mapped[list[QuestionRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="QuestionRow.id"
    )
    task_marks: Mapped[list[DocumentTask]] = relationship(
        back_populates="document", cascade="all, delete-orphan"
    )
    sentences: Mapped[list[Sentence]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="Sentence.start"
    )
    __table_args__ = (
        CheckConstraint("split IN ('train', 'dev', 'test', 'unassigned')", name="doc_split"),
        CheckConstraint("review_status IN ('unreviewed', 'reviewed', 'skipped')", name="doc_status"),
        Index("ix_documents_split_status", "split", "review_status"),
        Index("ix_documents_external_id", "external_id"),
        Index("ix_documents_layer_of", "layer_of"),
    )


def originals() -> Any:
    """The clause that keeps the documents themselves and leaves out annotators' layers
    (``select(Document).where(originals())``)."""
    return Document.layer_of.is_(None)


class Assignment(Base):
    """Who labels a document (schema 8): one row per annotator given the document; two rows
    for a double-annotated one (whose copies are the annotators' layers)."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("document_id", "annotator", name="assignment_unique"),
        Index("ix_assignments_annotator", "annotator"),
    )


class DocumentTask(Base):
    """A document labelled for a kind as a whole (schema 3), with or without labels of the
    kind in it: ``source`` is ``import`` (the file said so: a CoNLL sentence of only ``O``
    tags) or ``user`` (marked done). The labelled rule of each kind reads it
    (:mod:`core.tasks`). Keyed by the kind's name, not a task row, so a mark does not
    depend on the task having been created first."""

    __tablename__ = "document_tasks"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    document: Mapped[Document] = relationship(back_populates="task_marks")
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS_SQL}", name="document_task_kind"),
        CheckConstraint("source IN ('import', 'user')", name="document_task_source"),
    )


class _Authored:
    """Who made an annotation, when, and whether it came from the model."""

    annotator: Mapped[str] = mapped_column(String(100), default=acting_annotator)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # human | imported | accepted (suggestion as is) | edited (suggestion changed)
    origin: Mapped[str] = mapped_column(String(16), default="human")
    suggestion_id: Mapped[int | None] = mapped_column(
        ForeignKey("suggestions.id", ondelete="SET NULL"), default=None
    )


class EntityAnnotation(_Authored, Base):
    """A human entity span: ``document.text[start:end]`` is a ``label``."""

    __tablename__ = "entity_annotations"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    document: Mapped[Document] = relationship(back_populates="entities")
    label: Mapped[Label] = relationship()
    attribute_values: Mapped[list[EntityAttribute]] = relationship(
        back_populates="entity", cascade="all, delete-orphan", passive_deletes=True,
        order_by="EntityAttribute.name",
    )
    # Relations this entity is the head of / the tail of (schema 9).
    relations_out: Mapped[list[EntityRelation]] = relationship(
        back_populates="head", cascade="all, delete-orphan", passive_deletes=True,
        foreign_keys="EntityRelation.head_id", order_by="EntityRelation.id",
    )
    relations_in: Mapped[list[EntityRelation]] = relationship(
        back_populates="tail", cascade="all, delete-orphan", passive_deletes=True,
        foreign_keys="EntityRelation.tail_id", order_by="EntityRelation.id",
    )
    __table_args__ = (
        CheckConstraint("start >= 0 AND start < \"end\"", name="entity_offsets"),
        Index("ix_entity_doc", "document_id"),
    )


class EntityAttribute(_Authored, Base):
    """The value an entity was given for one attribute (schema 7). An entity without a row
    for an attribute that applies to its label has the attribute's default. The attributes
    themselves are declared on the NER task (``tasks.settings["attributes"]``,
    :mod:`core.store.attributes`); a row whose attribute no longer applies to the entity's
    label is kept but not read."""

    __tablename__ = "entity_attributes"
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(
        ForeignKey("entity_annotations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(200))
    entity: Mapped[EntityAnnotation] = relationship(back_populates="attribute_values")
    __table_args__ = (
        UniqueConstraint("entity_id", "name", name="entity_attribute_unique"),
        Index("ix_entity_attribute_entity", "entity_id"),
    )


class EntityRelation(_Authored, Base):
    """A relation of type ``label`` from the entity ``head`` to the entity ``tail`` of the
    same document (schema 9). The types are declared on the NER task
    (``tasks.settings["relations"]``, :mod:`core.store.relations`); a row whose type is no
    longer declared or whose ends' labels the type no longer allows is kept but not read.
    Deleting either entity deletes the relation (``ON DELETE CASCADE``)."""

    __tablename__ = "entity_relations"
    id: Mapped[int] = mapped_column(primary_key=True)
    head_id: Mapped[int] = mapped_column(
        ForeignKey("entity_annotations.id", ondelete="CASCADE")
    )
    tail_id: Mapped[int] = mapped_column(
        ForeignKey("entity_annotations.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(200))
    head: Mapped[EntityAnnotation] = relationship(
        back_populates="relations_out", foreign_keys=[head_id])
    tail: Mapped[EntityAnnotation] = relationship(
        back_populates="relations_in", foreign_keys=[tail_id])
    __table_args__ = (
        UniqueConstraint("head_id", "tail_id", "label", name="entity_relation_unique"),
        CheckConstraint("head_id <> tail_id", name="entity_relation_ends"),
        # (head_id first in the unique index serves lookups by the head)
        Index("ix_entity_relation_tail", "tail_id"),
    )


class ClassAnnotation(_Authored, Base):
    """A human class label on a whole document."""

    __tablename__ = "class_annotations"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    document: Mapped[Document] = relationship(back_populates="classes")
    label: Mapped[Label] = relationship()
    __table_args__ = (
        UniqueConstraint("document_id", "label_id", name="class_unique"),
        Index("ix_class_doc", "document_id"),
    )


class Sentence(Base):
    """One sentence of a document, ``document.text[start:end]`` (schema 5). Stored once,
    when the document is stored or the sentence task is added, so labels never shift;
    the user may split or merge sentences (:mod:`core.project.sentences`)."""

    __tablename__ = "sentences"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    document: Mapped[Document] = relationship(back_populates="sentences")
    classes: Mapped[list[SentenceClass]] = relationship(
        back_populates="sentence", cascade="all, delete-orphan"
    )
    __table_args__ = (
        CheckConstraint("start >= 0 AND start < \"end\"", name="sentence_offsets"),
        UniqueConstraint("document_id", "start", name="sentence_unique"),
        Index("ix_sentence_doc", "document_id"),
    )


class SentenceClass(_Authored, Base):
    """A human class label on one sentence of a document (schema 5)."""

    __tablename__ = "sentence_classes"
    id: Mapped[int] = mapped_column(primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    sentence: Mapped[Sentence] = relationship(back_populates="classes")
    label: Mapped[Label] = relationship()
    __table_args__ = (
        UniqueConstraint("sentence_id", "label_id", name="sentence_class_unique"),
        Index("ix_sentence_class_sentence", "sentence_id"),
    )


class QuestionRow(_Authored, Base):
    """A question about a document. Its answers are ``AnswerAnnotation`` rows;
    ``is_impossible`` marks "no answer in this passage"."""

    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    is_impossible: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[Document] = relationship(back_populates="questions")
    answers: Mapped[list[AnswerAnnotation]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="AnswerAnnotation.id"
    )
    __table_args__ = (Index("ix_question_doc", "document_id"), NEVER_REUSED_IDS)


class AnswerAnnotation(_Authored, Base):
    """A human answer span ``document.text[start:end]`` to a question."""

    __tablename__ = "answer_annotations"
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    question: Mapped[QuestionRow] = relationship(back_populates="answers")
    __table_args__ = (
        CheckConstraint("start >= 0 AND start < \"end\"", name="answer_offsets"),
        Index("ix_answer_question", "question_id"),
    )


class ModelVersion(Base):
    """A trained model on disk (safetensors + tokenizer + label maps)."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    base_model: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    labels: Mapped[list[Any]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    task: Mapped[Task] = relationship()
    __table_args__ = (UniqueConstraint("task_id", "version", name="model_version_unique"),)


class TrainingRun(Base):
    """One training run: its settings, per-epoch table, status and log."""

    __tablename__ = "training_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # running | completed | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="running")
    epochs: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The process running it (schema 2): a "running" run whose process is gone was
    # interrupted, and is marked so when the project is opened again.
    pid: Mapped[int | None] = mapped_column(Integer, default=None)
    host: Mapped[str | None] = mapped_column(String(255), default=None)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    task: Mapped[Task] = relationship()
    model_version: Mapped[ModelVersion | None] = relationship()


class Suggestion(Base):
    """A model's proposal awaiting review.

    ``kind`` is entity | class | answer (``AnnotationKind.suggestion_kind``). ``payload`` is
    the JSON of the kind's typed payload, read back (validated) with
    ``kind_of_suggestion(kind).payload_from_json``: :class:`core.tasks.ner.EntityPayload`,
    :class:`core.tasks.classify.ClassPayload`, :class:`core.tasks.qa.AnswerPayload`.
    ``state`` is pending | accepted | rejected | edited; ``source`` who proposed it.
    """

    __tablename__ = "suggestions"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), default=None
    )
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Who proposed it (schema 6): "model" (pre-annotation) or "patterns:<file name>"
    # (core.patterns). Nullable because SQLite adds columns so; NULL reads as "model".
    source: Mapped[str | None] = mapped_column(String(200), default="model")
    # Who decided it (schema 10; None while pending).
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    __table_args__ = (
        CheckConstraint(f"kind IN {SUGGESTION_KINDS_SQL}", name="suggestion_kind"),
        CheckConstraint(
            "state IN ('pending', 'accepted', 'rejected', 'edited')", name="suggestion_state"
        ),
        Index("ix_suggestion_doc_task", "document_id", "task_id", "state"),
        NEVER_REUSED_IDS,
    )


class DocumentScore(Base):
    """A document's active-learning score under one strategy and model version."""

    __tablename__ = "document_scores"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), default=None
    )
    score: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_score_rank", "task_id", "strategy", "score"),)


class Timing(Base):
    """How long one annotation or review decision took: the seconds from the document being
    shown (or the previous timed action on it) to the action. Written by the app."""

    __tablename__ = "timings"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    annotator: Mapped[str] = mapped_column(String(100), default=acting_annotator)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint(f"kind IN {KINDS_SQL}", name="timing_kind"),)


@event.listens_for(_Authored, "before_insert", propagate=True)
@event.listens_for(_Authored, "before_update", propagate=True)
@event.listens_for(Timing, "before_insert")
def _name_the_annotator(_mapper: Any, _connection: Any, target: Any) -> None:
    """A row given no annotator (``None``) is the acting annotator's."""
    if target.annotator is None:
        target.annotator = acting_annotator()


def create_schema(bind: Any) -> None:
    """Create every table of the current schema that ``bind`` (an engine or a connection)
    does not have yet.

    On a back end with ``ALTER TABLE`` (PostgreSQL), from a copy of ``Base.metadata``:
    SQLAlchemy's ``create_all`` breaks the foreign-key cycle between questions and
    suggestions with ``ALTER TABLE ... ADD CONSTRAINT``, and marks each constraint it adds
    so as never to be written inline again (``AddConstraint``'s ``isolate_from_table``). On
    the shared metadata that mark lasted for the whole process: every SQLite file created
    after a PostgreSQL project had ``questions`` and ``suggestions`` without their foreign
    keys (a deleted question left its suggestions behind, and undoing the deletion then
    failed on their ids). SQLite writes every key inline and marks nothing, so it uses the
    shared metadata itself, whose clauses keep their order (a copy's follow a set's)."""
    if not bind.dialect.supports_alter:
        Base.metadata.create_all(bind)
        return
    copy = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(copy)
    copy.create_all(bind)
