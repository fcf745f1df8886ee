"""User edits as plain values: every op is a frozen dataclass, applied by
:func:`core.project.ops.apply_op`, which also computes its inverse (another op)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.span_edit import ResizeEntity
from core.store.sentences import SentenceClassMark, SentenceMarks
from core.types import AttributeSpec, RelationSpec, TaskKind

# --- entities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttributeMark:
    """One attribute value of an entity with its provenance (what an inverse restores);
    ``value`` None: no value stored (the entity reads the default)."""

    name: str
    value: str | None
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class RelationRow:
    """A stored relation with its provenance, its ends named by their spans (what an
    inverse restores, fitting its type or not)."""

    doc_id: int
    head: tuple[int, int]
    tail: tuple[int, int]
    label: str
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class AddEntity:
    """Add an entity; ``attributes`` (inverses) are its stored attribute values as they
    were, ``relations`` the relations it was an end of (the other end is there)."""

    doc_id: int
    start: int
    end: int
    label: str
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None
    attributes: tuple[AttributeMark, ...] = ()
    relations: tuple[RelationRow, ...] = ()


@dataclass(frozen=True)
class RemoveEntity:
    """Remove the entity ``[start, end)`` of a document (unique: two entities never share an
    extent, even where they may overlap)."""

    doc_id: int
    start: int
    end: int


@dataclass(frozen=True)
class RelabelEntity:
    doc_id: int
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class SetEntityAttributes:
    """Set attribute values of the entity ``[start, end)`` of a document (named by its span,
    like every entity op, so undo and redo stay valid when an entity is re-created):
    ``values`` by attribute name, ``None`` to take a stored value away (the default again).
    Validated against the declaration: an unknown attribute or value, or one that does not
    apply to the entity's label, is refused naming them. With ``marks`` (inverses), each
    value also gets exactly that provenance."""

    doc_id: int
    start: int
    end: int
    values: Mapping[str, str | None] = field(default_factory=dict)
    marks: tuple[AttributeMark, ...] | None = None


# --- relations between entities ----------------------------------------------------------


@dataclass(frozen=True)
class AddRelation:
    """Link the entity ``head`` (its span) to the entity ``tail`` of a document by the
    relation type ``label``. Refused, saying why: an entity linked to itself, no entity at a
    span, an unknown type, labels the type does not allow, the same relation twice."""

    doc_id: int
    head: tuple[int, int]
    tail: tuple[int, int]
    label: str
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class RemoveRelation:
    """Remove the ``label`` relation from ``head`` to ``tail`` (spans) of a document."""

    doc_id: int
    head: tuple[int, int]
    tail: tuple[int, int]
    label: str


@dataclass(frozen=True)
class SetRelationRows:
    """Store these relations as they were (what removing an entity, a label or a relation
    type deleted, put back); their ends must be there."""

    rows: tuple[RelationRow, ...]


@dataclass(frozen=True)
class AddRelationType:
    """Declare a relation type on the NER task (at ``position``; default: last)."""

    spec: RelationSpec
    position: int | None = None


@dataclass(frozen=True)
class RemoveRelationType:
    """Remove a relation type and every relation of it (the inverse puts both back)."""

    name: str


@dataclass(frozen=True)
class SetRelationTypes:
    """Make ``specs`` the NER task's relation types (what deleting a label changed, put
    back)."""

    specs: tuple[RelationSpec, ...]


@dataclass(frozen=True)
class SetOverlapping:
    """Let the NER task's entities overlap and nest (``allowed``) or not; switching off is
    refused while two entities overlap. The inverse switches back."""

    allowed: bool


# --- the declaration of attributes (the NER task's) --------------------------------------


@dataclass(frozen=True)
class AttributeRow:
    """A stored value of one attribute on one entity (named by its span), for inverses."""

    doc_id: int
    start: int
    end: int
    value: str
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class AddAttribute:
    """Declare an attribute on the NER task (at ``position``; default: last)."""

    spec: AttributeSpec
    position: int | None = None


@dataclass(frozen=True)
class RemoveAttribute:
    """Remove an attribute and every value given for it (the inverse puts both back)."""

    name: str


@dataclass(frozen=True)
class RenameAttribute:
    name: str
    new_name: str


@dataclass(frozen=True)
class AddAttributeValue:
    """Add a value to an attribute (at ``position``; default: last; 0 makes it the
    default)."""

    name: str
    value: str
    position: int | None = None


@dataclass(frozen=True)
class RemoveAttributeValue:
    """Remove a value of an attribute; entities that had it read the default again (the
    first of the remaining values). An attribute keeps at least two values."""

    name: str
    value: str


@dataclass(frozen=True)
class RenameAttributeValue:
    name: str
    value: str
    new_value: str


@dataclass(frozen=True)
class MoveAttributeValue:
    """Move a value of an attribute to ``position`` (0: make it the default)."""

    name: str
    value: str
    position: int


@dataclass(frozen=True)
class SetAttributeLabels:
    """The entity labels the attribute applies to (``None``: every label). Values stored
    on entities of other labels are kept, unread, until the attribute applies again."""

    name: str
    labels: tuple[str, ...] | None


@dataclass(frozen=True)
class SetAttributeRows:
    """Store these values of the attribute ``name`` (what removing an attribute or a value
    deleted, put back)."""

    name: str
    rows: tuple[AttributeRow, ...]


# --- classes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassMark:
    """One class of a document with its provenance (what an inverse restores)."""

    label: str
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class SetClasses:
    """Make ``labels`` the document's classes. With ``marks`` (inverses), each class also
    gets exactly that provenance; without, classes already there keep theirs."""

    doc_id: int
    labels: tuple[str, ...]
    marks: tuple[ClassMark, ...] | None = None


# --- questions and answers ----------------------------------------------------------------


@dataclass(frozen=True)
class AnswerMark:
    start: int
    end: int
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class SetAnswer:
    """The question's answer: spans, or "no answer" (``impossible``), or open (neither)."""

    question_id: int
    answers: tuple[AnswerMark, ...] = ()
    impossible: bool = False


