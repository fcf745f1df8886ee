"""Plain data shared by the store, the file formats and the engine.

These are frozen dataclasses with no ORM or Qt attached, so they can cross threads and
process boundaries. Every span is a pair of character offsets (Python code points,
``text[start:end]``) into its document's text: the one truth from which tokens, BIO tags,
sub-words and Qt's UTF-16 positions are derived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    # Attributes of entities (negation, temporality, ...): declared on the NER task, one
    # value per entity and attribute; its own model versions (core/tasks/attributes.py).
    ATTRIBUTE = "attribute"
    # Relations between entities (a dosage of a medication, ...): their types declared on
    # the NER task; its own model versions (core/tasks/relations.py).
    RELATION = "relation"


class Split(str, Enum):
    TRAIN = "train"
    DEV = "dev"
    TEST = "test"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class EntitySpan:
    """An entity: ``text[start:end]`` carries ``label``; ``attributes`` its attribute
    values by attribute name (from a project: every attribute that applies to the label,
    the default where none was set; from a file: the values the file gives). Treat it as
    read-only."""

    start: int
    end: int
    label: str
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise ValueError(f"bad span offsets [{self.start}, {self.end})")


# Characters an attribute's name, values and labels cannot hold: the separators of the
# declaration syntax ``name=value,value@label,label`` (``annotator init --attribute``).
ATTRIBUTE_RESERVED = "=,@"


@dataclass(frozen=True)
class AttributeSpec:
    """An attribute the NER task declares: ``values`` in order, the first the default;
    ``labels``: the entity labels it applies to (``None``: every label).

    ``AttributeSpec.parse("negation=Affirmed,Negated@Condition")``; ``str(spec)`` gives that
    text back. Names, values and labels cannot be empty nor hold ``=``, ``,`` or ``@``, so
    the text form is never ambiguous."""

    name: str
    values: tuple[str, ...]
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What is wrong with the declaration, or ``None``."""
        bad = _bad_attribute_word(self.name, "the attribute name")
        if bad:
            return bad
        if len(self.values) < 2:
            return (f"attribute {self.name!r} needs at least two values (the first is the "
                    f"default), got {list(self.values)}")
        for v in self.values:
            bad = _bad_attribute_word(v, f"a value of attribute {self.name!r}")
            if bad:
                return bad
        if len(set(self.values)) != len(self.values):
            return f"attribute {self.name!r} names a value twice: {list(self.values)}"
        if self.labels is not None:
            for lab in self.labels:
                bad = _bad_attribute_word(lab, f"a label of attribute {self.name!r}")
                if bad:
                    return bad
            if len(set(self.labels)) != len(self.labels):
                return f"attribute {self.name!r} names a label twice: {list(self.labels)}"
        return None

    @property
    def default(self) -> str:
        return self.values[0]

    def applies_to(self, label: str) -> bool:
        return self.labels is None or label in self.labels

    @classmethod
    def parse(cls, text: str) -> AttributeSpec:
        """``name=value,value[,...][@label,label...]``; raises ``ValueError`` saying what is
        wrong and how it should look."""
        how = ('write it as name=value,value (the first value is the default), optionally '
               '@label,label to limit it to those entity labels, e.g. '
               '"negation=Affirmed,Negated@Condition"')
        if text.count("=") != 1:
            raise ValueError(f"bad attribute {text!r}: {how}")
        name, rest = (x.strip() for x in text.split("="))
        if rest.count("@") > 1:
            raise ValueError(f"bad attribute {text!r}: one '@' at most; {how}")
        values_text, _, labels_text = rest.partition("@")
        values = tuple(v.strip() for v in values_text.split(","))
        labels = tuple(x.strip() for x in labels_text.split(",")) if "@" in rest else None
        try:
            return cls(name, values, labels)
        except ValueError as exc:
            raise ValueError(f"bad attribute {text!r}: {exc}; {how}") from None

    def __str__(self) -> str:
        out = f"{self.name}={','.join(self.values)}"
        return out if self.labels is None else out + "@" + ",".join(self.labels)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values),
                "labels": None if self.labels is None else list(self.labels)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttributeSpec:
        labels = data.get("labels")
        return cls(str(data["name"]), tuple(str(v) for v in data["values"]),
                   None if labels is None else tuple(str(x) for x in labels))


def _bad_attribute_word(word: str, what: str) -> str | None:
    if not isinstance(word, str) or not word.strip():
        return f"{what} is empty"
    if word != word.strip():
        return f"{what} {word!r} starts or ends with white space"
    clash = [c for c in ATTRIBUTE_RESERVED if c in word]
    if clash:
        return f"{what} {word!r} holds {clash[0]!r} (names and values cannot hold = , @)"
    return None


