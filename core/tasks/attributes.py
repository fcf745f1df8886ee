"""Attributes of entities (negation, temporality, ...): one value per entity and attribute.

The attributes are declared on the NER task (:class:`core.types.AttributeSpec`,
:mod:`core.store.attributes`); this kind is their model. Its task row (kind 'attribute')
holds the model versions, training runs and suggestions; it is not a screen of its own
(``project.documents.tasks()`` leaves it out).

**The head** is one ``AutoModelForSequenceClassification`` whose outputs are every
``attribute=value`` pair (``id2label``), so a model directory loads with plain
``from_pretrained``. The input is a window of the note around one entity, the entity between
two added special tokens, ``[E]`` and ``[/E]`` (saved with the tokenizer):
``[CLS] ... no evidence of [E] pneumonia [/E] on the film ... [SEP]``. Training is one
cross-entropy per attribute over that attribute's slice of the logits (a grouped softmax;
an attribute that does not apply to the entity's label is left out of its loss), and
decoding the arg-max within each slice. (Issue 13 also names a pooled span representation
as the other input to try; only the markers are built.)

**Labelled**: a document is labelled for attributes when it has entities (each one has a
value of every attribute that applies to it, the default when none was set) or it was
marked done; its entities with at least one attribute are the training examples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from core.engine import decoding
from core.engine.alignment import IGNORE_INDEX
from core.engine.features import Feature, special_template, tokenize_contexts
from core.engine.results import AttributesPrediction, AttributeValuePrediction
from core.engine.settings import TaskSpec
from core.tasks.base import (
    DOCUMENTS,
    AnnotationKind,
    NewSuggestion,
    PayloadError,
    marked_sql,
    payload_field,
)
from core.types import DocumentRecord, EntitySpan, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
    from core.engine.results import DocumentPrediction
    from core.store.models import Document, Suggestion

# The entity markers, added to the tokenizer as special tokens.
ENTITY_START, ENTITY_END = "[E]", "[/E]"
MARKERS = (ENTITY_START, ENTITY_END)


def pair_name(attribute: str, value: str) -> str:
    """The model's output name of one value: ``negation=Negated``."""
    return f"{attribute}={value}"


def attribute_groups(labels: Sequence[str]) -> list[tuple[str, list[int], list[str]]]:
    """The attributes of a model's outputs (``name=value`` each, an attribute's values
    together), in order: (name, output indices, values)."""
    groups: dict[str, tuple[list[int], list[str]]] = {}
    for i, label in enumerate(labels):
        name, sep, value = label.partition("=")
        if not sep:
            raise ValueError(f"attribute output {label!r} is not of the form name=value")
        idx, values = groups.setdefault(name, ([], []))
        idx.append(i)
        values.append(value)
    return [(name, idx, values) for name, (idx, values) in groups.items()]


@dataclass(frozen=True)
class AttributePayload:
    """A suggested value of one attribute of the entity ``[start, end)`` (a ``label``
    entity, a person's or a suggested one), with the model's probability of each value."""

    start: int
    end: int
    label: str
    attribute: str
    value: str
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise PayloadError(f"attribute suggestion with bad offsets [{self.start}, {self.end})")
        if not self.attribute or not self.value or not self.label:
            raise PayloadError("attribute suggestion without an attribute, a value or a label")

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start, "end": self.end, "label": self.label,
            "attribute": self.attribute, "value": self.value,
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttributePayload:
        probs = data.get("probabilities") or {}
        if not isinstance(probs, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in probs.values()
        ):
            raise PayloadError(f"attribute payload: bad 'probabilities': {probs!r}")
        return cls(
            payload_field(data, "start", int, "attribute"),
            payload_field(data, "end", int, "attribute"),
            payload_field(data, "label", str, "attribute"),
            payload_field(data, "attribute", str, "attribute"),
            payload_field(data, "value", str, "attribute"),
            {str(k): float(v) for k, v in probs.items()},
        )


