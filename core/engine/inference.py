"""Predict documents with a loaded model and score predictions against gold labels.

One code path for dev evaluation during training, ``annotator evaluate`` and
:class:`core.engine.predict.Predictor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.engine import metrics as M
from core.engine.results import DocumentPrediction
from core.engine.settings import TaskSpec
from core.tasks import kind_of
from core.types import DocumentRecord


@dataclass(frozen=True)
class InferenceOptions:
    """How to predict: window size/overlap, batch size, numeric precision and decoding
    choices. ``precision``: one of :data:`core.engine.runtime.PRECISIONS`, or None for the
    training run's own (dev evaluation and scores)."""

    max_length: int = 256
    stride: int = 64
    batch_size: int = 32
    viterbi: bool = True
    class_threshold: float = 0.5
    max_answer_length: int = 30
    null_threshold: float = 0.0
    precision: str | None = None


def predict_documents(
    model: Any,
    tokenizer: Any,
    spec: TaskSpec,
    docs: Sequence[DocumentRecord],
    options: InferenceOptions,
    device: Any,
    *,
    with_loss: bool = False,
) -> tuple[list[DocumentPrediction], float | None]:
    """Predictions for ``docs`` in input order, and (``with_loss``) the mean gold loss.

    ``model`` is a torch model on ``device``, or an entity model's
    :class:`core.engine.onnx_model.OnnxModel` (``device`` None; at the precision it was
    compiled for; no loss).
    """
    from core.engine.onnx_model import OnnxModel

    pad_id = int(tokenizer.pad_token_id or 0)
    common = dict(batch_size=options.batch_size, device=device, pad_id=pad_id,
                  multi_label=spec.multi_label)
    if isinstance(model, OnnxModel):
        if with_loss or not kind_of(spec.task).onnx_predicts:
            raise ValueError(f"OpenVINO predicts {spec.task.value} without a loss only"
                             if with_loss else f"no ONNX path for {spec.task.value} models")
        return kind_of(spec.task).predict(model, tokenizer, spec, docs, options, common, False)
    from core.engine.runtime import inference_precision

    with inference_precision(device, options.precision):
        return kind_of(spec.task).predict(model, tokenizer, spec, docs, options, common,
                                          with_loss)


def score_predictions(
    spec: TaskSpec, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction]
) -> dict[str, Any]:
    """Dev/test metrics of ``preds`` against the gold labels of ``docs``.

    Entities: strict entity-level P/R/F1 (exact character spans) + word accuracy; classes:
    accuracy + macro-F1; answers: SQuAD exact match + F1. All with ``per_label``
    (:meth:`core.tasks.base.AnnotationKind.score`).
    """
    return kind_of(spec.task).score(spec, docs, preds)


def collapse_warning(
    spec: TaskSpec, docs: Sequence[DocumentRecord], preds: Sequence[DocumentPrediction],
    metrics: dict[str, Any],
) -> str | None:
    """A message when dev predictions collapsed (no entities / one class / zero F1)."""
    advice = ("Label more examples, train for more epochs, or raise the learning rate "
              "(preset 'default').")
    kind = kind_of(spec.task)
    collapsed = kind.collapse_message(docs, preds)
    if collapsed is not None:
        return f"{collapsed} {advice}"
    value = M.primary_metric(spec.task.value, metrics)
    if metrics and value == 0.0:
        return f"the dev {kind.metric_name} is 0. " + advice
    return None


def weak_labels_warning(spec: TaskSpec, metrics: dict[str, Any]) -> str | None:
    """A message naming the labels the model never gets right on dev (F1 0 although the dev
    documents hold examples of them), when the run as a whole learned something (a run
    that learned nothing is :func:`collapse_warning`'s)."""
    if not kind_of(spec.task).per_label_metrics or not metrics:
        return None
    if M.primary_metric(spec.task.value, metrics) == 0.0:
        return None
    weak = [(label, int(row["support"])) for label, row in metrics.get("per_label", {}).items()
            if row.get("support") and row.get("f1", 0.0) == 0.0]
    if not weak:
        return None
    names = ", ".join(f"{label!r} ({n} dev example{'s' if n != 1 else ''})"
                      for label, n in weak)
    return (f"the model never gets {names} right on the dev documents (F1 0): label more "
            "examples of them")


def mean_pool(parts: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """One vector from per-window (sum, count) pairs: the mean over all real tokens."""
    total = sum(n for _, n in parts)
    return sum(v for v, _ in parts) / max(total, 1)
