"""Predictions from a saved model version, for pre-annotation and active learning.

    predictor = Predictor.load(model_dir)          # or Predictor(model_dir)
    predictor = Predictor.for_project(project, "ner")  # the version core.models resolves
    results = predictor.predict(documents)         # one result per document, input order
    vectors = predictor.embed(documents)           # (n_documents, hidden) float32

    with cached_predictor(model_dir) as predictor:  # loaded once, kept for the next run
        ...

Per task the result is an :class:`EntityPrediction` (spans with confidences, per-word tag
distributions), a :class:`ClassPrediction` (probability per label) or a
:class:`QuestionsPrediction` (one :class:`AnswerPrediction` per question). Long documents
are windowed, never truncated. A Predictor is not thread-safe: use it from one thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.engine.inference import InferenceOptions, mean_pool, predict_documents
from core.engine.modelio import LoadedModel, load_model
from core.engine.results import DocumentPrediction
from core.engine.settings import PRECISIONS, TaskSpec
from core.errors import ModelError
from core.types import DocumentRecord, TaskKind

BACKENDS = ("auto", "torch", "onnx")


class Predictor:
    """A loaded model version and the options it predicts with."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        device: str = "auto",
        max_length: int | None = None,
        stride: int | None = None,
        viterbi: bool = True,
        class_threshold: float = 0.5,
        max_answer_length: int | None = None,
        null_threshold: float = 0.0,
        precision: str = "auto",
        backend: str = "auto",
    ) -> None:
        """Load ``model_dir`` (raises :class:`core.errors.ModelError` when unusable).

        Window size and overlap default to those the model was trained with.
        ``precision`` of :meth:`predict` and :meth:`embed`: "auto" (bf16 on a CPU that
        computes it natively, AVX-512 BF16 or AMX: about twice as fast, with the same
        suggestions on 999 of 1,000 NCBI sentences, see docs/active_learning.md; mixed
        precision on CUDA; else fp32), "fp32" or "bf16". :meth:`evaluate` scores as
        training did. ``backend`` of :meth:`predict`: "auto" (the version's ONNX graph
        through OpenVINO, without loading torch, where
        :func:`core.engine.onnx_model.onnx_applies`: an entity model with its graph, in a
        process that has not imported torch, on the CPU; "auto" precision is OpenVINO's
        choice there: bf16 where the CPU computes it natively, else fp32), "torch", or
        "onnx" (raises ModelError where the version has no graph).
        """
        from core.engine.modelio import check_model_dir
        from core.engine.onnx_model import missing_graph, onnx_applies

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} "
                             f"(got {precision!r})")
        self.path = Path(model_dir)
        self._device_choice = device
        self._device: Any = None
        self._loaded: LoadedModel | None = None
        self._onnx: LoadedModel | None = None
        info, spec = check_model_dir(self.path)
        if backend == "onnx" or (backend == "auto" and onnx_applies(
                info, precision=precision, device=device)):
            from core.engine.onnx_model import load_onnx

            if missing_graph(info) is not None:
                why = (info.get("onnx") or {}).get("error", "it was saved without one")
                raise ModelError(f"{self.path}: no ONNX graph ({why})")
            model, tokenizer = load_onnx(self.path, info, precision)
            self._onnx = LoadedModel(model, tokenizer, spec, info, self.path)
        else:
            self._load_torch()
        trained = info.get("settings", {})
        from core.engine.settings import preset_settings

        default_len = preset_settings("default", spec.task).max_length
        self.options = InferenceOptions(
            max_length=max_length or int(trained.get("max_length", default_len)),
            stride=stride if stride is not None else int(trained.get("stride", 64)),
            viterbi=viterbi,
            class_threshold=class_threshold,
            max_answer_length=max_answer_length or int(trained.get("max_answer_length", 30)),
            null_threshold=null_threshold,
            precision=precision,
        )

    def _load_torch(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load_model(self.path, device=self.device)
        return self._loaded

    @property
    def device(self) -> Any:
        """The torch device of the torch model (chosen on first use)."""
        if self._device is None:
            from core.engine.runtime import select_device

            self._device = select_device(self._device_choice)
        return self._device

    @property
    def loaded(self) -> LoadedModel:
        """The torch model (loaded on first use where predictions run through ONNX)."""
        return self._load_torch()

    @property
    def backend(self) -> str:
        """What :meth:`predict` computes with: "openvino" or "torch"."""
        return "openvino" if self._onnx is not None else "torch"

    @classmethod
    def load(cls, model_dir: str | Path, **options: Any) -> Predictor:
        return cls(model_dir, **options)

    @classmethod
    def for_project(cls, project: Any, task: TaskKind | str, version: int | None = None,
                    **options: Any) -> Predictor:
        """The project's model version of ``task``, loaded: the one :func:`core.models.resolve`
        picks (``version`` if named, else the active one, else the newest), as evaluation
        and pre-annotation do. Raises :class:`core.models.NoModelError` when there is none."""
        from core import models

        return cls(models.resolve(project, task, version).path, **options)

    @property
    def spec(self) -> TaskSpec:
        """Task kind, labels, multi-label flag of the model."""
        return (self._onnx or self.loaded).spec

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels

    @property
    def model_info(self) -> dict[str, Any]:
        """The model's ``annotator.json`` (settings, dev metrics, base model, created)."""
        return (self._onnx or self.loaded).info

    def predict(
        self, documents: Sequence[DocumentRecord], batch_size: int = 32
    ) -> list[DocumentPrediction]:
        """One prediction per document, in input order (see the module docstring).

        QA predicts every question of each document. Batches are sorted by length and
        padded dynamically; runs under ``torch.inference_mode``.
        """
        options = self._with_batch(batch_size)
        loaded = self._onnx or self.loaded
        preds, _ = predict_documents(
            loaded.model, loaded.tokenizer, self.spec, documents, options,
            None if self._onnx is not None else self.device,
        )
        return preds

    def embed(self, documents: Sequence[DocumentRecord], batch_size: int = 32) -> np.ndarray:
        """One vector per document: the mean of the encoder's last hidden states over its
        tokens (all windows of a long document), shape ``(n, hidden)``, float32."""
        from core.engine.features import encode_texts
        from core.engine.runtime import embed_features, inference_precision

        if not documents:
            return np.zeros((0, self.loaded.model.config.hidden_size), dtype=np.float32)
        tokenizer = self.loaded.tokenizer
        features, _ = encode_texts(
            tokenizer, [d.text for d in documents], max_length=self.options.max_length,
            stride=self.options.stride,
        )
        with inference_precision(self.device, self.options.precision):
            parts = embed_features(
                self.loaded.model, features, batch_size=batch_size, device=self.device,
                pad_id=int(tokenizer.pad_token_id or 0),
            )
        groups: list[list[tuple[np.ndarray, int]]] = [[] for _ in documents]
        for feature, part in zip(features, parts):
            groups[feature.example].append(part)
        return np.stack([mean_pool(g) for g in groups]).astype(np.float32)

    def evaluate(self, documents: Sequence[DocumentRecord], batch_size: int = 32) -> dict[str, Any]:
        """Metrics of this model on gold-labelled ``documents`` (as in training's dev)."""
        from core.engine.inference import score_predictions
        from core.engine.tasks import is_labelled

        docs = [d for d in documents if is_labelled(self.spec.task, d)]
        options = dataclasses.replace(self._with_batch(batch_size), precision=None)
        preds, _ = predict_documents(
            self.loaded.model, self.loaded.tokenizer, self.spec, docs, options, self.device,
        )
        return score_predictions(self.spec, docs, preds)

    @property
    def precision(self) -> str:
        """The precision :meth:`predict` runs at: "bf16", "fp16" or "fp32"."""
        if self._onnx is not None:
            return str(self._onnx.model.precision)
        import torch

        from core.engine.runtime import inference_dtype

        dtype = inference_dtype(self.device, self.options.precision or "fp32")
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")  # type: ignore[call-overload]

    def _with_batch(self, batch_size: int) -> InferenceOptions:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        return dataclasses.replace(self.options, batch_size=batch_size)


# --- loaded once, kept between runs ---------------------------------------------------------

# How many loaded model versions stay in memory (the default encoder: ~100 MB each): an
# entity model and the attribute and relation models that follow it.
CACHE_SIZE = 3
_cache: OrderedDict[tuple[Any, ...], Predictor] = OrderedDict()
_lent: set[int] = set()
_cache_lock = threading.Lock()


def _cache_key(model_dir: str | Path, options: dict[str, Any]) -> tuple[Any, ...]:
    from core.engine.modelio import WEIGHTS

    path = Path(model_dir).resolve()
    try:
        stat = (path / WEIGHTS).stat()
        stamp: tuple[int, int] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (0, 0)  # Predictor() then says what is wrong
    return (str(path), stamp, tuple(sorted(options.items())))


@contextlib.contextmanager
def cached_predictor(model_dir: str | Path, **options: Any) -> Iterator[Predictor]:
    """A :class:`Predictor` of ``model_dir`` that stays loaded for the next call with the
    same directory (unchanged weights) and options: a second pre-annotation in the app
    starts predicting at once instead of loading the model again. At most
    :data:`CACHE_SIZE` are kept, the least recently used dropped. A Predictor is not
    thread-safe, so each is lent to one caller at a time: a caller that finds it lent
    gets a new one, not kept. Any thread."""
    key = _cache_key(model_dir, options)
    with _cache_lock:
        predictor = _cache.get(key)
        if predictor is not None and id(predictor) not in _lent:
            _cache.move_to_end(key)
            _lent.add(id(predictor))
        else:
            predictor = None
    kept = predictor is not None
    if predictor is None:
        predictor = Predictor(model_dir, **options)
        with _cache_lock:
            kept = key not in _cache
            if kept:
                _cache[key] = predictor
                _lent.add(id(predictor))
                idle = [k for k, p in _cache.items() if id(p) not in _lent]
                for old in idle[: max(0, len(_cache) - CACHE_SIZE)]:
                    del _cache[old]
    try:
        yield predictor
    finally:
        if kept:
            with _cache_lock:
                _lent.discard(id(predictor))


def clear_predictor_cache() -> None:
    """Drop every kept predictor (those lent now are dropped when given back)."""
    with _cache_lock:
        _cache.clear()
