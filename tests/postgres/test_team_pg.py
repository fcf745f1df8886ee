"""Team work on a PostgreSQL project: the schema-8 step runs on PostgreSQL (its first step
there), and assignment, the per-annotator list and queue, agreement and adjudication run on
the server as on a file."""

from __future__ import annotations

from core.project import DocFilter, Project
from core.store.db import SCHEMA_VERSION
from core.types import DocumentRecord
from tests.postgres.test_pg_store import _sql

TEXT = "Fever and cough; no rash. Given aspirin."


def test_a_schema_7_database_upgrades_to_layers_and_assignments(pg_url: str) -> None:
    with Project.create(pg_url, tasks={"ner": ["Condition"]}) as p:
        p.documents.add([DocumentRecord(TEXT, external_id="d0")])
    # Back to schema 7 by hand: what a database made by the previous release holds (the
    # steps after 8 add what they add: tests/postgres/test_relations_pg.py).
    for statement in ("DROP TABLE entity_relations",
                      "ALTER TABLE documents DROP COLUMN reviewed_by",  # schema 10
                      "ALTER TABLE suggestions DROP COLUMN decided_by",
                      "DROP TABLE assignments", "ALTER TABLE documents DROP COLUMN layer",
                      "ALTER TABLE documents DROP COLUMN layer_of",
                      "UPDATE meta SET value = '7' WHERE key = 'schema_version'",
                      "UPDATE alembic_version SET version_num = 'schema_7'"):
        _sql(pg_url, statement)
    with Project.open(pg_url) as p:
        doc = p.documents.filter()[0]
        p.team.assign(annotators=["ana", "ben"], double_share=1.0)
        assert [x.annotator for x in p.team.documents()[0].layers] == ["ana", "ben"]
        assert p.documents.stats()["documents"] == 1 and p.team.documents()[0].doc_id == doc
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]
    assert _sql(pg_url, "SELECT count(*) FROM documents WHERE layer_of IS NOT NULL") == [(2,)]


def test_team_work_on_the_server(pg_url: str) -> None:
    with Project.create(pg_url, tasks={"ner": ["Condition", "Drug"]}) as p:
        p.documents.add([DocumentRecord(f"{TEXT} Day {i}.", external_id=f"d{i}")
                         for i in range(4)])
        p.team.assign(annotators=["ana", "ben"], double_share=0.5, seed=2)
        double = [d.doc_id for d in p.team.documents()]
        assert len(double) == 2
        for name in ("ana", "ben"):
            p.annotator = name
            layer = p.team.layer_for(double[0], name)
            assert layer in p.documents.filter(DocFilter(annotator=name))
            assert layer in {e.doc_id for e in p.review.queue("ner", strategy="random",
                                                               annotator=name)}
            p.annotations.add_entity(layer, 0, 5, "Condition")
            start = TEXT.index("aspirin")
            p.annotations.add_entity(layer, start, start + 7,
                                     "Drug" if name == "ana" else "Condition")
            p.annotations.set_review_status(layer, "reviewed")
        report = p.team.agreement("ner")
        assert report["entities"]["pairs"][0]["f1"] == 0.5  # 1 shared of 2 + 2
        adj = p.team.adjudication(double[0])
        p.annotator = "carla"
        p.team.adjudicate(double[0], {i.key: "ana" for i in adj.disputed})
        gold = p.documents.get(double[0])
        assert sorted(e.label for e in gold.entities) == ["Condition", "Drug"]
    assert _sql(pg_url, "SELECT DISTINCT annotator FROM entity_annotations e JOIN documents d "
                        "ON d.id = e.document_id WHERE d.layer_of IS NULL") == [("carla",)]


def test_a_schema_9_database_records_who_reviewed_and_decided(pg_url: str) -> None:
    with Project.create(pg_url, tasks={"ner": ["Condition"]}) as p:
        p.documents.add([DocumentRecord(TEXT, external_id="d0")])
        p.annotations.set_review_status(p.documents.filter()[0], "reviewed")
    for statement in ("ALTER TABLE documents DROP COLUMN reviewed_by",
                      "ALTER TABLE suggestions DROP COLUMN decided_by",
                      "UPDATE meta SET value = '9' WHERE key = 'schema_version'",
                      "UPDATE alembic_version SET version_num = 'schema_9'"):
        _sql(pg_url, statement)
    with Project.open(pg_url, annotator="ana") as p:
        assert _sql(pg_url, "SELECT reviewed_by FROM documents") == [("user",)]
        p.annotations.set_review_status(p.documents.filter()[0], "skipped")
    assert _sql(pg_url, "SELECT review_status, reviewed_by FROM documents") == [("skipped", "ana")]
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]
