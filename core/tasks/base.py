"""The interface of an annotation kind: everything particular to one thing a user labels.

One subclass per kind (:mod:`core.tasks.ner`, :mod:`core.tasks.classify`,
:mod:`core.tasks.qa`), one instance of each in the registry (:func:`core.tasks.kind_of`).
Code outside this package asks the kind instead of branching on :class:`TaskKind`.

The labelled rule lives here twice, as Python over a plain :class:`DocumentRecord` and as
one SQL clause over the ``documents`` table, and the two must agree (tests check both on
the same documents): a document is labelled for a kind when it carries labels of the kind,
or it was imported with labels for the kind (``DocumentRecord.labelled_for``, stored as
``document_tasks`` rows), or the user marked it done. Kinds whose training examples need a
target (a class, an answered question) ask for one as well.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, text

from core.errors import AnnotatorError
from core.types import DocumentRecord, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.engine.inference import InferenceOptions
    from core.engine.results import DocumentPrediction
    from core.engine.settings import TaskSpec
    from core.store.models import Suggestion
    from core.store.repo import Declarations

# The table name the ORM selects from; clauses for ORM queries are written against it.
DOCUMENTS = "documents"


def marked_sql(alias: str, kind: TaskKind) -> str:
    """SQL: the document ``alias`` is marked labelled for ``kind`` (imported so, or done)."""
    return (
        "EXISTS (SELECT 1 FROM document_tasks _dt WHERE _dt.document_id = "
        f"{alias}.id AND _dt.kind = '{kind.value}')"
    )


class PayloadError(AnnotatorError):
    """A suggestion's stored payload does not have the shape of its kind."""


class SuggestionPayload(Protocol):
    """What a model proposes for one kind: a frozen dataclass stored as JSON."""

    def to_json(self) -> dict[str, Any]: ...


