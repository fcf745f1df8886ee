"""Per-task glue, now in the kinds (:mod:`core.tasks`): this module keeps the old names.

The feature and decoding functions of each kind live in its module (``core/tasks/ner.py``,
``classify.py``, ``qa.py``); the functions here look the kind up in the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.engine.decoding import group_by_example
from core.engine.settings import TaskSpec
from core.tasks import kind_of
from core.tasks.classify import class_features, class_targets, decode_classes
from core.tasks.ner import decode_entities, ner_examples, ner_features
from core.tasks.qa import QaBatch, assemble_questions, decode_answer, qa_examples, qa_features
from core.types import DocumentRecord, TaskKind

__all__ = [
    "QaBatch",
    "assemble_questions",
    "class_features",
    "class_targets",
    "decode_answer",
    "decode_classes",
    "decode_entities",
    "group_by_example",
    "is_labelled",
    "model_label_names",
    "ner_examples",
    "ner_features",
    "qa_examples",
    "qa_features",
    "training_features",
    "unknown_labels",
]


def model_label_names(spec: TaskSpec) -> tuple[str, ...]:
    """The names of the model's output classes (``id2label``): BIO tags for entities
    (:meth:`core.tasks.base.AnnotationKind.model_label_names`)."""
    return kind_of(spec.task).model_label_names(spec)


def is_labelled(task: TaskKind, doc: DocumentRecord) -> bool:
    """Whether a document handed to the trainer is a training example of ``task``
    (:meth:`core.tasks.base.AnnotationKind.is_example`)."""
    return kind_of(task).is_example(doc)


def unknown_labels(spec: TaskSpec, docs: Sequence[DocumentRecord]) -> list[str]:
    """Problems with the labels of ``docs`` (labels outside the label set), for messages
    (:meth:`core.tasks.base.AnnotationKind.label_problems`)."""
    kind = kind_of(spec.task)
    problems: list[str] = []
    for doc in docs:
        where = doc.external_id or (f"document {doc.doc_id}" if doc.doc_id else "a document")
        problems += kind.label_problems(spec, doc, where)
    return problems


def training_features(
    tokenizer: Any, spec: TaskSpec, docs: Sequence[DocumentRecord], *, max_length: int,
    stride: int, warn: Callable[[str], None],
) -> list[Any]:
    """The model inputs with targets for training ``spec`` on ``docs``
    (:meth:`core.tasks.base.AnnotationKind.training_features`)."""
    return kind_of(spec.task).training_features(
        tokenizer, spec, docs, max_length=max_length, stride=stride, warn=warn
    )