class AttributeKind(AnnotationKind):
    """Attribute values of entities (see the module docstring)."""

    kind = TaskKind.ATTRIBUTE
    suggestion_kind = "attribute"
    hangs_on = TaskKind.NER
    dependent_name = "attributes"
    dependent_max_length = 128
    Payload = AttributePayload
    batch_targets = "attribute"
    auto_model = "AutoModelForSequenceClassification"
    metric_name = "macro-F1"
    curve_metric = "f1"

    # --- which documents are labelled -------------------------------------------------

    def is_labelled(self, record: DocumentRecord) -> bool:
        return bool(record.spans) or TaskKind.ATTRIBUTE in record.labelled_for

    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        return (
            "(EXISTS (SELECT 1 FROM entity_annotations _ae WHERE _ae.document_id = "
            f"{alias}.id) OR {marked_sql(alias, TaskKind.ATTRIBUTE)})"
        )

    def is_example(self, record: DocumentRecord) -> bool:
        return any(s.attributes for s in record.spans)

    def predict_sql(self, alias: str = DOCUMENTS) -> str | None:
        # The entities a person labelled and those the tagger suggests.
        return (
            f"(EXISTS (SELECT 1 FROM entity_annotations _ae WHERE _ae.document_id = {alias}.id)"
            " OR EXISTS (SELECT 1 FROM suggestions _as WHERE _as.document_id = "
            f"{alias}.id AND _as.kind = 'entity' AND _as.state = 'pending'))"
        )

    def wants_labels_sql(self, alias: str = DOCUMENTS) -> str:
        return self.predict_sql(alias) or "1 = 1"

    # --- the model --------------------------------------------------------------------

    def task_labels(self, session: Session) -> tuple[str, ...] | None:
        from core.store.attributes import attribute_specs

        return tuple(pair_name(s.name, v) for s in attribute_specs(session) for v in s.values)

    def config_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        kwargs = super().config_kwargs(spec)
        # Documentation for a reader of config.json; the loss is the grouped one, not
        # transformers' (core.engine.job trains through training_module).
        kwargs["problem_type"] = "multi_label_classification"
        return kwargs

    def adapt_model(self, model: Any, tokenizer: Any) -> None:
        """Add the entity markers to the tokenizer (and rows for them to the embeddings);
        a model trained before has them already."""
        added = tokenizer.add_tokens(list(MARKERS), special_tokens=True)
        if added or len(tokenizer) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(len(tokenizer))

    def training_module(self, model: Any, spec: TaskSpec) -> Any:
        return grouped_softmax(model, attribute_groups(spec.labels))

    def labels_used(self, doc: DocumentRecord) -> Sequence[str]:
        return [pair_name(k, v) for s in doc.spans for k, v in s.attributes.items()]

    def label_problems(self, spec: TaskSpec, doc: DocumentRecord, where: str) -> list[str]:
        bad = sorted(set(self.labels_used(doc)) - set(spec.labels))
        if not bad:
            return []
        names = ", ".join(map(repr, bad))
        return [f"{where} has attribute value(s) {names} that the task does not declare"]

    def count_warnings(self, counts: Mapping[str, int]) -> list[str]:
        from core.engine.prepare import MIN_MENTIONS

        out = []
        for name, idx, values in attribute_groups(list(counts)):
            n = sum(counts.get(pair_name(name, v), 0) for v in values)
            if n < MIN_MENTIONS:
                out.append(f"only {n} entity(ies) with the attribute {name!r}: label at "
                           f"least {MIN_MENTIONS}")
        return out

    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        feats, _ = entity_features(tokenizer, spec, docs, max_length=max_length,
                                   with_gold=True)
        return feats

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        feats, where = entity_features(tokenizer, spec, docs, max_length=options.max_length,
                                       with_gold=with_loss)
        groups = attribute_groups(spec.labels)
        logits, loss = forward_grouped(model, feats, groups, with_loss=with_loss, **common)
        per_doc: list[list[AttributeValuePrediction]] = [[] for _ in docs]
        for i, (d, span) in enumerate(where):
            per_doc[d] += decode_attributes(groups, logits[i], span)
        preds: list[DocumentPrediction] = [AttributesPrediction(tuple(p)) for p in per_doc]
        return preds, loss

    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """Per attribute, over the gold entities it applies to: ``accuracy``, ``macro_f1``
        and ``per_value`` P/R/F1/support; overall ``accuracy`` and ``f1`` (means over the
        attributes) and ``per_label`` by ``attribute=value``."""
        return attribute_metrics(spec, docs, preds)

    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        for name in dict.fromkeys(k for d in docs for s in d.spans for k in s.attributes):
            gold = {s.attributes[name] for d in docs for s in d.spans if name in s.attributes}
            predicted = {v.value for p in preds for v in getattr(p, "values", ())
                         if v.attribute == name}
            if len(gold) > 1 and len(predicted) == 1:
                return (f"the model gives every dev entity the same {name} "
                        f"({next(iter(predicted))!r}).")
        return None

    # --- suggestions ------------------------------------------------------------------

    def prediction_snapshot(self, session: Session, doc: Document) -> tuple[DocumentRecord, list[int]]:
        """The document with its entities and the tagger's pending entity suggestions
        (attributes filled with the defaults), so both get attribute values suggested."""
        return with_suggested_entities(session, doc), []

    def payload_from_json(self, data: Mapping[str, Any]) -> AttributePayload:
        return AttributePayload.from_json(data)

    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        return [
            NewSuggestion(doc_id, AttributePayload(
                v.start, v.end, v.label, v.attribute, v.value, dict(v.probabilities)),
                v.confidence)
            for v in getattr(prediction, "values", ())
        ]

    def human_labels(self, session: Session, doc_ids: Sequence[int]) -> set[tuple[int, int, int, str]]:
        """``(doc_id, start, end, attribute)`` of every value a person stored."""
        from core.store.models import EntityAnnotation, EntityAttribute

        return set(session.execute(
            select(EntityAnnotation.document_id, EntityAnnotation.start, EntityAnnotation.end,
                   EntityAttribute.name)
            .join(EntityAttribute, EntityAttribute.entity_id == EntityAnnotation.id)
            .where(EntityAnnotation.document_id.in_(list(doc_ids)))
        ).tuples())

    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: Any,
        *, adds_to_existing: bool = False,
    ) -> bool:
        return (doc_id, payload.start, payload.end, payload.attribute) in human

    def apply(
        self, session: Session, row: Suggestion, payload: Any, *, annotator: str, origin: str,
    ) -> None:
        from core.store import repo
        from core.store.attributes import set_values
        from core.store.models import EntityAnnotation

        entity = session.scalars(select(EntityAnnotation).where(
            EntityAnnotation.document_id == row.document_id,
            EntityAnnotation.start == payload.start, EntityAnnotation.end == payload.end,
        )).first()
        if entity is None:
            raise repo.AnnotationError(
                f"cannot set {payload.attribute}={payload.value}: there is no entity at "
                f"[{payload.start}, {payload.end}) yet (accept the suggested entity first)")
        set_values(session, entity, {payload.attribute: payload.value}, annotator=annotator,
                   origin=origin, suggestion_id=row.id)

    def edited(self, payload: Any, **changes: Any) -> AttributePayload:
        value = changes.get("label")
        if value is None or value == payload.value:
            return payload  # type: ignore[no-any-return]
        return AttributePayload(payload.start, payload.end, payload.label, payload.attribute,
                                str(value), payload.probabilities)

    def pending_fields(
        self, payload: Any, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        return {
            "start": payload.start, "end": payload.end, "label": payload.label,
            "text": doc_text[payload.start:payload.end], "attribute": payload.attribute,
            "value": payload.value, "probabilities": dict(payload.probabilities),
        }

    def human_only(self, session: Session) -> int:
        from core.store.models import EntityAttribute

        return int(session.scalar(
            select(func.count(EntityAttribute.id)).where(
                EntityAttribute.origin == "human", EntityAttribute.suggestion_id.is_(None)
            )
        ) or 0)


def with_suggested_entities(session: Session, doc: Document) -> DocumentRecord:
    """The stored document's record with, beside its entities, the tagger's pending entity
    suggestions that overlap none (their attributes the defaults), in text order; the
    record's relations still name the same entities."""
    import dataclasses

    from core.store import repo
    from core.store.attributes import attribute_specs
    from core.store.models import Suggestion
    from core.types import Relation, fill_attributes

    specs = attribute_specs(session)
    record = repo.document_record(doc, specs)
    spans = list(record.spans)
    taken = [(s.start, s.end) for s in spans]
    for row in session.scalars(
        select(Suggestion).where(Suggestion.document_id == doc.id,
                                 Suggestion.kind == "entity",
                                 Suggestion.state == "pending").order_by(Suggestion.id)
    ):
        p = row.payload or {}
        start, end, label = p.get("start"), p.get("end"), p.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str)):
            continue
        if any(a < end and start < b for a, b in taken) or not 0 <= start < end:
            continue
        spans.append(EntitySpan(start, end, label, fill_attributes(specs, label, {})))
        taken.append((start, end))
    order = sorted(range(len(spans)), key=lambda i: spans[i].start)
    moved = {old: new for new, old in enumerate(order)}
    relations = tuple(Relation(moved[r.head], moved[r.tail], r.label) for r in record.relations)
    return dataclasses.replace(record, spans=tuple(spans[i] for i in order), relations=relations)


