"""The sentences of documents and their classes (schema 5), for the sentence-classification
task. Every function takes a ``session`` owned by the caller.

A document's sentences are stored once (given by an import, else found by
:func:`core.segment.segment`) and never move under a label: only the user splits or merges
them, through :func:`replace_sentences`, which carries every class along.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.errors import AnnotatorError
from core.store.models import Document, Label, Sentence, SentenceClass
from core.types import SentenceLabel, TaskKind


class SentenceError(AnnotatorError):
    """A sentence edit that cannot be made (outside the text, overlapping, unknown label)."""


@dataclass(frozen=True)
class SentenceClassMark:
    """One class of a sentence with its provenance (what an undo restores)."""

    label: str
    origin: str = "human"
    annotator: str | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class SentenceMarks:
    """A sentence and its classes, as stored."""

    start: int
    end: int
    marks: tuple[SentenceClassMark, ...] = ()


def check_spans(text: str, spans: Sequence[tuple[int, int]], where: str = "") -> None:
    """Sentences lie inside ``text``, in order, and do not overlap."""
    prefix = f"{where}: " if where else ""
    last = 0
    for start, end in spans:
        if not (0 <= start < end <= len(text)):
            raise SentenceError(f"{prefix}sentence [{start}, {end}) lies outside the text "
                                f"({len(text)} characters)")
        if start < last:
            raise SentenceError(f"{prefix}sentence [{start}, {end}) overlaps the one before "
                                "it or is out of order")
        last = end


def store_sentences(doc: Document, spans: Iterable[tuple[int, int]]) -> list[Sentence]:
    """Give ``doc`` (with no sentences yet) these sentences."""
    rows = [Sentence(start=s, end=e) for s, e in spans]
    doc.sentences.extend(rows)
    return rows


def segment_document(doc: Document) -> list[Sentence]:
    from core.segment import segment

    return store_sentences(doc, segment(doc.text))


def ensure_sentences(session: Session, doc_ids: Sequence[int] | None = None,
                     batch: int = 500) -> int:
    """Segment the documents (all, or ``doc_ids``) that have no sentences yet; how many."""
    stmt = select(Document).where(~exists().where(Sentence.document_id == Document.id))
    if doc_ids is not None:
        stmt = stmt.where(Document.id.in_(list(doc_ids)))
    done = 0
    for doc in session.scalars(stmt.order_by(Document.id).execution_options(yield_per=batch)):
        segment_document(doc)
        done += 1
        if done % batch == 0:
            session.flush()
    session.flush()
    return done


def sentence_labels(doc: Document) -> tuple[SentenceLabel, ...]:
    """The document's sentences and their class names, in order (label order of the task)."""
    return tuple(
        SentenceLabel(s.start, s.end, tuple(
            c.label.name for c in sorted(s.classes, key=lambda c: (c.label.position, c.label.name))
        ))
        for s in doc.sentences
    )


def sentence_marks(doc: Document) -> tuple[SentenceMarks, ...]:
    return tuple(
        SentenceMarks(s.start, s.end, tuple(
            SentenceClassMark(c.label.name, c.origin, c.annotator, c.suggestion_id)
            for c in sorted(s.classes, key=lambda c: (c.label.position, c.label.name))
        ))
        for s in doc.sentences
    )


def _labels_by_name(session: Session) -> dict[str, Label]:
    from core.store.repo import require_task

    return {label.name: label for label in require_task(session, TaskKind.SENTENCE).labels}


def sentence_at(doc: Document, start: int, end: int | None = None) -> Sentence:
    for s in doc.sentences:
        if s.start == start and (end is None or s.end == end):
            return s
    where = f"[{start}, {end})" if end is not None else f"at {start}"
    raise SentenceError(f"document {doc.id} has no sentence {where} (it was split or merged?)")


