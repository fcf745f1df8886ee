"""Label all occurrences: after labelling a phrase, the same label on every other place
the phrase occurs in the project.

The phrase is matched as a term list matches (:class:`core.patterns.PhrasePattern`: any
case, on word boundaries, white space as one space), in the documents a pattern run looks
at: unreviewed ones outside the test split (a reviewed document is done; a test label
made by a rule would flatter the model's score), and never over a human entity.

Two ways, both one step to take back:

* :func:`label_all_op` builds one ``Batch`` of ``AddEntity`` ops: applied through
  ``project.apply``, its inverse removes every entity it added;
* :func:`suggest_all` stores the places as pending suggestions of the source
  ``patterns:label all <label>: <phrase>`` (reviewed like the model's; counted apart in the
  report); :func:`withdraw` removes the ones still pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from core.patterns import PatternMatcher, PhrasePattern, normalise_phrase
from core.project.edits import AddEntity, Batch
from core.store import repo
from core.store.models import Document, EntityAnnotation, Label, Suggestion, originals
from core.store.repo import AnnotationError
from core.types import Split, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.active.pattern_suggestions import PatternResult
    from core.project.base import Project

SOURCE_PREFIX = "patterns:label all "
# suggestions.source is 200 characters; a longer phrase is cut in the name only.
_MAX_SOURCE = 200


@dataclass(frozen=True)
class Occurrence:
    doc_id: int
    start: int
    end: int


def source_name(label: str, phrase: str) -> str:
    return f"{SOURCE_PREFIX}{label}: {normalise_phrase(phrase)}"[:_MAX_SOURCE]


def entity_phrase(session: Session, doc_id: int, start: int, end: int) -> tuple[str, str]:
    """``(phrase, label)`` of the human entity ``[start, end)`` of a document."""
    row = session.execute(
        select(Document.text, Label.name)
        .join(EntityAnnotation, EntityAnnotation.document_id == Document.id)
        .join(Label, Label.id == EntityAnnotation.label_id)
        .where(Document.id == doc_id, EntityAnnotation.start == start,
               EntityAnnotation.end == end)
    ).first()
    if row is None:
        raise AnnotationError(f"document {doc_id} has no entity at {start}-{end}")
    text, label = row
    phrase = text[start:end]
    if not normalise_phrase(phrase):
        raise AnnotationError("the entity's text is only white space")
    return phrase, label


def find(session: Session, phrase: str, label: str) -> list[Occurrence]:
    """Every place of ``phrase`` in the unreviewed, non-test documents that overlaps no
    human entity (the entity it was taken from included; in a task that lets entities
    overlap, none of ``label`` and none of the same extent), in document order. Reads every
    such text once (the automaton matches 100,000 sentences in seconds; a SQL LIKE
    prefilter would miss case variants outside ASCII)."""
    matcher = PatternMatcher([PhrasePattern(label=label, phrase=phrase)])
    docs = session.execute(
        select(Document.id, Document.text).where(
            Document.split != Split.TEST.value, Document.review_status == "unreviewed",
            originals(),
        ).order_by(Document.id)
    ).all()
    if not docs:
        return []
    # A task whose entities may overlap: only an entity of the same label blocks a place,
    # or one of exactly its extent (a BodySite phrase inside a Condition is labelled).
    overlapping = repo.overlapping_allowed(session)
    blocked: dict[int, list[tuple[int, int]]] = {}
    extents: set[tuple[int, int, int]] = set()
    for doc_id, start, end, entity_label in session.execute(
        select(EntityAnnotation.document_id, EntityAnnotation.start, EntityAnnotation.end,
               Label.name)
        .join(Label, Label.id == EntityAnnotation.label_id)
        .where(EntityAnnotation.document_id.in_([d for d, _ in docs]))
    ):
        extents.add((doc_id, start, end))
        if not overlapping or entity_label == label:
            blocked.setdefault(doc_id, []).append((start, end))
    found: list[Occurrence] = []
    for doc_id, text in docs:
        for m in matcher.find(text, blocked=blocked.get(doc_id, ())):
            if (doc_id, m.start, m.end) not in extents:
                found.append(Occurrence(doc_id, m.start, m.end))
    return found


def label_all_op(project: Project, doc_id: int, start: int, end: int, *,
                 annotator: str | None = None) -> tuple[Batch, str, str, int]:
    """The op that labels every other occurrence of the entity ``[start, end)`` of
    ``doc_id`` as it is labelled, with its phrase, label and the number of places."""
    with project.read() as session:
        repo.require_task(session, TaskKind.NER)
        phrase, label = entity_phrase(session, doc_id, start, end)
        places = find(session, phrase, label)
    op = Batch(tuple(AddEntity(p.doc_id, p.start, p.end, label, origin="human",
                               annotator=annotator) for p in places))
    return op, phrase, label, len(places)


def suggest_all(project: Project, doc_id: int, start: int, end: int) -> PatternResult:
    """Store the other occurrences of the entity as pending suggestions of its own source
    (:func:`source_name`)."""
    from core.active.pattern_suggestions import suggest_from_patterns

    with project.read() as session:
        phrase, label = entity_phrase(session, doc_id, start, end)
    return suggest_from_patterns(
        project, TaskKind.NER, [PhrasePattern(label=label, phrase=phrase)],
        source=source_name(label, phrase), confidence=1.0,
    )


def withdraw(project: Project, source: str) -> int:
    """Remove the still pending suggestions of ``source`` (a label-all run); the number."""
    if not source.startswith(SOURCE_PREFIX):
        raise AnnotationError(f"{source!r} is not a label-all source")
    with project.write() as session:
        result = session.execute(
            delete(Suggestion).where(Suggestion.source == source, Suggestion.state == "pending")
        )
        return int(result.rowcount or 0)
