"""Relations between entities (a dosage of a medication, a finding at a body site, ...).

The relation types are declared on the NER task (:class:`core.types.RelationSpec`,
:mod:`core.store.relations`); this kind is their model. Its task row (kind 'relation') holds
the model versions, training runs and suggestions; it is not a screen of its own.

**Candidates.** The model classifies ordered pairs of a document's entities: the head's
label and the tail's must be allowed by at least one declared type (both orders are
candidates when the types allow both), and the two entities with the text between them
must fit in one model input (:data:`RELATION_MAX_LENGTH` tokens with the special tokens and
the four markers: about 90 words), the rest of the window filled with the text around
them. A gold relation between entities farther apart is never a candidate, so it counts as
missed in the scores.

**The head** is one ``AutoModelForSequenceClassification`` over ``no_relation`` and the
type names (``id2label``), so a model directory loads with plain ``from_pretrained``. The
input marks the head and the tail with special tokens added to the tokenizer, wherever they
stand in the text: ``[CLS] ... [E1] 10 mg [/E1] of [E2] aspirin [/E2] ... [SEP]``. Decoding
takes the softmax over ``no_relation`` and the types the pair's labels allow (the others
are never predicted for it). A pair holds at most one type in the model (a file or a person
may give a pair two: the first by name trains). The model's ``labels`` (``annotator.json``)
are the declared types in their text form, so a model carries the label pairs it was
trained for.

**Negatives.** Most candidate pairs hold no relation; training reads every candidate pair and
weighs each in the cross-entropy by its class's inverse frequency in the training pairs
(``n / (classes x count)``), so the few pairs with a relation count as much as the many
without. Measured against keeping every pair unweighted and against keeping at most 3
negatives per positive (``benchmarks/bench_relations.py``; ``docs/architecture.md``): with
20 training notes, test F1 0.89 weighted, 0.81 subsampled, 0.25 unweighted (3 seeds); with
150, all 1.0. :data:`CLASS_WEIGHTED` and :data:`NEGATIVES_PER_POSITIVE` switch the other
recipes on for such measurements. Dev and test scores read every candidate.

**Labelled**: a document is labelled for relations when it has a relation, or was imported
with a ``relations`` list (even empty), or was marked done; its candidate pairs are the
training examples, those without a relation the negatives.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from core.engine import decoding
from core.engine.features import Feature, special_template, tokenize_contexts
from core.engine.results import NO_RELATION, RelationPairPrediction, RelationsPrediction
from core.engine.settings import TaskSpec
from core.tasks.attributes import context_window, with_suggested_entities
from core.tasks.base import (
    DOCUMENTS,
    AnnotationKind,
    NewSuggestion,
    PayloadError,
    marked_sql,
    payload_field,
)
from core.types import DocumentRecord, RelationSpec, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
    from core.engine.results import DocumentPrediction
    from core.store.models import Document, Suggestion
    from core.store.repo import Declarations

# The markers around the head and the tail, added to the tokenizer as special tokens.
HEAD_START, HEAD_END, TAIL_START, TAIL_END = "[E1]", "[/E1]", "[E2]", "[/E2]"
MARKERS = (HEAD_START, HEAD_END, TAIL_START, TAIL_END)
# The relation head's window (tokens): the pair and the text between them must fit.
RELATION_MAX_LENGTH = 128
# The recipe for the many pairs without a relation (module docstring): weigh the classes by
# their inverse frequency; and/or keep at most this many negatives per positive (None: all).
CLASS_WEIGHTED = True
NEGATIVES_PER_POSITIVE: int | None = None
NEGATIVE_SEED = 0


def type_specs(labels: Sequence[str]) -> list[RelationSpec]:
    """The relation types of a model's ``labels`` (their text form, as declared)."""
    return [RelationSpec.parse(text) for text in labels]


def type_names(labels: Sequence[str]) -> list[str]:
    return [s.name for s in type_specs(labels)]


