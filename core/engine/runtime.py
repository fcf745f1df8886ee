"""Device choice and batched forward passes (torch). Imported lazily by the engine."""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core.engine.batching import inference_batches, pad_batch
from core.engine.features import Feature
from core.engine.settings import PRECISIONS
from core.errors import TrainingError


def select_device(preference: str = "auto") -> torch.device:
    """CUDA when present, else Apple MPS, else CPU (``preference`` forces one)."""
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise TrainingError("device 'cuda' was asked for but no CUDA GPU is available")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local_rank)
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if preference == "mps" or (preference == "auto" and mps_ok):
        if not mps_ok:
            raise TrainingError("device 'mps' was asked for but Apple MPS is not available")
        return torch.device("mps")
    use_all_cores()
    return torch.device("cpu")


def use_all_cores() -> None:
    """Let torch use every core for CPU work (intra-op threads); under torchrun with
    several processes on one machine, an equal share of the cores each."""
    local_world = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    cores = max(1, (os.cpu_count() or 1) // local_world)
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed-precision type on CUDA: bf16 where supported, else fp16; None elsewhere."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


# The precisions training and predictions can be asked for (PRECISIONS): "auto" (mixed
# precision where the device computes it natively: bf16 or fp16 on CUDA, bf16 on a CPU with
# AVX-512 BF16 or AMX), "fp32" (none) or "bf16".

# The autocast type chosen by inference_precision() for the forward passes inside it
# (a 1-tuple, so that "fp32" = (None,) differs from "not chosen" = None).
_INFERENCE_DTYPE: contextvars.ContextVar[tuple[torch.dtype | None] | None] = (
    contextvars.ContextVar("annotator_inference_dtype", default=None))


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX-512 BF16 or AMX). There
    a bf16 forward takes about half the fp32 time; elsewhere torch emulates bf16 and it is
    slower than fp32, so "auto" stays in fp32."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except Exception:  # noqa: BLE001, S112 - a private probe: absent or failing means no
            continue
    return False


def precision_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast type of training steps or predictions at ``precision`` (one of
    :data:`PRECISIONS`) on ``device``; None: fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16 if device.type in ("cpu", "cuda") else None
    if device.type == "cuda":
        return amp_dtype(device)
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


inference_dtype = precision_dtype  # the name predictions know it by


@contextlib.contextmanager
def inference_precision(device: torch.device, precision: str | None) -> Iterator[None]:
    """Forward passes inside run at ``precision`` (:func:`inference_dtype`); None keeps
    the training precision (:func:`autocast`). Per thread (a context variable)."""
    if precision is None:
        yield
        return
    token = _INFERENCE_DTYPE.set((inference_dtype(device, precision),))
    try:
        yield
    finally:
        _INFERENCE_DTYPE.reset(token)


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """The forward passes of predictions: inside :func:`inference_precision` at the
    precision chosen there, else (dev scores during training) :func:`amp_dtype`'s: mixed
    precision on CUDA, fp32 on the CPU."""
    chosen = _INFERENCE_DTYPE.get()
    with mixed_precision(device, chosen[0] if chosen is not None else amp_dtype(device)):
        yield


@contextlib.contextmanager
def mixed_precision(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Autocast to ``dtype`` on ``device`` inside; None: nothing (fp32)."""
    if dtype is None:
        yield
    else:
        with torch.autocast(device_type=device.type, dtype=dtype):
            yield


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def model_inputs(model: Any, batch: dict[str, Any]) -> dict[str, Any]:
    """Drop ``token_type_ids`` for encoders that have none (e.g. RoBERTa, DistilBERT)."""
    if getattr(model.config, "type_vocab_size", 2) in (0, 1) or model.config.model_type in (
        "distilbert", "roberta", "xlm-roberta", "camembert"
    ):
        batch = {k: v for k, v in batch.items() if k != "token_type_ids"}
    return batch


@dataclass
class ForwardResult:
    """Per-feature outputs (numpy, cropped to each input's length) and the mean loss."""

    outputs: list[Any]
    loss: float | None


def forward_features(
    model: Any,
    features: Sequence[Feature],
    *,
    task: str,
    batch_size: int,
    device: torch.device,
    pad_id: int,
    with_loss: bool = False,
    multi_label: bool = False,
) -> ForwardResult:
    """Run ``model`` over ``features`` in length-sorted batches; outputs in input order.

    NER: logits ``(len, n_tags)``; classes: logits ``(n_labels,)``; QA: (start, end)
    logits ``(len,)`` each. With ``with_loss`` the features' targets give a mean loss.
    """
    outputs: list[Any] = [None] * len(features)
    lengths = [len(f) for f in features]
    loss_sum, loss_n = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(device):
            for idx in inference_batches(lengths, batch_size):
                feats = [features[i] for i in idx]
                batch = pad_batch(
                    feats, pad_id, with_targets=task if with_loss else None,
                    multi_label=multi_label,
                )
                out = model(**model_inputs(model, to_device(batch, device)))
                if with_loss and out.loss is not None:
                    loss_sum += float(out.loss) * len(idx)
                    loss_n += len(idx)
                if task == "qa":
                    starts = out.start_logits.float().cpu().numpy()
                    ends = out.end_logits.float().cpu().numpy()
                    for row, i in enumerate(idx):
                        k = lengths[i]
                        outputs[i] = (starts[row, :k], ends[row, :k])
                else:
                    logits = out.logits.float().cpu().numpy()
                    for row, i in enumerate(idx):
                        outputs[i] = logits[row, : lengths[i]] if task == "ner" else logits[row]
    finally:
        model.train(was_training)
    return ForwardResult(outputs, loss_sum / loss_n if loss_n else None)


def embed_features(
    model: Any, features: Sequence[Feature], *, batch_size: int, device: torch.device,
    pad_id: int,
) -> list[tuple[np.ndarray, int]]:
    """Per feature: (sum of the last hidden states over its real tokens, token count)."""
    base = getattr(model, model.base_model_prefix, model)
    outputs: list[tuple[np.ndarray, int]] = [(np.zeros(0), 0)] * len(features)
    lengths = [len(f) for f in features]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(device):
            for idx in inference_batches(lengths, batch_size):
                batch = to_device(pad_batch([features[i] for i in idx], pad_id), device)
                hidden = base(**model_inputs(model, batch)).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).float()
                sums = (hidden * mask).sum(dim=1).cpu().numpy()
                for row, i in enumerate(idx):
                    outputs[i] = (sums[row], lengths[i])
    finally:
        model.train(was_training)
    return outputs


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a device (or host) out-of-memory error."""
    oom_type = getattr(torch, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
