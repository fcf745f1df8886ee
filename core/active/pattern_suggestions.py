"""Patterns and term lists as suggestions: the matches of :mod:`core.patterns` stored as
pending entity suggestions of their own source (``"patterns:<name>"``), reviewed as the
model's are.

    result = suggest_from_patterns(project, "ner", patterns, source="patterns:terms.txt")

What is matched: every unreviewed document of any split except test (as pre-annotation).
What is stored: a match that overlaps no human entity (read inside the write transaction,
so labels made meanwhile are respected), and that is neither a suggestion this source
already made for the same span and label (pending: kept as it is; rejected or accepted:
not proposed again), and that overlaps no pending suggestion of another source (the model's,
another pattern file's: one proposal per stretch of text for the reviewer). In a task that
lets entities overlap, labels are matched apart (a BodySite match may nest in a Condition
one), and "overlaps" above means: has the same extent, or overlaps one of the same label. A pending
suggestion of this source that the patterns no longer find is removed. So running the same
patterns twice changes nothing.

Called on any thread (opens its own sessions; never touches widgets).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from core.patterns import Pattern, PatternMatch, PatternMatcher, PhrasePattern, terms_from_spans
from core.store import repo
from core.store.models import Document, Suggestion, originals
from core.store.repo import AnnotationError
from core.tasks import kind_of
from core.tasks.base import human_entities, nested_entity_clashes
from core.tasks.ner import EntityPayload
from core.types import Split, TaskKind

if TYPE_CHECKING:
    from core.project import Project

# A match is no probability: by default its confidence is one that keeps pattern
# suggestions below the usual "accept all at or above" thresholds, so each is looked at.
DEFAULT_CONFIDENCE = 0.5
SOURCE_PREFIX = "patterns:"
CHUNK = 2000


@dataclass(frozen=True)
class PatternResult:
    """What applying patterns did."""

    task: str
    source: str
    patterns: int
    documents: int
    matches: int  # matches proposed (over no human label, not overlapping each other)
    suggestions: int  # new pending suggestions stored
    kept: int  # already pending from this source: left as they were
    removed: int  # pending from this source that the patterns no longer find
    decided_before: int  # this source's earlier suggestions, rejected or accepted: not again
    other_source: int  # overlapping a pending suggestion of another source
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PatternProgress:
    done: int
    total: int
    suggestions: int


def check_source(source: str) -> str:
    if not source.startswith(SOURCE_PREFIX) or not source[len(SOURCE_PREFIX):].strip():
        raise AnnotationError(f"a pattern source is named {SOURCE_PREFIX}<name>, not {source!r}")
    return source


def suggest_from_patterns(
    project: Project,
    task: TaskKind | str,
    patterns: Sequence[Pattern],
    *,
    source: str,
    confidence: float = DEFAULT_CONFIDENCE,
    doc_ids: Sequence[int] | None = None,
    chunk_size: int = CHUNK,
    on_progress: Callable[[PatternProgress], None] | None = None,
) -> PatternResult:
    """Store the patterns' matches as pending suggestions of ``source`` (see the module
    docstring). Refuses, before writing anything, a task other than entities, a label the
    task does not have, an empty pattern list or a confidence outside [0, 1]."""
    kind = TaskKind(task)
    if kind is not TaskKind.NER:
        raise AnnotationError(f"patterns suggest entities (task ner), not {kind.value}")
    check_source(source)
    if not patterns:
        raise AnnotationError("no pattern to apply")
    if not 0.0 <= confidence <= 1.0:
        raise AnnotationError(f"the confidence must be in [0, 1] (got {confidence})")
    started = time.perf_counter()
    with project.read() as session:
        task_row = repo.require_task(session, kind)
        known = {label.name for label in task_row.labels}
        unknown = sorted({p.label for p in patterns} - known)
        if unknown:
            raise AnnotationError(
                f"the ner task has no label {', '.join(map(repr, unknown))} (its labels: "
                f"{', '.join(sorted(known)) or 'none'}); add it first, e.g. annotator init "
                f"PROJECT --task ner --labels {','.join(unknown)}"
            )
        task_id = task_row.id
        overlapping = repo.overlapping_allowed(session)
        stmt = select(Document.id).where(  # never on an annotator's layer (independent)
            Document.split != Split.TEST.value, Document.review_status == "unreviewed",
            originals(),
        )
        if doc_ids is not None:
            stmt = stmt.where(Document.id.in_(list(doc_ids)))
        todo = list(session.scalars(stmt.order_by(Document.id)))
    if overlapping:  # a match of one label may nest in another's: each label on its own
        matchers = [PatternMatcher([p for p in patterns if p.label == label])
                    for label in dict.fromkeys(p.label for p in patterns)]
    else:
        matchers = [PatternMatcher(patterns)]
    totals = dict.fromkeys(
        ("matches", "suggestions", "kept", "removed", "decided_before", "other_source"), 0
    )
    for c in range(0, len(todo), chunk_size):
        chunk = todo[c:c + chunk_size]
        with project.write() as session:
            for key, n in _write_chunk(
                session, task_id, chunk, matchers, source=source, confidence=confidence,
                overlapping=overlapping,
            ).items():
                totals[key] += n
        if on_progress is not None:
            on_progress(PatternProgress(c + len(chunk), len(todo), totals["suggestions"]))
    return PatternResult(
        task=kind.value, source=source, patterns=len(patterns), documents=len(todo),
        seconds=round(time.perf_counter() - started, 3), **totals,
    )


def _write_chunk(
    session: Any, task_id: int, doc_ids: Sequence[int], matchers: Sequence[PatternMatcher], *,
    source: str, confidence: float, overlapping: bool = False,
) -> dict[str, int]:
    """Store one chunk. ``overlapping`` (the task lets entities overlap; ``matchers``: one
    per label): a match is blocked by a person's entity of the same extent or an overlapping
    one of the same label, and yields to another source's pending suggestion the same way."""
    ner = kind_of(TaskKind.NER)
    human = human_entities(session, doc_ids)
    texts = dict(session.execute(
        select(Document.id, Document.text).where(
            Document.id.in_(list(doc_ids)), Document.review_status == "unreviewed"
        )
    ).all())
    mine: dict[tuple[int, int, int, str], tuple[int, str]] = {}  # span -> (id, state)
    others: dict[int, list[tuple[int, int, str]]] = {}  # doc -> spans pending from others
    for sid, doc, payload, state, src in session.execute(
        select(Suggestion.id, Suggestion.document_id, Suggestion.payload, Suggestion.state,
               Suggestion.source)
        .where(Suggestion.document_id.in_(list(doc_ids)), Suggestion.task_id == task_id,
               Suggestion.kind == ner.suggestion_kind)
    ):
        p = ner.payload_from_json(payload or {})
        key = (doc, p.start, p.end, p.label)
        if src == source:
            mine[key] = (sid, state)
        elif state == "pending":
            others.setdefault(doc, []).append((p.start, p.end, p.label))
    counts = dict.fromkeys(
        ("matches", "suggestions", "kept", "removed", "decided_before", "other_source"), 0
    )
    found: set[tuple[int, int, int, str]] = set()
    for doc, text in texts.items():
        people = human.get(doc, [])
        for m in _matches(text, matchers, people, overlapping):
            key = (doc, m.start, m.end, m.label)
            found.add(key)
            counts["matches"] += 1
            if key in mine:
                counts["kept" if mine[key][1] == "pending" else "decided_before"] += 1
            elif (nested_entity_clashes(others.get(doc, ()), m.start, m.end, m.label)
                  if overlapping else
                  any(s < m.end and m.start < e for s, e, _ in others.get(doc, ()))):
                counts["other_source"] += 1
            else:
                session.add(Suggestion(
                    document_id=doc, task_id=task_id, kind=ner.suggestion_kind,
                    payload=EntityPayload(m.start, m.end, m.label).to_json(),
                    confidence=confidence, state="pending", source=source,
                ))
                counts["suggestions"] += 1
    stale = [sid for key, (sid, state) in mine.items()
             if state == "pending" and key[0] in texts and key not in found]
    if stale:
        session.execute(delete(Suggestion).where(Suggestion.id.in_(stale)))
        counts["removed"] = len(stale)
    session.flush()
    return counts


