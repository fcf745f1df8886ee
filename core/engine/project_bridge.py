"""Train and evaluate a project's task: snapshot the store, run a job, record the run.

The store is read in one short session (plain ``DocumentRecord`` snapshots), training
runs without any session open, and the outcome is written in one more unit of work:
a ``TrainingRun`` row (settings, per-epoch table, status, warnings, log) and, when the
run completed, a model version (registered through :mod:`core.models`) whose directory
lies under the project's models folder. :func:`prepare_project` is the same preparation
the run makes (:func:`core.engine.prepare.prepare`), for showing before a run starts.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.engine.prepare import Preparation
from core.engine.results import TrainingEvent, TrainingResult
from core.engine.settings import TrainingSettings
from core.errors import TrainingError
from core.types import DocumentRecord, Split, TaskKind


@dataclass(frozen=True)
class TaskSnapshot:
    """A task's label set and labelled documents at one moment (test split excluded)."""

    task: TaskKind
    labels: tuple[str, ...]
    multi_label: bool
    train: tuple[DocumentRecord, ...]  # every labelled document not marked dev
    dev: tuple[DocumentRecord, ...]  # labelled documents marked dev


@dataclass(frozen=True)
class ProjectTrainingOutcome:
    result: TrainingResult
    run_id: int | None  # None in a worker rank of a distributed run (rank 0 records it)
    model_version_id: int | None
    version: int | None


def distributed_rank() -> int:
    """This process's rank under torchrun (0 when not distributed)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0
    return int(os.environ.get("RANK", "0"))


def snapshot_task(project: Any, task: TaskKind | str) -> TaskSnapshot:
    """Labelled documents of ``task`` as plain records (one read session)."""
    from core.store import repo
    from core.tasks import kind_of, labelled_records

    kind = TaskKind(task)
    with project.read() as session:
        t = repo.require_task(session, kind)
        labels = kind_of(kind).task_labels(session) or tuple(
            label.name for label in sorted(t.labels, key=lambda x: x.position))
        multi_label = bool(t.multi_label)
        records = labelled_records(session, kind)
    train = tuple(r for r in records if r.split is not Split.DEV)
    dev = tuple(r for r in records if r.split is Split.DEV)
    return TaskSnapshot(kind, labels, multi_label, train, dev)


def job_inputs(snap: TaskSnapshot) -> dict[str, Any]:
    """What a run of the project's task is given (the same for :func:`prepare_project`)."""
    return {"task": snap.task, "labels": snap.labels, "train": snap.train,
            "dev": snap.dev or None, "multi_label": snap.multi_label}


def prepare_project(project: Any, task: TaskKind | str,
                    settings: TrainingSettings) -> Preparation:
    """What training ``task`` with ``settings`` would do now: the preparation the run makes
    (training and dev documents, warnings, the plan of steps, and the problem when the run
    could not train). Any thread (one short read session)."""
    from core.engine.prepare import prepare

    return prepare(**job_inputs(snapshot_task(project, task)), settings=settings)


def train_project(
    project: Any,
    task: TaskKind | str,
    settings: TrainingSettings,
    *,
    on_event: Callable[[TrainingEvent], None] | None = None,
    on_job: Callable[[Any], None] | None = None,
) -> ProjectTrainingOutcome:
    """Train ``task`` on the project's labelled documents and record the run.

    Called on the worker thread (or the caller's): opens its own sessions, touches no
    GUI; ``on_event`` receives the job's events on this thread; ``on_job`` gets the
    :class:`TrainingJob` before it runs (to keep a handle for ``cancel()``).
    """
    from core import models
    from core.engine.job import TrainingJob
    from core.engine.modelio import new_model_dir_name
    from core.store.models import TrainingRun

    kind = TaskKind(task)
    snap = snapshot_task(project, kind)
    if distributed_rank() > 0:
        # A worker process under torchrun: it trains its share of the batches, rank 0
        # evaluates, saves and records the run. Nothing of this process goes to the project.
        with tempfile.TemporaryDirectory(prefix="annotator-rank-") as tmp:
            job = TrainingJob(**job_inputs(snap), settings=settings, output_dir=Path(tmp) / "m")
            if on_job is not None:
                on_job(job)
            return ProjectTrainingOutcome(job.run(), None, None, None)
    with project.write() as session:
        from core.store import repo

        t = repo.require_task(session, kind)
        pid, host = repo.this_process()
        run = TrainingRun(
            task_id=t.id, settings=settings.to_dict(), status="running", pid=pid, host=host
        )
        session.add(run)
        session.flush()
        run_id = run.id
    out_dir = Path(project.models_dir) / new_model_dir_name(kind)
    job = TrainingJob(**job_inputs(snap), settings=settings, output_dir=out_dir,
                      on_event=on_event)
    if on_job is not None:
        on_job(job)
    result = job.run()
    version_id = version = None
    with project.write() as session:
        run = session.get(TrainingRun, run_id)
        if result.status == "completed" and result.model_path:
            info = models.register(
                session, kind, path=result.model_path,
                base_model=settings.base_model or "default", metrics=result.dev_metrics,
                labels=snap.labels,
            )
            version_id, version = info.id, info.version
        if run is not None:
            run.status = result.status
            run.epochs = [row.flat() for row in result.epochs]
            run.warnings = list(result.warnings)
            run.log = "\n".join(result.log)
            run.error = result.reason or None
            run.finished_at = _dt.datetime.now(_dt.timezone.utc)
            run.model_version_id = version_id
    return ProjectTrainingOutcome(result, run_id, version_id, version)


def require_labels_known(snap: TaskSnapshot) -> None:
    if not snap.labels:
        raise TrainingError(f"the {snap.task.value} task has no labels: add some first")
