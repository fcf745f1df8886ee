"""The demo project: synthetic clinical-style notes, created once under the user data dir.

Its tasks: entities (with two attributes of a Disease: negation and temporality, and one
relation type, a Dosage ``dosage_of`` the Medication it follows), a class
per note, a class per sentence (notes 001-012 have every sentence classed) and questions.
The notes are written for the demo (resources/demo/demo_notes.json, "about"), never copied
from a record. Its team (``demo_team``): ana and ben, three notes labelled by both."""

from __future__ import annotations

import json
import logging
from itertools import pairwise
from pathlib import Path
from typing import Any

import platformdirs

from annotator.app.demo_team import add_demo_team
from core.errors import AnnotatorError
from core.project import Project
from core.project.edits import AddAttribute
from core.types import (
    Answer,
    AttributeSpec,
    DocumentRecord,
    EntitySpan,
    Question,
    Relation,
    RelationSpec,
    SentenceLabel,
    TaskKind,
)

DEMO_DATA = Path(__file__).resolve().parents[2] / "resources" / "demo" / "demo_notes.json"
APP_NAME = "text-annotator"
log = logging.getLogger(__name__)
# The demo's relation types; every Dosage right after a Medication ("furosemide 40 mg") is
# given as its dosage_of, so the demo notes come with relations to look at and train on.
DEMO_RELATIONS = (RelationSpec.parse("dosage_of=Dosage>Medication"),)


def demo_relations(spans: tuple[EntitySpan, ...], text: str) -> tuple[Relation, ...]:
    """dosage_of from each Dosage to the Medication just before it (only white space
    between them)."""
    out = []
    order = sorted(range(len(spans)), key=lambda i: spans[i].start)
    for a, b in pairwise(order):
        med, dose = spans[a], spans[b]
        if (med.label, dose.label) == ("Medication", "Dosage") and not text[
                med.end:dose.start].strip():
            out.append(Relation(b, a, "dosage_of"))
    return tuple(out)


def demo_records(data: dict[str, Any]) -> list[DocumentRecord]:
    """The shipped JSON as records (entities, a class, sentence classes and questions where
    labelled). A note's ``sentences`` are all of its sentences, ``[start, end, class]``."""
    out = []
    for d in data["documents"]:
        text = d["text"]
        questions = []
        for q in d.get("questions", []):
            ans = q.get("answer")
            if ans is None:
                questions.append(Question(q["question"], is_impossible=True))
            elif ans == "open":
                questions.append(Question(q["question"]))
            else:
                questions.append(Question(q["question"], (Answer(ans[0], ans[1], text[ans[0]:ans[1]]),)))
        spans = tuple(EntitySpan(s["start"], s["end"], s["label"], s.get("attributes", {}))
                      for s in d.get("spans", []))
        out.append(DocumentRecord(
            text=text,
            external_id=d["external_id"],
            spans=spans,
            relations=demo_relations(spans, text),
            classes=tuple(d.get("classes", [])),
            questions=tuple(questions),
            sentences=tuple(SentenceLabel(s, e, (label,) if label else ())
                            for s, e, label in d.get("sentences", [])),
            meta={"note_type": d.get("note_type")},
            source="demo",
        ))
    return out


def demo_attributes(data: dict[str, Any]) -> list[AttributeSpec]:
    """The attributes the demo's entities task declares ("name=values@labels" each)."""
    return [AttributeSpec.parse(text) for text in data.get("attributes", [])]


def _declare_attributes(project: Project, data: dict[str, Any]) -> list[str]:
    """Declare the demo's attributes the project does not have yet; their names."""
    ner = project.documents.tasks().get(TaskKind.NER)
    have = {spec.name for spec in ner.attributes} if ner is not None else set()
    added = []
    for spec in demo_attributes(data):
        if spec.name not in have:
            project.apply(AddAttribute(spec))
            added.append(spec.name)
    return added


def _declare_relations(project: Project) -> list[str]:
    """Declare the demo's relation types the project does not have yet; their names."""
    ner = project.documents.tasks().get(TaskKind.NER)
    if ner is None:
        return []
    have = {spec.name for spec in ner.relations}
    added = []
    for spec in DEMO_RELATIONS:
        if spec.name not in have:
            project.annotations.add_relation_type(spec)
            added.append(spec.name)
    return added


def build_demo_project(path: Path) -> Path:
    """Create the demo project at ``path`` (which must not exist)."""
    data = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    tasks = {TaskKind(k): v for k, v in data["tasks"].items()}
    project = Project.create(path, tasks=tasks, name="Demo: clinical notes")
    try:
        _declare_attributes(project, data)  # before the notes, whose entities carry values
        _declare_relations(project)  # and relations
        project.documents.add(demo_records(data), annotator="demo")
        add_demo_team(project)
    finally:
        project.close()
    return path


def upgrade_demo_project(path: Path) -> list[TaskKind]:
    """Give a demo project made by an earlier version the tasks the shipped demo has gained
    since (the sentence task, with the demo's sentence classes) and its attributes (with the
    notes written for them; the older notes keep their entities as they are); what was
    labelled in it stays as it is; and its team, when it has none and the team's notes are
    untouched. The tasks added."""
    data = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    project = Project.open(path)
    try:
        have = project.documents.tasks()
        added = [TaskKind(k) for k in data["tasks"] if TaskKind(k) not in have]
        for kind in added:
            project.annotations.add_task(kind, data["tasks"][kind.value])
        if TaskKind.SENTENCE in added:
            # The same notes again with only their sentences: the import finds each note
            # (by its text) and gives its sentences their classes, nothing else.
            project.documents.add([
                DocumentRecord(text=r.text, external_id=r.external_id, sentences=r.sentences,
                               source="demo")
                for r in demo_records(data) if r.sentences
            ], annotator="demo")
        if TaskKind.NER in have:  # the notes added below may carry relations
            _declare_relations(project)
        if TaskKind.NER in have and _declare_attributes(project, data):
            known = {r.external_id for r in project.documents.records()}
            new = [r for r in demo_records(data) if r.external_id not in known]
            if new:
                project.documents.add(new, annotator="demo")
        add_demo_team(project)
    finally:
        project.close()
    return added


def ensure_demo_project() -> Path:
    """The demo project's path, created on first use (and again if it was deleted); one
    made by an earlier version gets the demo's new tasks."""
    folder = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    if not path.exists():
        build_demo_project(path)
    else:
        try:
            upgrade_demo_project(path)
        except AnnotatorError as exc:  # opened as it is; opening it says what is wrong
            log.warning("the demo project %s was not upgraded: %s", path, exc)
    return path
