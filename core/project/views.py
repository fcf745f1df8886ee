"""Plain views of what the screens show, read from the store in the caller's session.

Screens never hold live ORM objects: they get these frozen dataclasses, re-read after every
change, so what is on screen is always what is committed. Safe to hand between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.store import relations as relation_store
from core.store import repo
from core.store.attributes import attribute_specs, entity_attributes, specs_of
from core.store.models import (
    ClassAnnotation,
    Document,
    EntityAnnotation,
    QuestionRow,
    Sentence,
    SentenceClass,
    Suggestion,
    Task,
    TrainingRun,
)
from core.store.sentences import sentence_labels
from core.types import AttributeSpec, RelationSpec, SentenceLabel, TaskKind

# Kinds whose task row belongs to another task's screen (the attribute model's versions and
# suggestions hang on the NER task): not listed as tasks of their own.
_SUBTASKS = frozenset({TaskKind.ATTRIBUTE, TaskKind.RELATION})


@dataclass(frozen=True)
class LabelInfo:
    id: int
    name: str
    color: str
    shortcut: str | None


@dataclass(frozen=True)
class TaskInfo:
    kind: TaskKind
    multi_label: bool
    labels: tuple[LabelInfo, ...]
    # The NER task's attributes of entities, in order (other tasks: ()).
    attributes: tuple[AttributeSpec, ...] = ()
    # The NER task's relation types, in order (other tasks: ()).
    relations: tuple[RelationSpec, ...] = ()
    # The NER task lets entities overlap and nest (init --overlapping; other tasks: False).
    overlapping: bool = False

    def label(self, name: str) -> LabelInfo | None:
        return next((lab for lab in self.labels if lab.name == name), None)


@dataclass(frozen=True)
class EntityView:
    id: int
    start: int
    end: int
    label: str
    origin: str = "human"
    # The value of every attribute that applies to the label (the default where none was
    # set), in the declaration's order; ``attributes_set``: the names a value was stored for.
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)
    attributes_set: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RelationView:
    """A relation of type ``label`` from the entity ``head_id`` (its span ``head``) to the
    entity ``tail_id``; only those whose type allows their ends' labels are shown."""

    id: int
    head_id: int
    tail_id: int
    head: tuple[int, int]
    tail: tuple[int, int]
    label: str
    origin: str = "human"


@dataclass(frozen=True)
class AnswerView:
    start: int
    end: int


@dataclass(frozen=True)
class QuestionView:
    id: int
    text: str
    answers: tuple[AnswerView, ...]
    is_impossible: bool

    @property
    def status(self) -> str:
        if self.answers:
            return "answered"
        return "no answer" if self.is_impossible else "open"


@dataclass(frozen=True)
class SuggestionView:
    """A pending model suggestion; ``payload`` as stored (see ``core.store.models.Suggestion``)."""

    id: int
    kind: str  # entity | class | answer
    payload: dict[str, Any]
    confidence: float
    question_id: int | None = None
    source: str = "model"  # "model", or the pattern run that made it ("patterns:<name>")

    @property
    def by_rule(self) -> bool:
        """Made by a pattern, term list or label-all run, not by a model."""
        return self.source.startswith("patterns:")

    @property
    def source_text(self) -> str:
        """Who proposed it, for a tooltip: "the model" or the pattern run's name."""
        return self.source[len("patterns:"):] if self.by_rule else "the model"

    @property
    def start(self) -> int:
        return int(self.payload.get("start", 0))

    @property
    def end(self) -> int:
        return int(self.payload.get("end", 0))

    @property
    def label(self) -> str:
        return str(self.payload.get("label", ""))


@dataclass(frozen=True)
class DocumentView:
    id: int
    text: str
    external_id: str | None
    split: str
    review_status: str
    entities: tuple[EntityView, ...] = ()
    classes: tuple[str, ...] = ()
    questions: tuple[QuestionView, ...] = ()
    suggestions: tuple[SuggestionView, ...] = field(default=())
    # The relations between the entities (by head, then tail, then type).
    relations: tuple[RelationView, ...] = ()
    # The sentences in order, each with its classes (the sentence task; () without one).
    sentences: tuple[SentenceLabel, ...] = ()
    # An annotator's layer of a double-annotated document: the document's id and whose.
    layer_of: int | None = None
    layer: str | None = None

    def suggestions_of(self, kind: str) -> tuple[SuggestionView, ...]:
        return tuple(s for s in self.suggestions if s.kind == kind)


