"""Counts over a project for ``annotator stats`` and the app's summary line: documents,
annotations, splits, labels, and the time between annotations.

Split from :mod:`core.store.repo`, which re-exports these names.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.store.models import (
    AnswerAnnotation,
    ClassAnnotation,
    Document,
    EntityAnnotation,
    Label,
    QuestionRow,
    Sentence,
    SentenceClass,
    Suggestion,
    Task,
    originals,
)
from core.store.repo import project_name
from core.types import Split, TaskKind


def _originals() -> object:
    """The ids of the documents themselves (annotators' layers left out: counted apart)."""
    return select(Document.id).where(originals()).scalar_subquery()


def stats(session: Session) -> dict[str, object]:
    """Counts for the status bar and ``annotator stats`` (of the documents themselves:
    the annotators' layers of double-annotated documents are counted under ``layers``)."""
    own = _originals()
    documents = session.scalar(select(func.count(Document.id)).where(originals())) or 0
    per_split = dict(
        session.execute(select(Document.split, func.count(Document.id)).where(originals())
                        .group_by(Document.split)).all()
    )
    per_status = dict(
        session.execute(
            select(Document.review_status, func.count(Document.id)).where(originals())
            .group_by(Document.review_status)
        ).all()
    )
    layers = dict(session.execute(
        select(Document.layer, func.count(Document.id)).where(Document.layer_of.is_not(None))
        .group_by(Document.layer)
    ).all())
    entity_labels = dict(
        session.execute(
            select(Label.name, func.count(EntityAnnotation.id))
            .join(EntityAnnotation, EntityAnnotation.label_id == Label.id)
            .where(EntityAnnotation.document_id.in_(own))
            .group_by(Label.name)
        ).all()
    )
    class_labels = dict(
        session.execute(
            select(Label.name, func.count(ClassAnnotation.id))
            .join(ClassAnnotation, ClassAnnotation.label_id == Label.id)
            .where(ClassAnnotation.document_id.in_(own))
            .group_by(Label.name)
        ).all()
    )
    # Sentence classes: per label, and the sentences holding at least one.
    sentence_labels = dict(
        session.execute(
            select(Label.name, func.count(SentenceClass.id))
            .join(SentenceClass, SentenceClass.label_id == Label.id)
            .join(Sentence, Sentence.id == SentenceClass.sentence_id)
            .where(Sentence.document_id.in_(own))
            .group_by(Label.name)
        ).all()
    )
    sentences = session.scalar(
        select(func.count(Sentence.id)).where(Sentence.document_id.in_(own))
    ) or 0
    sentences_classified = session.scalar(
        select(func.count(func.distinct(SentenceClass.sentence_id)))
        .join(Sentence, Sentence.id == SentenceClass.sentence_id)
        .where(Sentence.document_id.in_(own))
    ) or 0
    own_questions = QuestionRow.document_id.in_(own)
    questions = session.scalar(select(func.count(QuestionRow.id)).where(own_questions)) or 0
    answered = (
        session.scalar(
            select(func.count(QuestionRow.id)).where(
                own_questions,
                (QuestionRow.is_impossible.is_(True)) | QuestionRow.answers.any(),
            )
        )
        or 0
    )
    answers = session.scalar(
        select(func.count(AnswerAnnotation.id))
        .join(QuestionRow, QuestionRow.id == AnswerAnnotation.question_id).where(own_questions)
    ) or 0
    impossible = (
        session.scalar(select(func.count(QuestionRow.id))
                       .where(own_questions, QuestionRow.is_impossible.is_(True)))
        or 0
    )
    n_entities = sum(entity_labels.values())
    n_classes = sum(class_labels.values())
    n_sentence_classes = sum(sentence_labels.values())
    labelled_docs = {
        "ner": session.scalar(
            select(func.count(func.distinct(EntityAnnotation.document_id)))
            .where(EntityAnnotation.document_id.in_(own))
        ) or 0,
        "classify": session.scalar(
            select(func.count(func.distinct(ClassAnnotation.document_id)))
            .where(ClassAnnotation.document_id.in_(own))
        ) or 0,
        "qa": session.scalar(
            select(func.count(func.distinct(QuestionRow.document_id))).where(own_questions)
        ) or 0,
        "sentence": session.scalar(
            select(func.count(func.distinct(Sentence.document_id)))
            .join(SentenceClass, SentenceClass.sentence_id == Sentence.id)
            .where(Sentence.document_id.in_(own))
        ) or 0,
    }
    pending = session.scalar(
        select(func.count(Suggestion.id)).where(Suggestion.state == "pending")
    ) or 0
    tasks = {
        t.kind: {
            "multi_label": t.multi_label,
            "labels": [label.name for label in t.labels],
        }
        for t in session.scalars(select(Task).options(selectinload(Task.labels)))
    }
    return {
        "project": project_name(session),
        "tasks": tasks,
        "documents": documents,
        "annotations": n_entities + n_classes + n_sentence_classes + answers + impossible,
        "splits": {s.value: per_split.get(s.value, 0) for s in Split},
        "review_status": {
            s: per_status.get(s, 0) for s in ("unreviewed", "reviewed", "skipped")
        },
        "labelled_documents": labelled_docs,
        "entities": n_entities,
        "entity_labels": entity_labels,
        "classes": n_classes,
        "class_labels": class_labels,
        "sentences": sentences,
        "sentences_classified": sentences_classified,
        "sentence_classes": n_sentence_classes,
        "sentence_labels": sentence_labels,
        "questions": questions,
        "questions_answered": answered,
        "answers": answers,
        "unanswerable": impossible,
        "pending_suggestions": pending,
        "seconds_per_annotation": seconds_per_annotation(session),
        "layers": {str(k): int(v) for k, v in sorted(layers.items())},
        "attribute_values": attribute_counts(session),
    }


def attribute_counts(session: Session) -> dict[str, dict[str, int]]:
    """``{attribute: {value: entities}}`` over the entities of the documents themselves, the
    default counted where an entity has no value stored (what training reads)."""
    from core.store.attributes import attribute_specs
    from core.store.models import EntityAttribute

    specs = attribute_specs(session)
    if not specs:
        return {}
    stored = {(e, n): v for e, n, v in session.execute(
        select(EntityAttribute.entity_id, EntityAttribute.name, EntityAttribute.value))}
    out: dict[str, dict[str, int]] = {s.name: dict.fromkeys(s.values, 0) for s in specs}
    for entity_id, label in session.execute(
        select(EntityAnnotation.id, Label.name).join(Label, Label.id == EntityAnnotation.label_id)
        .where(EntityAnnotation.document_id.in_(_originals()))
    ):
        for spec in specs:
            if spec.applies_to(label):
                value = stored.get((entity_id, spec.name), spec.values[0])
                if value in out[spec.name]:
                    out[spec.name][value] += 1
    return out


def seconds_per_annotation(session: Session) -> float | None:
    """Median time between a person's consecutive human annotations, gaps over 10 minutes
    (breaks) left out: how long one label takes."""
    stamps: dict[str, list[datetime]] = {}
    for model in (EntityAnnotation, ClassAnnotation, SentenceClass, AnswerAnnotation):
        rows = session.execute(
            select(model.annotator, model.created_at).where(model.origin != "imported")
        ).all()
        for who, when in rows:
            stamps.setdefault(who, []).append(when)
    gaps: list[float] = []
    for times in stamps.values():
        times.sort()
        for a, b in zip(times, times[1:]):
            gap = (b - a).total_seconds()
            if 0 < gap <= 600:
                gaps.append(gap)
    if not gaps:
        return None
    gaps.sort()
    return round(gaps[len(gaps) // 2], 2)


def label_counts(session: Session, kind: TaskKind | str) -> Counter[str]:
    kind = TaskKind(kind)
    model = {TaskKind.NER: EntityAnnotation, TaskKind.CLASSIFY: ClassAnnotation,
             TaskKind.SENTENCE: SentenceClass}.get(kind)
    if model is None:
        return Counter()
    rows = session.execute(
        select(Label.name, func.count(model.id)).join(model, model.label_id == Label.id).group_by(Label.name)
    ).all()
    return Counter(dict(rows))
