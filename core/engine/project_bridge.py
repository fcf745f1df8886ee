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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.engine.prepare import Preparation
from core.engine.results import TrainingEvent, TrainingResult
from core.engine.settings import TrainingSettings
from core.errors import AnnotatorError, TrainingError
from core.types import DocumentRecord, Split, TaskKind


@dataclass(frozen=True)
class TaskSnapshot:
    """A task's label set and labelled documents at one moment (test split excluded)."""

    task: TaskKind
    labels: tuple[str, ...]
    multi_label: bool
    train: tuple[DocumentRecord, ...]  # every labelled document not marked dev
    dev: tuple[DocumentRecord, ...]  # labelled documents marked dev
    # Team work: where the documents' labels come from ({"single_annotator", "gold",
    # "awaiting_adjudication"} counts); None in a project without double annotation.
    sources: dict[str, int] | None = None
    # NER: the project lets entities overlap and nest (the per-label tagger is trained).
    overlapping: bool = False

    def sources_line(self) -> str | None:
        return sources_line(self.sources)


def sources_line(s: dict[str, int] | None) -> str | None:
    """The training log's line saying which documents came from where (None: no team)."""
    if s is None:
        return None
    line = (f"documents: {s['single_annotator']} labelled by one annotator, {s['gold']} "
            "gold (adjudicated from two annotators' layers)")
    if s["awaiting_adjudication"]:
        line += (f"; {s['awaiting_adjudication']} double-annotated awaiting adjudication, "
                 "left out")
    return line


@dataclass(frozen=True)
class ProjectTrainingOutcome:
    result: TrainingResult
    run_id: int | None  # None in a worker rank of a distributed run (rank 0 records it)
    model_version_id: int | None
    version: int | None
    # Training entities also trains the attribute head when the NER task declares
    # attributes (its own run and model version, task 'attribute'), and the relation head
    # when it declares relation types (task 'relation'): each run's outcome, or None when
    # there was none; ``*_skipped`` says why it was not trained.
    attributes: ProjectTrainingOutcome | None = None
    attributes_skipped: str | None = None
    relations: ProjectTrainingOutcome | None = None
    relations_skipped: str | None = None
    sources: dict[str, int] | None = None  # TaskSnapshot.sources


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
        sources = _sources(session, records)
        overlapping = kind is TaskKind.NER and repo.overlapping_allowed(session)
    train = tuple(r for r in records if r.split is not Split.DEV)
    dev = tuple(r for r in records if r.split is Split.DEV)
    return TaskSnapshot(kind, labels, multi_label, train, dev, sources, overlapping)


def _sources(session: Any, records: Sequence[DocumentRecord]) -> dict[str, int] | None:
    """Counts of the training documents by where their labels come from: the one annotator
    who labelled them, or the gold of a double-annotated document (adjudicated); and the
    double-annotated documents left out because nobody has adjudicated them yet."""
    from sqlalchemy import select

    from core.store.models import Document
    from core.store.team import layered_originals

    layered = layered_originals(session)
    if not layered:
        return None
    ids = {r.doc_id for r in records}
    gold = sum(1 for d in ids if d in layered)
    not_test = set(session.scalars(select(Document.id).where(
        Document.id.in_(list(layered)), Document.split != Split.TEST.value)))
    return {"single_annotator": len(ids) - gold, "gold": gold,
            "awaiting_adjudication": len(not_test - ids)}


def job_inputs(snap: TaskSnapshot) -> dict[str, Any]:
    """What a run of the project's task is given (the same for :func:`prepare_project`)."""
    return {"task": snap.task, "labels": snap.labels, "train": snap.train,
            "dev": snap.dev or None, "multi_label": snap.multi_label,
            "overlapping": snap.overlapping}


def prepare_project(project: Any, task: TaskKind | str,
                    settings: TrainingSettings) -> Preparation:
    """What training ``task`` with ``settings`` would do now: the preparation the run makes
    (training and dev documents, warnings, the plan of steps, and the problem when the run
    could not train). Any thread (one short read session)."""
    import dataclasses

    from core.engine.prepare import prepare
    from core.tasks import dependent_kinds

    snap = snapshot_task(project, task)
    prep = prepare(**job_inputs(snap), settings=settings)
    # Team work: double-annotated documents nobody adjudicated yet are not trained on.
    extra: list[str] = []
    if snap.sources and snap.sources["awaiting_adjudication"]:
        extra.append(snap.sources_line() or "")
    # Entities: what the attribute and relation heads trained along would warn about, too.
    for dep in dependent_kinds(task):
        with project.read() as session:
            declared = bool(dep.task_labels(session))
        if not declared:
            continue
        head = prepare(**job_inputs(snapshot_task(project, dep.kind)),
                       settings=dependent_settings(settings, dep.kind))
        name = dep.dependent_name
        extra += [f"{name}: {w}" for w in head.warnings if w not in prep.warnings]
        if head.problem is not None:
            extra.append(f"{name}: not trained: {head.problem}")
    return dataclasses.replace(prep, warnings=prep.warnings + tuple(extra)) if extra else prep


