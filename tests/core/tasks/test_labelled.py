"""The labelled rule of each kind: Python and SQL agree, readers and the store keep it,
and the training snapshot follows it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.active.preannotate import documents_to_predict
from core.active.queue import queue_candidates
from core.formats import read_file
from core.project import Project
from core.store import db as dbmod
from core.store import repo
from core.store.models import Document, DocumentTask, ModelVersion, Suggestion
from core.tasks import any_labelled_sql, kind_of, labelled_records
from core.types import (
    Answer,
    DocumentRecord,
    EntitySpan,
    Question,
    Relation,
    SentenceLabel,
    Split,
    TaskKind,
)
from tests.schema_steps import undo_schema_8, undo_schema_9, undo_schema_10

NER, CLASSIFY, QA, SENTENCE = TaskKind.NER, TaskKind.CLASSIFY, TaskKind.QA, TaskKind.SENTENCE
ATTRIBUTE, RELATION = TaskKind.ATTRIBUTE, TaskKind.RELATION

CONLL = """\
Aspirin\tO
treats\tO
flu\tB-Disease

Nothing\tO
here\tO

Also\tO
nothing\tO
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(
        tmp_path / "p.db",
        tasks={"ner": ["Disease"], "classify": ["pos", "neg"], "qa": [], "sentence": ["plan"]},
    )
    p.annotations.add_attribute("negation=Affirmed,Negated")
    p.annotations.add_relation_type("with=Disease>Disease")
    yield p
    p.close()


def _mixed_records() -> list[DocumentRecord]:
    open_q = Question("Who?")
    return [
        DocumentRecord("with an entity", spans=(EntitySpan(0, 4, "Disease"),)),
        DocumentRecord("imported with no entity", labelled_for=frozenset({NER})),
        DocumentRecord("plain text, never labelled"),
        DocumentRecord("to be reviewed by the user"),
        DocumentRecord("classified", classes=("pos",), labelled_for=frozenset({CLASSIFY})),
        DocumentRecord("imported for classes without one", labelled_for=frozenset({CLASSIFY})),
        DocumentRecord("answered", questions=(Question("What?", (Answer(0, 8, "answered"),)),)),
        DocumentRecord("unanswerable", questions=(Question("Why?", is_impossible=True),)),
        DocumentRecord("only an open question", questions=(open_q,), labelled_for=frozenset({QA})),
        DocumentRecord("both", questions=(open_q, Question("How?", (Answer(0, 4, "both"),)))),
        DocumentRecord("a plan. and more", sentences=(SentenceLabel(0, 7, ("plan",)),
                                                      SentenceLabel(8, 16))),
        DocumentRecord("sentences, none classified", labelled_for=frozenset({SENTENCE})),
        DocumentRecord("sentences, none classified. not marked either"),
        DocumentRecord("no fever", spans=(EntitySpan(3, 8, "Disease", {"negation": "Negated"}),)),
        DocumentRecord("attributes checked, no entity", labelled_for=frozenset({ATTRIBUTE})),
        DocumentRecord("fever with cough", spans=(EntitySpan(0, 5, "Disease"),
                                                  EntitySpan(11, 16, "Disease")),
                       relations=(Relation(0, 1, "with"),)),
        DocumentRecord("rash, then itch: checked, no relation",
                       spans=(EntitySpan(0, 4, "Disease"), EntitySpan(11, 15, "Disease")),
                       labelled_for=frozenset({NER, RELATION})),
    ]


def _load(project: Project) -> dict[str, int]:
    with project.write() as s:
        repo.add_documents(s, _mixed_records())
        ids = {d.text: d.id for d in s.scalars(select(Document))}
        repo.set_review_status(s, ids["to be reviewed by the user"], "reviewed")
    return ids


@pytest.mark.parametrize("kind", list(TaskKind))
def test_python_and_sql_rules_agree_on_the_same_documents(project: Project, kind: TaskKind) -> None:
    _load(project)
    rule = kind_of(kind)
    with project.read() as s:
        records = list(repo.iter_records(s))
        by_python = {r.doc_id for r in records if rule.is_labelled(r)}
        by_sql = set(s.scalars(text(f"SELECT d.id FROM documents d WHERE {rule.labelled_sql('d')}")))
        by_clause = set(s.scalars(select(Document.id).where(rule.labelled_clause())))
    assert by_python == by_sql == by_clause
    assert 0 < len(by_python) < len(records)


