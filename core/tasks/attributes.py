"""Attributes of entities (negation, temporality, ...): one value per entity and attribute.

The attributes are declared on the NER task (:class:`core.types.AttributeSpec`,
:mod:`core.store.attributes`); this kind is their model. Its task row (kind 'attribute')
holds the model versions, training runs and suggestions; it is not a screen of its own
(``project.documents.tasks()`` leaves it out).

**The head** is one ``AutoModelForSequenceClassification`` whose outputs are every
``attribute=value`` pair (``id2label``), so a model directory loads with plain
``from_pretrained``. Training is one cross-entropy per attribute over that attribute's
slice of the logits (a grouped softmax; an attribute that does not apply to the entity's
label is left out of its loss), and decoding the arg-max within each slice. How it reads
the entity (:data:`REPRESENTATION`; a saved model says its own in ``config.json``,
``"attribute_representation"``; a model without the key is a markers model):

* **entity start** (``"entity_start"``, the default): the input is a window of the note
  around the entity, the entity between two added special tokens, ``[E]`` and ``[/E]``
  (saved with the tokenizer): ``[CLS] ... no evidence of [E] pneumonia [/E] on the film ...
  [SEP]``; the head reads the encoder's last-layer vectors of ``[CLS]`` and of ``[E]``,
  concatenated (``[h_CLS; h_[E]]``, 2 x hidden), through dropout and one linear layer
  (:data:`SPAN_HEAD`), as relation extraction reads its entity markers (Baldini Soares et
  al. 2019, Zhou and Chen 2021).
* **markers** (``"markers"``): the same input; the head is the classifier's own, on the
  ``[CLS]`` vector through its pooler.
* **pooled** (``"pooled"``): the window as it is, without markers; the head reads
  ``[h_CLS; mean h_entity]``, the mean over the entity's sub-words, through the same span
  head.

The span head is no stock transformers part, so such a model directory is the same
``AutoModelForSequenceClassification`` (its own classifier unused) whose
``model.safetensors`` also holds ``attribute_span_head.weight`` and
``attribute_span_head.bias`` (covered by the weights' checksum). Loading:
``from_pretrained`` gives the encoder (it reports the two head keys as unexpected and leaves
them out); :func:`span_head` reads them from the directory's ``model.safetensors`` with
``safetensors`` (nothing unpickled). The switch only decides what new models train.

**Measured** (``benchmarks/bench_attributes.py --head-only``: the NegEx reports 1-45 train,
the engine holding out its own 15 % for early stopping, 46-60 test; 3 seeds; the files
``benchmarks/results/attributes_choice_*.json``). The recipe and the representation were
chosen on the held-out 15 % (the mean over seeds of its best-epoch score, the mean macro-F1
of the attributes), never on the test reports:

| recipe | held-out part | test negated-F1 | test temporality accuracy |
|---|---|---|---|
| markers, lr 5e-5, 4 epochs (the classes' recipe, before) | 0.851 | 0.856 | 0.918 |
| markers, lr 5e-5, 10 epochs | 0.879 | 0.880 | 0.921 |
| entity start, lr 5e-5, 10 epochs | 0.936 | 0.874 | 0.923 |
| markers, lr 1e-4, 10 epochs, patience 3 | 0.933 | 0.893 | 0.936 |
| **entity start, lr 1e-4, 10 epochs, patience 3** (the default) | **0.945** | 0.896 | 0.939 |
| the same, values weighed "sqrt" | 0.943 | 0.890 | 0.933 |
| entity start, lr 2e-4, 10 epochs, patience 3 | 0.941 | 0.890 | 0.939 |
| the default, then refit on all of 1-45 for its best epoch's count | | 0.891 | 0.942 |
| the same, values weighed "sqrt" (chosen by cross-validation, below: the default now) | | **0.896** | **0.939** |
| NegEx / ConText rules | | 0.824 | 0.942 |

**Refit** (``TrainingSettings.refit``, on in the ``ATTRIBUTE`` preset): the held-out part
cannot judge a model trained on it, so the refit was chosen on another split
(``bench_attributes.py --choice``: reports 1-39 train, the engine holding out its own 15 %,
40-45 scored; the test reports not read), 3 seeds: temporality accuracy 0.980 with the
refit vs 0.935 without (better at every seed), negated-F1 0.902 vs 0.896
(``attributes_choice_40-45_refit.json``, ``attributes_choice_40-45.json``). On the test
reports it gets "Not particular" at every seed (recall 1.0; before: 2 of 3 seeds), but
temporality accuracy stays level with the rules: 0.942 +- 0.013 (0.952 / 0.928 / 0.947)
vs 0.942; the errors left are "Historical" read as "Recent" (recall 0.61-0.65; the rules
0.57). Negated-F1 0.891 +- 0.008 (0.896 / 0.882 / 0.896), better than the rules at every
seed (``attributes_default_unweighted.json``; before the refit
``attributes_default_norefit.json``).

**Class weighting** (:data:`CLASS_WEIGHTING`, "sqrt" by default): chosen by 3-fold
cross-validation over the training reports (``bench_attributes.py --choice-fold A-B``: one
fold of reports 1-45 scored, the other two training with the engine's own held-out 15 %;
3 seeds a fold; the test reports not read). Mean over the folds 1-15, 16-30 and 31-45:

| values weighed | temporality accuracy (per fold) | negated-F1 (per fold) |
|---|---|---|
| not weighed | 0.939 (0.970 / 0.890 / 0.956) | 0.961 (0.978 / 0.970 / 0.934) |
| **"sqrt"** (the default) | **0.950** (0.967 / 0.927 / 0.958) | 0.961 (0.980 / 0.964 / 0.940) |
| NegEx / ConText rules | 0.941 (0.956 / 0.923 / 0.945) | 0.955 (0.961 / 0.939 / 0.966) |

The unweighted head loses fold 16-30 on "Not particular" (15 spans there, 12 to train
from; it finds 1, 7 and 5 of them, the weighed head 5, 14 and 13, the rules 14):
temporality 0.880 / 0.905 / 0.884 unweighted, 0.912 / 0.937 / 0.933 weighed. "Historical"
is where the head beats the rules on every fold (weighed, recall 0.86-0.90 vs 0.78 on 1-15,
0.62-0.67 vs 0.49 on 16-30, 0.65-0.75 vs 0.50 on 31-45). Negation is not better
everywhere: on fold 31-45 the head is below the rules (0.940 vs 0.966)
(``attributes_fold*.json``). Batches of 8 instead of 16 (weighed; ``--train-args
"--batch-size 8"``, ``attributes_fold*_batch8.json``) gave temporality 0.947 (0.962 /
0.933 / 0.946) and negated-F1 0.970 (0.978 / 0.970 / 0.961): better negation, worse
temporality (the one still level with the rules) and up to 1.5 x the training time; not
adopted.

**Rule hints** (:data:`RULE_HINTS`, off): the head reading what the NegEx / ConText rules
(:mod:`core.negex`) say of the entity, tried by the same cross-validation (weighed, 3 seeds
a fold): as added tokens, temporality 0.946 (0.964 / 0.906 / 0.967) and negated-F1 0.957
(0.970 / 0.954 / 0.948); as the encoder's own words, 0.946 (0.948 / 0.934 / 0.957) and
0.952 (0.961 / 0.934 / 0.961); both below the head without them (0.950, 0.961): not
adopted (``attributes_fold*_rule_hints_*.json``).

On the test reports the weighed head gets negated-F1 **0.896** at every seed (rules
0.824; unweighted 0.891) and temporality accuracy **0.939 +- 0.010** (0.942 / 0.928 /
0.947) vs the rules' 0.942 and the unweighted 0.942: level with the rules again, 0.7 of
208 spans below them on the mean; the errors are "Historical" read as
"Recent" (recall 0.48-0.65) (``attributes_default.json``).

At 4 epochs every seed's best epoch was its last, with the held-out score still rising, so
the head was under-trained. At the classes' recipe it never predicted "Not particular"
(27 training entities from a few "return if ..." sentences). The chosen recipe gets the 4
test entities of that value in 2 of 3 seeds. The seed that misses them kept 6 of the 27 in
its held-out part. Earlier runs with reports 40-45 as a fixed dev part
(``attributes.json``, ``attributes_pooled.json``, ``attributes_weighting_*.json``,
``attributes_recipes.json``) gave the markers 0.870 / 0.917 and the pooled variant 0.851 /
0.931. Weighting the values by inverse frequency ("balanced" 0.841 / 0.918) did not help
on reports 40-45, which hold 3 "Historical" spans: the reason for the cross-validation
above.

**Labelled**: a document is labelled for attributes when it has entities (each one has a
value of every attribute that applies to it, the default when none was set) or it was
marked done; its entities with at least one attribute are the training examples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
    from core.store.repo import Declarations

# The entity markers, added to the tokenizer as special tokens.
ENTITY_START, ENTITY_END = "[E]", "[/E]"
MARKERS = (ENTITY_START, ENTITY_END)
# How the head reads the entity (module docstring): "markers" ([E] ... [/E], the [CLS]
# vector), "pooled" ([CLS] and the mean over the entity's sub-words, no markers) or
# "entity_start" ([E] ... [/E], [CLS] and the vector of [E]). What new models train with; a
# saved model says its own in config.json (CONFIG_KEY).
REPRESENTATIONS = ("markers", "pooled", "entity_start")
# The representations read by the span head (SPAN_HEAD) over [CLS] and input positions.
SPAN_HEAD_REPRESENTATIONS = ("pooled", "entity_start")
REPRESENTATION = "entity_start"
CONFIG_KEY = "attribute_representation"
# How each attribute's values weigh in its cross-entropy (:func:`value_weights`): None (all
# 1), "balanced" (a value's inverse frequency in the training entities, n / (values x
# count), as the relation head weighs its classes) or "sqrt" (its square root, the default:
# chosen by 3-fold cross-validation over the NegEx training reports, "Measured" above).
CLASS_WEIGHTINGS = (None, "balanced", "sqrt")
CLASS_WEIGHTING: str | None = "sqrt"
# The pooled variant's head, a submodule of the model saved in its model.safetensors.
SPAN_HEAD = "attribute_span_head"
# Rule hints (:func:`rule_hints`): what the NegEx / ConText rules (core.negex) say of the
# entity in its sentence, after [CLS]: negated, historical, hypothetical (none when no
# trigger governs the entity), as added special tokens ("tokens": [R-NEG] [R-HIST] [R-HYP])
# or as words the encoder knows, before a separator ("words": [CLS] absent historical [SEP]
# left [E] ...; one word piece each in the default encoder's vocabulary). What new models
# read (None: no hints); a saved model says its own in config.json (RULE_HINTS_KEY; a model
# without the key reads none).
RULE_HINT_FORMS = (None, "tokens", "words")
RULE_HINT_TOKENS = ("[R-NEG]", "[R-HIST]", "[R-HYP]")
RULE_HINT_WORDS = ("absent", "historical", "hypothetical")
RULE_HINTS: str | None = None
RULE_HINTS_KEY = "attribute_rule_hints"


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
        """Set up :data:`REPRESENTATION` and :data:`RULE_HINTS` (written into
        ``model.config``): markers and hint tokens: add them to the tokenizer (and rows for
        them to the embeddings; a model trained before has them already); pooled and entity
        start: attach the span head (a previous version's, when the base is one with the same
        outputs, else a fresh one)."""
        if REPRESENTATION not in REPRESENTATIONS:
            raise ValueError(f"attribute representation {REPRESENTATION!r} is not one of "
                             f"{', '.join(REPRESENTATIONS)}")
        if RULE_HINTS not in RULE_HINT_FORMS:
            raise ValueError(f"attribute rule hints {RULE_HINTS!r} are not one of "
                             f"{', '.join(map(str, RULE_HINT_FORMS))}")
        model.config.update({CONFIG_KEY: REPRESENTATION, RULE_HINTS_KEY: RULE_HINTS})
        if REPRESENTATION in SPAN_HEAD_REPRESENTATIONS:
            attach_span_head(model)
        tokens = (() if REPRESENTATION == "pooled" else MARKERS) + (
            RULE_HINT_TOKENS if RULE_HINTS == "tokens" else ())
        if not tokens:
            return
        from core.engine.modelio import add_markers  # (modelio imports the kinds)

        add_markers(model, tokenizer, tokens)

    def training_module(self, model: Any, spec: TaskSpec,
                        features: Sequence[Any] = ()) -> Any:
        groups = attribute_groups(spec.labels)
        return grouped_softmax(model, groups, value_weights(groups, features, CLASS_WEIGHTING))

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
                                   with_gold=True, representation=REPRESENTATION,
                                   hints=RULE_HINTS)
        return feats

    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        feats, where = entity_features(tokenizer, spec, docs, max_length=options.max_length,
                                       with_gold=with_loss,
                                       representation=representation_of(model),
                                       hints=reads_rule_hints(model))
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

    def prediction_snapshot(self, session: Session, doc: Document, declared: Declarations
                            ) -> tuple[DocumentRecord, list[int]]:
        """The document with its entities and the tagger's pending entity suggestions
        (attributes filled with the defaults), so both get attribute values suggested."""
        return with_suggested_entities(session, doc, declared), []

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


def with_suggested_entities(session: Session, doc: Document,
                            declared: Declarations | None = None) -> DocumentRecord:
    """The stored document's record with, beside its entities, the tagger's pending entity
    suggestions that could be accepted beside them (their attributes the defaults), in text
    order; the record's relations still name the same entities. A suggestion that could be
    accepted overlaps no entity or suggestion taken before it, or, in a task whose entities
    may overlap, shares no extent with one and overlaps none of its label
    (:func:`core.tasks.base.nested_entity_clashes`)."""
    import dataclasses

    from core.store import repo
    from core.store.models import Suggestion
    from core.tasks.base import nested_entity_clashes
    from core.types import Relation, fill_attributes

    if declared is None:  # ``declared``: the NER task's, read once for many documents
        declared = repo.declarations(session)
    specs = declared.attributes
    record = repo.document_record(doc, specs, relation_specs=declared.relations)
    spans = list(record.spans)
    taken = [(s.start, s.end, s.label) for s in spans]
    overlapping = declared.overlapping
    for row in session.scalars(
        select(Suggestion).where(Suggestion.document_id == doc.id,
                                 Suggestion.kind == "entity",
                                 Suggestion.state == "pending").order_by(Suggestion.id)
    ):
        p = row.payload or {}
        start, end, label = p.get("start"), p.get("end"), p.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str)):
            continue
        if not 0 <= start < end or (
                nested_entity_clashes(taken, start, end, label) if overlapping
                else any(a < end and start < b for a, b, _ in taken)):
            continue
        spans.append(EntitySpan(start, end, label, fill_attributes(specs, label, {})))
        taken.append((start, end, label))
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


def rule_hints(text: str, sentences: Sequence[tuple[int, int]], span: EntitySpan) -> list[str]:
    """The rule hint tokens (:data:`RULE_HINT_TOKENS`) of ``span``: what
    :func:`core.negex.assess` says of it in its sentence (the sentences of ``sentences``
    it overlaps; the whole text when it overlaps none)."""
    from core.negex import assess

    around = [(a, b) for a, b in sentences if a < span.end and span.start < b]
    lo, hi = (around[0][0], around[-1][1]) if around else (0, len(text))
    lo, hi = min(lo, span.start), max(hi, span.end)
    try:
        found = assess(text[lo:hi], span.start - lo, span.end - lo)
    except ValueError:  # the span holds only white space: no trigger can govern it
        return []
    negated, historical, hypothetical = RULE_HINT_TOKENS
    out = [negated] if found.negation == "Negated" else []
    if found.temporality == "Historical":
        out.append(historical)
    elif found.temporality == "Not particular":
        out.append(hypothetical)
    return out


def entity_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    with_gold: bool, representation: str = "markers", hints: str | None = None,
) -> tuple[list[Feature], list[tuple[int, EntitySpan]]]:
    """One model input per entity that has an attribute (``span.attributes`` not empty),
    the window of the note around it cut to ``max_length``; and for each input (document
    index, entity).

    Markers: ``[CLS] left [E] entity [/E] right [SEP]``. Pooled: ``[CLS] left entity right
    [SEP]``, the entity's input positions ``[start_position, end_position)`` (empty when the
    tokenizer drops its characters); with gold, they are also the last two of ``labels``
    (after the value index of each attribute), the only per-input integers the training
    batch carries (``attribute_labels``). Entity start (``representation="entity_start"``):
    the markers' input, the positions those of ``[E]`` alone. With ``hints``
    (:data:`RULE_HINT_FORMS`), the entity's :func:`rule_hints` follow ``[CLS]``: "tokens"
    ``[CLS] [R-HIST] left [E] entity [/E] ...``, "words" ``[CLS] historical [SEP] left [E]
    entity [/E] ...`` (nothing between ``[CLS]`` and the window when there are none)."""
    pooled = representation == "pooled"
    start_only = representation == "entity_start"
    t = special_template(tokenizer)
    start_id = end_id = 0
    if not pooled:
        start_id, end_id = tokenizer.convert_tokens_to_ids(list(MARKERS))
        unk = getattr(tokenizer, "unk_token_id", None)
        if start_id is None or end_id is None or unk in (start_id, end_id):
            raise ValueError("the tokenizer has no entity markers [E] [/E] (not an attribute "
                             "model)")
    hint_ids: dict[str, list[int]] = {}
    if hints == "tokens":
        ids_ = tokenizer.convert_tokens_to_ids(list(RULE_HINT_TOKENS))
        unk = getattr(tokenizer, "unk_token_id", None)
        if any(i is None or i == unk for i in ids_):
            raise ValueError("the tokenizer has no rule hint tokens "
                             f"{' '.join(RULE_HINT_TOKENS)} (its config says it reads them)")
        hint_ids = {tok: [i] for tok, i in zip(RULE_HINT_TOKENS, ids_)}
    elif hints == "words":
        hint_ids = {tok: list(tokenizer(word, add_special_tokens=False)["input_ids"])
                    for tok, word in zip(RULE_HINT_TOKENS, RULE_HINT_WORDS)}
    elif hints is not None:
        raise ValueError(f"attribute rule hints {hints!r} are not one of "
                         f"{', '.join(map(str, RULE_HINT_FORMS))}")
    groups = attribute_groups(spec.labels)
    tokenized = tokenize_contexts(tokenizer, [d.text for d in docs])
    features: list[Feature] = []
    where: list[tuple[int, EntitySpan]] = []
    for d, (doc, tok) in enumerate(zip(docs, tokenized)):
        sentences: list[tuple[int, int]] | None = None
        for span in doc.spans:
            if not span.attributes:
                continue
            head = list(t.prefix)
            if hints:
                if sentences is None:
                    from core.segment import segment

                    sentences = segment(doc.text)
                found = [i for h in rule_hints(doc.text, sentences, span) for i in hint_ids[h]]
                head += found + (list(t.middle) if found and hints == "words" else [])
            budget = max(1, max_length - len(head) - len(t.suffix) - (0 if pooled else 2))
            inside = [i for i, (a, b) in enumerate(tok.offsets) if a < span.end and span.start < b]
            if inside:
                lo, hi = inside[0], inside[-1] + 1
            else:  # characters the tokenizer drops: the markers stand next to each other
                lo = hi = sum(1 for a, _ in tok.offsets if a < span.start)
            a, b = context_window(len(tok.ids), lo, hi, budget)
            hi = min(hi, b)
            ids = tok.ids
            if pooled:
                input_ids = [*head, *ids[a:b], *t.suffix]
                first = len(head) + lo - a
                positions = (first, first + hi - lo)
            else:
                input_ids = [*head, *ids[a:lo], start_id, *ids[lo:hi], end_id,
                             *ids[hi:b], *t.suffix]
                marker = len(head) + lo - a
                positions = (marker, marker + 1) if start_only else (0, 0)
            labels = None
            if with_gold:
                labels = _targets(groups, span.attributes) + (
                    list(positions) if pooled or start_only else [])
            features.append(Feature(
                input_ids=input_ids, token_type_ids=[0] * len(input_ids), example=len(where),
                window=(lo, hi), content_offset=len(head), labels=labels,
                start_position=positions[0], end_position=positions[1],
            ))
            where.append((d, span))
    return features, where


def value_weights(groups: Sequence[tuple[str, list[int], list[str]]],
                  features: Sequence[Any], weighting: str | None) -> list[list[float]] | None:
    """Per attribute, the weight of each of its values in the loss, from the training
    inputs' targets (``features[i].labels``, one value index per attribute): "balanced"
    ``n / (k x count)`` over the k values that occur (a value no entity has weighs 1), "sqrt"
    its square root; None (or no targets): no weights."""
    if weighting is None:
        return None
    if weighting not in CLASS_WEIGHTINGS:
        raise ValueError(f"attribute class weighting {weighting!r} is not one of "
                         f"{', '.join(map(str, CLASS_WEIGHTINGS))}")
    out: list[list[float]] = []
    for g, (_, _, names) in enumerate(groups):
        counts = [0] * len(names)
        for f in features:
            target = (f.labels or [])[g] if f.labels and g < len(f.labels) else IGNORE_INDEX
            if 0 <= target < len(names):
                counts[target] += 1
        n, k = sum(counts), sum(1 for c in counts if c)
        balanced = [n / (k * c) if c else 1.0 for c in counts]
        out.append(balanced if weighting == "balanced" else [w ** 0.5 for w in balanced])
    return out


def grouped_loss(logits: Any, targets: Any,
                 groups: Sequence[tuple[str, list[int], list[str]]],
                 weights: Sequence[Any] | None = None) -> Any:
    """The mean over attributes of the cross-entropy within each attribute's slice of the
    logits; entities an attribute does not apply to (target ``IGNORE_INDEX``) are left out
    of its term, and an attribute with no target in the batch adds nothing. ``weights``:
    per attribute a tensor of its values' weights (the term is then the weighted mean,
    ``sum(w ce) / sum(w)``, as ``cross_entropy(weight=...)`` computes it). Columns of
    ``targets`` after the attributes' (the pooled variant's positions) are not read."""
    import torch

    total = logits.new_zeros(())
    terms = 0
    for g, (_, idx, _) in enumerate(groups):
        target = targets[:, g]
        if bool((target != IGNORE_INDEX).any()):
            total = total + torch.nn.functional.cross_entropy(
                logits[:, idx].float(), target, ignore_index=IGNORE_INDEX,
                weight=None if weights is None else weights[g].to(logits.device))
            terms += 1
    return total / max(terms, 1)


# --- the pooled variant's head -----------------------------------------------------------


def representation_of(model: Any) -> str:
    """How ``model`` reads the entity (:data:`REPRESENTATIONS`): its config says so; a model
    without the key is a markers model."""
    return str(getattr(getattr(model, "config", None), CONFIG_KEY, "markers"))


def reads_rule_hints(model: Any) -> str | None:
    """The form of :func:`rule_hints` ``model`` reads (:data:`RULE_HINT_FORMS`; its config
    says so; a model without the key reads none)."""
    form = getattr(getattr(model, "config", None), RULE_HINTS_KEY, None)
    return str(form) if form else None


def is_pooled(model: Any) -> bool:
    """Whether ``model`` is a pooled-variant attribute model."""
    return representation_of(model) == "pooled"


def has_span_head(model: Any) -> bool:
    """Whether ``model`` reads its logits through the span head (pooled, entity start)."""
    return representation_of(model) in SPAN_HEAD_REPRESENTATIONS


def _new_span_head(model: Any) -> Any:
    import torch

    config = model.config
    head = torch.nn.Linear(2 * config.hidden_size, config.num_labels)
    head.weight.data.normal_(0.0, getattr(config, "initializer_range", 0.02))
    head.bias.data.zero_()
    return head


def _saved_span_head(model_dir: Path) -> dict[str, Any] | None:
    """The span head's tensors in ``model_dir``'s ``model.safetensors`` (by safetensors,
    never unpickled), or ``None`` when it holds none."""
    from safetensors import safe_open

    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        return None
    keys = (f"{SPAN_HEAD}.weight", f"{SPAN_HEAD}.bias")
    with safe_open(str(weights), framework="pt") as f:
        if not all(k in f.keys() for k in keys):  # noqa: SIM118 (safe_open is not a dict)
            return None
        return {k.rpartition(".")[2]: f.get_tensor(k) for k in keys}


def attach_span_head(model: Any) -> Any:
    """Attach the pooled variant's head to ``model`` (a fresh sequence classifier built
    for training) as the submodule :data:`SPAN_HEAD`, so that the optimiser trains it and
    ``save_pretrained`` writes it into ``model.safetensors``. When the model was built from
    a previous pooled attribute version with the same outputs (``annotator.json`` labels),
    that version's head is the start; else a fresh one."""
    from core.engine.modelio import read_annotator_json
    from core.errors import ModelError

    head = _new_span_head(model)
    base = Path(str(getattr(model, "name_or_path", "") or ""))
    saved = _saved_span_head(base) if base.is_dir() else None
    info = None
    if saved is not None:
        try:
            info = read_annotator_json(base)
        except ModelError:  # an unreadable note: start afresh
            info = None
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if (saved is not None and info is not None and info.get("labels") == labels
            and tuple(saved["weight"].shape) == tuple(head.weight.shape)):
        head.load_state_dict(saved)
    setattr(model, SPAN_HEAD, head)
    return head


