"""A training run: plain data in, plain progress events out, a model directory at the end.

    job = TrainingJob(task=TaskKind.NER, labels=["Disease"], train=docs,
                      settings=preset_settings("default", "ner"), output_dir=path,
                      on_event=print)
    result = job.run()            # or job.start(); ...; job.cancel(); job.join()

The job drives three parts: :func:`core.engine.prepare.prepare` (documents, dev split,
warnings, plan), :func:`core.engine.loop.train_while_improving` (the inner loop, a generator
of progress) and :func:`core.engine.modelio.save_model_dir`. It keeps the best epoch's
weights (or the mean of the last epochs' when that scores better on dev), saves them and
turns progress into :mod:`core.engine.results` events. Every failure ends the run with a
:class:`FailureKind` and a reason; ``run()`` never raises.

Our own loop (not transformers' Trainer): length-grouped, dynamically padded batches;
AdamW with a linear schedule; gradient clipping; mixed precision on CUDA; evaluation on
the dev documents after each epoch. Multi-GPU via ``torchrun`` (``WORLD_SIZE > 1``): DDP,
batches sharded by rank, only rank 0 evaluates and saves.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import math
import os
import random
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.engine.loop import param_groups  # noqa: F401  (its home before the loop module)
from core.engine.prepare import (  # noqa: F401  (importable from here, as before)
    MIN_DEV_SPLIT,
    MIN_DOCUMENTS,
    MIN_MENTIONS,
    MIN_PER_LABEL,
    Preparation,
    data_warnings,
    split_dev,
)
from core.engine.results import (
    FailureKind,
    FinishedEvent,
    TrainingEvent,
    TrainingFailure,
    TrainingResult,
    WarningEvent,
)
from core.engine.settings import TrainingSettings
from core.errors import AnnotatorError, TrainingError
from core.types import DocumentRecord, TaskKind

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class TrainingJob:
    """One fine-tuning run of a task head on a BERT-style encoder.

    ``train``: labelled documents (documents marked ``Split.DEV`` among them go to dev);
    ``dev``: dev documents, or None to hold out a stable ``settings.dev_fraction``;
    never trained on. ``overlapping`` (NER): entities may overlap and nest, so the head is
    the per-label tagger (:mod:`core.tasks.ner`). ``on_event`` receives :mod:`core.engine.results` events; it is
    called on the thread that runs the job (the worker thread after :meth:`start`), so a
    GUI must forward events to its own thread.
    """

    def __init__(
        self,
        *,
        task: TaskKind | str,
        labels: Sequence[str],
        train: Sequence[DocumentRecord],
        dev: Sequence[DocumentRecord] | None = None,
        multi_label: bool = False,
        overlapping: bool = False,
        settings: TrainingSettings | None = None,
        output_dir: str | Path,
        on_event: Callable[[TrainingEvent], None] | None = None,
    ) -> None:
        self.task = TaskKind(task)
        self.labels = tuple(labels)
        self.train_docs = list(train)
        self.dev_docs = None if dev is None else list(dev)
        from core.tasks import kind_of

        self.multi_label = bool(multi_label and kind_of(self.task).multi_label_capable)
        self.overlapping = bool(overlapping)
        self.settings = settings or TrainingSettings()
        self.output_dir = Path(output_dir)
        self.on_event = on_event
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._result: TrainingResult | None = None
        self._warnings: list[str] = []
        self._log: list[str] = []
        self._rank = int(os.environ.get("RANK", "0"))
        self._world = int(os.environ.get("WORLD_SIZE", "1"))
        # What a run that ends early still reports, and what it must release.
        self._rows: list[Any] = []
        self._steps = 0
        self._sizes = (0, 0)  # (training, dev) documents
        self._held: dict[str, Any] = {}
        self._owns_process_group = False

    # --- control (any thread) --------------------------------------------------------

    def cancel(self) -> None:
        """Ask the run to stop; it ends as "cancelled" after the current step. Any thread."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def start(self) -> threading.Thread:
        """Run in a new worker thread (daemon); events arrive on that thread."""
        if self._thread is not None:
            raise RuntimeError("this job was already started")
        self._thread = threading.Thread(target=self.run, name="training-job", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> TrainingResult | None:
        """Wait for a started job; its result (None while it still runs)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._result

    @property
    def result(self) -> TrainingResult | None:
        return self._result

    # --- the run (calling thread, or the worker thread after start()) ----------------

    def run(self) -> TrainingResult:
        """Train, evaluate, save; return how it ended. Never raises.

        Called on the worker thread (or the caller's); touches no GUI, reports through
        ``on_event`` only. Every failure becomes ``status="failed"`` (``"cancelled"``)
        with a :class:`FailureKind` and a reason.
        """
        try:
            result = self._train()
        except TrainingFailure as exc:
            result = self._ended(exc.kind, str(exc))
        except AnnotatorError as exc:
            result = self._ended(FailureKind.INTERNAL, str(exc))
        except BaseException as exc:  # noqa: BLE001 - the run must end with a reason
            result = self._ended(*self._classify(exc))
        finally:
            self._release()
        self._result = result
        self._emit(FinishedEvent(result))
        return result

    def _classify(self, exc: BaseException) -> tuple[FailureKind, str]:
        from core.engine.runtime import is_out_of_memory

        s = self.settings
        if is_out_of_memory(exc):
            return FailureKind.OUT_OF_MEMORY, (
                f"out of memory at batch size {s.batch_size} and max length {s.max_length}: "
                "lower the batch size or max length, or train on the CPU")
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            return FailureKind.DISK_FULL, (
                f"the disk is full ({exc}): free some space and train again")
        self._log.append(traceback.format_exc())
        return FailureKind.INTERNAL, f"unexpected error: {type(exc).__name__}: {exc}"

    def _ended(self, kind: FailureKind, reason: str) -> TrainingResult:
        status = "cancelled" if kind is FailureKind.CANCELLED else "failed"
        self._log.append(f"{status}: {reason}")
        return TrainingResult(
            status=status, reason=reason, failure=kind, epochs=tuple(self._rows),
            warnings=tuple(self._warnings), train_examples=self._sizes[0],
            dev_examples=self._sizes[1], steps=self._steps, log=tuple(self._log),
        )

    def _release(self) -> None:
        self._held.clear()  # the model and any copy of its weights
        if self._owns_process_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def _emit(self, event: TrainingEvent) -> None:
        if self.on_event is not None and self._rank == 0:
            self.on_event(event)

    def _warn(self, message: str) -> None:
        self._warnings.append(message)
        self._log.append(f"warning: {message}")
        self._emit(WarningEvent(message))

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise TrainingFailure(FailureKind.CANCELLED, "cancelled by the user")

    # --- the parts ---------------------------------------------------------------------

    def _prepare(self) -> Preparation:
        from core.engine.prepare import prepare

        prep = prepare(task=self.task, labels=self.labels, train=self.train_docs,
                       dev=self.dev_docs, multi_label=self.multi_label,
                       overlapping=self.overlapping, settings=self.settings).require()
        for message in prep.warnings:
            self._warn(message)
        self.labels = prep.spec.labels
        self._sizes = (len(prep.train), len(prep.dev))
        return prep

    def _device(self) -> Any:
        import torch

        from core.engine import runtime

        try:
            device = runtime.select_device(self.settings.device)
        except TrainingError as exc:
            raise TrainingFailure(FailureKind.NO_DEVICE, str(exc)) from exc
        if self._world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
                self._owns_process_group = True
            self._log.append(f"distributed: {dist.get_world_size()} processes "
                             f"({dist.get_backend()}), batch size {self.settings.batch_size} "
                             "each")
            if device.type == "cuda":
                torch.cuda.set_device(device)
        return device

    def _build(self, prep: Preparation, device: Any) -> tuple[Any, Any, str]:
        from core.engine.modelio import build_model

        try:
            model, tokenizer, base_dir = build_model(prep.spec, self.settings.base_model,
                                                     self._warn)
        except TrainingError as exc:
            raise TrainingFailure(FailureKind.MISSING_MODEL, str(exc)) from exc
        from core.tasks import kind_of

        kind_of(prep.spec.task).adapt_model(model, tokenizer)
        self._fit_window(model)
        model.to(device)
        self._held["model"] = model
        return model, tokenizer, base_dir

    def _fit_window(self, model: Any) -> None:
        """Shrink the window to what the base model's position embeddings hold (a small or
        older encoder may have fewer than the preset's 256/384), with a warning, instead of
        failing mid-run on a tensor size mismatch."""
        import dataclasses

        config = model.config
        limit = getattr(config, "max_position_embeddings", None)
        if not isinstance(limit, int) or limit <= 0:
            return
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= (getattr(config, "pad_token_id", 1) or 1) + 1  # positions start after pad
        s = self.settings
        if s.max_length <= limit:
            return
        stride = min(s.stride, max(0, limit // 4))
        self._warn(f"the base model reads at most {limit} tokens at once: windows of {limit} "
                   f"tokens (overlap {stride}) instead of {s.max_length}")
        self.settings = dataclasses.replace(s, max_length=limit, stride=stride)

    def _features(self, train: Sequence[DocumentRecord], prep: Preparation,
                  tokenizer: Any) -> list[Any]:
        from core.engine import tasks

        s, spec = self.settings, prep.spec
        kw = {"max_length": s.max_length, "stride": s.stride}
        feats = tasks.training_features(tokenizer, spec, train, warn=self._warn, **kw)
        if not feats:
            raise TrainingFailure(FailureKind.BAD_INPUT,
                                  "the training documents produced no model input")
        n_windows = len(feats) - len({f.example for f in feats})
        if n_windows:
            self._log.append(f"{n_windows} extra window(s) for documents longer than "
                             f"{s.max_length} tokens")
        return list(feats)

    # --- training ----------------------------------------------------------------------

    def _train(self) -> TrainingResult:
        s = self.settings
        self._check_cancel()
        prep = self._prepare()
        dev = list(prep.dev)
        device = self._device()
        first = self._fit(prep, list(prep.train), dev, device)
        if self._rank != 0:
            return TrainingResult(status="completed", reason="worker rank", steps=self._steps)
        model, tokenizer, base_dir = first.model, first.tokenizer, first.base_dir
        if dev:
            from core.engine import inference

            preds, _ = inference.predict_documents(model, tokenizer, prep.spec, dev,
                                                   first.options, device)
            for message in (
                inference.collapse_warning(prep.spec, dev, preds, first.best_metrics),
                inference.weak_labels_warning(prep.spec, first.best_metrics),
            ):
                if message:
                    self._warn(message)
        train_seconds, tokens_seen = first.train_seconds, first.tokens_seen
        refit: dict[str, Any] | None = None
        why_not = self._why_not_refit(dev, first)
        if s.refit and why_not:
            self._log.append(f"no refit: {why_not}")
        elif s.refit:
            self._check_cancel()
            epochs = int(first.best_epoch or 0)
            everything = list(prep.train) + dev
            self._log.append(f"refit: the same run on all {len(everything)} documents "
                             f"(dev included), stopped after epoch {epochs}, the best on dev")
            model = tokenizer = None
            self._held.clear()
            first = first.released()
            second = self._fit(prep, everything, [], device, epochs_of=first.plan.epochs,
                               stop_after=epochs)
            model, tokenizer, base_dir = second.model, second.tokenizer, second.base_dir
            train_seconds += second.train_seconds
            tokens_seen += second.tokens_seen
            refit = {"documents": len(everything), "epochs": epochs}
        self._check_cancel()
        path = self._save(model, tokenizer, prep, first.best_metrics, base_dir,
                          first.best_epoch, first.averaged, refit)
        return TrainingResult(
            status="completed", reason="", model_path=str(path), epochs=tuple(self._rows),
            dev_metrics=first.best_metrics, best_epoch=first.best_epoch,
            warnings=tuple(self._warnings), train_examples=len(prep.train),
            dev_examples=len(dev), train_tokens=first.train_tokens,
            train_seconds=train_seconds,
            tokens_per_second=tokens_seen / train_seconds if train_seconds > 0 else 0.0,
            steps=self._steps, log=tuple(self._log), averaged_epochs=first.averaged,
            refit_documents=refit["documents"] if refit else 0,
        )

    def _why_not_refit(self, dev: Sequence[Any], first: _Fit) -> str:
        """Why a run asked to refit keeps its first model ("" when it refits)."""
        if not dev:
            return "no dev documents, so the run already trained on all of them"
        if first.averaged:
            return "the kept weights are a mean of epochs, which a refit cannot repeat"
        if self._world > 1:
            return "distributed runs keep the model trained without the dev documents"
        if not first.best_epoch:
            return "no best epoch"
        return ""

    def _fit(self, prep: Preparation, train_docs: list[DocumentRecord],
             dev: list[DocumentRecord], device: Any, *, epochs_of: int | None = None,
             stop_after: int | None = None) -> _Fit:
        """One training pass from the base model on ``train_docs``: the loop, early
        stopping on ``dev``, the best epoch's weights loaded at the end.

        The refit pass: ``epochs_of`` fixes the plan's epochs (the learning-rate schedule of
        the first pass, on more batches) and ``stop_after`` ends it after that epoch; its
        epochs stay out of the run's rows (they have no dev scores), and its progress events
        count their steps on from the first pass's."""
        import numpy as np
        import torch

        from core.engine import inference, runtime
        from core.engine.batching import length_grouped_batches, pad_batch, shard_batches
        from core.engine.loop import (
            EpochProgress,
            Evaluation,
            build_optimisation,
            torch_step,
            train_while_improving,
        )
        from core.engine.prepare import StepPlan, plan_steps

        s = self.settings
        spec = prep.spec
        random.seed(s.seed)
        np.random.seed(s.seed % 2**32)
        torch.manual_seed(s.seed)
        model, tokenizer, base_dir = self._build(prep, device)
        s = self.settings  # the window may have been fitted to the base model
        self._check_cancel()
        feats = self._features(train_docs, prep, tokenizer)
        lengths = [len(f) for f in feats]
        train_tokens = sum(lengths)
        pad_id = int(tokenizer.pad_token_id or 0)
        from core.tasks import kind_of

        target = kind_of(spec.task).batch_targets or spec.task.value
        options = inference.InferenceOptions(
            max_length=s.max_length, stride=s.stride, batch_size=s.eval_batch_size,
            max_answer_length=s.max_answer_length,
        )

        def epoch_batches(epoch: int) -> list[list[int]]:
            return shard_batches(length_grouped_batches(lengths, s.batch_size, seed=s.seed,
                                                        epoch=epoch), self._rank, self._world)

        n_batches = len(epoch_batches(0))
        if epochs_of is None:
            plan = plan_steps(n_batches, s)
            if plan.note:
                self._log.append(plan.note)
        else:
            plan = StepPlan(n_batches, epochs_of, n_batches * epochs_of)
        optimisation = build_optimisation(model, s, plan.total_steps, device)
        train_model: Any = kind_of(spec.task).training_module(model, spec, feats)
        if self._world > 1:
            from torch.nn.parallel import DistributedDataParallel

            train_model = DistributedDataParallel(
                train_model, device_ids=[device.index] if device.type == "cuda" else None)

        def inputs(idx: Sequence[int]) -> dict[str, Any]:
            batch = pad_batch([feats[i] for i in idx], pad_id, with_targets=target,
                              multi_label=spec.multi_label)
            return runtime.to_device(runtime.model_inputs(model, batch), device)

        def evaluate(epoch: int) -> Evaluation:
            if not dev:  # every epoch is the best so far: the last one is kept
                return Evaluation(None, {}, (float(epoch), 0.0))
            preds, val_loss = inference.predict_documents(
                model, tokenizer, spec, dev, options, device, with_loss=True)
            metrics = inference.score_predictions(spec, dev, preds)
            return Evaluation(val_loss, metrics, _score(target, metrics, val_loss))

        from core.engine import cpu_paths

        fast = (cpu_paths.install(model)
                if cpu_paths.ENABLED and device.type == "cpu" and self._world <= 1 else None)
        step = torch_step(model=model, train_model=train_model, optimisation=optimisation,
                          inputs=inputs, device=device, max_grad_norm=s.max_grad_norm,
                          before_backward=fast.before_backward if fast else None)
        progress = train_while_improving(
            step, epoch_batches, plan=plan, evaluate=evaluate if self._rank == 0 else None,
            patience=s.patience if dev else 0, min_steps=s.min_steps,
            cancelled=self._cancel.is_set, agree=self._agree(device),
            learning_rate=s.learning_rate,
        )
        refit = stop_after is not None
        last = stop_after or plan.epochs
        steps_before = self._steps if refit else 0
        total = steps_before + last * n_batches
        tail: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(
            maxlen=max(s.average_last, 1))
        best_value: tuple[float, float] = (-math.inf, -math.inf)
        best_epoch, best_metrics = None, {}
        train_seconds = 0.0
        epochs_run = 0
        try:
            for p in progress:
                if not isinstance(p, EpochProgress):
                    self._steps = steps_before + p.step
                    event = p.event()
                    if refit:
                        left = last * n_batches - p.step
                        event = dataclasses.replace(
                            event, step=self._steps, total_steps=total, phase="refit",
                            eta_seconds=max(p.train_seconds / p.step * left, 0.0))
                    self._emit(event)
                    continue
                train_seconds += p.seconds
                epochs_run = p.epoch
                if p.evaluation is None:  # a worker rank: rank 0 keeps, reports and saves
                    continue
                if refit:
                    self._log.append(f"refit epoch {p.epoch}: train_loss {p.train_loss:.4f}")
                    if p.epoch >= last:
                        best_epoch = p.epoch
                        break
                    continue
                self._rows.append(p.row())
                if s.average_last > 1 and dev:
                    tail.append((p.epoch, _cpu_state(model)))
                if p.is_best:
                    best_value, best_epoch, best_metrics = p.evaluation.score, p.epoch, p.metrics
                    # The best epoch's weights, unless they are the model's own at the end.
                    self._held.pop("best_state", None)
                    if p.epoch < plan.epochs and dev:
                        self._held["best_state"] = (tail[-1][1] if tail and tail[-1][0] == p.epoch
                                                    else _cpu_state(model))
                self._log.append(
                    f"epoch {p.epoch}: train_loss {p.train_loss:.4f}"
                    + (f" val_loss {p.val_loss:.4f}" if p.val_loss is not None else "")
                    + "".join(f" {k} {v:.4f}" for k, v in p.metrics.items() if isinstance(v, float))
                )
                self._emit(p.event())
                if p.stops_early:
                    self._log.append(f"early stop after epoch {p.epoch}: no improvement in "
                                     f"{s.patience} epoch(s)")
        finally:
            progress.close()
            if fast is not None:
                cpu_paths.remove(model, fast)
        averaged: tuple[int, ...] = ()
        if self._rank == 0:
            if len(tail) > 1:
                self._check_cancel()
                averaged_state, averaged_metrics = self._try_average(
                    model, tokenizer, spec, dev, options, device, tail, target, best_value)
                if averaged_state is not None:
                    self._held["best_state"], best_metrics = averaged_state, averaged_metrics
                    averaged = tuple(e for e, _ in tail)
                tail.clear()
            if self._held.get("best_state") is not None:
                model.load_state_dict(self._held["best_state"])
        return _Fit(model=model, tokenizer=tokenizer, base_dir=base_dir, plan=plan,
                    best_epoch=best_epoch, best_metrics=best_metrics, averaged=averaged,
                    train_seconds=train_seconds, train_tokens=train_tokens,
                    tokens_seen=train_tokens * epochs_run, options=options)

    def _agree(self, device: Any) -> Callable[[bool], bool] | None:
        """Distributed runs: every process takes rank 0's decision to stop early."""
        if self._world <= 1:
            return None

        def agree(stop: bool) -> bool:
            import torch
            import torch.distributed as dist

            flag = torch.tensor([1 if stop else 0], device=device)
            dist.broadcast(flag, src=0)
            return bool(flag.item())

        return agree

    def _save(self, model: Any, tokenizer: Any, prep: Preparation, metrics: dict[str, Any],
              base_dir: str, best_epoch: int | None, averaged: tuple[int, ...],
              refit: dict[str, Any] | None = None) -> Path:
        from core.engine.modelio import save_model_dir

        s = self.settings
        return save_model_dir(
            model, tokenizer, prep.spec, self.output_dir, settings=s.to_dict(),
            metrics=metrics, base_model=s.base_model or "default",
            extra={"base_model_path": base_dir, "best_epoch": best_epoch,
                   "averaged_epochs": list(averaged),
                   "epochs": [r.flat() for r in self._rows],
                   "train_examples": len(prep.train), "dev_examples": len(prep.dev),
                   "refit": refit},
        )

    def _try_average(
        self, model: Any, tokenizer: Any, spec: Any, dev: Sequence[Any], options: Any,
        device: Any, tail: Sequence[tuple[int, dict[str, Any]]], target: str,
        best_value: tuple[float, float],
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Score the mean of the last epochs' weights on dev; its state and metrics when it
        beats the best single epoch (same ordering: dev metric, then lower val loss), else
        (None, {}). Leaves the model holding the last epoch's weights either way."""
        import torch

        from core.engine import inference

        states = [state for _, state in tail]
        mean = {}
        for key, value in states[-1].items():
            if value.is_floating_point():
                mean[key] = torch.stack([st[key] for st in states]).mean(dim=0)
            else:  # integer buffers (position ids): identical in every epoch
                mean[key] = value
        model.load_state_dict(mean)
        preds, val_loss = inference.predict_documents(
            model, tokenizer, spec, dev, options, device, with_loss=True)
        metrics = inference.score_predictions(spec, dev, preds)
        model.load_state_dict(states[-1])
        value = _score(target, metrics, val_loss)
        epochs = [e for e, _ in tail]
        kept = value > best_value
        self._log.append(
            f"mean of the weights of epochs {epochs[0]}-{epochs[-1]}: dev "
            f"{'macro-F1' if target == 'classify' else 'F1'} {value[0]:.4f} vs the best "
            f"epoch's {best_value[0]:.4f}: "
            + ("kept the mean" if kept else "kept the best epoch")
        )
        return (mean, metrics) if kept else (None, {})


@dataclass(frozen=True)
class _Fit:
    """What one training pass of :meth:`TrainingJob._fit` leaves: the model holding its
    best epoch's weights, and the figures the result reports."""

    model: Any
    tokenizer: Any
    base_dir: str
    plan: Any  # core.engine.prepare.StepPlan
    best_epoch: int | None
    best_metrics: dict[str, Any]
    averaged: tuple[int, ...]
    train_seconds: float
    train_tokens: int
    tokens_seen: int
    options: Any  # the run's core.engine.inference.InferenceOptions

    def released(self) -> _Fit:
        """The same figures without the model (its memory freed before a refit)."""
        return dataclasses.replace(self, model=None, tokenizer=None)


def _score(target: str, metrics: dict[str, Any], val_loss: float | None) -> tuple[float, float]:
    """How epochs compare: the dev metric, then (ties, e.g. F1 still 0 early on) the lower
    validation loss, so a tie never keeps the least trained epoch."""
    from core.engine.metrics import primary_metric

    return (primary_metric(target, metrics),
            -val_loss if val_loss is not None and math.isfinite(val_loss) else 0.0)


def _cpu_state(model: Any) -> dict[str, Any]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