@dataclass(frozen=True)
class RelationPayload:
    """A suggested relation ``label`` from the head entity ``[head_start, head_end)`` (a
    ``head_label`` entity, a person's or a suggested one) to the tail entity, with the
    model's probability of each type the pair allows and of ``no_relation``."""

    head_start: int
    head_end: int
    head_label: str
    tail_start: int
    tail_end: int
    tail_label: str
    label: str
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        for what, (a, b) in (("head", (self.head_start, self.head_end)),
                             ("tail", (self.tail_start, self.tail_end))):
            if not (0 <= a < b):
                raise PayloadError(f"relation suggestion with bad {what} offsets [{a}, {b})")
        if (self.head_start, self.head_end) == (self.tail_start, self.tail_end):
            raise PayloadError("relation suggestion linking an entity to itself")
        if not self.label or not self.head_label or not self.tail_label:
            raise PayloadError("relation suggestion without a type or an end's label")

    @property
    def head(self) -> tuple[int, int]:
        return self.head_start, self.head_end

    @property
    def tail(self) -> tuple[int, int]:
        return self.tail_start, self.tail_end

    def to_json(self) -> dict[str, Any]:
        return {
            "head": {"start": self.head_start, "end": self.head_end, "label": self.head_label},
            "tail": {"start": self.tail_start, "end": self.tail_end, "label": self.tail_label},
            "label": self.label,
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RelationPayload:
        ends = []
        for key in ("head", "tail"):
            end = payload_field(data, key, dict, "relation")
            ends.append((payload_field(end, "start", int, f"relation {key}"),
                         payload_field(end, "end", int, f"relation {key}"),
                         payload_field(end, "label", str, f"relation {key}")))
        probs = data.get("probabilities") or {}
        if not isinstance(probs, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in probs.values()
        ):
            raise PayloadError(f"relation payload: bad 'probabilities': {probs!r}")
        return cls(*ends[0], *ends[1], payload_field(data, "label", str, "relation"),
                   {str(k): float(v) for k, v in probs.items()})


class RelationKind(AnnotationKind):
    """Relations between entities (see the module docstring)."""

    kind = TaskKind.RELATION
    suggestion_kind = "relation"
    hangs_on = TaskKind.NER
    dependent_name = "relations"
    dependent_max_length = RELATION_MAX_LENGTH
    Payload = RelationPayload
    batch_targets = "relation"
    auto_model = "AutoModelForSequenceClassification"
    metric_name = "F1"
    curve_metric = "f1"

    # --- which documents are labelled -------------------------------------------------

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.relations) or TaskKind.RELATION in record.labelled_for

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "(EXISTS (SELECT 1 FROM entity_relations _rr JOIN entity_annotations _re ON "
            f"_re.id = _rr.head_id WHERE _re.document_id = {alias}.id) OR "
            f"{marked_sql(alias, TaskKind.RELATION)})"
        )

    def is_example(self, record: DocumentRecord) -> bool:
        return len(record.spans) >= 2  # a pair to classify, related or not

    def predict_sql(self, alias: str = DOCUMENTS) -> str | None:
        # Two entities at least, a person's or suggested by the tagger.
        return (
            "((SELECT count(*) FROM entity_annotations _pe WHERE _pe.document_id = "
            f"{alias}.id) + (SELECT count(*) FROM suggestions _ps WHERE _ps.document_id = "
            f"{alias}.id AND _ps.kind = 'entity' AND _ps.state = 'pending') >= 2)"
        )

    def wants_labels_sql(self, alias: str = DOCUMENTS) -> str:
        return self.predict_sql(alias) or "1 = 1"

    # --- the model --------------------------------------------------------------------

    def task_labels(self, session: Session) -> tuple[str, ...] | None:
        from core.store.relations import relation_specs

        return tuple(str(s) for s in relation_specs(session))

    def model_label_names(self, spec: TaskSpec) -> tuple[str, ...]:
        return (NO_RELATION, *type_names(spec.labels))

    def counted_labels(self, labels: Sequence[str]) -> tuple[str, ...]:
        return tuple(type_names(labels))

    def adapt_model(self, model: Any, tokenizer: Any) -> None:
        """Add the four markers to the tokenizer (and rows for them to the embeddings); a
        model trained before has them already."""
        from core.engine.modelio import add_markers  # (modelio imports the kinds)

        add_markers(model, tokenizer, MARKERS)

    def labels_used(self, doc: DocumentRecord) -> Sequence[str]:
        return [r.label for r in doc.relations]

    def label_problems(self, spec: TaskSpec, doc: DocumentRecord, where: str) -> list[str]:
        specs = {s.name: s for s in type_specs(spec.labels)}
        out = []
        for r in doc.relations:
            kind = specs.get(r.label)
            if kind is None:
                out.append(f"{where} has a relation {r.label!r} that the task does not declare")
            elif not (0 <= r.head < len(doc.spans) and 0 <= r.tail < len(doc.spans)):
                out.append(f"{where} has a {r.label} relation to an entity it does not have")
            elif not kind.allows(doc.spans[r.head].label, doc.spans[r.tail].label):
                out.append(f"{where} has a {r.label} relation from a {doc.spans[r.head].label} "
                           f"to a {doc.spans[r.tail].label} entity (declared as {kind})")
        return out

    def label_set(self, docs: Sequence[DocumentRecord]) -> tuple[list[str], bool]:
        return sorted({r.label for d in docs for r in d.relations}), False

    def count_warnings(self, counts: Mapping[str, int]) -> list[str]:
        from core.engine.prepare import MIN_MENTIONS

        n = sum(counts.values())
        if n < MIN_MENTIONS:
            return [f"only {n} relation(s) labelled: label at least {MIN_MENTIONS}"]
        return []

    def examples_problem(self, train: Sequence[DocumentRecord]) -> str | None:
        if not any(d.relations for d in train):
            return ("no relation labelled in the training documents: link some entities by "
                    "a relation first")
        return None

    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        feats, where = pair_features(tokenizer, spec, docs, max_length=max_length,
                                     with_gold=True)
        del where
        if NEGATIVES_PER_POSITIVE is not None:
            targets = [int(f.label or 0) for f in feats]  # type: ignore[arg-type]
            kept = subsample_negatives(targets, NEGATIVES_PER_POSITIVE, seed=NEGATIVE_SEED)
            feats = [feats[i] for i in kept]
        if CLASS_WEIGHTED:
            targets = [int(f.label or 0) for f in feats]  # type: ignore[arg-type]
            for f, w in zip(feats, class_weights(targets)):
                f.weight = w
        return feats

    def training_module(self, model: Any, spec: TaskSpec,
                        features: Sequence[Any] = ()) -> Any:
        return weighted_loss(model)

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        from core.engine.runtime import forward_features

        feats, where = pair_features(tokenizer, spec, docs, max_length=options.max_length,
                                     with_gold=with_loss)
        names = list(self.model_label_names(spec))
        specs = type_specs(spec.labels)
        per_doc: list[list[RelationPairPrediction]] = [[] for _ in docs]
        loss = None
        if feats:
            res = forward_features(model, feats, task="relation", with_loss=with_loss, **common)
            loss = res.loss
            for i, (d, h, t) in enumerate(where):
                per_doc[d].append(decode_pair(names, specs, res.outputs[i], docs[d], h, t))
        preds: list[DocumentPrediction] = [RelationsPrediction(tuple(p)) for p in per_doc]
        return preds, loss

    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """Micro ``precision``, ``recall``, ``f1`` over every relation of ``docs`` (a pair
        predicted with the gold type), ``per_label`` by type, ``support`` (gold relations)
        and ``predicted``."""
        return relation_metrics(type_names(spec.labels), docs, preds)

    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        gold = sum(len(d.relations) for d in docs)
        found = sum(len(p.related()) for p in preds if isinstance(p, RelationsPrediction))
        if gold and not found:
            return "the model finds no relation in the dev documents."
        return None

    # --- suggestions ------------------------------------------------------------------

    def prediction_snapshot(self, session: Session, doc: Document, declared: Declarations
                            ) -> tuple[DocumentRecord, list[int]]:
        """The document with its entities and the tagger's pending entity suggestions, so
        relations are suggested between both."""
        return with_suggested_entities(session, doc, declared), []

    def payload_from_json(self, data: Mapping[str, Any]) -> RelationPayload:
        return RelationPayload.from_json(data)

    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        if not isinstance(prediction, RelationsPrediction):
            return []
        return [
            NewSuggestion(doc_id, RelationPayload(
                p.head_start, p.head_end, p.head_label, p.tail_start, p.tail_end, p.tail_label,
                p.label, dict(p.probabilities)), p.confidence)
            for p in prediction.related()
        ]

    def human_labels(self, session: Session, doc_ids: Sequence[int]) -> set[tuple[int, ...]]:
        """``(doc_id, head_start, head_end, tail_start, tail_end)`` of every pair a person
        linked (any type)."""
        from sqlalchemy.orm import aliased

        from core.store.models import EntityAnnotation, EntityRelation

        head, tail = aliased(EntityAnnotation), aliased(EntityAnnotation)
        return set(session.execute(
            select(head.document_id, head.start, head.end, tail.start, tail.end)
            .join(EntityRelation, EntityRelation.head_id == head.id)
            .join(tail, tail.id == EntityRelation.tail_id)
            .where(head.document_id.in_(list(doc_ids)))
        ).tuples())

    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: Any,
        *, adds_to_existing: bool = False,
    ) -> bool:
        return (doc_id, *payload.head, *payload.tail) in human

    def apply(
        self, session: Session, row: Suggestion, payload: Any, *, annotator: str, origin: str,
    ) -> None:
        from core.store import repo
        from core.store.models import EntityAnnotation
        from core.store.relations import add_relation

        ends = []
        for what, (start, end) in (("head", payload.head), ("tail", payload.tail)):
            entity = session.scalars(select(EntityAnnotation).where(
                EntityAnnotation.document_id == row.document_id,
                EntityAnnotation.start == start, EntityAnnotation.end == end,
            )).first()
            if entity is None:
                raise repo.AnnotationError(
                    f"cannot link by {payload.label}: there is no entity at [{start}, {end}) "
                    f"(its {what}) yet (accept the suggested entity first)")
            ends.append(entity)
        add_relation(session, ends[0], ends[1], payload.label, annotator=annotator,
                     origin=origin, suggestion_id=row.id)

    def edited(self, payload: Any, **changes: Any) -> RelationPayload:
        label = changes.get("label")
        if label is None or label == payload.label:
            return payload  # type: ignore[no-any-return]
        return RelationPayload(payload.head_start, payload.head_end, payload.head_label,
                               payload.tail_start, payload.tail_end, payload.tail_label,
                               str(label), payload.probabilities)

    def pending_fields(
        self, payload: Any, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        start = min(payload.head_start, payload.tail_start)
        end = max(payload.head_end, payload.tail_end)
        return {
            "start": start, "end": end, "label": payload.label,
            "text": doc_text[start:end], "probabilities": dict(payload.probabilities),
            "head": (payload.head_start, payload.head_end, payload.head_label),
            "tail": (payload.tail_start, payload.tail_end, payload.tail_label),
        }

    def human_only(self, session: Session) -> int:
        from core.store.models import EntityRelation

        return int(session.scalar(
            select(func.count(EntityRelation.id)).where(
                EntityRelation.origin == "human", EntityRelation.suggestion_id.is_(None)
            )
        ) or 0)


# --- candidates, model inputs and decoding -----------------------------------------------


def class_weights(targets: Sequence[int]) -> list[float]:
    """Each target's weight, its class's inverse frequency: ``n / (classes x count)`` over
    the classes present (a class of half the pairs in two weighs 1)."""
    counts: dict[int, int] = {}
    for t in targets:
        counts[t] = counts.get(t, 0) + 1
    n, k = len(targets), len(counts)
    return [n / (k * counts[t]) for t in targets]


class _Output:
    def __init__(self, loss: Any, logits: Any) -> None:
        self.loss, self.logits = loss, logits


def weighted_loss(model: Any) -> Any:
    """``model`` (a sequence classifier) as the training loop calls it: with ``labels`` and
    ``pair_weights`` its output's ``loss`` is the weighted mean cross-entropy (as
    ``cross_entropy(weight=...)`` computes it: ``sum(w ce) / sum(w)``); without weights the
    plain mean. The weights are ``model``'s own (saved as usual)."""
    import torch

    class _Weighted(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, labels: Any = None, pair_weights: Any = None,
                    **inputs: Any) -> _Output:
            logits = self.model(**inputs).logits
            if labels is None:
                return _Output(None, logits)
            ce = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="none")
            if pair_weights is None:
                return _Output(ce.mean(), logits)
            return _Output((ce * pair_weights).sum() / pair_weights.sum(), logits)

    return _Weighted()