def set_sentence_classes(
    session: Session, doc: Document, start: int, end: int, labels: Sequence[str], *,
    annotator: str | None = None, origin: str = "human", suggestion_id: int | None = None,
    marks: Sequence[SentenceClassMark] | None = None,
) -> None:
    """Make ``labels`` the classes of the sentence ``[start, end)`` of ``doc``. Classes it
    keeps keep their provenance; with ``marks`` (an undo) each gets exactly that one."""
    from core.store.repo import require_task

    task = require_task(session, TaskKind.SENTENCE)
    wanted = list(dict.fromkeys(m.label for m in marks) if marks is not None
                  else dict.fromkeys(labels))
    if len(wanted) > 1 and not task.multi_label:
        raise SentenceError("the sentence task is single-label: choose one class")
    by_name = _labels_by_name(session)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SentenceError(f"the sentence task has no label {unknown[0]!r}")
    sentence = sentence_at(doc, start, end)
    exact = {m.label: m for m in marks} if marks is not None else {}
    for row in list(sentence.classes):
        if row.label.name not in wanted or row.label.name in exact:
            sentence.classes.remove(row)
            session.delete(row)
    session.flush()
    have = {row.label.name for row in sentence.classes}
    for name in wanted:
        if name in have:
            continue
        m = exact.get(name)
        sentence.classes.append(SentenceClass(
            label_id=by_name[name].id,
            annotator=m.annotator if m else annotator,
            origin=m.origin if m else origin,
            suggestion_id=m.suggestion_id if m else suggestion_id,
        ))
    session.flush()


def replace_sentences(session: Session, doc: Document, sentences: Sequence[SentenceMarks]) -> None:
    """Make ``sentences`` (with their classes) the document's segmentation, in one go."""
    check_spans(doc.text, [(s.start, s.end) for s in sentences], f"document {doc.id}")
    by_name = _labels_by_name(session) if any(s.marks for s in sentences) else {}
    for row in list(doc.sentences):
        doc.sentences.remove(row)
        session.delete(row)
    session.flush()
    for s in sentences:
        row = Sentence(start=s.start, end=s.end)
        for m in s.marks:
            if m.label not in by_name:
                raise SentenceError(f"the sentence task has no label {m.label!r}")
            row.classes.append(SentenceClass(
                label_id=by_name[m.label].id, annotator=m.annotator, origin=m.origin,
                suggestion_id=m.suggestion_id,
            ))
        doc.sentences.append(row)
    session.flush()


def split_at(doc: Document, at: int) -> list[SentenceMarks]:
    """The document's sentences with the one containing ``at`` split there (both halves
    keep its classes; whitespace at the cut goes to neither)."""
    text = doc.text
    while 0 < at < len(text) and text[at - 1].isalnum() and text[at].isalnum():
        at -= 1  # never inside a word: at the start of the word holding ``at``
    out: list[SentenceMarks] = []
    found = False
    for s in sentence_marks(doc):
        if s.start < at < s.end:
            left_end = at
            while left_end > s.start and doc.text[left_end - 1].isspace():
                left_end -= 1
            right = at
            while right < s.end and doc.text[right].isspace():
                right += 1
            if left_end <= s.start or right >= s.end:
                raise SentenceError("nothing to split off there: choose a point inside the "
                                    "sentence, between words")
            out += [SentenceMarks(s.start, left_end, s.marks), SentenceMarks(right, s.end, s.marks)]
            found = True
        else:
            out.append(s)
    if not found:
        raise SentenceError(f"no sentence of document {doc.id} contains position {at}")
    return out


def merge_with_next(doc: Document, start: int, *, multi_label: bool) -> list[SentenceMarks]:
    """The document's sentences with the one starting at ``start`` merged with the next;
    the merged sentence has the classes of both (the first one's first). Single-label:
    refused when both have a class and they differ (one would be lost)."""
    current = list(sentence_marks(doc))
    for i, s in enumerate(current):
        if s.start == start:
            if i + 1 == len(current):
                raise SentenceError("the last sentence has no next one to merge with")
            nxt = current[i + 1]
            labels = {m.label for m in s.marks}
            marks = s.marks + tuple(m for m in nxt.marks if m.label not in labels)
            if not multi_label and len({m.label for m in marks}) > 1:
                raise SentenceError(
                    f"the two sentences have different classes ({marks[0].label!r} and "
                    f"{marks[-1].label!r}) and the task is single-label: give them the same "
                    "class, or clear one, before merging")
            return [*current[:i], SentenceMarks(s.start, nxt.end, marks), *current[i + 2:]]
    raise SentenceError(f"document {doc.id} has no sentence starting at {start}")
