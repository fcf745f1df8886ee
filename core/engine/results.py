"""What the engine hands back: predictions, training events and the result of a run.

All plain frozen dataclasses (numpy arrays for per-word scores), safe to pass between
threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union

import numpy as np

from core.errors import TrainingError

# --- predictions -------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictedSpan:
    """A predicted entity ``text[start:end]`` with its confidence in [0, 1].

    ``confidence`` is the mean over the span's words of the probability of the chosen
    tag; ``min_probability`` the smallest of those.
    """

    start: int
    end: int
    label: str
    confidence: float
    min_probability: float = 0.0
    text: str = ""


@dataclass(frozen=True, eq=False)
class EntityPrediction:
    """Entities of one document plus per-word scores for uncertainty sampling.

    ``word_offsets[i]`` = (start, end) of word i in the text; ``word_probs[i]`` its
    probability over ``tag_names`` (a word the tokenizer dropped, e.g. only control
    characters, repeats the row of the word before it); ``word_tags[i]`` the decoded tag.
    The per-label tagger of overlapping entities (:mod:`core.tasks.ner`) has one row and
    tag per word and label instead, word-major (row ``i * K + k``: word i, label k, over
    ``O``, ``B``, ``I``), so that every row is a distribution.
    """

    spans: tuple[PredictedSpan, ...]
    word_offsets: np.ndarray
    word_probs: np.ndarray
    word_tags: tuple[str, ...]
    tag_names: tuple[str, ...]

    @property
    def max_prob(self) -> np.ndarray:
        """Per word, the probability of its most likely tag."""
        if len(self.word_probs) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.word_probs.max(axis=1)

    @property
    def entropy(self) -> np.ndarray:
        """Per word, the entropy (nats) of its tag distribution."""
        p = np.clip(self.word_probs, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1) if len(p) else np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class ClassPrediction:
    """Probability of each label and the predicted labels (one for single-label tasks;
    for multi-label, those with probability >= the threshold, or the top one if none)."""

    probabilities: dict[str, float]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class AnswerPrediction:
    """The answer to one question: ``context[start:end]``, or no answer.

    ``score`` is start + end logit of the best span, ``no_answer_score`` that of [CLS];
    ``probability`` = ``start_probability * end_probability`` (softmax within the window).
    For ``no_answer`` predictions, start/end/text describe the best span that lost.
    """

    question: str
    start: int | None
    end: int | None
    text: str
    score: float
    probability: float
    start_probability: float
    end_probability: float
    no_answer: bool
    no_answer_score: float
    external_id: str | None = None


@dataclass(frozen=True)
class QuestionsPrediction:
    """The answers to a document's questions, in the order of ``document.questions``."""

    answers: tuple[AnswerPrediction, ...]


@dataclass(frozen=True)
class SentencePrediction:
    """The classes of one sentence ``[start, end)`` of a document (as ``ClassPrediction``)."""

    start: int
    end: int
    probabilities: dict[str, float]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class SentencesPrediction:
    """The classes of a document's sentences, in order."""

    sentences: tuple[SentencePrediction, ...]


@dataclass(frozen=True)
class AttributeValuePrediction:
    """The value of one attribute of the entity ``[start, end)`` (its ``label``), with the
    probability of each of the attribute's values (a softmax over them)."""

    start: int
    end: int
    label: str
    attribute: str
    value: str
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    @property
    def confidence(self) -> float:
        return float(self.probabilities.get(self.value, 0.0))


@dataclass(frozen=True)
class AttributesPrediction:
    """The attribute values of a document's entities, entity by entity in the order of the
    entities given, each entity's attributes in the declaration's order."""

    values: tuple[AttributeValuePrediction, ...]


# The relation head's output for a pair of entities that holds no relation.
NO_RELATION = "no_relation"


@dataclass(frozen=True)
class RelationPairPrediction:
    """One candidate pair of entities, the head ``[head_start, head_end)`` (``head_label``)
    and the tail: the relation type predicted (``"no_relation"``: none) with the
    probability of each type the pair's labels allow and of no relation (a softmax over
    them)."""

    head_start: int
    head_end: int
    head_label: str
    tail_start: int
    tail_end: int
    tail_label: str
    label: str
    probabilities: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    @property
    def confidence(self) -> float:
        return float(self.probabilities.get(self.label, 0.0))