def train_project(
    project: Any,
    task: TaskKind | str,
    settings: TrainingSettings,
    *,
    on_event: Callable[[TrainingEvent], None] | None = None,
    on_job: Callable[[Any], None] | None = None,
) -> ProjectTrainingOutcome:
    """Train ``task`` on the project's labelled documents and record the run; for
    entities, then the attribute and relation heads too (:func:`train_with_dependents`).

    Called on the worker thread (or the caller's): opens its own sessions, touches no
    GUI; ``on_event`` receives the job's events on this thread; ``on_job`` gets the
    :class:`TrainingJob` before it runs (to keep a handle for ``cancel()``).
    """
    from core.tasks import dependent_kinds

    if dependent_kinds(task):  # entities: their attributes and relations hang on them
        return train_with_dependents(project, task, settings, on_event=on_event, on_job=on_job)
    return _train_one(project, task, settings, on_event=on_event, on_job=on_job)


# The attribute head reads a window around one entity: at most this many tokens.
ATTRIBUTE_MAX_LENGTH = 128


def dependent_settings(settings: TrainingSettings, kind: TaskKind | str) -> TrainingSettings:
    """The settings a head hanging on the entities trains with after the tagger (one
    click): the tagger's, except that where they still hold their preset's entity value
    (``settings.preset``) and the user did not set it (``settings.explicit``), a field
    takes the same preset's value for ``kind``, the recipe measured for that head (the
    attribute head's refit and 10 epochs, say); a field the user set carries over. The
    window is then cut to the kind's (``dependent_max_length``: 128 tokens for attributes
    and relations)."""
    import dataclasses

    from core.engine.settings import PRESETS, preset_value
    from core.tasks import kind_of

    kind = TaskKind(kind)
    if settings.preset in PRESETS:
        name = settings.preset
        fields = set(PRESETS[name][TaskKind.NER]) | set(PRESETS[name][kind])
        own = {f: preset_value(name, kind, f) for f in sorted(fields)
               if f not in ("max_length", "stride") and f not in settings.explicit
               and getattr(settings, f) == preset_value(name, TaskKind.NER, f)}
        settings = dataclasses.replace(settings, **own)
    length = min(settings.max_length, kind_of(kind).dependent_max_length)
    return dataclasses.replace(settings, max_length=length,
                               stride=min(settings.stride, length // 4))


def attribute_settings(settings: TrainingSettings) -> TrainingSettings:
    """The settings the attribute head trains with after the tagger."""
    return dependent_settings(settings, TaskKind.ATTRIBUTE)


def train_with_dependents(
    project: Any,
    task: TaskKind | str,
    settings: TrainingSettings,
    *,
    on_event: Callable[[TrainingEvent], None] | None = None,
    on_job: Callable[[Any], None] | None = None,
) -> ProjectTrainingOutcome:
    """Train the tagger, then, when the tagger's run completed, each head hanging on its
    entities whose labels are declared (attributes, then relations) on the same labelled
    documents (each its own run and model version). A head whose preparation has a
    problem (too few examples: no relation at all) is skipped, saying why. The heads'
    warnings and progress go to ``on_event`` too (warnings prefixed "attributes: " /
    "relations: ", steps and epochs with ``model`` set to that name); the tagger's
    :class:`FinishedEvent` is sent last, after all."""
    import dataclasses

    from core.engine.results import EpochEvent, FinishedEvent, ProgressEvent, WarningEvent
    from core.tasks import dependent_kinds

    held: list[TrainingEvent] = []

    def tagger_event(event: TrainingEvent) -> None:
        if isinstance(event, FinishedEvent):
            held.append(event)
        elif on_event is not None:
            on_event(event)

    def head_events(name: str) -> Callable[[TrainingEvent], None]:
        def head_event(event: TrainingEvent) -> None:
            if on_event is None or isinstance(event, FinishedEvent):
                return
            if isinstance(event, WarningEvent):
                event = WarningEvent(f"{name}: {event.message}")
            elif isinstance(event, (EpochEvent, ProgressEvent)):
                event = dataclasses.replace(event, model=name)
            on_event(event)
        return head_event

    outcome = _train_one(project, task, settings, on_event=tagger_event, on_job=on_job)
    heads: dict[str, Any] = {}
    for dep in dependent_kinds(task):
        name = dep.dependent_name
        with project.read() as session:
            declared = bool(dep.task_labels(session))
        if not declared:
            continue
        event = head_events(name)
        if outcome.result.status != "completed":
            heads[f"{name}_skipped"] = f"the entity model's run {outcome.result.status}"
            continue
        head_settings = dependent_settings(settings, dep.kind)
        prep = prepare_project(project, dep.kind, head_settings)
        if prep.problem is None:
            heads[name] = _train_one(project, dep.kind, head_settings, on_event=event,
                                     on_job=on_job)
        else:
            heads[f"{name}_skipped"] = prep.problem
            event(WarningEvent(
                f"the {name.removesuffix('s')} model was not trained: {prep.problem}"))
    if on_event is not None:
        for held_event in held:
            on_event(held_event)
    return dataclasses.replace(outcome, **heads)


def train_with_attributes(
    project: Any,
    settings: TrainingSettings,
    *,
    on_event: Callable[[TrainingEvent], None] | None = None,
    on_job: Callable[[Any], None] | None = None,
) -> ProjectTrainingOutcome:
    """The tagger and the heads hanging on it (:func:`train_with_dependents`)."""
    return train_with_dependents(project, TaskKind.NER, settings, on_event=on_event,
                                 on_job=on_job)


def _train_one(
    project: Any,
    task: TaskKind | str,
    settings: TrainingSettings,
    *,
    on_event: Callable[[TrainingEvent], None] | None = None,
    on_job: Callable[[Any], None] | None = None,
) -> ProjectTrainingOutcome:
    """Train ``task`` alone and record the run (see :func:`train_project`)."""
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
            line = snap.sources_line()
            run.log = "\n".join(([line] if line else []) + list(result.log))
            run.error = result.reason or None
            run.finished_at = _dt.datetime.now(_dt.timezone.utc)
            run.model_version_id = version_id
    return ProjectTrainingOutcome(result, run_id, version_id, version, sources=snap.sources)


def require_labels_known(snap: TaskSnapshot) -> None:
    if not snap.labels:
        raise TrainingError(f"the {snap.task.value} task has no labels: add some first")


def evaluate_attributes(
    project: Any, docs: Sequence[DocumentRecord], *, version: int | None = None,
    batch_size: int = 32,
) -> dict[str, Any] | None:
    """The attribute model's scores on the gold entities of ``docs`` (given the gold
    entities, so the tagger's mistakes do not count): per attribute ``accuracy``,
    ``macro_f1`` and ``per_value`` precision, recall, F1 and support (see
    :func:`core.tasks.attributes.attribute_metrics`). Each gold entity has every attribute
    that applies to its label, the default where the file gives none; an unknown attribute
    or value in the file raises :class:`InputError` naming file and line. ``None`` when the
    project declares no attributes or has no attribute model yet."""
    import dataclasses

    from core import models
    from core.engine.predict import Predictor
    from core.errors import InputError
    from core.store.attributes import attribute_specs, validation_problems
    from core.types import fill_attributes

    with project.read() as session:
        specs = attribute_specs(session)
        if not specs:
            return None
        try:
            mv = models.resolve(session, TaskKind.ATTRIBUTE, version)
        except (models.NoModelError, AnnotatorError):  # no model yet, or no such task
            return None
    gold = []
    for doc in docs:
        spans = []
        for span in doc.spans:
            problems = validation_problems(specs, span.label, span.attributes)
            if problems:
                raise InputError(doc.source, doc.line, f"entity [{span.start}, {span.end}) "
                                 f"{span.label}: " + "; ".join(problems))
            spans.append(dataclasses.replace(
                span, attributes=fill_attributes(specs, span.label, span.attributes)))
        gold.append(dataclasses.replace(doc, spans=tuple(spans)))
    predictor = Predictor(mv.path)
    metrics = predictor.evaluate(gold, batch_size=batch_size)
    return {"model_path": str(mv.path), "model_version": mv.version, **metrics}


def evaluate_relations(
    project: Any, docs: Sequence[DocumentRecord], *, version: int | None = None,
    batch_size: int = 32,
) -> dict[str, Any] | None:
    """The relation model's scores on the gold relations of ``docs``, given their gold
    entities (so the tagger's mistakes do not count): micro ``precision``, ``recall`` and
    ``f1``, and ``per_label`` by type (see :func:`core.tasks.relations.relation_metrics`).
    A relation of the file that the project's types do not allow raises
    :class:`InputError` naming file and line. ``None`` when the project declares no
    relation type or has no relation model yet."""
    from core import models
    from core.engine.predict import Predictor
    from core.errors import InputError
    from core.store.relations import relation_problem, relation_specs

    with project.read() as session:
        specs = relation_specs(session)
        if not specs:
            return None
        try:
            mv = models.resolve(session, TaskKind.RELATION, version)
        except (models.NoModelError, AnnotatorError):  # no model yet, or no such task
            return None
    for doc in docs:
        for r in doc.relations:
            head, tail = doc.spans[r.head], doc.spans[r.tail]
            problem = relation_problem(specs, r.label, head.label, tail.label)
            if problem is not None:
                raise InputError(doc.source, doc.line, f"relation {r.label} from [{head.start}, "
                                 f"{head.end}) to [{tail.start}, {tail.end}): {problem}")
    predictor = Predictor(mv.path)
    metrics = predictor.evaluate(docs, batch_size=batch_size)
    return {"model_path": str(mv.path), "model_version": mv.version, **metrics}
