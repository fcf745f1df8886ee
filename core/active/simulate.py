"""Simulated active learning: does a strategy reach a dev score with fewer labels?

From a fully labelled pool, start with ``seed_size`` random documents "labelled"; then for
``rounds`` rounds: train, let the strategy choose ``batch_size`` more from the rest of the
pool, reveal their gold labels, and go on. After every training the model is scored on a
fixed dev set. Every strategy starts from the same seed set, pool and training seed (per
simulation seed), so curves differ only by what the strategy chose.

Runs in memory (no project): records in, a plain :class:`SimulationResult` out.
Each round trains from the base model afresh unless ``warm_start`` is set (then from the
previous round's model: faster to converge, but the curves then also measure the
warm-start effect).
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.active import strategies as S
from core.active.time_model import PRIOR, TimeModel
from core.active.uncertainty import probability_matrix
from core.errors import AnnotatorError, TrainingError
from core.formats.conll import overlapping_pair
from core.tasks import kind_of
from core.types import DocumentRecord, TaskKind


@dataclass(frozen=True)
class SimulationSettings:
    """How to simulate. ``seeds`` runs seeds ``first_seed .. first_seed + seeds - 1``; ``max_pool`` subsamples the
    pool (per seed); ``max_dev`` the dev set (once, seed 0); ``epochs``, ``learning_rate``,
    ``batch``, ``max_length`` and ``min_steps`` (the small-data floor of optimizer steps
    per training) go to training (None = the engine preset's)."""

    task: TaskKind
    strategies: tuple[str, ...] = ("random", "entropy")
    seed_size: int = 50
    batch_size: int = 50
    rounds: int = 5
    seeds: int = 1
    # None: the preset's epochs with its small-data floor, as the app trains (explicit
    # epochs switch the floor off, as everywhere).
    epochs: int | None = None
    base_model: str | None = "default"
    max_pool: int | None = None
    max_dev: int | None = None
    warm_start: bool = False
    learning_rate: float | None = None
    train_batch_size: int | None = None
    max_length: int | None = None
    min_steps: int | None = None
    device: str = "auto"
    top_k: int | None = S.DEFAULT_TOP_K
    first_seed: int = 0
    # Simulated annotation time per document (core.active.time_model): what cost_aware
    # divides by, and the hours each curve point reports.
    time_model: TimeModel = PRIOR

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", TaskKind(self.task))
        names = tuple(S.canonical_strategy(s) for s in self.strategies)
        object.__setattr__(self, "strategies", tuple(dict.fromkeys(names)))
        problems = []
        for name in ("seed_size", "batch_size", "seeds"):
            if getattr(self, name) < 1:
                problems.append(f"{name.replace('_', '-')} must be >= 1")
        if self.rounds < 0:
            problems.append("rounds must be >= 0")
        if self.epochs is not None and self.epochs < 1:
            problems.append("epochs must be >= 1")
        if self.min_steps is not None and self.min_steps < 0:
            problems.append("min-steps must be >= 0")
        if problems:
            raise AnnotatorError("invalid simulation settings: " + "; ".join(problems))


@dataclass(frozen=True)
class CurvePoint:
    """The dev score after one training: ``labels`` documents were labelled."""

    round: int
    labels: int
    metrics: dict[str, Any]
    seconds: float
    hours: float = 0.0  # simulated annotation time of the ``labels`` documents

    def as_dict(self, metric: str) -> dict[str, Any]:
        out: dict[str, Any] = {"round": self.round, "labels": self.labels,
                               "hours": round(self.hours, 4)}
        out[metric] = self.metrics.get(metric)
        out.update({k: v for k, v in self.metrics.items()
                    if k != metric and isinstance(v, (int, float))})
        out["seconds"] = round(self.seconds, 2)
        return out


@dataclass(frozen=True)
class SimulationEvent:
    """Progress: one training of (strategy, seed, round) finished with ``value``."""

    strategy: str
    seed: int
    round: int
    rounds: int
    labels: int
    value: float
    seconds: float


@dataclass
class SimulationResult:
    """Per strategy and seed, the curve; plus the mean curve and a comparison with random."""

    settings: SimulationSettings
    metric: str
    per_seed: dict[str, list[list[CurvePoint]]] = field(default_factory=dict)
    seconds: float = 0.0
    cancelled: bool = False
    # NER: the files' entities overlap or nest, so each round trained the per-label tagger.
    overlapping: bool = False

    def mean_curve(self, strategy: str) -> list[dict[str, Any]]:
        """Mean (and std over seeds) of the metric per round."""
        runs = self.per_seed.get(strategy, [])
        if not runs:
            return []
        n = min(len(r) for r in runs)
        out = []
        for i in range(n):
            values = [float(r[i].metrics.get(self.metric, 0.0)) for r in runs]
            out.append({
                "round": i, "labels": runs[0][i].labels,
                "hours": round(float(np.mean([r[i].hours for r in runs])), 4),
                self.metric: round(float(np.mean(values)), 4),
                "std": round(float(np.std(values)), 4),
                "seeds": len(values),
            })
        return out

    def comparison(self, reference: str = "random") -> dict[str, Any]:
        """For each strategy: labels and simulated hours of annotation needed (mean curve,
        linear interpolation) to reach the reference's final mean score, the labels as a
        fraction of the reference's, and labels per hour over the whole run (the time model
        of the settings: uncertain documents may be the slow ones)."""
        ref = self.mean_curve(reference)
        if not ref:
            return {}
        target, ref_labels = ref[-1][self.metric], ref[-1]["labels"]
        ref_hours = ref[-1]["hours"]
        out: dict[str, Any] = {"reference": reference, "target": target,
                               "reference_labels": ref_labels,
                               "reference_hours": ref_hours, "strategies": {}}
        for name in self.per_seed:
            curve = self.mean_curve(name)
            values = [p[self.metric] for p in curve]
            needed = labels_to_reach([p["labels"] for p in curve], values, target)
            hours = labels_to_reach([p["hours"] for p in curve], values, target)
            last = curve[-1] if curve else None
            out["strategies"][name] = {
                "final": last[self.metric] if last else None,
                "labels_to_reach": needed,
                "fraction_of_reference": round(needed / ref_labels, 3) if needed else None,
                "hours_to_reach": round(hours, 4) if hours is not None else None,
                "hours_fraction_of_reference": (round(hours / ref_hours, 3)
                                                if hours and ref_hours else None),
                "labels_per_hour": (round(last["labels"] / last["hours"], 1)
                                    if last and last["hours"] else None),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        s = dataclasses.asdict(self.settings)
        s["task"] = self.settings.task.value
        s["strategies"] = list(self.settings.strategies)
        return {
            "task": self.settings.task.value,
            "overlapping": self.overlapping,
            "metric": self.metric,
            "settings": s,
            "curves": {name: self.mean_curve(name) for name in self.per_seed},
            "per_seed": {
                name: [[p.as_dict(self.metric) for p in run] for run in runs]
                for name, runs in self.per_seed.items()
            },
            "comparison": self.comparison() if "random" in self.per_seed else {},
            "seconds": round(self.seconds, 1),
            "cancelled": self.cancelled,
        }


def labels_to_reach(labels: Sequence[float], values: Sequence[float], target: float) -> float | None:
    """The first label count at which the curve reaches ``target`` (linear interpolation
    between points); None if it never does."""
    for i, (n, v) in enumerate(zip(labels, values)):
        if v >= target - 1e-12:
            if i == 0:
                return float(n)
            n0, v0 = labels[i - 1], values[i - 1]
            return float(n0 + (n - n0) * (target - v0) / (v - v0)) if v != v0 else float(n)
    return None


def primary_metric_name(task: TaskKind) -> str:
    """The dev number a curve shows: entity/answer F1, classification accuracy."""
    return kind_of(task).curve_metric


def task_labels(task: TaskKind, docs: Sequence[DocumentRecord]) -> tuple[list[str], bool]:
    """The label set found in ``docs`` (sorted) and whether classes are multi-label."""
    return kind_of(task).label_set(docs)


class Simulation:
    """One simulation; :meth:`run` on the calling thread, :meth:`cancel` from any thread."""

    def __init__(
        self,
        settings: SimulationSettings,
        pool: Sequence[DocumentRecord],
        dev: Sequence[DocumentRecord],
        *,
        on_event: Callable[[SimulationEvent], None] | None = None,
        work_dir: str | Path | None = None,
    ) -> None:
        self.settings = settings
        task = settings.task
        # The pool is fully labelled: every document is an example unless it lacks a
        # target (a sentence without entities is a labelled negative).
        kind = kind_of(task)
        self.pool = [d for d in pool if kind.is_example(d)]
        dev_docs = [d for d in dev if kind.is_example(d)]
        if settings.max_dev is not None and len(dev_docs) > settings.max_dev:
            dev_docs = random.Random(0).sample(dev_docs, settings.max_dev)
        self.dev = dev_docs
        self.on_event = on_event
        self.work_dir = Path(work_dir) if work_dir else None
        self._cancel = threading.Event()
        self.labels, self.multi_label = task_labels(task, self.pool + self.dev)
        # Files whose entities overlap or nest train the per-label tagger, as a project that
        # lets them overlap does (BIO gives a token one tag).
        self.overlapping = task is TaskKind.NER and any(
            overlapping_pair(d.spans) is not None for d in self.pool + self.dev)
        # Simulated seconds to label each pool document (its length under the time model).
        self.doc_seconds = settings.time_model.seconds([len(d.text) for d in self.pool])
        if not self.pool:
            raise AnnotatorError("the pool holds no labelled document for this task")
        if not self.dev:
            raise AnnotatorError("the dev set holds no labelled document for this task")
        if not self.labels:
            raise AnnotatorError("the pool holds no labels for this task")
        n_pool = min(len(self.pool), settings.max_pool or len(self.pool))
        if settings.seed_size >= n_pool:
            raise AnnotatorError(
                f"seed-size {settings.seed_size} leaves nothing to query in a pool of {n_pool}"
            )

    def cancel(self) -> None:
        self._cancel.set()

    # --- one training ------------------------------------------------------------

    def _training_settings(self, seed: int, base: str | None) -> Any:
        from core.engine.settings import preset_settings

        s = self.settings
        stride = None if s.max_length is None else s.max_length // 4
        try:
            return preset_settings(
                "default", s.task, base_model=base, epochs=s.epochs, seed=seed,
                learning_rate=s.learning_rate, batch_size=s.train_batch_size,
                max_length=s.max_length, stride=stride, device=s.device, patience=0,
                min_steps=s.min_steps,
            )
        except ValueError as exc:
            raise AnnotatorError(str(exc)) from exc

    def _train(self, docs: list[DocumentRecord], out: Path, seed: int, base: str | None) -> Path:
        from core.engine.job import TrainingJob

        job = TrainingJob(
            task=self.settings.task, labels=self.labels, train=docs, dev=[],
            multi_label=self.multi_label, overlapping=self.overlapping,
            settings=self._training_settings(seed, base), output_dir=out,
        )
        if self._cancel.is_set():
            job.cancel()
        result = job.run()
        if result.status != "completed" or not result.model_path:
            raise TrainingError(f"simulation training failed: {result.reason}")
        return Path(result.model_path)

    # --- the loop ------------------------------------------------------------------

    def _query(
        self, name: str, model_dir: Path, candidates: list[int], labelled: list[int],
        k: int, seed: int, round_: int,
    ) -> list[int]:
        if name == "random":
            ranked = S.rank(candidates, None, strategy="random",
                                     seed=seed * 1000 + round_)
            return [int(r.doc_id) for r in ranked[:k]]
        from core.engine.predict import Predictor

        predictor = Predictor(model_dir, device=self.settings.device)
        docs = [strip_labels(self.pool[i]) for i in candidates]
        preds = predictor.predict(docs)
        probs = [probability_matrix(p, multi_label=self.multi_label) for p in preds]
        embeddings = labelled_emb = None
        if name == "diverse":
            # Embed only the candidates the diverse step can pick from.
            scores = S.document_scores(probs, "entropy", top_k=self.settings.top_k)
            top = np.argsort(-scores, kind="stable")[: S.DEFAULT_PREFILTER * k]
            candidates = [candidates[i] for i in top]
            probs = [probs[i] for i in top]
            embeddings = predictor.embed([self.pool[i] for i in candidates])
            labelled_emb = predictor.embed([self.pool[i] for i in labelled])
        costs = self.doc_seconds[candidates] if name == "cost_aware" else None
        ranked = S.rank(
            candidates, probs, strategy=name, embeddings=embeddings, batch_size=k,
            top_k=self.settings.top_k, seed=seed, labelled_embeddings=labelled_emb,
            costs=costs,
        )
        return [int(r.doc_id) for r in ranked[:k]]

    def run(self) -> SimulationResult:
        """Run every strategy for every seed; returns the curves (partial if cancelled)."""
        from core.engine.inference import score_predictions
        from core.engine.predict import Predictor

        s = self.settings
        metric = primary_metric_name(s.task)
        result = SimulationResult(settings=s, metric=metric, overlapping=self.overlapping)
        started = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix="annotator-sim-", dir=self.work_dir))
        try:
            for seed in range(s.first_seed, s.first_seed + s.seeds):
                rng = random.Random(seed)
                pool_idx = list(range(len(self.pool)))
                if s.max_pool is not None and len(pool_idx) > s.max_pool:
                    pool_idx = sorted(rng.sample(pool_idx, s.max_pool))
                initial = rng.sample(pool_idx, s.seed_size)
                for name in s.strategies:
                    labelled = list(initial)
                    curve: list[CurvePoint] = []
                    result.per_seed.setdefault(name, []).append(curve)
                    previous: Path | None = None
                    for round_ in range(s.rounds + 1):
                        if self._cancel.is_set():
                            result.cancelled = True
                            return result
                        t0 = time.perf_counter()
                        out = tmp / f"{name}-{seed}-{round_}"
                        base = str(previous) if (s.warm_start and previous) else s.base_model
                        model_dir = self._train([self.pool[i] for i in labelled], out, seed, base)
                        predictor = Predictor(model_dir, device=s.device)
                        preds = predictor.predict(self.dev)
                        metrics = score_predictions(predictor.spec, self.dev, preds)
                        metrics = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
                        del predictor
                        if round_ < s.rounds:
                            chosen = set(labelled)
                            candidates = [i for i in pool_idx if i not in chosen]
                            k = min(s.batch_size, len(candidates))
                            picked = self._query(name, model_dir, candidates, labelled, k,
                                                 seed, round_) if k else []
                        seconds = time.perf_counter() - t0
                        hours = float(self.doc_seconds[labelled].sum()) / 3600
                        curve.append(CurvePoint(round_, len(labelled), metrics, seconds, hours))
                        if self.on_event is not None:
                            self.on_event(SimulationEvent(
                                name, seed, round_, s.rounds, len(labelled),
                                float(metrics.get(metric, 0.0)), seconds,
                            ))
                        if previous is not None and previous != model_dir:
                            shutil.rmtree(previous, ignore_errors=True)
                        previous = model_dir
                        if round_ < s.rounds:
                            if not picked:
                                break
                            labelled += picked
                    if previous is not None:
                        shutil.rmtree(previous, ignore_errors=True)
        finally:
            result.seconds = time.perf_counter() - started
            shutil.rmtree(tmp, ignore_errors=True)
        return result


def simulate(
    settings: SimulationSettings,
    pool: Sequence[DocumentRecord],
    dev: Sequence[DocumentRecord],
    *,
    on_event: Callable[[SimulationEvent], None] | None = None,
) -> SimulationResult:
    """Run a simulation on the calling thread (see the module docstring)."""
    return Simulation(settings, pool, dev, on_event=on_event).run()


def strip_labels(doc: DocumentRecord) -> DocumentRecord:
    """The document as the model sees it when predicting: what it is asked (the text, the
    questions, the sentences to classify) without any gold label."""
    questions = tuple(
        dataclasses.replace(q, answers=(), is_impossible=False) for q in doc.questions
    )
    sentences = tuple(dataclasses.replace(s, labels=()) for s in doc.sentences)
    return dataclasses.replace(
        doc, spans=(), classes=(), questions=questions, sentences=sentences,
        labelled_for=frozenset(),
    )
