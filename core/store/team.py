"""Team work in the store: who labels which document, and annotators' layers.

A document one annotator labels is labelled in place, as in a project of one annotator.
A document given to two (or more) annotators gets one *layer* per annotator: a copy of the
document (``documents.layer_of`` = the original's id, ``documents.layer`` = the annotator)
holding that annotator's labels, status and times, made with the text, the sentences and
the questions of the original but none of its labels. The original keeps the gold labels,
written by adjudication. Copies never count as documents of their own: lists, training,
pre-annotation and exports take ``originals()``.

Team settings live in the project row's ``settings["team"]``: the annotators, the double-
annotated share and whether annotators may see each other's layers before both are done.

Like :mod:`core.store.repo`, every function takes a ``session`` owned by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.store.models import Assignment, Document, ProjectInfo, QuestionRow, Sentence

SETTINGS_KEY = "team"
GOLD = "gold"  # how adjudicated labels are named where annotators are listed


@dataclass(frozen=True)
class TeamSettings:
    """The team of a project: its annotators (in order), the share of documents each
    given to two of them, and whether an annotator may see the other layers of a
    double-annotated document before every layer is done."""

    annotators: tuple[str, ...] = ()
    double_share: float = 0.0
    show_others: bool = False
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"annotators": list(self.annotators), "double_share": self.double_share,
                "show_others": self.show_others, "seed": self.seed, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TeamSettings:
        data = dict(data or {})
        return cls(
            annotators=tuple(str(a) for a in data.pop("annotators", ())),
            double_share=float(data.pop("double_share", 0.0)),
            show_others=bool(data.pop("show_others", False)),
            seed=int(data.pop("seed", 0)),
            extra=data,
        )


def _project_row(session: Session) -> ProjectInfo:
    row = session.scalars(select(ProjectInfo)).first()
    if row is None:
        raise LookupError("the project has no project row")
    return row


def team_settings(session: Session) -> TeamSettings:
    return TeamSettings.from_json((_project_row(session).settings or {}).get(SETTINGS_KEY))


def write_team_settings(session: Session, team: TeamSettings) -> None:
    row = _project_row(session)
    settings = dict(row.settings or {})
    settings[SETTINGS_KEY] = team.to_json()
    row.settings = settings  # a new dict: the JSON column sees the change
    session.flush()


def layer_hash(original_hash: str, annotator: str) -> str:
    """A copy's ``content_hash``: unique, and never the hash of a text (re-importing the
    text finds the original, not a layer)."""
    return hashlib.sha256(f"layer\0{original_hash}\0{annotator}".encode()).hexdigest()


def make_layer(session: Session, original: Document, annotator: str) -> Document:
    """The annotator's layer of ``original`` (made when missing): the same text, split,
    meta, sentences and questions, no labels, unreviewed."""
    found = layer_for(session, original.id, annotator)
    if found is not None:
        return found
    if original.layer_of is not None:
        raise ValueError(f"document {original.id} is a layer itself")
    copy = Document(
        text=original.text, external_id=original.external_id, source=original.source,
        meta=dict(original.meta or {}), content_hash=layer_hash(original.content_hash, annotator),
        split=original.split, layer_of=original.id, layer=annotator,
    )
    session.add(copy)
    session.flush()
    for s in original.sentences:
        session.add(Sentence(document_id=copy.id, start=s.start, end=s.end))
    for q in original.questions:
        session.add(QuestionRow(document_id=copy.id, text=q.text, external_id=q.external_id,
                                is_impossible=False, annotator=q.annotator, origin=q.origin))
    session.flush()
    return copy


def layer_for(session: Session, original_id: int, annotator: str) -> Document | None:
    return session.scalars(
        select(Document).where(Document.layer_of == original_id, Document.layer == annotator)
    ).first()


def layers_of(session: Session, original_id: int) -> list[Document]:
    """The annotators' layers of a document, in the order they were made."""
    return list(session.scalars(
        select(Document).where(Document.layer_of == original_id).order_by(Document.id)
    ))


def layered_originals(session: Session) -> dict[int, dict[str, int]]:
    """``{original_id: {annotator: layer_id}}`` for every double-annotated document."""
    out: dict[int, dict[str, int]] = {}
    for doc_id, original, annotator in session.execute(
        select(Document.id, Document.layer_of, Document.layer)
        .where(Document.layer_of.is_not(None)).order_by(Document.id)
    ):
        out.setdefault(int(original), {})[str(annotator)] = int(doc_id)
    return out


def assignments(session: Session, doc_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """``{document_id: [annotator, ...]}``, each list in the order given."""
    stmt = select(Assignment.document_id, Assignment.annotator).order_by(Assignment.id)
    if doc_ids is not None:
        stmt = stmt.where(Assignment.document_id.in_(list(doc_ids)))
    out: dict[int, list[str]] = {}
    for doc_id, annotator in session.execute(stmt):
        out.setdefault(int(doc_id), []).append(str(annotator))
    return out


def assign(session: Session, doc_id: int, annotators: Sequence[str]) -> None:
    """Give ``doc_id`` to ``annotators`` (replacing who had it); two or more make a layer
    for each of them."""
    session.execute(delete(Assignment).where(Assignment.document_id == doc_id))
    for name in annotators:
        session.add(Assignment(document_id=doc_id, annotator=name))
    session.flush()
    if len(annotators) > 1:
        original = session.get(Document, doc_id)
        if original is None:
            raise LookupError(f"no document {doc_id}")
        for name in annotators:
            make_layer(session, original, name)


def known_annotators(session: Session) -> list[str]:
    """Everyone the project knows: the team's annotators, then anyone assigned or holding a
    layer, in that order."""
    names = list(team_settings(session).annotators)
    for (name,) in session.execute(select(Assignment.annotator).distinct()):
        if name not in names:
            names.append(str(name))
    for (name,) in session.execute(
        select(Document.layer).where(Document.layer.is_not(None)).distinct()
    ):
        if name not in names:
            names.append(str(name))
    return names