def fill_attributes(
    specs: Sequence[AttributeSpec], label: str, given: Mapping[str, str]
) -> dict[str, str]:
    """The entity's value of every attribute that applies to ``label``: the one
    ``given``, else the default (values of attributes that do not apply are left out)."""
    return {s.name: given.get(s.name, s.default) for s in specs if s.applies_to(label)}


# Characters a relation type's name and labels cannot hold: the separators of the
# declaration syntax ``name=Head,Head>Tail,Tail`` (``annotator init --relation``); a side
# that is ``*`` alone allows every label.
RELATION_RESERVED = "=,>"
ANY_LABEL = "*"


@dataclass(frozen=True)
class RelationSpec:
    """A relation type the NER task declares: ``name`` links a head entity whose label is
    one of ``heads`` to a tail entity whose label is one of ``tails`` (``None``: any label).
    Directed: the head is the first end (a dosage ``dosage_of`` its medication).

    ``RelationSpec.parse("dosage_of=Dosage>Medication")``, ``"x=Dosage,Route>*"``;
    ``str(spec)`` gives that text back. Names and labels cannot be empty nor hold ``=``,
    ``,`` or ``>``, and a label cannot be ``*``, so the text form is never ambiguous."""

    name: str
    heads: tuple[str, ...] | None = None
    tails: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What is wrong with the declaration, or ``None``."""
        bad = _bad_relation_word(self.name, "the relation name")
        if bad:
            return bad
        for side, labels in (("head", self.heads), ("tail", self.tails)):
            if labels is None:
                continue
            if not labels:
                return f"relation {self.name!r} allows no {side} label (use * for any)"
            for lab in labels:
                bad = _bad_relation_word(lab, f"a {side} label of relation {self.name!r}")
                if bad:
                    return bad
            if len(set(labels)) != len(labels):
                return f"relation {self.name!r} names a {side} label twice: {list(labels)}"
        return None

    def allows(self, head_label: str, tail_label: str) -> bool:
        """Whether a ``head_label`` entity may be this relation's head and a ``tail_label``
        one its tail."""
        return ((self.heads is None or head_label in self.heads)
                and (self.tails is None or tail_label in self.tails))

    def labels(self) -> set[str]:
        """Every label the type names (``*`` sides name none)."""
        return {*(self.heads or ()), *(self.tails or ())}

    @classmethod
    def parse(cls, text: str) -> RelationSpec:
        """``name=Head[,Head...]>Tail[,Tail...]``, a side ``*`` for any label; raises
        ``ValueError`` saying what is wrong and how it should look."""
        how = ('write it as name=HeadLabel>TailLabel (each side a label, a comma list of '
               'labels or * for any), e.g. "dosage_of=Dosage>Medication"')
        if text.count("=") != 1 or text.count(">") != 1:
            raise ValueError(f"bad relation {text!r}: {how}")
        name, rest = (x.strip() for x in text.split("="))
        if ">" in name:
            raise ValueError(f"bad relation {text!r}: {how}")
        head_text, tail_text = (x.strip() for x in rest.split(">"))

        def side(part: str) -> tuple[str, ...] | None:
            return None if part == ANY_LABEL else tuple(x.strip() for x in part.split(","))

        try:
            return cls(name, side(head_text), side(tail_text))
        except ValueError as exc:
            raise ValueError(f"bad relation {text!r}: {exc}; {how}") from None

    def __str__(self) -> str:
        def side(labels: tuple[str, ...] | None) -> str:
            return ANY_LABEL if labels is None else ",".join(labels)

        return f"{self.name}={side(self.heads)}>{side(self.tails)}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "heads": None if self.heads is None else list(self.heads),
                "tails": None if self.tails is None else list(self.tails)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RelationSpec:
        heads, tails = data.get("heads"), data.get("tails")
        return cls(str(data["name"]), None if heads is None else tuple(str(x) for x in heads),
                   None if tails is None else tuple(str(x) for x in tails))


def _bad_relation_word(word: str, what: str) -> str | None:
    if not isinstance(word, str) or not word.strip():
        return f"{what} is empty"
    if word != word.strip():
        return f"{what} {word!r} starts or ends with white space"
    if word == ANY_LABEL:
        return f"{what} cannot be {ANY_LABEL!r} (a side of * alone allows any label)"
    clash = [c for c in RELATION_RESERVED if c in word]
    if clash:
        return f"{what} {word!r} holds {clash[0]!r} (names and labels cannot hold = , >)"
    return None


@dataclass(frozen=True)
class Relation:
    """A relation between two entities of a record: ``head`` and ``tail`` index its
    ``spans``; ``label`` is the relation type's name."""

    head: int
    tail: int
    label: str


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
    # Relations between the spans (indices into ``spans``); from a project, those whose
    # type is declared and whose ends' labels it allows.
    relations: tuple[Relation, ...] = ()
