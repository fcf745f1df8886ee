"""The inner training loop as a generator of progress, after spaCy's
``train_while_improving``.

    for progress in train_while_improving(step, epoch_batches, plan=plan, evaluate=evaluate,
                                          patience=2, min_steps=150, cancelled=flag.is_set):
        if isinstance(progress, EpochProgress) and progress.is_best:
            keep_weights()

The generator owns the order of a run: the batches of each epoch, one optimiser step per
batch, the divergence check, the cancel check before every step, evaluation after each
epoch, which epoch is best so far and early stopping. The caller owns what progress means
(events, a copy of the best weights, saving). It raises :class:`TrainingFailure` when the
loss diverges (``DIVERGED``) or the run is cancelled (``CANCELLED``); the caller may also
stop simply by not asking for more. The loop itself needs no torch: the step function does
the model's work (:func:`torch_step` builds it), so the loop is tested with plain functions.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from core.engine.prepare import StepPlan
from core.engine.results import EpochEvent, EpochRow, FailureKind, ProgressEvent, TrainingFailure

# One optimiser step on a batch of example indices: (loss, learning rate after the step).
StepFn = Callable[[Sequence[int]], "tuple[float, float]"]


@dataclass(frozen=True)
class Evaluation:
    """The dev scores after an epoch; ``score`` orders epochs (higher is better: the dev
    metric, then the lower validation loss as a tie-break)."""

    val_loss: float | None
    metrics: dict[str, Any]
    score: tuple[float, float]


@dataclass(frozen=True)
class StepProgress:
    """After each optimiser step; ``train_seconds`` is the training time so far."""

    step: int
    total_steps: int
    epoch: int  # 1-based
    loss: float
    learning_rate: float
    train_seconds: float

    def event(self) -> ProgressEvent:
        eta = self.train_seconds / self.step * (self.total_steps - self.step)
        return ProgressEvent(step=self.step, total_steps=self.total_steps, epoch=self.epoch,
                             loss=self.loss, learning_rate=self.learning_rate,
                             eta_seconds=max(eta, 0.0))


@dataclass(frozen=True)
class EpochProgress:
    """After each epoch. ``evaluation`` is None where nothing was evaluated (a worker rank
    of a distributed run); ``is_best``: the best epoch so far; ``stops_early``: this is the
    last epoch because the dev score stopped improving."""

    epoch: int
    step: int
    train_loss: float
    seconds: float  # this epoch's training time, evaluation excluded
    evaluation: Evaluation | None
    is_best: bool
    stops_early: bool

    @property
    def val_loss(self) -> float | None:
        return self.evaluation.val_loss if self.evaluation is not None else None

    @property
    def metrics(self) -> dict[str, Any]:
        return self.evaluation.metrics if self.evaluation is not None else {}

    def row(self) -> EpochRow:
        return EpochRow(self.epoch, self.step, self.train_loss, self.val_loss, self.metrics)

    def event(self) -> EpochEvent:
        return EpochEvent(self.epoch, self.step, self.train_loss, self.val_loss, self.metrics,
                          self.is_best, self.seconds)


Progress = StepProgress | EpochProgress


def train_while_improving(
    step: StepFn,
    epoch_batches: Callable[[int], Sequence[Sequence[int]]],
    *,
    plan: StepPlan,
    evaluate: Callable[[int], Evaluation] | None,
    patience: int = 0,
    min_steps: int = 0,
    cancelled: Callable[[], bool] = lambda: False,
    agree: Callable[[bool], bool] | None = None,
    learning_rate: float | None = None,
) -> Iterator[Progress]:
    """Train for ``plan.epochs`` epochs, yielding a :class:`StepProgress` after every step
    and an :class:`EpochProgress` after every epoch.

    ``epoch_batches(epoch)``: that epoch's batches (1-based epoch), called as it starts.
    ``evaluate(epoch)``: the dev scores, or None to evaluate nothing. Early stopping: after
    ``patience`` epochs (> 0) without a better score, once ``min_steps`` steps are done.
    ``cancelled()`` is checked before every step and before evaluating. ``agree(stop)``
    (distributed runs) turns this process's stop decision into the one every process
    takes. ``learning_rate`` is named in the divergence message.
    """
    best: tuple[float, float] = (-math.inf, -math.inf)
    stale = 0
    steps = 0
    train_seconds = 0.0
    for epoch in range(1, plan.epochs + 1):
        batches = epoch_batches(epoch)
        started = time.perf_counter()
        loss_sum, loss_n = 0.0, 0
        for batch in batches:
            _check(cancelled)
            loss, lr = step(batch)
            if not math.isfinite(loss):
                hint = (f"the learning rate {learning_rate:g} is probably too high"
                        if learning_rate is not None else "the learning rate is probably too high")
                raise TrainingFailure(
                    FailureKind.DIVERGED,
                    f"the training loss became {loss} at step {steps + 1} (epoch {epoch}): "
                    f"{hint}; lower it and retry",
                )
            steps += 1
            loss_sum += loss
            loss_n += 1
            yield StepProgress(steps, plan.total_steps, epoch, loss, lr,
                               train_seconds + time.perf_counter() - started)
        seconds = time.perf_counter() - started
        train_seconds += seconds
        _check(cancelled)
        evaluation = evaluate(epoch) if evaluate is not None else None
        is_best = False
        if evaluation is not None:
            is_best = evaluation.score > best
            if is_best:
                best, stale = evaluation.score, 0
            else:
                stale += 1
        # Never before the small-data floor of steps: early epochs' dev scores on a
        # handful of documents are noise, and warmup has barely started.
        stop = evaluation is not None and patience > 0 and stale >= patience and steps >= min_steps
        if agree is not None:
            stop = agree(stop)
        stops_early = stop and epoch < plan.epochs
        yield EpochProgress(epoch, steps, loss_sum / max(loss_n, 1), seconds, evaluation,
                            is_best, stops_early)
        if stops_early:
            return


def _check(cancelled: Callable[[], bool]) -> None:
    if cancelled():
        raise TrainingFailure(FailureKind.CANCELLED, "cancelled by the user")


# --- the torch side: optimiser and step ---------------------------------------------------


@dataclass
class Optimisation:
    """The optimiser, learning-rate schedule, autocast type of the steps (None: fp32) and
    (fp16 only) gradient scaler of a run."""

    optimizer: Any
    scheduler: Any
    scaler: Any = None
    amp: Any = None


def build_optimisation(model: Any, settings: Any, total_steps: int, device: Any) -> Optimisation:
    """AdamW over :func:`param_groups`, the settings' schedule with warmup, the steps'
    autocast type (``settings.precision``, :func:`core.engine.runtime.precision_dtype`) and
    a gradient scaler when training in fp16 on CUDA."""
    import torch
    from transformers import get_scheduler

    from core.engine import runtime

    s = settings
    params = param_groups(model, s.learning_rate, s.weight_decay, s.layer_lr_decay)
    optimizer = _adamw(torch, params, lr=s.learning_rate, betas=(s.adam_beta1, s.adam_beta2),
                       eps=s.adam_epsilon)
    scheduler = get_scheduler(
        s.scheduler, optimizer, num_warmup_steps=int(s.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    amp = runtime.precision_dtype(device, getattr(s, "precision", "auto"))
    scaler = torch.amp.GradScaler("cuda") if amp is torch.float16 else None
    return Optimisation(optimizer, scheduler, scaler, amp)


def torch_step(
    *,
    model: Any,
    train_model: Any,
    optimisation: Optimisation,
    inputs: Callable[[Sequence[int]], dict[str, Any]],
    device: Any,
    max_grad_norm: float,
    before_backward: Callable[[], None] | None = None,
) -> StepFn:
    """The step function of :func:`train_while_improving`: forward ``inputs(batch)``
    through ``train_model`` (the model, or its DDP wrapper), backward, clip, step. A loss
    that is not finite is returned before any update (the loop then fails the run).
    ``before_backward`` runs after the gradients are dropped and before the backward pass
    (:mod:`core.engine.cpu_paths`: the word embedding's kept gradient buffer)."""
    import torch

    from core.engine import runtime

    opt = optimisation

    def step(batch: Sequence[int]) -> tuple[float, float]:
        model.train()  # evaluation after the previous epoch left it in eval mode
        with runtime.mixed_precision(device, opt.amp):
            out = train_model(**inputs(batch))
        loss = out.loss
        value = float(loss.detach())
        if not math.isfinite(value):
            return value, float(opt.scheduler.get_last_lr()[0])
        opt.optimizer.zero_grad(set_to_none=True)
        if before_backward is not None:
            before_backward()
        if opt.scaler is not None:
            opt.scaler.scale(loss).backward()
            opt.scaler.unscale_(opt.optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm, foreach=True)
            opt.scaler.step(opt.optimizer)
            opt.scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm, foreach=True)
            opt.optimizer.step()
        opt.scheduler.step()
        return value, float(opt.scheduler.get_last_lr()[0])

    return step


_NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
# ".layer.3." (BERT, RoBERTa, ELECTRA), ".layers.3." (DeBERTa-v2 style), ".h.3." / ".block.3."
_LAYER_INDEX = re.compile(r"\.(?:layer|layers|h|block)\.(\d+)\.")


def param_groups(model: Any, lr: float, weight_decay: float,
                 layer_decay: float = 1.0) -> list[dict[str, Any]]:
    """AdamW parameter groups: no weight decay on biases and norms and, with
    ``layer_decay`` < 1, layer-wise learning-rate decay: the head (and pooler) train at
    ``lr``, encoder layer i of n at ``lr * layer_decay ** (n - i)``, the embeddings at
    ``lr * layer_decay ** (n + 1)``; lower layers hold more general features and move less."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    depths: dict[str, int] = {}
    for name, _ in named:
        match = _LAYER_INDEX.search(name)
        if match:
            depths[name] = int(match.group(1)) + 1
        elif "embed" in name:
            depths[name] = 0
    top = max(depths.values(), default=0) + 1
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, param in named:
        depth = depths.get(name, top) if layer_decay != 1.0 else top
        decays = not name.endswith(_NO_DECAY)
        group = groups.setdefault((depth, decays), {
            "params": [], "weight_decay": weight_decay if decays else 0.0,
            "lr": lr * layer_decay ** (top - depth),
        })
        group["params"].append(param)
    return [groups[key] for key in sorted(groups)]


def _adamw(torch: Any, params: list[dict[str, Any]], **kw: Any) -> Any:
    """AdamW with the fused kernel where torch has one for the device (CPU included since
    torch 2.4): one kernel over all parameters instead of a Python loop per tensor. On
    these machines it makes the optimizer step ~9x faster, about a third of a step's time
    at batch 8; the arithmetic is the same AdamW."""
    try:
        return torch.optim.AdamW(params, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, foreach=True, **kw)
