"""Plain data shared by the store, the file formats and the engine.

These are frozen dataclasses with no ORM or Qt attached, so they can cross threads and
process boundaries. Every span is a pair of character offsets (Python code points,
``text[start:end]``) into its document's text: the one truth from which tokens, BIO tags,
sub-words and Qt's UTF-16 positions are derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class TaskKind(str, Enum):
    """The things a user can label: entities, classes of documents, answers, and classes
    of the sentences inside a document (``annotator init --task classify --unit sentence``)."""

    NER = "ner"
    CLASSIFY = "classify"
    QA = "qa"
    SENTENCE = "sentence"


class Split(str, Enum):
    TRAIN = "train"
    DEV = "dev"
    TEST = "test"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class EntitySpan:
    """An entity: ``text[start:end]`` carries ``label``."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise ValueError(f"bad span offsets [{self.start}, {self.end})")


@dataclass(frozen=True)
class Answer:
    """One gold answer of a question: ``context[start:end]``."""

    start: int
    end: int
    text: str = ""


@dataclass(frozen=True)
class Question:
    """A question about a document. No answers and ``is_impossible`` means "no answer";
    no answers and not ``is_impossible`` means "not yet answered"."""

    text: str
    answers: tuple[Answer, ...] = ()
    is_impossible: bool = False
    external_id: str | None = None


@dataclass(frozen=True)
class SentenceLabel:
    """One sentence of a document, ``text[start:end]``, with its classes (none yet: ``()``)."""

    start: int
    end: int
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise ValueError(f"bad sentence offsets [{self.start}, {self.end})")


@dataclass(frozen=True)
class DocumentRecord:
    """A document with its human labels, as read from a file or snapshotted from a project."""

    text: str
    external_id: str | None = None
    spans: tuple[EntitySpan, ...] = ()
    classes: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()
    # The document's sentences in order, labelled or not; () when not known (a reader that
    # was given none: the project segments the text when it stores the document).
    sentences: tuple[SentenceLabel, ...] = ()
    split: Split | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: str | None = None
    # Position (1-based line) in the source file, for error messages.
    line: int | None = None
    # The store's id, when the record comes from a project.
    doc_id: int | None = None
    # The kinds this document was labelled for as a whole, even with no label of the kind
    # in it: set by the readers (a CoNLL sentence of only ``O`` tags is labelled for
    # entities) and, from a project, by import or by the user marking it done.
    labelled_for: frozenset[TaskKind] = field(default=frozenset(), compare=False)