def test_what_each_kind_counts_as_labelled(project: Project) -> None:
    ids = _load(project)
    with project.read() as s:
        records = {r.text: r for r in repo.iter_records(s)}
    labelled = {k: {t for t, r in records.items() if kind_of(k).is_labelled(r)} for k in TaskKind}
    # Entities: a span, an import that said so, or the user's "done".
    assert labelled[NER] == {
        "with an entity", "imported with no entity", "to be reviewed by the user", "no fever",
        "fever with cough", "rash, then itch: checked, no relation",
    }
    # Attributes: an entity (each has a value of every attribute, the default when none was
    # set), a mark; the examples are the entities.
    assert labelled[ATTRIBUTE] == {"with an entity", "no fever", "to be reviewed by the user",
                                   "attributes checked, no entity", "fever with cough",
                                   "rash, then itch: checked, no relation"}
    assert {t for t in labelled[ATTRIBUTE] if kind_of(ATTRIBUTE).is_example(records[t])} == {
        "with an entity", "no fever", "fever with cough", "rash, then itch: checked, no relation"}
    # Relations: a relation, or a mark (an import's "relations" list, even empty; "done");
    # the examples are the documents with a pair of entities, related or not.
    assert labelled[RELATION] == {"fever with cough", "rash, then itch: checked, no relation",
                                  "to be reviewed by the user"}
    assert {t for t in labelled[RELATION] if kind_of(RELATION).is_example(records[t])} == {
        "fever with cough", "rash, then itch: checked, no relation"}
    assert records["fever with cough"].relations == (Relation(0, 1, "with"),)
    assert records["with an entity"].spans[0].attributes == {"negation": "Affirmed"}
    # Classes need a class; answers an answered or unanswerable question.
    assert labelled[CLASSIFY] == {"classified"}
    assert labelled[QA] == {"answered", "unanswerable", "both"}
    # Sentences: a classified sentence, or a mark (the user's "done", an import's).
    assert labelled[SENTENCE] == {"a plan. and more", "sentences, none classified",
                                  "to be reviewed by the user"}
    assert records["to be reviewed by the user"].labelled_for == frozenset(
        {NER, CLASSIFY, QA, SENTENCE, ATTRIBUTE, RELATION})
    assert ids  # every text was stored


def test_any_labelled_sql_is_the_union_of_the_kinds(project: Project) -> None:
    _load(project)
    with project.read() as s:
        records = list(repo.iter_records(s))
        union = set(s.scalars(text(f"SELECT d.id FROM documents d WHERE {any_labelled_sql('d')}")))
        only_ner = set(s.scalars(text(
            f"SELECT d.id FROM documents d WHERE {any_labelled_sql('d', ['ner'])}"
        )))
    assert union == {r.doc_id for r in records if any(k.is_labelled(r) for k in map(kind_of, TaskKind))}
    assert only_ner == {r.doc_id for r in records if kind_of(NER).is_labelled(r)}


def test_unreviewing_takes_the_users_mark_away_but_keeps_the_imports(project: Project) -> None:
    ids = _load(project)
    with project.write() as s:
        repo.set_review_status(s, ids["imported with no entity"], "reviewed")
        repo.set_review_status(s, ids["imported with no entity"], "unreviewed")
        repo.set_review_status(s, ids["to be reviewed by the user"], "skipped")
    with project.read() as s:
        marks = {(m.document_id, m.kind, m.source) for m in s.scalars(select(DocumentTask))}
        (done,) = repo.iter_records(s, doc_ids=[ids["to be reviewed by the user"]])
    assert (ids["imported with no entity"], "ner", "import") in marks
    assert not any(d == ids["imported with no entity"] and src == "user" for d, _, src in marks)
    assert not kind_of(NER).is_labelled(done)


def test_queue_and_preannotation_leave_out_what_is_labelled(project: Project) -> None:
    ids = _load(project)
    with project.write() as s:
        task = repo.require_task(s, NER)
        s.add(ModelVersion(task_id=task.id, version=1, base_model="x", path="m"))
    with project.read() as s:
        ner_queue = set(queue_candidates(s, NER))
        classify_queue = set(queue_candidates(s, CLASSIFY))
        qa_queue = set(queue_candidates(s, QA))
        mv = s.scalars(select(ModelVersion.id)).one()
        ner_predict = set(documents_to_predict(s, NER, mv))
    assert ids["imported with no entity"] not in ner_queue
    assert ids["with an entity"] not in ner_queue
    assert ids["plain text, never labelled"] in ner_queue
    assert ids["to be reviewed by the user"] not in ner_queue  # reviewed
    # Entity suggestions still go to partly labelled, unreviewed documents.
    assert {ids["with an entity"], ids["imported with no entity"]} <= ner_predict
    assert ids["imported for classes without one"] in classify_queue
    assert ids["classified"] not in classify_queue
    # A document wants answers while a question is open.
    assert qa_queue == {ids["only an open question"], ids["both"]}
    # Attribute values are predicted for the entities of unreviewed documents, a person's
    # and the tagger's pending ones.
    with project.write() as s:
        task = repo.require_task(s, ATTRIBUTE)
        s.add(ModelVersion(task_id=task.id, version=1, base_model="x", path="a"))
        s.add(Suggestion(document_id=ids["plain text, never labelled"],
                         task_id=repo.require_task(s, NER).id, kind="entity",
                         payload={"start": 0, "end": 5, "label": "Disease"}, confidence=0.5))
    with project.read() as s:
        mv = s.scalars(select(ModelVersion.id).where(ModelVersion.path == "a")).one()
        attribute_predict = set(documents_to_predict(s, ATTRIBUTE, mv))
    assert attribute_predict == {ids["with an entity"], ids["no fever"],
                                 ids["plain text, never labelled"], ids["fever with cough"],
                                 ids["rash, then itch: checked, no relation"]}
    # Relations are predicted where two entities are, a person's or pending suggestions.
    with project.write() as s:
        task = repo.require_task(s, RELATION)
        s.add(ModelVersion(task_id=task.id, version=1, base_model="x", path="r"))
        s.add(Suggestion(document_id=ids["with an entity"],
                         task_id=repo.require_task(s, NER).id, kind="entity",
                         payload={"start": 8, "end": 14, "label": "Disease"}, confidence=0.5))
    with project.read() as s:
        mv = s.scalars(select(ModelVersion.id).where(ModelVersion.path == "r")).one()
        relation_predict = set(documents_to_predict(s, RELATION, mv))
    assert relation_predict == {ids["with an entity"], ids["fever with cough"],
                                ids["rash, then itch: checked, no relation"]}