def subsample_negatives(targets: Sequence[int], ratio: int, *, seed: int) -> list[int]:
    """Indices of ``targets`` to train on: every positive (a target other than 0, no
    relation) and at most ``ratio`` negatives per positive (at least ``ratio``), drawn with
    ``seed``; in input order."""
    positives = [i for i, t in enumerate(targets) if t != 0]
    negatives = [i for i, t in enumerate(targets) if t == 0]
    room = ratio * max(len(positives), 1)
    if len(negatives) > room:
        negatives = random.Random(seed).sample(negatives, room)
    return sorted([*positives, *negatives])


def token_ranges(offsets: Sequence[tuple[int, int]], spans: Sequence[Any]) -> list[tuple[int, int]]:
    """Each span's ``[lo, hi)`` in tokens (an empty range where its characters are ones the
    tokenizer drops: the markers then stand next to each other)."""
    out = []
    for span in spans:
        inside = [i for i, (a, b) in enumerate(offsets) if a < span.end and span.start < b]
        if inside:
            out.append((inside[0], inside[-1] + 1))
        else:
            lo = sum(1 for a, _ in offsets if a < span.start)
            out.append((lo, lo))
    return out


def candidate_pairs(
    labels: Sequence[str], ranges: Sequence[tuple[int, int]], specs: Sequence[RelationSpec],
    budget: int,
) -> list[tuple[int, int]]:
    """The ordered pairs ``(head, tail)`` of entities (indices into ``labels`` and
    ``ranges``) some type allows whose two token ranges, and the tokens between them, fit
    in ``budget`` tokens; by head, then tail."""
    out = []
    for i, li in enumerate(labels):
        for j, lj in enumerate(labels):
            if i == j or not any(s.allows(li, lj) for s in specs):
                continue
            lo = min(ranges[i][0], ranges[j][0])
            hi = max(ranges[i][1], ranges[j][1])
            if hi - lo <= budget:
                out.append((i, j))
    return out


