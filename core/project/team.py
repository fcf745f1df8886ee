"""``project.team``: annotating as a team. Who labels which document (assignment, with a
share given to two annotators), each annotator's layer of a double-annotated document,
agreement between the layers, and adjudication of the layers into the gold labels.

A document given to one annotator is labelled in place. A document given to two gets one
layer per annotator (:mod:`core.store.team`): a copy the annotator labels unaided (no
suggestions are made on layers, and nobody sees another's layer before every layer of the
document is done, unless the team allows it). Adjudication writes the gold labels on the
document itself, where training and evaluation read them; items every layer agrees on go
in without a click, each disputed item takes the version the adjudicator chooses.

>>> project.team.assign(annotators=["ana", "ben"], double_share=0.2)
>>> project.team.agreement()["entities"]["pairs"][0]["f1"]
>>> adj = project.team.adjudication(doc_id)
>>> project.team.adjudicate(doc_id, {item.key: "ana" for item in adj.disputed})
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from core import agreement as agree
from core.project.changes import Changes
from core.project.edits import (
    AddEntity,
    AddRelation,
    AnswerMark,
    AttributeMark,
    Batch,
    ClassMark,
    Op,
    RemoveEntity,
    SetAnswer,
    SetClasses,
    SetReviewStatus,
    SetSentenceClasses,
)
from core.store import repo
from core.store import team as store
from core.store.models import Document, Sentence, Task, originals
from core.store.relations import relation_specs
from core.store.sentences import SentenceClassMark
from core.store.team import GOLD, TeamSettings
from core.tasks import any_labelled_sql
from core.types import DocumentRecord, Split, TaskKind

Span = tuple[int, int, str]  # an entity: start, end, label

if TYPE_CHECKING:
    from core.project.base import Project

ADJUDICATED = "adjudicated"  # the origin of a gold label written by adjudication
ASSIGNABLE_SPLITS = (Split.TRAIN.value, Split.UNASSIGNED.value, Split.DEV.value)


@dataclass(frozen=True)
class LayerInfo:
    annotator: str
    doc_id: int
    status: str  # the layer's review status: "reviewed" is done

    @property
    def done(self) -> bool:
        return self.status == "reviewed"


@dataclass(frozen=True)
class TeamDocument:
    """A double-annotated document: its layers, and whether it has been adjudicated."""

    doc_id: int
    external_id: str | None
    preview: str
    layers: tuple[LayerInfo, ...]
    adjudicated: bool  # the document (its gold) is marked reviewed

    @property
    def ready(self) -> bool:
        """Every layer is done: it can be compared and adjudicated."""
        return bool(self.layers) and all(layer.done for layer in self.layers)


@dataclass(frozen=True)
class AssignResult:
    documents: int
    double: int
    per_annotator: dict[str, int]
    layers_made: int

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "double": self.double,
                "per_annotator": dict(self.per_annotator), "layers_made": self.layers_made}


@dataclass(frozen=True)
class Version:
    """One way the layers labelled an item, and who labelled it so."""

    annotators: tuple[str, ...]
    value: Any  # entities: tuple of (start, end, label); classes: labels; answers: see below

    def describe(self) -> str:
        return describe_value(self.value)


@dataclass(frozen=True)
class Item:
    """One unit of adjudication: a stretch of text with its entities, an attribute of an
    agreed entity, the relations between two agreed entities, the document's classes, a
    sentence's classes, or a question's answer. ``key`` names it in the adjudicator's
    choices."""

    key: str
    kind: str  # entities | attribute | relation | classes | sentence | answer
    versions: tuple[Version, ...]
    start: int | None = None  # where in the text (entities, attributes, sentences, answers)
    end: int | None = None
    title: str = ""

    @property
    def agreed(self) -> bool:
        return len(self.versions) == 1

    def version_of(self, annotator: str) -> Version | None:
        return next((v for v in self.versions if annotator in v.annotators), None)


@dataclass(frozen=True)
class Adjudication:
    """A double-annotated document's layers, item by item."""

    doc_id: int
    text: str
    layers: tuple[LayerInfo, ...]
    items: tuple[Item, ...]
    attributes: Mapping[str, Mapping[tuple[int, int, str], Mapping[str, str]]] = field(
        default_factory=dict)  # annotator -> entity -> its attribute values
    # annotator -> (head entity, tail entity) -> the relation types between them
    relations: Mapping[str, Mapping[tuple[Span, Span], tuple[str, ...]]] = field(
        default_factory=dict)

    @property
    def annotators(self) -> tuple[str, ...]:
        return tuple(layer.annotator for layer in self.layers)

    @property
    def ready(self) -> bool:
        return bool(self.layers) and all(layer.done for layer in self.layers)

    @property
    def agreed(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.agreed)

    @property
    def disputed(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.agreed)


