"""The demo's team: two annotators, ana and ben, and three notes both labelled on their own
layers: one both finished that they disagree on (ready to adjudicate), one adjudicated
already, and one whose second layer is still open. Written through the facade, as each of
them would label in the app (``project.annotator``), so the demo shows Team › Agreement and
Team › Adjudicate with something in them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.project import Project, TaskInfo
from core.types import TaskKind

log = logging.getLogger(__name__)

ANNOTATORS = ("ana", "ben")
DOUBLE_SHARE = 0.2
ADJUDICATOR = "demo"  # who wrote the gold of the note adjudicated already


@dataclass(frozen=True)
class Layer:
    """One annotator's labels of a note, named by phrases of its text."""

    entities: tuple[tuple[str, str, dict[str, str]], ...] = ()  # phrase, label, attributes
    classes: tuple[str, ...] = ()
    sentences: tuple[tuple[str, str], ...] = ()  # a phrase of the sentence, its class
    answer: str | None = None  # a phrase answering the note's question
    done: bool = True


@dataclass(frozen=True)
class TeamNote:
    external_id: str
    layers: dict[str, Layer]
    adjudicate: dict[str, str] | None = None  # disputed stretch (a phrase) -> whose version


NOTES = (
    # Both done, disagreeing on a dosage's extent, an entity's temporality, the class, a
    # sentence's class and the answer: ready to adjudicate.
    TeamNote("note-017", {
        "ana": Layer(
            entities=(("iron-deficiency anaemia", "Disease", {}),
                      ("ferrous sulfate", "Medication", {}),
                      ("200 mg twice daily", "Dosage", {}),
                      ("renal ultrasound", "Procedure", {}),
                      ("cellulitis", "Disease", {"temporality": "Historical"})),
            classes=("referral",),
            sentences=(("Please consider", "Plan"), ("Also known", "History")),
            answer="200 mg twice daily"),
        "ben": Layer(
            entities=(("iron-deficiency anaemia", "Disease", {}),
                      ("ferrous sulfate", "Medication", {}),
                      ("200 mg", "Dosage", {}),
                      ("renal ultrasound", "Procedure", {}),
                      ("cellulitis", "Disease", {})),
            classes=("progress",),
            sentences=(("Please consider", "Referral reason"), ("Also known", "History")),
            answer="200 mg"),
    }),
    # Both done, one disputed entity; adjudicated already (ana's ECG taken).
    TeamNote("note-018", {
        "ana": Layer(
            entities=(("heart failure", "Disease", {}), ("bisoprolol", "Medication", {}),
                      ("2.5 mg once daily", "Dosage", {}), ("ECG", "Procedure", {})),
            classes=("progress",), answer="2.5 mg once daily"),
        "ben": Layer(
            entities=(("heart failure", "Disease", {}), ("bisoprolol", "Medication", {}),
                      ("2.5 mg once daily", "Dosage", {})),
            classes=("progress",), answer="2.5 mg once daily"),
    }, adjudicate={"ECG": "ana"}),
    # ana is done; ben's layer is still open.
    TeamNote("note-019", {
        "ana": Layer(
            entities=(("cellulitis", "Disease", {}),
                      ("migraine", "Disease", {"temporality": "Historical"}),
                      ("chest X-ray", "Procedure", {}), ("flucloxacillin", "Medication", {}),
                      ("1 g four times daily", "Dosage", {})),
            classes=("discharge",)),
        "ben": Layer(
            entities=(("cellulitis", "Disease", {}), ("flucloxacillin", "Medication", {})),
            done=False),
    }),
)


def add_demo_team(project: Project) -> bool:
    """Give the demo project its team (once): ana and ben, the three notes of
    :data:`NOTES` assigned to both and labelled on their layers. Skipped (False) when the
    project has a team already, or when one of those notes was labelled or reviewed in it
    (an older demo the user worked in: their labels are not made into a layer)."""
    if project.team.settings().annotators or project.team.documents():
        return False
    wanted = {n.external_id for n in NOTES}
    heads = project.documents.heads(project.documents.filter(), chars=0)
    by_external = {ext: doc for doc_id, (ext, _) in heads.items()
                   if ext in wanted and (doc := project.documents.get(doc_id)) is not None}
    for note in NOTES:
        doc = by_external.get(note.external_id)
        if doc is None or doc.review_status != "unreviewed" or doc.entities or doc.classes:
            log.info("demo team not added: %s is missing or was worked on", note.external_id)
            return False
    tasks = project.documents.tasks()
    before = project.annotator
    try:
        # Every one of these notes to both; then the share the team keeps for later ones.
        project.team.assign(annotators=ANNOTATORS, double_share=1.0,
                            doc_ids=[by_external[n.external_id].id for n in NOTES])
        project.team.configure(double_share=DOUBLE_SHARE)
        for note in NOTES:
            original = by_external[note.external_id].id
            for name, layer in note.layers.items():
                layer_id = project.team.layer_for(original, name)
                assert layer_id is not None
                project.annotator = name
                _label(project, layer_id, layer, tasks)
            if note.adjudicate is not None:
                project.annotator = ADJUDICATOR
                adj = project.team.adjudication(original)
                text = adj.text
                choices: dict[str, str | None] = {}
                for phrase, who in note.adjudicate.items():
                    at = text.index(phrase)
                    choices.update({i.key: who for i in adj.disputed
                                    if i.start is not None and i.end is not None
                                    and i.start <= at < i.end})
                project.team.adjudicate(original, choices)
    finally:
        project.annotator = before
    return True


def _label(project: Project, doc_id: int, layer: Layer, tasks: dict[TaskKind, TaskInfo]) -> None:
    doc = project.documents.get(doc_id)
    assert doc is not None
    text = doc.text
    annotations = project.annotations
    ner = tasks.get(TaskKind.NER)
    if ner is not None:
        declared = {spec.name for spec in ner.attributes}  # an older demo may have none
        for phrase, label, values in layer.entities:
            start = text.index(phrase)
            annotations.add_entity(doc_id, start, start + len(phrase), label)
            given = {k: v for k, v in values.items() if k in declared}
            if given:
                annotations.set_span_attributes(doc_id, start, start + len(phrase), given)
    if TaskKind.CLASSIFY in tasks and layer.classes:
        annotations.set_classes(doc_id, layer.classes)
    if TaskKind.SENTENCE in tasks:
        for phrase, label in layer.sentences:
            at = text.index(phrase)
            sentence = next(s for s in doc.sentences if s.start <= at < s.end)
            annotations.set_sentence_classes(doc_id, sentence.start, sentence.end, (label,))
    if TaskKind.QA in tasks and layer.answer is not None and doc.questions:
        start = text.index(layer.answer)
        annotations.set_answer(doc.questions[0].id, start, start + len(layer.answer))
    if layer.done:
        annotations.set_review_status(doc_id, "reviewed")