def pair_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    with_gold: bool,
) -> tuple[list[Feature], list[tuple[int, int, int]]]:
    """One model input per candidate pair (:func:`candidate_pairs`): the window of the note
    around the pair, the head between ``[E1]`` and ``[/E1]``, the tail between ``[E2]``
    and ``[/E2]``; and for each input (document index, head index, tail index) into the
    document's spans. With ``with_gold`` each input's ``label`` is the index of its gold
    type in the model's outputs (0: no relation)."""
    t = special_template(tokenizer)
    ids_of = tokenizer.convert_tokens_to_ids(list(MARKERS))
    unk = getattr(tokenizer, "unk_token_id", None)
    if any(i is None or i == unk for i in ids_of):
        raise ValueError("the tokenizer has no relation markers [E1] [/E1] [E2] [/E2] (not a "
                         "relation model)")
    h_start, h_end, t_start, t_end = ids_of
    specs = type_specs(spec.labels)
    outputs = {name: k for k, name in enumerate((NO_RELATION, *(s.name for s in specs)))}
    budget = max(1, max_length - len(t.prefix) - len(t.suffix) - len(MARKERS))
    tokenized = tokenize_contexts(tokenizer, [d.text for d in docs])
    features: list[Feature] = []
    where: list[tuple[int, int, int]] = []
    for d, (doc, tok) in enumerate(zip(docs, tokenized)):
        if len(doc.spans) < 2:
            continue
        ranges = token_ranges(tok.offsets, doc.spans)
        gold: dict[tuple[int, int], str] = {}
        for r in sorted(doc.relations, key=lambda r: r.label):
            gold.setdefault((r.head, r.tail), r.label)
        for i, j in candidate_pairs([s.label for s in doc.spans], ranges, specs, budget):
            (first, first_marks), (second, second_marks) = sorted(
                [(ranges[i], (h_start, h_end)), (ranges[j], (t_start, t_end))])
            lo1, hi1 = first
            lo2, hi2 = max(second[0], hi1), max(second[1], hi1)
            a, b = context_window(len(tok.ids), lo1, hi2, budget)
            ids = tok.ids
            input_ids = [*t.prefix, *ids[a:lo1], first_marks[0], *ids[lo1:hi1], first_marks[1],
                         *ids[hi1:lo2], second_marks[0], *ids[lo2:hi2], second_marks[1],
                         *ids[hi2:b], *t.suffix]
            label = None
            if with_gold:
                label = outputs.get(gold.get((i, j), NO_RELATION), 0)
            features.append(Feature(
                input_ids=input_ids, token_type_ids=[0] * len(input_ids), example=len(where),
                window=(lo1, hi2), content_offset=len(t.prefix), label=label,
            ))
            where.append((d, i, j))
    return features, where


