"""``--task`` and ``--unit``: which task of a project a command works on.

Users name the sentence task as classes at the sentence level (``--task classify --unit
sentence``); internally it is the kind ``sentence``, which ``--task sentence`` names too.
Where a project has only one of the two class tasks, ``--task classify`` means that one.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection

from annotator.cli.main import UsageError
from core.types import RelationSpec, TaskKind

TASK_NAMES = [k.value for k in TaskKind]
UNITS = ("document", "sentence")

TASK_HELP = (
    "ner, classify or qa; sentence = classify --unit sentence (classes of the sentences of "
    "a document). In a project with a sentence task and no document classify task, "
    "classify means the sentence task; with both, classify is the document one and "
    "--unit sentence (or --task sentence) picks the sentence one"
)
UNIT_HELP = "for --task classify: classes of whole documents or of their sentences"


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """``--task`` (required) and ``--unit`` on a command that works on one task."""
    parser.add_argument("--task", required=True, choices=TASK_NAMES, help=TASK_HELP)
    parser.add_argument("--unit", choices=UNITS, help=UNIT_HELP)


def resolve_task(name: str, unit: str | None, tasks: Collection[TaskKind] = ()) -> TaskKind:
    """The kind ``--task name --unit unit`` means in a project holding ``tasks``."""
    kind = TaskKind(name)
    if kind is TaskKind.SENTENCE:
        if unit == "document":
            raise UsageError("--task sentence is the sentence task: drop --unit document, or "
                             "use --task classify for classes of whole documents")
        return kind
    if kind is not TaskKind.CLASSIFY:
        if unit == "sentence":
            raise UsageError(f"--unit sentence applies to --task classify, not {name}")
        return kind
    if unit == "sentence":
        return TaskKind.SENTENCE
    if unit is None and TaskKind.SENTENCE in tasks and TaskKind.CLASSIFY not in tasks:
        return TaskKind.SENTENCE
    return TaskKind.CLASSIFY


def sentence_level(tasks: Collection[TaskKind]) -> bool:
    """A project whose classes are those of sentences (a sentence task, no classify task)."""
    return TaskKind.SENTENCE in tasks and TaskKind.CLASSIFY not in tasks


RELATION_HELP = (
    'for --task ner: a relation type between entities, the head\'s label(s) before ">", the '
    'tail\'s after: --relation "dosage_of=Dosage>Medication"; a side may be a comma list of '
    'labels or * for any label. Repeat the option for several. Names and labels cannot hold '
    "= , or >"
)


def relation_specs(texts: list[str], kind: TaskKind) -> list[RelationSpec]:
    """The ``--relation`` options as declarations; a bad one is a usage error saying how it
    should look."""
    if texts and kind is not TaskKind.NER:
        raise UsageError("--relation: relations are for --task ner (entities)")
    specs = []
    for text in texts:
        try:
            specs.append(RelationSpec.parse(text))
        except ValueError as exc:
            raise UsageError(f"--relation: {exc}") from None
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--relation: {', '.join(map(repr, twice))} given twice")
    return specs