def payload_field(data: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    """``data[key]`` checked to be a ``kind`` (bools are not ints), for ``from_json``."""
    if key not in data:
        raise PayloadError(f"{what} payload has no {key!r}: {dict(data)!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(
            f"{what} payload: {key!r} should be {kind.__name__}, found {value!r}"
        )
    return value


@dataclass(frozen=True)
class NewSuggestion:
    """A suggestion to store (plain data, built off the database)."""

    doc_id: int
    payload: SuggestionPayload
    confidence: float
    question_id: int | None = None


# Asks whether a suggestion clashes with a person's labels: ``(doc_id, question_id, payload,
# adds_to_existing) -> bool`` (see :meth:`AnnotationKind.clash_check`).
ClashCheck = Callable[[int, "int | None", "SuggestionPayload", bool], bool]


def nested_entity_clashes(human: Sequence[tuple[int, int, str]], start: int, end: int,
                          label: str) -> bool:
    """The clash rule of a task whose entities may overlap and nest: a suggested entity
    ``[start, end)`` ``label`` clashes with a person's entity (``(start, end, label)``) of
    the same extent, or an overlapping one of the same label. Nesting in, or overlapping,
    an entity of another label does not clash ("left lower lobe" BodySite inside the
    Condition "left lower lobe pneumonia")."""
    return any((s, e) == (start, end) or (lab == label and s < end and start < e)
               for s, e, lab in human)


def human_entities(session: Session, doc_ids: Sequence[int]
                   ) -> dict[int, list[tuple[int, int, str]]]:
    """The person's entities of ``doc_ids`` as ``(start, end, label)`` by document."""
    from sqlalchemy import select

    from core.store.models import EntityAnnotation, Label

    spans: dict[int, list[tuple[int, int, str]]] = {}
    for d, s, e, name in session.execute(
        select(EntityAnnotation.document_id, EntityAnnotation.start, EntityAnnotation.end,
               Label.name)
        .join(Label, Label.id == EntityAnnotation.label_id)
        .where(EntityAnnotation.document_id.in_(list(doc_ids)))
    ):
        spans.setdefault(d, []).append((s, e, name))
    return spans


class AnnotationKind(ABC):
    """What is particular to one annotation kind. Instances hold no state."""

    kind: ClassVar[TaskKind]
    # The ``suggestions.kind`` value this kind's suggestions are stored under.
    suggestion_kind: ClassVar[str]
    # The typed suggestion payload (a frozen dataclass with ``to_json`` / ``from_json``).
    Payload: ClassVar[type]
    # The kind whose labels this kind's labels hang on (attributes: entities), or None. Its
    # model pre-annotates after that kind's, on the same documents, and its uncertainty
    # counts in that kind's review queue.
    hangs_on: ClassVar[TaskKind | None] = None
    # A kind that hangs on another: its plural name in messages and in the training
    # outcome ("attributes", "relations"), and the window (tokens) its head reads.
    dependent_name: ClassVar[str] = ""
    dependent_max_length: ClassVar[int] = 128

    # --- which documents are labelled ---------------------------------------------------

    @abstractmethod
    def is_labelled(self, record: DocumentRecord) -> bool:
        """Whether ``record`` is labelled for this kind (the rule in the module docstring)."""

    @abstractmethod
    def labelled_sql(self, alias: str = DOCUMENTS) -> str:
        """The same rule as one SQL boolean expression over the ``documents`` row
        ``alias`` (for raw SQL: ``f"... WHERE {kind.labelled_sql('d')}"``)."""

    def labelled_clause(self) -> ColumnElement[bool]:
        """The rule as a SQLAlchemy clause, for ``select(Document...).where(...)``."""
        return text(f"({self.labelled_sql(DOCUMENTS)})")  # type: ignore[return-value]

    def wants_labels_sql(self, alias: str = DOCUMENTS) -> str:
        """SQL: the document still wants labels of this kind (the review queue's
        candidates). By default: not labelled."""
        return f"NOT ({self.labelled_sql(alias)})"

    def predict_sql(self, alias: str = DOCUMENTS) -> str | None:
        """SQL: pre-annotation predicts the document (beyond "unreviewed, not test, not
        predicted by this version yet"); ``None``: no further condition."""
        return self.wants_labels_sql(alias)

    def is_example(self, record: DocumentRecord) -> bool:
        """Whether a document handed to the trainer yields a training example: the caller
        chose the documents, so only a missing target (no class, no answer) leaves one
        out."""
        return True

    # --- the model ----------------------------------------------------------------------

    # How the dev metric is named in messages, and the metric a learning curve shows.
    metric_name: ClassVar[str] = "F1"
    curve_metric: ClassVar[str] = "f1"
    # Whether the metrics hold a ``per_label`` table worth warning about.
    per_label_metrics: ClassVar[bool] = True

    # The transformers ``AutoModelFor*`` class the kind trains (its head).
    auto_model: ClassVar[str]
    # Whether the head has one output per label (``id2label`` in the model config); an
    # extractive-QA head has start/end scores instead.
    label_head: ClassVar[bool] = True
    # Whether the kind's predictions can run through OpenVINO (an ONNX graph written when a
    # version is saved: core.engine.onnx_export; computed by core.engine.onnx_model).
    onnx_predicts: ClassVar[bool] = False

    def model_label_names(self, spec: TaskSpec) -> tuple[str, ...]:
        """The names of the model's output classes (``id2label``)."""
        return tuple(spec.labels)

    def config_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        """The model-config arguments of the head (label maps, problem type)."""
        if not self.label_head:
            return {}
        names = self.model_label_names(spec)
        return {
            "num_labels": len(names),
            "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)},
        }

    # The target layout of the kind's training batches (``core.engine.batching.pad_batch``):
    # "ner", "classify" or "qa"; None: the kind's own name.
    batch_targets: ClassVar[str | None] = None
    # Whether a document may carry several labels of the kind at once (a multi-label task).
    multi_label_capable: ClassVar[bool] = False
    # The table of the kind's human labels (``document_id``, ``label_id``), for the document
    # list's "has label" filter; None: the kind has no label set.
    label_table: ClassVar[str | None] = None

    def training_labels(self, labels: Sequence[str]) -> tuple[str, ...]:
        """The label set a model of this kind trains with, from the task's labels."""
        return tuple(labels)

    def allows_no_answer(self, train: Sequence[DocumentRecord]) -> bool:
        """Whether the head must learn "no answer" from these training documents."""
        return False

    def count_warnings(self, counts: Mapping[str, int]) -> list[str]:
        """Warnings on the number of labelled mentions (``counts``: per label), beyond the
        per-label guard: e.g. too few entity mentions in all."""
        return []

    def label_problems(self, spec: TaskSpec, doc: DocumentRecord, where: str) -> list[str]:
        """Problems with the labels of ``doc`` for a model of ``spec`` (labels outside the
        label set, ...), as messages naming ``where``."""
        bad = sorted(set(self.labels_used(doc)) - set(spec.labels))
        if not bad:
            return []
        return [f"{where} uses label(s) {', '.join(map(repr, bad))} not in the "
                f"label set {list(spec.labels)}"]

    def labels_used(self, doc: DocumentRecord) -> Sequence[str]:
        """The label names ``doc`` carries for this kind."""
        return ()

    def counted_labels(self, labels: Sequence[str]) -> tuple[str, ...]:
        """The names :meth:`labels_used` gives for the labels of a label set, one each, so
        the small-data guard counts them (relations: the type names of the declared types);
        default: the labels themselves."""
        return tuple(labels)

    def examples_problem(self, train: Sequence[DocumentRecord]) -> str | None:
        """Why these training documents cannot train a model of the kind although they are
        labelled (relations: not one relation among them), or ``None``."""
        return None

    def label_set(self, docs: Sequence[DocumentRecord]) -> tuple[list[str], bool]:
        """The label set found in ``docs`` (sorted) and whether it is multi-label."""
        return sorted({name for d in docs for name in self.labels_used(d)}), False

    @abstractmethod
    def training_features(
        self, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *,
        max_length: int, stride: int, warn: Callable[[str], None],
    ) -> list[Any]:
        """The model inputs with targets that training on ``docs`` uses."""

    @abstractmethod
    def predict(
        self, model: Any, tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord],
        options: InferenceOptions, common: dict[str, Any], with_loss: bool,
    ) -> tuple[list[DocumentPrediction], float | None]:
        """Predictions for ``docs`` in input order and (``with_loss``) the mean gold loss;
        ``common`` holds the batching arguments of ``forward_features``."""

    @abstractmethod
    def score(
        self, spec: TaskSpec, docs: Sequence[DocumentRecord],
        preds: Sequence[DocumentPrediction],
    ) -> dict[str, Any]:
        """Dev/test metrics of ``preds`` against the gold labels of ``docs``."""

    @abstractmethod
    def collapse_message(
        self, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
    ) -> str | None:
        """What collapsed in the dev predictions (no entity at all, one class for every
        document, no question answered), or ``None``."""

    def task_labels(self, session: Session) -> tuple[str, ...] | None:
        """The label set a model of the kind trains with when it is not the task row's own
        labels (attributes: every ``attribute=value`` the NER task declares); ``None``: the
        task's labels."""
        return None

    def adapt_model(self, model: Any, tokenizer: Any) -> None:
        """Change a freshly built model and tokenizer before training (attributes: add the
        entity marker tokens). Default: nothing."""

    def training_module(self, model: Any, spec: TaskSpec,
                        features: Sequence[Any] = ()) -> Any:
        """What the training loop calls on a batch (its output's ``loss`` is what is
        minimised); ``features``: the training inputs (a kind may weigh its classes by
        their counts). Default: the model itself (transformers' loss)."""
        return model

    def prediction_snapshot(self, session: Session, doc: Any, declared: Declarations
                            ) -> tuple[DocumentRecord, list[int]]:
        """What pre-annotation predicts for the stored document ``doc`` (read in
        ``session``, where the NER task declares ``declared``): :meth:`prediction_input` of
        its record by default."""
        from core.store import repo

        return self.prediction_input(
            repo.document_record(doc, declared.attributes, relation_specs=declared.relations))

    def prediction_input(self, record: DocumentRecord) -> tuple[DocumentRecord, list[int]]:
        """What the model is given to suggest labels for ``record``, and the positions in
        ``record.questions`` of the questions kept (QA: only the open ones)."""
        return record, []

    # --- suggestions ------------------------------------------------------------------------

    @abstractmethod
    def payload_from_json(self, data: Mapping[str, Any]) -> SuggestionPayload:
        """The typed payload of a stored suggestion; raises :class:`PayloadError` when the
        stored JSON does not have this kind's shape."""

    @abstractmethod
    def suggestions(
        self, doc_id: int, prediction: DocumentPrediction, *, multi_label: bool = False,
        question_ids: Sequence[int] = (),
    ) -> list[NewSuggestion]:
        """The suggestions one document's prediction yields (before conflict checks)."""

    @abstractmethod
    def human_labels(self, session: Session, doc_ids: Sequence[int]) -> Any:
        """The human labels of ``doc_ids`` that suggestions may clash with, read once for
        :meth:`clashes`."""

    @abstractmethod
    def clashes(
        self, human: Any, doc_id: int, question_id: int | None, payload: SuggestionPayload,
        *, adds_to_existing: bool = False,
    ) -> bool:
        """Whether the suggestion clashes with a human label (would overlap or overwrite
        it). ``adds_to_existing``: accepting adds to what is there (multi-label classes)."""

    @abstractmethod
    def apply(
        self, session: Session, row: Suggestion, payload: SuggestionPayload, *,
        annotator: str, origin: str,
    ) -> None:
        """Make ``payload`` (the suggestion as is, or edited) a human label of the
        suggestion's document; raises ``AnnotationError`` when it cannot be."""

    @abstractmethod
    def edited(self, payload: SuggestionPayload, **changes: Any) -> SuggestionPayload:
        """The payload after a reviewer's edit (``start``, ``end``, ``label``, ``labels``,
        ``no_answer``; ``None``: keep); equal to ``payload`` when nothing changed."""

    def clash_check(self, session: Session, doc_ids: Sequence[int]) -> ClashCheck:
        """Whether a suggestion for one of ``doc_ids`` clashes with a person's label, the
        labels read once in ``session``: :meth:`human_labels` and :meth:`clashes` (the
        entity kind overrides it for a task whose entities may overlap). Pre-annotation,
        pattern suggestions and the review's bulk accept ask this."""
        human = self.human_labels(session, doc_ids)

        def flat(doc_id: int, question_id: int | None, payload: SuggestionPayload,
                 adds_to_existing: bool = False) -> bool:
            return self.clashes(human, doc_id, question_id, payload,
                                adds_to_existing=adds_to_existing)

        return flat

    def accepting_adds(self, session: Session) -> bool:
        """Whether accepting a suggestion adds to the document's labels of this kind
        instead of replacing or clashing with them (multi-label classes)."""
        return False

    @abstractmethod
    def pending_fields(
        self, payload: SuggestionPayload, doc_text: str, *, question_id: int | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        """The fields of :class:`core.review.PendingSuggestion` the payload fills
        (``question_id`` / ``question``: the suggestion's question, for answers)."""

    @abstractmethod
    def human_only(self, session: Session) -> int:
        """Labels of this kind a person made without a suggestion (imports excluded)."""