# --- model inputs, loss and decoding -----------------------------------------------------


def context_window(n_tokens: int, lo: int, hi: int, budget: int) -> tuple[int, int]:
    """The token window of at most ``budget`` tokens holding ``[lo, hi)`` (cut to its first
    ``budget`` tokens when longer), the context split evenly around it."""
    if hi - lo >= budget:
        return lo, lo + budget
    spare = budget - (hi - lo)
    left = min(lo, spare // 2)
    right = min(n_tokens - hi, spare - left)
    left = min(lo, spare - right)
    return lo - left, hi + right


def _targets(groups: Sequence[tuple[str, list[int], list[str]]],
             values: Mapping[str, str]) -> list[int]:
    """Per attribute, the index of the entity's value within the attribute's values
    (``IGNORE_INDEX``: the attribute does not apply, or a value the model does not know)."""
    out = []
    for name, _, names in groups:
        value = values.get(name)
        out.append(names.index(value) if value in names else IGNORE_INDEX)
    return out


def entity_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    with_gold: bool,
) -> tuple[list[Feature], list[tuple[int, EntitySpan]]]:
    """One model input per entity that has an attribute (``span.attributes`` not empty):
    ``[CLS] left [E] entity [/E] right [SEP]``, the window of the note around it cut to
    ``max_length``; and for each input (document index, entity)."""
    t = special_template(tokenizer)
    start_id, end_id = tokenizer.convert_tokens_to_ids(list(MARKERS))
    unk = getattr(tokenizer, "unk_token_id", None)
    if start_id is None or end_id is None or unk in (start_id, end_id):
        raise ValueError("the tokenizer has no entity markers [E] [/E] (not an attribute model)")
    groups = attribute_groups(spec.labels)
    budget = max(1, max_length - len(t.prefix) - len(t.suffix) - 2)
    tokenized = tokenize_contexts(tokenizer, [d.text for d in docs])
    features: list[Feature] = []
    where: list[tuple[int, EntitySpan]] = []
    for d, (doc, tok) in enumerate(zip(docs, tokenized)):
        for span in doc.spans:
            if not span.attributes:
                continue
            inside = [i for i, (a, b) in enumerate(tok.offsets) if a < span.end and span.start < b]
            if inside:
                lo, hi = inside[0], inside[-1] + 1
            else:  # characters the tokenizer drops: the markers stand next to each other
                lo = hi = sum(1 for a, _ in tok.offsets if a < span.start)
            a, b = context_window(len(tok.ids), lo, hi, budget)
            hi = min(hi, b)
            ids = tok.ids
            input_ids = [*t.prefix, *ids[a:lo], start_id, *ids[lo:hi], end_id, *ids[hi:b],
                         *t.suffix]
            features.append(Feature(
                input_ids=input_ids, token_type_ids=[0] * len(input_ids), example=len(where),
                window=(lo, hi), content_offset=len(t.prefix),
                labels=_targets(groups, span.attributes) if with_gold else None,
            ))
            where.append((d, span))
    return features, where