def span_head(model: Any) -> Any:
    """The pooled variant's head of ``model``: attached (training), or read from the
    ``model.safetensors`` of the directory the model was loaded from (``from_pretrained``
    leaves it out) and attached on the model's device. :class:`core.errors.ModelError`
    when the directory has none."""
    from core.errors import ModelError

    head = getattr(model, SPAN_HEAD, None)
    if head is not None:
        return head
    where = Path(str(getattr(model, "name_or_path", "") or ""))
    saved = _saved_span_head(where) if where.is_dir() else None
    if saved is None:
        raise ModelError(f"{where}: a pooled attribute model without its head "
                         f"({SPAN_HEAD}.weight / .bias in model.safetensors); retrain it")
    head = _new_span_head(model)
    head.load_state_dict(saved)
    param = next(model.parameters())
    head.to(device=param.device, dtype=param.dtype)
    head.train(model.training)
    setattr(model, SPAN_HEAD, head)
    return head


def pooled_logits(model: Any, spans: Any, **inputs: Any) -> Any:
    """The pooled variant's logits: ``SPAN_HEAD(dropout([h_CLS; mean of h over
    [start, end)]))``, the encoder's last layer ``h`` and ``spans`` the (start, end) input
    positions of each input's entity (an empty span pools to zeros)."""
    import torch

    head = span_head(model)
    hidden = model.base_model(**inputs).last_hidden_state
    positions = torch.arange(hidden.shape[1], device=hidden.device)[None, :]
    inside = (positions >= spans[:, :1]) & (positions < spans[:, 1:2])
    weights = inside.to(hidden.dtype)[..., None]
    mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    features = torch.cat([hidden[:, 0], mean], dim=-1)
    p = getattr(model.config, "hidden_dropout_prob", None)
    p = 0.1 if not isinstance(p, float) else p
    features = torch.nn.functional.dropout(features, p=p, training=model.training)
    return head(features)