@dataclass(frozen=True)
class SuggestionCopy:
    """A stored suggestion as it was (what undoing a question's deletion puts back)."""

    id: int
    task_id: int
    model_version_id: int | None
    kind: str
    payload: dict[str, Any]
    confidence: float
    state: str
    created_at: datetime
    decided_at: datetime | None
    source: str | None = "model"
    decided_by: str | None = None


@dataclass(frozen=True)
class AddQuestion:
    """Add a question; ``question_id`` (inverses) brings a deleted one back under its id,
    with its answers and the model's ``suggestions`` for it as they were."""

    doc_id: int
    text: str
    question_id: int | None = None
    external_id: str | None = None
    origin: str = "human"
    annotator: str | None = None
    answers: tuple[AnswerMark, ...] = ()
    impossible: bool = False
    suggestions: tuple[SuggestionCopy, ...] = ()


@dataclass(frozen=True)
class RemoveQuestion:
    question_id: int


# --- documents, suggestions, labels -------------------------------------------------------


@dataclass(frozen=True)
class SetReviewStatus:
    doc_id: int
    status: str  # unreviewed | reviewed | skipped


@dataclass(frozen=True)
class SetSuggestionState:
    suggestion_id: int
    state: str  # pending | accepted | rejected | edited


@dataclass(frozen=True)
class Decide:
    """Accept (optionally as ``label``) or reject suggestions of one document, in one write.

    Accepting several at once skips the ones that cannot be applied (an overlap with a human
    label; in a task that lets entities overlap, a human entity's extent or an overlap with
    one of the same label) and says so in ``Changes.messages``; if none can be, nothing
    changes.
    """

    doc_id: int
    suggestion_ids: tuple[int, ...]
    accept: bool
    label: str | None = None


@dataclass(frozen=True)
class AddLabel:
    """Add a label; ``label_id`` and ``position`` (inverses) bring a deleted one back as it
    was, in its place in the label bar."""

    kind: TaskKind
    name: str
    color: str | None = None
    shortcut: str | None = None
    label_id: int | None = None
    position: int | None = None


@dataclass(frozen=True)
class UpdateLabel:
    label_id: int
    name: str | None = None
    color: str | None = None
    shortcut: str | None = None


@dataclass(frozen=True)
class DeleteLabel:
    """Delete a label and every annotation that uses it; the inverse puts the label and
    each of those annotations back, with their provenance."""

    label_id: int


# --- sentences ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetSentenceClasses:
    """Make ``labels`` the classes of the sentence ``[start, end)``. With ``marks``
    (inverses), each class also gets exactly that provenance."""

    doc_id: int
    start: int
    end: int
    labels: tuple[str, ...]
    marks: tuple[SentenceClassMark, ...] | None = None


@dataclass(frozen=True)
class SetSentences:
    """Make ``sentences`` (offsets and classes) the document's segmentation: what a split
    or a merge of sentences amounts to, and the inverse of either.

    Pending suggestions made for a sentence that is no longer there are removed (their
    sentence is gone); ``suggestions`` (inverses) are such removed ones, put back."""

    doc_id: int
    sentences: tuple[SentenceMarks, ...]
    suggestions: tuple[SuggestionCopy, ...] = ()


@dataclass(frozen=True)
class SplitSentence:
    """Split the sentence holding character ``at`` there; both halves keep its classes."""

    doc_id: int
    at: int


@dataclass(frozen=True)
class MergeSentences:
    """Merge the sentence starting at ``start`` with the next (keeping both's classes)."""

    doc_id: int
    start: int


@dataclass(frozen=True)
class Batch:
    """Several ops as one; its inverse is the inverses in reverse order."""

    ops: tuple[Op, ...]


Op = (
    AddEntity | RemoveEntity | RelabelEntity | ResizeEntity | SetEntityAttributes
    | AddRelation | RemoveRelation | SetRelationRows | AddRelationType | RemoveRelationType
    | SetRelationTypes | SetOverlapping
    | AddAttribute | RemoveAttribute | RenameAttribute | AddAttributeValue
    | RemoveAttributeValue | RenameAttributeValue | MoveAttributeValue | SetAttributeLabels
    | SetAttributeRows | SetClasses | SetAnswer | AddQuestion
    | RemoveQuestion | SetSentenceClasses | SetSentences | SplitSentence | MergeSentences
    | SetReviewStatus | SetSuggestionState
    | Decide | AddLabel | UpdateLabel | DeleteLabel | Batch
)