@dataclass(frozen=True)
class RelationsPrediction:
    """Every candidate pair of a document's entities (those a declared type allows, within
    the window), related or not, in the order the pairs were read."""

    pairs: tuple[RelationPairPrediction, ...]

    def related(self) -> tuple[RelationPairPrediction, ...]:
        """The pairs predicted to hold a relation."""
        return tuple(p for p in self.pairs if p.label != NO_RELATION)


DocumentPrediction = Union[
    EntityPrediction, ClassPrediction, QuestionsPrediction, SentencesPrediction,
    AttributesPrediction, RelationsPrediction,
]

# --- training events ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressEvent:
    """After each optimisation step."""

    step: int
    total_steps: int
    epoch: int  # 1-based
    loss: float
    learning_rate: float
    eta_seconds: float
    # "train", or "refit": the second pass on all documents (settings.refit), whose steps
    # count on from the first pass's and which reports no epochs of its own.
    phase: str = "train"
    # Which model of the click is training: "" for the one asked for, else the head trained
    # after it ("attributes", "relations"; project_bridge.train_with_dependents).
    model: str = ""


@dataclass(frozen=True)
class EpochEvent:
    """After each epoch: losses and dev metrics (empty when there is no dev data)."""

    epoch: int
    step: int
    train_loss: float
    val_loss: float | None
    metrics: dict[str, Any]
    is_best: bool
    seconds: float
    model: str = ""  # as ProgressEvent.model


@dataclass(frozen=True)
class WarningEvent:
    message: str


@dataclass(frozen=True)
class EpochRow:
    """One row of the per-epoch table."""

    epoch: int
    step: int
    train_loss: float
    val_loss: float | None
    metrics: dict[str, Any]

    def flat(self) -> dict[str, Any]:
        """The row with the headline metrics inlined (``per_label`` left out)."""
        row: dict[str, Any] = {
            "epoch": self.epoch, "step": self.step, "train_loss": self.train_loss,
            "val_loss": self.val_loss,
        }
        row.update({k: v for k, v in self.metrics.items() if not isinstance(v, dict)})
        return row


class FailureKind(str, Enum):
    """Why a run did not complete: what a caller branches on (the CLI's exit code, the
    app's advice), never the text of ``TrainingResult.reason``."""

    BAD_INPUT = "bad_input"  # labels or documents the run cannot train on; nothing trained
    CANCELLED = "cancelled"  # the user asked the run to stop
    OUT_OF_MEMORY = "out_of_memory"  # device or host memory ran out
    DIVERGED = "diverged"  # the loss became NaN or infinite
    MISSING_MODEL = "missing_model"  # the base model cannot be found or loaded
    NO_DEVICE = "no_device"  # the device asked for (cuda, mps) is not available
    DISK_FULL = "disk_full"  # no space left while writing the model
    INTERNAL = "internal"  # anything else: an unexpected error (its traceback is in the log)


class TrainingFailure(TrainingError):
    """Raised inside a run to end it with a typed failure; ``str(exc)`` is the reason."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class TrainingResult:
    """How a run ended. ``status`` is "completed", "cancelled" or "failed"; ``failure`` the
    kind of failure (None when completed; ``FailureKind.CANCELLED`` when cancelled) and
    ``reason`` the message for a person."""

    status: str
    reason: str = ""
    failure: FailureKind | None = None
    model_path: str | None = None
    epochs: tuple[EpochRow, ...] = ()
    dev_metrics: dict[str, Any] = field(default_factory=dict)
    best_epoch: int | None = None
    warnings: tuple[str, ...] = ()
    train_examples: int = 0
    dev_examples: int = 0
    train_tokens: int = 0  # real (non-padding) tokens of one pass over the training set
    train_seconds: float = 0.0  # wall time of the training loop (evaluation excluded)
    tokens_per_second: float = 0.0
    steps: int = 0
    log: tuple[str, ...] = ()
    averaged_epochs: tuple[int, ...] = ()  # the saved weights are the mean of these epochs'
    # > 0: the saved model was trained again on this many documents, dev included, for
    # ``best_epoch`` epochs (settings.refit); ``dev_metrics`` are the first run's.
    refit_documents: int = 0


@dataclass(frozen=True)
class FinishedEvent:
    """The last event of every run."""

    result: TrainingResult


TrainingEvent = Union[ProgressEvent, EpochEvent, WarningEvent, FinishedEvent]