def grouped_loss(logits: Any, targets: Any,
                 groups: Sequence[tuple[str, list[int], list[str]]]) -> Any:
    """The mean over attributes of the cross-entropy within each attribute's slice of the
    logits; entities an attribute does not apply to (target ``IGNORE_INDEX``) are left out
    of its term, and an attribute with no target in the batch adds nothing."""
    import torch

    total = logits.new_zeros(())
    terms = 0
    for g, (_, idx, _) in enumerate(groups):
        target = targets[:, g]
        if bool((target != IGNORE_INDEX).any()):
            total = total + torch.nn.functional.cross_entropy(
                logits[:, idx].float(), target, ignore_index=IGNORE_INDEX)
            terms += 1
    return total / max(terms, 1)


class _Output:
    def __init__(self, loss: Any, logits: Any) -> None:
        self.loss, self.logits = loss, logits


def grouped_softmax(model: Any, groups: Sequence[tuple[str, list[int], list[str]]]) -> Any:
    """``model`` (a sequence classifier) as the training loop calls it: with
    ``attribute_labels`` (per input, the value index of each attribute) its output's
    ``loss`` is :func:`grouped_loss`. The weights are ``model``'s own (saved as usual)."""
    import torch

    class _Grouped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, attribute_labels: Any = None, **inputs: Any) -> _Output:
            logits = self.model(**inputs).logits
            loss = None if attribute_labels is None else grouped_loss(
                logits, attribute_labels, groups)
            return _Output(loss, logits)

    return _Grouped()