def describe_value(value: Any) -> str:
    if isinstance(value, AnswerValue):
        return value.describe()
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ", ".join(f"{label} {s}-{e}" for s, e, label in value)
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return "(none)" if value in (None, "") else str(value)


@dataclass(frozen=True)
class AnswerValue:
    spans: tuple[tuple[int, int], ...] = ()
    impossible: bool = False
    text: str = ""

    def describe(self) -> str:
        if self.impossible:
            return "no answer"
        return " | ".join(self.text[s:e] for s, e in self.spans) or "(open)"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, AnswerValue) and self.spans == other.spans
                and self.impossible == other.impossible)

    def __hash__(self) -> int:
        return hash((self.spans, self.impossible))


class Team:
    def __init__(self, project: Project) -> None:
        self._project = project

    # --- the team and who labels what ------------------------------------------------

    def settings(self) -> TeamSettings:
        with self._project.read() as session:
            return store.team_settings(session)

    def configure(self, *, annotators: Sequence[str] | None = None,
                  double_share: float | None = None, show_others: bool | None = None,
                  seed: int | None = None) -> TeamSettings:
        """Change the team's settings (those given); returns them."""
        with self._project.write() as session:
            team = store.team_settings(session)
            if annotators is not None:
                team = replace(team, annotators=_check_names(annotators))
            if double_share is not None:
                if not 0.0 <= double_share <= 1.0:
                    raise repo.AnnotationError(
                        f"the double-annotated share must be between 0 and 1, not {double_share}")
                team = replace(team, double_share=float(double_share))
            if show_others is not None:
                team = replace(team, show_others=bool(show_others))
            if seed is not None:
                team = replace(team, seed=int(seed))
            store.write_team_settings(session, team)
            return team

    def annotators(self) -> list[str]:
        """The team's annotators, then anyone else assigned or holding a layer."""
        with self._project.read() as session:
            return store.known_annotators(session)

    def assign(self, *, annotators: Sequence[str] | None = None,
               double_share: float | None = None, seed: int | None = None,
               doc_ids: Iterable[int] | None = None) -> AssignResult:
        """Give the documents nobody has yet (unreviewed, not labelled, not test; or
        ``doc_ids``) to the annotators: ``double_share`` of them, drawn at random, to two
        (each gets a layer), the rest to one, in turn. One unit of work."""
        if annotators is not None or double_share is not None or seed is not None:
            self.configure(annotators=annotators, double_share=double_share, seed=seed)
        with self._project.write() as session:
            team = store.team_settings(session)
            names = list(team.annotators)
            if not names:
                raise repo.AnnotationError(
                    "the team has no annotators yet: give them (annotator assign P "
                    "--annotators ana,ben)")
            if team.double_share > 0 and len(names) < 2:
                raise repo.AnnotationError(
                    "double annotation needs at least two annotators (--annotators ana,ben)")
            if doc_ids is None:
                ids = list(session.scalars(
                    select(Document.id).where(
                        originals(), Document.split.in_(ASSIGNABLE_SPLITS),
                        Document.review_status == "unreviewed",
                        text(f"NOT {any_labelled_sql('documents')}"),
                    ).order_by(Document.id)))
                given = store.assignments(session)
                ids = [d for d in ids if d not in given]
            else:
                ids = sorted(set(doc_ids))
            rng = random.Random(team.seed)
            drawn = list(ids)
            rng.shuffle(drawn)
            n_double = round(team.double_share * len(drawn)) if len(names) > 1 else 0
            double = set(drawn[:n_double])
            per: dict[str, int] = dict.fromkeys(names, 0)
            layers = 0
            k_double = k_single = 0
            for doc_id in ids:  # in id order: the turns are easy to follow
                if doc_id in double:
                    who = [names[k_double % len(names)], names[(k_double + 1) % len(names)]]
                    k_double += 1
                    layers += 2
                else:
                    who = [names[k_single % len(names)]]
                    k_single += 1
                store.assign(session, doc_id, who)
                for name in who:
                    per[name] += 1
            return AssignResult(len(ids), len(double), per, layers)

    def assignments(self, doc_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
        with self._project.read() as session:
            return store.assignments(session, doc_ids)

    # --- layers ------------------------------------------------------------------------

    def layer_for(self, doc_id: int, annotator: str) -> int | None:
        """The id of ``annotator``'s layer of ``doc_id`` (``None``: they have none)."""
        with self._project.read() as session:
            layer = store.layer_for(session, doc_id, annotator)
            return None if layer is None else layer.id

    def documents(self) -> list[TeamDocument]:
        """Every double-annotated document, in id order."""
        with self._project.read() as session:
            return _team_documents(session)

    def document(self, doc_id: int) -> TeamDocument | None:
        return next((d for d in self.documents() if d.doc_id == doc_id), None)

    def may_see_others(self, doc_id: int) -> bool:
        """Whether an annotator may look at the other layers of ``doc_id`` now: when every
        layer is done, or when the team allows it."""
        doc = self.document(doc_id)
        return doc is not None and (doc.ready or self.settings().show_others)

    # --- agreement ---------------------------------------------------------------------

    def agreement(self, kind: TaskKind | str | None = None, *,
                  unfinished: bool = False) -> dict[str, Any]:
        """Agreement of every pair of annotators on the documents both labelled (layers
        marked done; ``unfinished``: every layer). Entities: exact-span and overlap F1 per
        label, each attribute's agreement on the spans both gave, and (relation types
        declared) the F1 of the relations (head, tail, type) per type; classes and sentence
        classes: Cohen's kappa per pair, Krippendorff's alpha over all; answers: exact
        match and token F1."""
        with self._project.read() as session:
            tasks = {t.kind for t in session.scalars(select(Task))}
            docs = _team_documents(session)
            by_layer = _layer_records(session, docs, unfinished)
            multi = {t.kind: bool(t.multi_label) for t in session.scalars(select(Task))}
            relations_declared = bool(relation_specs(session))
        kinds = [TaskKind(kind).value] if kind is not None else sorted(tasks)
        shared = {d.doc_id for d in docs
                  if sum(1 for layer in d.layers if unfinished or layer.done) >= 2}
        out: dict[str, Any] = {"annotators": sorted(by_layer), "documents": len(shared),
                               "unfinished_included": unfinished}
        if "ner" in kinds:
            spans = {a: {d: [(s.start, s.end, s.label) for s in r.spans]
                         for d, r in recs.items()} for a, recs in by_layer.items()}
            out["entities"] = agree.entity_report(spans)
            values = {a: {d: {(s.start, s.end, s.label): dict(s.attributes) for s in r.spans}
                          for d, r in recs.items()} for a, recs in by_layer.items()}
            if any(v for recs in values.values() for doc in recs.values() for v in doc.values()):
                out["attributes"] = agree.attribute_report(values)
            if relations_declared:
                out["relations"] = agree.relation_report(
                    {a: {d: triples(r) for d, r in recs.items()} for a, recs in by_layer.items()})
        if "classify" in kinds:
            out["classes"] = agree.class_report(
                {a: {d: tuple(r.classes) for d, r in recs.items()} for a, recs in by_layer.items()},
                multi_label=multi.get("classify", False))
        if "sentence" in kinds:
            # A sentence counts where some annotator classified it: one nobody classified
            # says nothing either way (and would inflate the agreement).
            classified = {(d, s.start, s.end) for recs in by_layer.values()
                          for d, r in recs.items() for s in r.sentences if s.labels}
            out["sentences"] = agree.class_report(
                {a: {(d, s.start, s.end): tuple(s.labels) for d, r in recs.items()
                     for s in r.sentences if (d, s.start, s.end) in classified}
                 for a, recs in by_layer.items()},
                multi_label=multi.get("sentence", False))
        if "qa" in kinds:
            out["answers"] = agree.answer_report(
                {a: {(d, q.text): (None if q.is_impossible else q.answers[0].text)
                     for d, r in recs.items() for q in r.questions
                     if q.is_impossible or q.answers}
                 for a, recs in by_layer.items()})
        return out

    # --- adjudication ------------------------------------------------------------------

    def adjudication(self, doc_id: int) -> Adjudication:
        """The layers of a double-annotated document, item by item (agreed and disputed)."""
        with self._project.read() as session:
            doc = session.get(Document, doc_id)
            if doc is None:
                raise repo.AnnotationError(f"no document {doc_id}")
            if doc.layer_of is not None:
                raise repo.AnnotationError(
                    f"document {doc_id} is {doc.layer}'s layer of document {doc.layer_of}; "
                    f"adjudicate document {doc.layer_of}")
            layers = tuple(sorted((LayerInfo(str(d.layer), d.id, d.review_status)
                                  for d in store.layers_of(session, doc_id)),
                                 key=lambda x: x.annotator))
            if len(layers) < 2:
                raise repo.AnnotationError(
                    f"document {doc_id} is not double-annotated (it has {len(layers)} layer"
                    f"{'s' if len(layers) != 1 else ''}): nothing to adjudicate")
            records = {r.doc_id: r for r in repo.iter_records(
                session, doc_ids=[layer.doc_id for layer in layers])}
            tasks = {t.kind for t in session.scalars(select(Task))}
            text_ = doc.text
        recs = {layer.annotator: records[layer.doc_id] for layer in layers}
        items: list[Item] = []
        attributes: dict[str, dict[tuple[int, int, str], dict[str, str]]] = {
            a: {(s.start, s.end, s.label): dict(s.attributes) for s in r.spans}
            for a, r in recs.items()}
        relations = {a: _pairs(r) for a, r in recs.items()}
        if "ner" in tasks:
            items += _entity_items(recs, attributes)
            items += _relation_items(items, relations)
        if "classify" in tasks:
            items.append(_item("classes", "classes",
                               {a: tuple(sorted(r.classes)) for a, r in recs.items()},
                               title="document classes"))
        if "sentence" in tasks:
            items += _sentence_items(recs)
        if "qa" in tasks:
            items += _answer_items(recs, text_)
        return Adjudication(doc_id, text_, layers, tuple(items), attributes, relations)

    def gold_op(self, doc_id: int, choices: Mapping[str, str | None] | None = None, *,
                force: bool = False) -> Batch:
        """The edit that makes the adjudicated labels the gold of ``doc_id``: every agreed
        item, and for each disputed item the version of the annotator ``choices[key]``
        names (``None``, or a key left out: the item is left out of the gold; for an
        attribute, whose entity always has a value, that is the default). Refused
        before every layer is done, unless ``force``."""
        adj = self.adjudication(doc_id)
        if not adj.ready and not force:
            waiting = [layer.annotator for layer in adj.layers if not layer.done]
            raise repo.AnnotationError(
                f"document {doc_id}: {', '.join(waiting)} {'has' if len(waiting) == 1 else 'have'}"
                " not marked their layer done yet; adjudicate when every layer is done "
                "(or force it)")
        choices = dict(choices or {})
        unknown = [k for k in choices if k not in {i.key for i in adj.items}]
        if unknown:
            raise repo.AnnotationError(f"document {doc_id} has no item {unknown[0]!r} to adjudicate")
        for key, who in choices.items():
            if who is not None and who not in adj.annotators:
                raise repo.AnnotationError(
                    f"{key}: {who!r} has no layer of document {doc_id} "
                    f"(layers: {', '.join(adj.annotators)})")
        chosen: dict[str, Version | None] = {}
        for item in adj.items:
            if item.agreed:
                chosen[item.key] = item.versions[0]
            else:
                who = choices.get(item.key)
                chosen[item.key] = item.version_of(who) if who else None
        return _gold_batch(self._project, adj, chosen, choices)

    def adjudicate(self, doc_id: int, choices: Mapping[str, str | None] | None = None, *,
                   force: bool = False) -> Changes:
        """Write the gold of ``doc_id`` (see :meth:`gold_op`) in one unit of work; the
        document is marked reviewed. Undo with ``project.undo(changes)``."""
        return self._project.apply(self.gold_op(doc_id, choices, force=force))


# --- helpers ------------------------------------------------------------------------------


def _check_names(names: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            raise repo.AnnotationError("an annotator's name cannot be empty")
        if name.lower() == GOLD:
            raise repo.AnnotationError(f"{GOLD!r} names the adjudicated labels, not an annotator")
        if len(name) > 100:
            raise repo.AnnotationError(f"the annotator name {name[:20]!r}... is over 100 characters")
        if name in out:
            raise repo.AnnotationError(f"the annotator {name!r} is named twice")
        out.append(name)
    return tuple(out)


def _team_documents(session: Any) -> list[TeamDocument]:
    """Every double-annotated document with its layers (annotators in name order): one
    query over the layers and one over their documents' heads, no full texts."""
    layers: dict[int, list[LayerInfo]] = {}
    for layer_id, original, name, status in session.execute(
        select(Document.id, Document.layer_of, Document.layer, Document.review_status)
        .where(Document.layer_of.is_not(None)).order_by(Document.layer_of, Document.layer)
    ):
        layers.setdefault(int(original), []).append(LayerInfo(str(name), int(layer_id), status))
    if not layers:
        return []
    heads = {int(d): (ext, head, status) for d, ext, head, status in session.execute(
        select(Document.id, Document.external_id, func.substr(Document.text, 1, 160),
               Document.review_status).where(Document.id.in_(list(layers))))}
    return [TeamDocument(original, heads[original][0], " ".join((heads[original][1] or "")
                                                                .split())[:120],
                         tuple(found), heads[original][2] == "reviewed")
            for original, found in sorted(layers.items())]


def _layer_records(session: Any, docs: Sequence[TeamDocument],
                   unfinished: bool) -> dict[str, dict[int, DocumentRecord]]:
    """``{annotator: {original_id: record of their layer}}`` of the layers to compare."""
    wanted = {layer.doc_id: (layer.annotator, d.doc_id) for d in docs for layer in d.layers
              if unfinished or layer.done}
    out: dict[str, dict[int, DocumentRecord]] = {}
    if wanted:
        for r in repo.iter_records(session, doc_ids=list(wanted)):
            annotator, original = wanted[int(r.doc_id or 0)]
            out.setdefault(annotator, {})[original] = r
    return out


def _item(key: str, kind: str, values: Mapping[str, Any], **where: Any) -> Item:
    grouped: dict[Any, list[str]] = {}
    for annotator, value in values.items():
        grouped.setdefault(value, []).append(annotator)
    versions = tuple(Version(tuple(names), value) for value, names in grouped.items())
    return Item(key, kind, versions, **where)


def _entity_items(recs: Mapping[str, DocumentRecord],
                  attributes: Mapping[str, Mapping[tuple[int, int, str], Mapping[str, str]]]
                  ) -> list[Item]:
    """Stretches of text where some layer has an entity: overlapping spans of any layer
    make one stretch; each layer's version is the tuple of its spans there."""
    spans = sorted({(s.start, s.end, s.label) for r in recs.values() for s in r.spans})
    groups: list[list[tuple[int, int, str]]] = []
    end = -1
    for span in spans:
        if groups and span[0] < end:
            groups[-1].append(span)
            end = max(end, span[1])
        else:
            groups.append([span])
            end = span[1]
    items: list[Item] = []
    for group in groups:
        start, stop = group[0][0], max(s[1] for s in group)
        values = {a: tuple(sorted((s.start, s.end, s.label) for s in r.spans
                                  if s.start < stop and start < s.end))
                  for a, r in recs.items()}
        item = _item(f"entities:{start}-{stop}", "entities", values, start=start, end=stop)
        items.append(item)
        if item.agreed:  # the attributes of an agreed entity may still differ
            for span in item.versions[0].value:
                names = sorted({n for a in recs for n in attributes[a].get(span, {})})
                for name in names:
                    vals = {a: attributes[a].get(span, {}).get(name, "") for a in recs}
                    sub = _item(f"attribute:{span[0]}-{span[1]}:{span[2]}:{name}", "attribute",
                                vals, start=span[0], end=span[1],
                                title=f"{name} of {span[2]} {span[0]}-{span[1]}")
                    if not sub.agreed:
                        items.append(sub)
    return items


def triples(record: DocumentRecord) -> list[agree.Triple]:
    """A record's relations as (head span, tail span, type), each span with its label."""
    return [(_as_span(record, r.head), _as_span(record, r.tail), r.label)
            for r in record.relations]


def _as_span(record: DocumentRecord, index: int) -> Span:
    s = record.spans[index]
    return s.start, s.end, s.label


def _pairs(record: DocumentRecord) -> dict[tuple[Span, Span], tuple[str, ...]]:
    out: dict[tuple[Span, Span], list[str]] = {}
    for head, tail, label in triples(record):
        out.setdefault((head, tail), []).append(label)
    return {pair: tuple(sorted(labels)) for pair, labels in out.items()}


def _agreed_spans(items: Sequence[Item]) -> set[Span]:
    return {span for i in items if i.kind == "entities" and i.agreed
            for span in i.versions[0].value}


def _relation_items(items: Sequence[Item],
                    relations: Mapping[str, Mapping[tuple[Span, Span], tuple[str, ...]]]
                    ) -> list[Item]:
    """The relations between two agreed entities where the layers differ (agreed ones go
    into the gold with their entities, as attributes do): one item per ordered pair, each
    layer's version the types it gave the pair (``()``: none)."""
    agreed = _agreed_spans(items)
    pairs = sorted({pair for rel in relations.values() for pair in rel
                    if pair[0] in agreed and pair[1] in agreed})
    out = []
    for head, tail in pairs:
        values = {a: rel.get((head, tail), ()) for a, rel in relations.items()}
        item = _item(relation_key(head, tail), "relation", values,
                     start=min(head[0], tail[0]), end=max(head[1], tail[1]),
                     title=f"relation {head[2]} {head[0]}-{head[1]} > {tail[2]} "
                           f"{tail[0]}-{tail[1]}")
        if not item.agreed:
            out.append(item)
    return out


def relation_key(head: Span, tail: Span) -> str:
    """The adjudication key of the relations from ``head`` to ``tail``."""
    return f"relation:{head[0]}-{head[1]}:{head[2]}>{tail[0]}-{tail[1]}:{tail[2]}"


def _gold_relations(adj: Adjudication, chosen: Mapping[str, Version | None],
                    gold: set[Span]) -> list[tuple[Span, Span, str]]:
    """The relations of the gold: between two agreed entities, the layers' relations where
    they agree and the chosen version where they differ; with an end in a disputed stretch
    of entities, a layer's relation when every such stretch took that layer's version."""
    agreed = _agreed_spans(adj.items)
    stretch = {span: i for i in adj.items if i.kind == "entities"
               for v in i.versions for span in v.value}
    out: dict[tuple[Span, Span, str], None] = {}
    for annotator, rel in adj.relations.items():
        for (head, tail), labels in rel.items():
            if head not in gold or tail not in gold:
                continue
            if head in agreed and tail in agreed:
                key = relation_key(head, tail)
                if key in chosen:  # disputed (an item): the chosen version's types
                    picked = chosen[key]
                    labels = picked.value if picked is not None else ()
            else:
                versions = [chosen.get(stretch[end].key) for end in (head, tail)
                            if end not in agreed]
                if not all(v is not None and annotator in v.annotators for v in versions):
                    continue
            for label in labels:
                out[(head, tail, label)] = None
    return list(out)


def _sentence_items(recs: Mapping[str, DocumentRecord]) -> list[Item]:
    bounds = sorted({(s.start, s.end) for r in recs.values() for s in r.sentences})
    items = []
    for start, end in bounds:
        values = {a: tuple(sorted(next((s.labels for s in r.sentences
                                        if (s.start, s.end) == (start, end)), ())))
                  for a, r in recs.items()}
        if any(values.values()):
            items.append(_item(f"sentence:{start}-{end}", "sentence", values, start=start,
                               end=end, title=f"sentence {start}-{end}"))
    return items


def _answer_items(recs: Mapping[str, DocumentRecord], text_: str) -> list[Item]:
    questions = list(dict.fromkeys(q.text for r in recs.values() for q in r.questions))
    items = []
    for n, question in enumerate(questions):
        values = {}
        for a, r in recs.items():
            q = next((q for q in r.questions if q.text == question), None)
            values[a] = AnswerValue(
                tuple(sorted((x.start, x.end) for x in q.answers)) if q else (),
                bool(q and q.is_impossible), text_)
        item = _item(f"answer:{n}", "answer", values, title=question)
        spans = [s for v in item.versions for s in v.value.spans]
        items.append(replace(item, start=min((s for s, _ in spans), default=None),
                             end=max((e for _, e in spans), default=None)))
    return items


def _gold_batch(project: Project, adj: Adjudication, chosen: Mapping[str, Version | None],
                choices: Mapping[str, str | None]) -> Batch:
    """Ops replacing the document's labels by the chosen versions, then marking it
    reviewed (the gold is done)."""
    who = project.annotator
    ops: list[Op] = []
    with project.read() as session:
        doc = session.get(Document, adj.doc_id)
        assert doc is not None
        existing = [(e.start, e.end) for e in doc.entities]
        questions = {q.text: q.id for q in doc.questions}
        sentences = set(session.execute(
            select(Sentence.start, Sentence.end).where(Sentence.document_id == adj.doc_id)
        ).tuples())
        tasks = {t.kind for t in session.scalars(select(Task))}
    if "ner" in tasks:
        gold: set[Span] = set()
        ops += [RemoveEntity(adj.doc_id, s, e) for s, e in existing]
        for item in adj.items:
            version = chosen.get(item.key)
            if item.kind != "entities" or version is None:
                continue
            source = choices.get(item.key) or version.annotators[0]
            for span in version.value:
                values = dict(adj.attributes[source].get(span, {}))
                for sub in adj.items:  # a disputed attribute of an agreed entity
                    if sub.kind == "attribute" and sub.key.startswith(
                            f"attribute:{span[0]}-{span[1]}:{span[2]}:"):
                        name = sub.key.rsplit(":", 1)[1]
                        picked = chosen.get(sub.key)
                        values[name] = picked.value if picked is not None else ""
                marks = tuple(AttributeMark(n, v or None, ADJUDICATED, who)
                              for n, v in sorted(values.items()) if v)
                ops.append(AddEntity(adj.doc_id, span[0], span[1], span[2], ADJUDICATED, who,
                                     attributes=marks))
                gold.add(span)
        ops += [AddRelation(adj.doc_id, (head[0], head[1]), (tail[0], tail[1]), label,
                            ADJUDICATED, who)
                for head, tail, label in _gold_relations(adj, chosen, gold)]
    for item in adj.items:
        version = chosen.get(item.key)
        if item.kind == "classes":
            labels = tuple(version.value) if version is not None else ()
            ops.append(SetClasses(adj.doc_id, labels,
                                  tuple(ClassMark(x, ADJUDICATED, who) for x in labels)))
        elif item.kind == "sentence":
            labels = tuple(version.value) if version is not None else ()
            if (item.start, item.end) not in sentences:
                continue  # a sentence only a layer split off: not the document's
            assert item.start is not None and item.end is not None
            ops.append(SetSentenceClasses(
                adj.doc_id, item.start, item.end, labels,
                tuple(SentenceClassMark(x, ADJUDICATED, who) for x in labels)))
        elif item.kind == "answer":
            qid = questions.get(item.title)
            if qid is None:
                continue  # a question only a layer asked: not the document's
            value = version.value if version is not None else AnswerValue()
            ops.append(SetAnswer(qid, tuple(AnswerMark(s, e, ADJUDICATED, who)
                                            for s, e in value.spans), value.impossible))
    ops.append(SetReviewStatus(adj.doc_id, "reviewed"))
    return Batch(tuple(ops))