def test_readers_say_what_a_file_labels(tmp_path: Path) -> None:
    def make_file(name: str, content: str) -> Path:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        return path

    conll = read_file(make_file("a.conll", CONLL), "conll")
    assert [r.labelled_for for r in conll] == [frozenset({NER})] * 3
    lines = [
        {"text": "no entity here", "spans": []},
        {"text": "doccano", "label": [[0, 7, "X"]]},
        {"text": "a class", "label": ["pos"]},
        {"text": "says nothing", "label": []},
        {"text": "no key at all"},
    ]
    jsonl = read_file(make_file("a.jsonl", "\n".join(map(json.dumps, lines))), "jsonl")
    assert [r.labelled_for for r in jsonl] == [
        frozenset({NER}), frozenset({NER}), frozenset({CLASSIFY}), frozenset(), frozenset(),
    ]
    (line,) = read_file(make_file("a.txt", "pos a fine film\n"), "lines")
    assert line.labelled_for == frozenset({CLASSIFY})
    csv = read_file(make_file("a.csv", "text,label\nfine,pos\nplain,\n"), "csv")
    assert [r.labelled_for for r in csv] == [frozenset({CLASSIFY}), frozenset()]
    squad = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": []}]}]}
    (para,) = read_file(make_file("s.json", json.dumps(squad)), "squad")
    assert para.labelled_for == frozenset({QA})
    (plain,) = read_file(make_file("p.txt", "just text"), "text")
    assert plain.labelled_for == frozenset()


def test_imported_conll_sentences_without_entities_are_in_the_training_snapshot(
    tmp_path: Path,
) -> None:
    """The NCBI case: a sentence of only ``O`` tags is a labelled true negative."""
    from core.engine.project_bridge import snapshot_task

    path = tmp_path / "train.conll"
    path.write_text(CONLL, encoding="utf-8")
    with Project.create(tmp_path / "c.db") as project:
        with project.write() as s:
            repo.add_documents(s, read_file(path, "conll"), split=Split.TRAIN)
        snap = snapshot_task(project, NER)
        with project.read() as s:
            queue = queue_candidates(s, NER)
    assert sorted(r.text for r in snap.train) == ["Also nothing", "Aspirin treats flu", "Nothing here"]
    assert queue == []


def test_test_documents_stay_out_of_the_snapshot(project: Project) -> None:
    with project.write() as s:
        repo.add_documents(
            s, [DocumentRecord("held out", labelled_for=frozenset({NER}), split=Split.TEST),
                DocumentRecord("kept", labelled_for=frozenset({NER}), split=Split.DEV)],
        )
    with project.read() as s:
        assert [r.text for r in labelled_records(s, NER)] == ["kept"]


def test_schema_2_file_upgrades_reviewed_documents_to_user_marks(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with Project.create(path, tasks={"ner": ["Disease"]}) as p:
        with p.write() as s:
            repo.add_documents(s, [DocumentRecord("reviewed, no entity"), DocumentRecord("open")])
            first = s.scalars(select(Document.id).order_by(Document.id)).first()
            repo.set_review_status(s, first, "reviewed")
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE document_tasks")
    raw.execute("DROP TABLE timings")  # schema 4
    raw.execute("DROP TABLE sentence_classes")  # schema 5
    raw.execute("DROP TABLE sentences")
    undo_schema_10(raw)
    raw.execute("ALTER TABLE suggestions DROP COLUMN source")  # schema 6
    undo_schema_9(raw)
    raw.execute("DROP TABLE entity_attributes")  # schema 7
    undo_schema_8(raw)
    raw.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    raw.commit()
    raw.close()
    with Project.open(path) as p:
        with p.read() as s:
            assert [r.text for r in labelled_records(s, NER)] == ["reviewed, no entity"]
            marks = [(m.kind, m.source) for m in s.scalars(select(DocumentTask))]
    assert marks == [("ner", "user")]
    assert (tmp_path / "v2.db.v2.bak").exists()
    assert dbmod.SCHEMA_VERSION >= 3