def forward_grouped(
    model: Any, features: Sequence[Feature], groups: Sequence[tuple[str, list[int], list[str]]],
    *, batch_size: int, device: Any, pad_id: int, with_loss: bool = False,
    multi_label: bool = False,
) -> tuple[list[np.ndarray], float | None]:
    """Logits of every input (in input order) and, with targets, the mean grouped loss."""
    import torch

    from core.engine import runtime
    from core.engine.batching import inference_batches, pad_batch

    outputs: list[np.ndarray] = [np.zeros(0)] * len(features)
    loss_sum, loss_n = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), runtime.autocast(device):
            for idx in inference_batches([len(f) for f in features], batch_size):
                feats = [features[i] for i in idx]
                batch = pad_batch(feats, pad_id, with_targets="attribute" if with_loss else None)
                targets = batch.pop("attribute_labels", None)
                batch = runtime.to_device(runtime.model_inputs(model, batch), device)
                logits = model(**batch).logits
                if targets is not None:
                    loss_sum += float(grouped_loss(logits, targets.to(device), groups)) * len(idx)
                    loss_n += len(idx)
                values = logits.float().cpu().numpy()
                for row, i in enumerate(idx):
                    outputs[i] = values[row]
    finally:
        model.train(was_training)
    return outputs, (loss_sum / loss_n if loss_n else None)


def decode_attributes(
    groups: Sequence[tuple[str, list[int], list[str]]], logits: np.ndarray, span: EntitySpan
) -> list[AttributeValuePrediction]:
    """The arg-max value of every attribute that applies to ``span`` (its ``attributes``
    keys), with a softmax over the attribute's values."""
    out = []
    for name, idx, values in groups:
        if name not in span.attributes:
            continue
        probs = decoding.softmax(np.asarray(logits, dtype=np.float64)[idx], axis=-1)
        best = int(np.argmax(probs))
        out.append(AttributeValuePrediction(
            span.start, span.end, span.label, name, values[best],
            {v: float(p) for v, p in zip(values, probs)},
        ))
    return out


def attribute_metrics(
    spec: TaskSpec, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
) -> dict[str, Any]:
    """The metrics of :meth:`AttributeKind.score`, on the gold entities of ``docs`` (the
    predictions were made for those same entities)."""
    from core.engine import metrics

    groups = attribute_groups(spec.labels)
    gold: dict[str, list[tuple[str, ...]]] = {name: [] for name, _, _ in groups}
    predicted: dict[str, list[tuple[str, ...]]] = {name: [] for name, _, _ in groups}
    for doc, pred in zip(docs, preds):
        by_key = {(v.start, v.end, v.attribute): v.value for v in getattr(pred, "values", ())}
        for span in doc.spans:
            for name, value in span.attributes.items():
                if name not in gold:
                    continue
                gold[name].append((value,))
                got = by_key.get((span.start, span.end, name))
                predicted[name].append((got,) if got is not None else ())
    per_attribute: dict[str, Any] = {}
    per_label: dict[str, Any] = {}
    for name, _, values in groups:
        m = metrics.classification_metrics(gold[name], predicted[name], values)
        per_attribute[name] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                               "per_value": m["per_label"], "support": m["support"]}
        for value, row in m["per_label"].items():
            per_label[pair_name(name, value)] = row
    scored = [a for a in per_attribute.values() if a["support"]]
    return {
        "accuracy": float(np.mean([a["accuracy"] for a in scored])) if scored else 0.0,
        "f1": float(np.mean([a["macro_f1"] for a in scored])) if scored else 0.0,
        "attributes": per_attribute,
        "per_label": per_label,
        "support": sum(a["support"] for a in per_attribute.values()),
    }


ATTRIBUTE = AttributeKind()
