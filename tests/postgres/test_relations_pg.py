"""Relations on a PostgreSQL project: the schema-9 step runs on the server (its table and the
kind CHECKs take 'relation'), and relations are added, removed with their entity and put
back by undo as on a file."""

from __future__ import annotations

import pytest

from core.project import Project
from core.store.db import SCHEMA_VERSION
from core.types import DocumentRecord, EntitySpan
from tests.postgres.test_pg_store import _sql

TEXT = "Take 10 mg of aspirin daily."
OLD_KINDS = "('ner', 'classify', 'qa', 'sentence', 'attribute')"


def test_a_schema_8_database_upgrades_to_relations(pg_url: str) -> None:
    with Project.create(pg_url, tasks={"ner": ["Dosage", "Medication"]}) as p:
        p.documents.add([DocumentRecord(TEXT, external_id="n1", spans=(
            EntitySpan(5, 10, "Dosage"), EntitySpan(14, 21, "Medication")))])
    # Back to schema 8 by hand: what a database made by the previous release holds.
    statements = ["ALTER TABLE documents DROP COLUMN reviewed_by",  # schema 10
                  "ALTER TABLE suggestions DROP COLUMN decided_by",
                  "DROP TABLE entity_relations"]
    for table, name in (("tasks", "task_kind"), ("document_tasks", "document_task_kind"),
                        ("timings", "timing_kind")):
        statements.append(f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} "
                          f"CHECK (kind IN {OLD_KINDS})")
    statements += [
        "ALTER TABLE suggestions DROP CONSTRAINT suggestion_kind, ADD CONSTRAINT "
        "suggestion_kind CHECK (kind IN ('entity', 'class', 'answer', 'sentence', 'attribute'))",
        "UPDATE meta SET value = '8' WHERE key = 'schema_version'",
        "UPDATE alembic_version SET version_num = 'schema_8'",
    ]
    for statement in statements:
        _sql(pg_url, statement)
    with pytest.raises(Exception, match="task_kind"):
        _sql(pg_url, "INSERT INTO tasks (kind, multi_label, settings) VALUES ('relation', "
                     "false, '{}')")
    with Project.open(pg_url) as p:
        doc = p.documents.filter()[0]
        p.annotations.add_relation_type("dosage_of=Dosage>Medication")  # a 'relation' task
        p.annotations.add_relation(doc, (5, 10), (14, 21), "dosage_of")
        changes = p.annotations.remove_entity(doc, 14, 21)
        assert p.documents.get(doc).relations == ()
        p.undo(changes)
        assert [(r.head, r.tail, r.label) for r in p.documents.get(doc).relations] == [
            ((5, 10), (14, 21), "dosage_of")]
        assert p.documents.records()[0].relations[0].label == "dosage_of"
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]
    assert _sql(pg_url, "SELECT count(*) FROM tasks WHERE kind = 'relation'") == [(1,)]
    checks = dict(_sql(pg_url, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                               "WHERE conname IN ('task_kind', 'suggestion_kind', "
                               "'entity_relation_ends')"))
    assert "'relation'" in checks["task_kind"] and "'relation'" in checks["suggestion_kind"]
    assert "head_id <> tail_id" in checks["entity_relation_ends"]
    with pytest.raises(Exception, match="task_kind"):
        _sql(pg_url, "INSERT INTO tasks (kind, multi_label, settings) VALUES ('bogus', false, "
                     "'{}')")