def attribute_logits(model: Any, inputs: Mapping[str, Any], spans: Any = None) -> Any:
    """The logits of ``model`` (any variant) on a batch; ``spans`` (the span-head variants
    only): each input's entity positions (pooled) or its ``[E]`` position (entity start)."""
    if has_span_head(model):
        return pooled_logits(model, spans, **inputs)
    return model(**inputs).logits


class _Output:
    def __init__(self, loss: Any, logits: Any) -> None:
        self.loss, self.logits = loss, logits


def grouped_softmax(model: Any, groups: Sequence[tuple[str, list[int], list[str]]],
                    weights: Sequence[Sequence[float]] | None = None) -> Any:
    """``model`` (a sequence classifier) as the training loop calls it: with
    ``attribute_labels`` (per input, the value index of each attribute; the pooled variant's
    inputs then the entity's positions) its output's ``loss`` is :func:`grouped_loss`, each
    attribute's values weighed by ``weights`` (:func:`value_weights`; None: equally). The
    parameters are ``model``'s own (saved as usual; the pooled head is one of its modules)."""
    import torch

    n = len(groups)
    value_w = None if weights is None else [torch.tensor(w, dtype=torch.float) for w in weights]

    class _Grouped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, attribute_labels: Any = None, **inputs: Any) -> _Output:
            spans = None
            if has_span_head(self.model):
                if attribute_labels is None:
                    raise ValueError("the pooled attribute head needs the entity positions "
                                     "(the last columns of attribute_labels)")
                spans = attribute_labels[:, n:n + 2]
            logits = attribute_logits(self.model, inputs, spans)
            loss = None if attribute_labels is None else grouped_loss(
                logits, attribute_labels[:, :n], groups, value_w)
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
    pooled = has_span_head(model)
    if pooled:
        span_head(model)  # a loaded model: read the head before eval() and the first batch
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), runtime.autocast(device):
            for idx in inference_batches([len(f) for f in features], batch_size):
                feats = [features[i] for i in idx]
                batch = pad_batch(feats, pad_id, with_targets="attribute" if with_loss else None)
                targets = batch.pop("attribute_labels", None)
                batch = runtime.to_device(runtime.model_inputs(model, batch), device)
                spans = torch.tensor([[f.start_position, f.end_position] for f in feats],
                                     device=device) if pooled else None
                logits = attribute_logits(model, batch, spans)
                if targets is not None:
                    loss_sum += float(grouped_loss(logits, targets[:, :len(groups)].to(device),
                                                   groups)) * len(idx)
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