@dataclass(frozen=True)
class CountsView:
    """The status bar's and the document list's counts, read on one snapshot."""

    stats: dict[str, Any]  # repo.stats
    statuses: dict[str, int]  # derived status -> number of documents

    def summary(self) -> str:
        s = self.stats
        return (
            f"{s['documents']} documents · {s['review_status'].get('reviewed', 0)} reviewed · "
            f"{s['entities']} entities · {s['classes']} classes · "
            f"{s['questions_answered']}/{s['questions']} answered · "
            f"{s['pending_suggestions']} suggestions pending"
        )


@dataclass(frozen=True)
class TrainingRunInfo:
    id: int
    task: str
    status: str
    epochs: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    error: str | None
    model_version_id: int | None


def read_tasks(session: Session) -> dict[TaskKind, TaskInfo]:
    """The project's tasks and label sets, in label order."""
    tasks = session.scalars(select(Task).options(selectinload(Task.labels))).all()
    return {
        TaskKind(t.kind): TaskInfo(
            kind=TaskKind(t.kind),
            multi_label=t.multi_label,
            labels=tuple(LabelInfo(lab.id, lab.name, lab.color, lab.shortcut) for lab in t.labels),
            attributes=specs_of(t) if t.kind == TaskKind.NER.value else (),
            relations=relation_store.specs_of(t) if t.kind == TaskKind.NER.value else (),
            overlapping=bool(t.kind == TaskKind.NER.value
                             and (t.settings or {}).get(repo.OVERLAPPING_KEY, False)),
        )
        for t in tasks
        if TaskKind(t.kind) not in _SUBTASKS
    }


def read_document(session: Session, doc_id: int) -> DocumentView | None:
    """One document with its human labels and pending suggestions."""
    doc = session.scalars(
        select(Document)
        .where(Document.id == doc_id)
        .options(
            selectinload(Document.entities).selectinload(EntityAnnotation.label),
            selectinload(Document.entities).selectinload(EntityAnnotation.attribute_values),
            selectinload(Document.entities).selectinload(EntityAnnotation.relations_out),
            selectinload(Document.classes).selectinload(ClassAnnotation.label),
            selectinload(Document.questions).selectinload(QuestionRow.answers),
            selectinload(Document.sentences).selectinload(Sentence.classes)
            .selectinload(SentenceClass.label),
        )
    ).first()
    if doc is None:
        return None
    specs = attribute_specs(session)
    types = relation_store.relation_specs(session)
    relations = sorted(
        (r for e in doc.entities for r in e.relations_out if relation_store.is_read(r, types)),
        key=lambda r: (r.head.start, r.tail.start, r.label))
    suggestions = session.scalars(
        select(Suggestion)
        .where(Suggestion.document_id == doc_id, Suggestion.state == "pending")
        .order_by(Suggestion.id)
    ).all()
    return DocumentView(
        id=doc.id,
        text=doc.text,
        external_id=doc.external_id,
        split=doc.split,
        review_status=doc.review_status,
        entities=tuple(
            EntityView(
                e.id, e.start, e.end, e.label.name, e.origin, entity_attributes(e, specs),
                frozenset(r.name for r in e.attribute_values
                          if any(s.name == r.name and s.applies_to(e.label.name)
                                 for s in specs)),
            )
            for e in sorted(doc.entities, key=lambda e: e.start)
        ),
        classes=tuple(c.label.name for c in doc.classes),
        questions=tuple(
            QuestionView(
                q.id, q.text, tuple(AnswerView(a.start, a.end) for a in q.answers),
                q.is_impossible,
            )
            for q in doc.questions
        ),
        suggestions=tuple(
            SuggestionView(s.id, s.kind, dict(s.payload or {}), float(s.confidence),
                           s.question_id, s.source or "model")
            for s in suggestions
        ),
        sentences=sentence_labels(doc),
        relations=tuple(
            RelationView(r.id, r.head_id, r.tail_id, (r.head.start, r.head.end),
                         (r.tail.start, r.tail.end), r.label, r.origin)
            for r in relations
        ),
        layer_of=doc.layer_of,
        layer=doc.layer,
    )


def read_last_run(session: Session, kind: TaskKind | None = None, *,
                  with_epochs: bool = False) -> TrainingRunInfo | None:
    """The newest training run (of ``kind``); ``with_epochs``: the newest that recorded
    epochs (a run killed or cancelled before its first epoch has none)."""
    stmt = select(TrainingRun).options(selectinload(TrainingRun.task)).order_by(
        TrainingRun.id.desc()
    )
    if with_epochs:
        stmt = stmt.where(TrainingRun.epochs.is_not(None), TrainingRun.epochs != [])
    if kind is not None:
        stmt = stmt.join(Task).where(Task.kind == kind.value)
    r = session.scalars(stmt).first()
    if r is None:
        return None
    return TrainingRunInfo(
        r.id, r.task.kind, r.status, tuple(r.epochs or ()),
        tuple(str(w) for w in (r.warnings or ())), r.error, r.model_version_id,
    )
