"""Annotation kinds: one module per kind, one registry.

    kind_of("ner").is_labelled(record)
    session.execute(text(f"SELECT id FROM documents d WHERE {kind_of('ner').labelled_sql('d')}"))

Everything particular to a kind (the labelled rule, training examples, decoding,
suggestion payloads, applying a suggestion) is reached through :func:`kind_of`; see
``docs/architecture.md``, "Adding an annotation kind".
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.tasks.attributes import ATTRIBUTE
from core.tasks.base import DOCUMENTS, AnnotationKind
from core.tasks.classify import CLASSIFY
from core.tasks.ner import NER
from core.tasks.qa import QA
from core.tasks.relations import RELATION
from core.tasks.sentences import SENTENCE
from core.types import DocumentRecord, Split, TaskKind

_REGISTRY: dict[TaskKind, AnnotationKind] = {
    k.kind: k for k in (NER, CLASSIFY, QA, SENTENCE, ATTRIBUTE, RELATION)
}


def kind_of(kind: TaskKind | str) -> AnnotationKind:
    """The annotation kind of a task (``"ner"``, ``TaskKind.QA``, ...)."""
    try:
        return _REGISTRY[TaskKind(kind)]
    except ValueError:
        known = ", ".join(k.value for k in _REGISTRY)
        raise ValueError(f"unknown annotation kind {kind!r} (known: {known})") from None


def all_kinds() -> tuple[AnnotationKind, ...]:
    return tuple(_REGISTRY.values())


def dependent_kinds(kind: TaskKind | str) -> tuple[AnnotationKind, ...]:
    """The kinds whose labels hang on ``kind``'s (entities: attributes, relations), in the
    order they train and pre-annotate after it."""
    base = TaskKind(kind)
    return tuple(k for k in _REGISTRY.values() if k.hangs_on is base)


def kind_of_suggestion(suggestion_kind: str) -> AnnotationKind:
    """The annotation kind whose suggestions are stored as ``suggestion_kind``."""
    for k in _REGISTRY.values():
        if k.suggestion_kind == suggestion_kind:
            return k
    raise ValueError(f"unknown suggestion kind {suggestion_kind!r}")


def any_labelled_sql(alias: str = DOCUMENTS, kinds: Iterable[TaskKind | str] | None = None) -> str:
    """SQL: the document ``alias`` is labelled for at least one of ``kinds`` (all kinds
    when ``None``): the document list's "labelled" status."""
    chosen = [kind_of(k) for k in kinds] if kinds is not None else list(_REGISTRY.values())
    if not chosen:
        return "1 = 0"  # false on both back ends (PostgreSQL has no integer truth)
    return "(" + " OR ".join(k.labelled_sql(alias) for k in chosen) + ")"


def labelled_records(session: Session, kind: TaskKind | str) -> list[DocumentRecord]:
    """The training snapshot of a task: every document of any split but test that is
    labelled for it (the kind's labelled rule), in id order."""
    from core.store import repo

    clause = text(f"({kind_of(kind).labelled_sql(DOCUMENTS)})")
    return [
        r for r in repo.iter_records(session, where=clause) if r.split is not Split.TEST
    ]


__all__ = [
    "AnnotationKind",
    "all_kinds",
    "any_labelled_sql",
    "dependent_kinds",
    "kind_of",
    "kind_of_suggestion",
    "labelled_records",
]