def decode_pair(names: Sequence[str], specs: Sequence[RelationSpec], logits: np.ndarray,
                doc: DocumentRecord, head: int, tail: int) -> RelationPairPrediction:
    """The pair's type: the arg-max of a softmax over ``no_relation`` and the types its
    labels allow (``names``: the model's outputs, ``no_relation`` first)."""
    h, t = doc.spans[head], doc.spans[tail]
    allowed = {NO_RELATION} | {s.name for s in specs if s.allows(h.label, t.label)}
    idx = [k for k, name in enumerate(names) if name in allowed]
    probs = decoding.softmax(np.asarray(logits, dtype=np.float64)[idx], axis=-1)
    best = int(np.argmax(probs))
    return RelationPairPrediction(
        h.start, h.end, h.label, t.start, t.end, t.label, names[idx[best]],
        {names[k]: float(p) for k, p in zip(idx, probs)},
    )


def relation_metrics(names: Sequence[str], docs: Sequence[DocumentRecord],
                     preds: Sequence[DocumentPrediction]) -> dict[str, Any]:
    """Micro precision, recall and F1 of the predicted relations against the gold ones of
    ``docs`` (a relation is its head span, tail span and type), and per type."""
    gold: set[tuple[int, tuple[int, int], tuple[int, int], str]] = set()
    found: set[tuple[int, tuple[int, int], tuple[int, int], str]] = set()
    for n, (doc, pred) in enumerate(zip(docs, preds)):
        for r in doc.relations:
            if 0 <= r.head < len(doc.spans) and 0 <= r.tail < len(doc.spans):
                h, t = doc.spans[r.head], doc.spans[r.tail]
                gold.add((n, (h.start, h.end), (t.start, t.end), r.label))
        if isinstance(pred, RelationsPrediction):
            found |= {(n, (p.head_start, p.head_end), (p.tail_start, p.tail_end), p.label)
                      for p in pred.related()}
    overall = _prf(gold, found)
    per_label = {name: _prf({g for g in gold if g[3] == name}, {f for f in found if f[3] == name})
                 for name in names}
    return {**overall, "per_label": per_label, "predicted": len(found)}


def _prf(gold: set[Any], found: set[Any]) -> dict[str, Any]:
    tp = len(gold & found)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": len(gold)}


RELATION = RelationKind()
