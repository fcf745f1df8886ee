"""Preparing a training run: which documents train and which are dev, what to warn about,
and how many steps and epochs the run plans.

    prep = prepare(task="ner", labels=["Disease"], train=docs, settings=settings)
    prep.train, prep.dev, prep.warnings, prep.plan

One function, :func:`prepare`, serves the settings dialog (before a run starts) and the
run itself (:class:`core.engine.job.TrainingJob`), so what the dialog warns about is what the
run does. Plain Python (no torch): cheap enough for the GUI thread. Bad input does not
raise here: it is the preparation's ``problem``, which the run turns into a failure of kind
``FailureKind.BAD_INPUT`` and the dialog shows.

The plan here counts one model input per document; the run counts the real windows (a
long document makes several) and plans again with the same :func:`plan_steps`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from core.engine.results import FailureKind, TrainingFailure
from core.engine.settings import TaskSpec, TrainingSettings
from core.types import DocumentRecord, Split, TaskKind

MIN_DOCUMENTS = 20
MIN_MENTIONS = 10
MIN_PER_LABEL = 10
MIN_DEV_SPLIT = 5  # fewer labelled documents than this: no dev split is made


@dataclass(frozen=True)
class StepPlan:
    """How long a run trains: ``epochs`` passes of ``batches_per_epoch`` optimiser steps
    (early stopping on dev may end it sooner). ``note`` says why ``epochs`` exceeds the
    epochs asked for (the small-data floor), else it is empty."""

    batches_per_epoch: int
    epochs: int
    total_steps: int
    note: str = ""


@dataclass(frozen=True)
class Preparation:
    """What a run trains on: the task spec, the training and dev documents, the warnings
    about them and the plan of steps (estimated, see the module docstring). ``problem``:
    why the run cannot train (no labels, unknown labels, no labelled documents), else
    None; the warnings are worked out either way, for the settings dialog."""

    spec: TaskSpec
    train: tuple[DocumentRecord, ...]
    dev: tuple[DocumentRecord, ...]
    warnings: tuple[str, ...]
    plan: StepPlan
    problem: str | None = None

    def require(self) -> Preparation:
        """Itself; raises :class:`TrainingFailure` (``BAD_INPUT``) when it has a problem."""
        if self.problem is not None:
            raise TrainingFailure(FailureKind.BAD_INPUT, self.problem)
        return self


def split_dev(
    docs: Sequence[DocumentRecord], fraction: float, seed: int
) -> tuple[list[DocumentRecord], list[DocumentRecord]]:
    """A stable, seeded (train, dev) split: a document's side depends only on its identity
    (store id, external id or text) and the seed, so adding documents moves no other."""
    if fraction <= 0 or len(docs) < MIN_DEV_SPLIT:
        return list(docs), []

    def key(doc: DocumentRecord) -> float:
        ident = f"{seed}:{doc.doc_id}:{doc.external_id}:{doc.text}"
        return int(hashlib.sha1(ident.encode("utf-8")).hexdigest()[:12], 16) / 16**12

    keys = [key(d) for d in docs]
    dev = [d for d, k in zip(docs, keys) if k < fraction]
    if not dev:  # small sets: still hold out the one with the smallest key
        smallest = min(range(len(docs)), key=keys.__getitem__)
        dev = [docs[smallest]]
        return [d for i, d in enumerate(docs) if i != smallest], dev
    train = [d for d, k in zip(docs, keys) if k >= fraction]
    return train, dev


def plan_steps(batches_per_epoch: int, settings: TrainingSettings) -> StepPlan:
    """The epochs and steps of a run with ``batches_per_epoch`` batches per pass.

    The small-data floor: when ``settings.epochs`` passes make fewer than
    ``settings.min_steps`` steps (a few dozen examples are a handful of batches), the run
    makes more passes, up to ``settings.max_epochs``; early stopping on dev still ends it
    when it stops helping, but never before the floor.
    """
    s = settings
    epochs = s.epochs
    note = ""
    if s.min_steps and batches_per_epoch * epochs < s.min_steps:
        epochs = min(max(s.max_epochs, s.epochs), -(-s.min_steps // max(batches_per_epoch, 1)))
        if epochs > s.epochs:
            note = (f"small training set ({batches_per_epoch} batch(es) per epoch): up to "
                    f"{epochs} epochs instead of {s.epochs}")
    return StepPlan(batches_per_epoch, epochs, batches_per_epoch * epochs, note)


def prepare(
    *,
    task: TaskKind | str,
    labels: Sequence[str],
    train: Sequence[DocumentRecord],
    dev: Sequence[DocumentRecord] | None = None,
    multi_label: bool = False,
    overlapping: bool = False,
    settings: TrainingSettings,
) -> Preparation:
    """The documents, warnings and plan of a run (see :class:`core.engine.job.TrainingJob`
    for ``train``, ``dev`` and ``multi_label``). Never raises for bad input: see
    :attr:`Preparation.problem` and :meth:`Preparation.require`.

    Documents without labels for the task are left out; documents marked ``Split.DEV``
    and ``dev`` are the dev set; with ``dev`` None and none marked, a stable
    ``settings.dev_fraction`` is held out (:func:`split_dev`); ``settings.max_train``
    samples the training documents. ``overlapping`` (NER only: the project lets entities
    overlap, ``core.store.repo.overlapping_allowed``) trains the per-label tagger.
    """
    from core.engine import tasks
    from core.tasks import kind_of

    kind = TaskKind(task)
    s = settings
    rules = kind_of(kind)
    label_set = rules.training_labels(labels)
    multi = bool(multi_label and rules.multi_label_capable)
    spec = TaskSpec(kind, label_set, multi, rules.allows_no_answer(train),
                    sentence_context=s.sentence_context if kind is TaskKind.SENTENCE else None,
                    overlapping=bool(overlapping and kind is TaskKind.NER))
    if not label_set or len(set(label_set)) != len(label_set):
        problem = ("no labels given: define at least one label for the task" if not label_set
                   else f"duplicate labels in {list(label_set)}")
        return Preparation(spec, (), (), (), plan_steps(0, s), problem)
    warnings: list[str] = []
    given = [d for d in train if tasks.is_labelled(kind, d)]
    if len(given) < len(train):
        warnings.append(f"{len(train) - len(given)} document(s) without labels for this "
                        "task are left out")
    dev_docs = [d for d in (dev or []) if tasks.is_labelled(kind, d)]
    dev_docs += [d for d in given if d.split is Split.DEV]
    train_docs = [d for d in given if d.split is not Split.DEV]
    if dev is None and not dev_docs:
        train_docs, dev_docs = split_dev(train_docs, s.dev_fraction, s.seed)
    problem = None
    bad = tasks.unknown_labels(spec, train_docs + dev_docs)
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        problem = "bad labels: " + "; ".join(bad[:3]) + more
    elif not train_docs:
        problem = "no labelled training documents for this task: label some first"
    else:
        problem = rules.examples_problem(train_docs)
    if s.max_train is not None and len(train_docs) > s.max_train:
        train_docs = random.Random(s.seed).sample(train_docs, s.max_train)
    warnings += data_warnings(kind, label_set, train_docs + dev_docs, has_dev=bool(dev_docs))
    plan = plan_steps(-(-len(train_docs) // s.batch_size), s)
    return Preparation(spec, tuple(train_docs), tuple(dev_docs), tuple(warnings), plan, problem)


def data_warnings(task: TaskKind | str, labels: Sequence[str],
                  records: Sequence[DocumentRecord], *, has_dev: bool) -> list[str]:
    """The small-data guards: what a run warns about before training on ``records`` (its
    labelled training and dev documents)."""
    task = TaskKind(task)  # a plain "ner" from a combo box counted no example at all
    out: list[str] = []
    n = len(records)
    if n < MIN_DOCUMENTS:
        out.append(f"only {n} labelled document(s): expect a weak model; label at least "
                   f"{MIN_DOCUMENTS}")
    from core.tasks import kind_of

    kind = kind_of(task)
    counts: dict[str, int] = {label: 0 for label in kind.counted_labels(labels)}
    for d in records:
        for name in kind.labels_used(d):
            counts[name] = counts.get(name, 0) + 1
    out += kind.count_warnings(counts)
    if kind.per_label_metrics:
        rare = [f"{k!r} ({v})" for k, v in counts.items() if v < MIN_PER_LABEL]
        if rare:
            out.append(f"label(s) with fewer than {MIN_PER_LABEL} examples: "
                       f"{', '.join(rare)}; the model will hardly learn them")
    if not has_dev:
        out.append("no dev documents (too few labelled documents to hold some out): "
                   "the last epoch is kept and no quality can be measured")
    return out