def _matches(text: str, matchers: Sequence[PatternMatcher],
             people: Sequence[tuple[int, int, str]], overlapping: bool) -> list[PatternMatch]:
    """The matches to propose in ``text`` given a person's entities ``people``: none over
    them (``overlapping``: none over one of the same label or on the extent of any)."""
    if not overlapping:
        (matcher,) = matchers
        return matcher.find(text, blocked=[(s, e) for s, e, _ in people])
    extents = {(s, e) for s, e, _ in people}
    out: list[PatternMatch] = []
    for matcher in matchers:
        label = matcher.patterns[0].label
        out += [m for m in matcher.find(text, blocked=[(s, e) for s, e, lab in people
                                                       if lab == label])
                if (m.start, m.end) not in extents]
    return sorted(out, key=lambda m: (m.start, m.end, m.label))


def label_terms(project: Project, task: TaskKind | str = TaskKind.NER) -> list[PhrasePattern]:
    """A term list from the project's human entities outside the test split (so no test
    label reaches training through accepted matches): each distinct text once, under its
    most frequent label (:func:`core.patterns.terms_from_spans`)."""
    from sqlalchemy import func

    from core.store.models import EntityAnnotation, Label

    if TaskKind(task) is not TaskKind.NER:
        raise AnnotationError(f"terms come from entities (task ner), not {TaskKind(task).value}")
    with project.read() as session:
        rows = session.execute(
            # SQLite's substr counts characters, as the offsets do (1-based).
            select(func.substr(Document.text, EntityAnnotation.start + 1,
                               EntityAnnotation.end - EntityAnnotation.start), Label.name)
            .join(EntityAnnotation, EntityAnnotation.document_id == Document.id)
            .join(Label, Label.id == EntityAnnotation.label_id)
            .where(Document.split != Split.TEST.value)
        ).all()
    return terms_from_spans((str(text), str(name)) for text, name in rows)
