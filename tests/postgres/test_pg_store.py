"""A project in a PostgreSQL database (the test run's own server): created at the head of
the schema in an empty database, clear messages for a database that is empty, not a project,
newer, or unreachable; upgrades in one transaction; the CHECK constraints enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from core.errors import ProjectError
from core.project import Project
from core.store import db as dbmod
from core.store import migrations
from core.store.models import Base
from core.types import DocumentRecord
from tests.schema_steps import add_next_step


def _sql(url: str, statement: str) -> list[tuple]:
    import psycopg  # the pg_url fixture has checked it is there (or skipped, saying why)

    u = make_url(url)
    with psycopg.connect(host=u.query["host"], port=int(u.query["port"]), user="postgres",
                         dbname=u.database, autocommit=True) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else []


def test_create_in_an_empty_database_makes_the_schema_at_head(pg_url: str) -> None:
    with Project.create(pg_url, tasks={"ner": ["Disease"]}, name="shared notes") as p:
        assert p.path is None and p.is_database
        assert p.name == "shared notes"
        assert p.location.startswith("postgresql://postgres@/")
    tables = {r[0] for r in _sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(dbmod.SCHEMA_VERSION),)]
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [
        (migrations.revision_for(dbmod.SCHEMA_VERSION),)]
    # The CHECK constraints are the models' own, by name, and enforced.
    checks = {r[0] for r in _sql(pg_url, "SELECT conname FROM pg_constraint WHERE contype = 'c'")}
    assert {"task_kind", "document_task_kind", "timing_kind", "suggestion_kind", "doc_split",
            "entity_offsets", "sentence_offsets", "answer_offsets"} <= checks
    engine = create_engine(make_url(pg_url))
    try:
        with pytest.raises(IntegrityError, match="task_kind"):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO tasks (kind, multi_label, settings) "
                                  "VALUES ('bogus', false, '{}')"))
    finally:
        engine.dispose()


def test_both_url_forms_open_the_same_project(postgres_server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    Project.create(pg_url).close()
    name = make_url(pg_url).database
    for url in (postgres_server.url(name, "postgresql"), postgres_server.url(name)):
        with Project.open(url) as p:
            assert p.documents.stats()["documents"] == 0


def test_an_empty_database_is_not_a_project_yet(pg_url: str) -> None:
    with pytest.raises(ProjectError, match="the database is empty.*annotator init"):
        Project.open(pg_url)


def test_a_database_of_something_else_is_refused(pg_url: str) -> None:
    _sql(pg_url, "CREATE TABLE invoices (id integer)")
    with pytest.raises(ProjectError, match="not an annotator project"):
        Project.open(pg_url)
    with pytest.raises(ProjectError, match=r"not empty \(tables: invoices\)"):
        Project.create(pg_url)
    assert {r[0] for r in _sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")} \
        == {"invoices"}


def test_create_refuses_a_database_with_a_project(pg_url: str) -> None:
    Project.create(pg_url, tasks={"ner": ["Disease"]}).close()
    with pytest.raises(ProjectError, match="a project already exists"):
        Project.create(pg_url)


def test_newer_schema_is_refused(pg_url: str) -> None:
    Project.create(pg_url).close()
    _sql(pg_url, "UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(ProjectError, match="newer version"):
        Project.open(pg_url)


def test_bad_urls_and_missing_databases_say_so(postgres_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProjectError, match="use postgresql://"):
        Project.open("postgresql+asyncpg://u@h/db")
    with pytest.raises(ProjectError, match="names no database"):
        Project.open("postgresql://u@h/")
    with pytest.raises(ProjectError, match="cannot open the project database.*does not exist"
                                           ".*createdb"):
        Project.open(postgres_server.url("no_such_database"))
    with pytest.raises(ProjectError, match="does not exist"):
        Project.create(postgres_server.url("no_such_database"))


def test_failed_upgrade_leaves_the_database_unchanged(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Project.create(pg_url).close()

    def broken(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN half INTEGER")
        raise RuntimeError("step failed")

    current = add_next_step(broken, tmp_path, monkeypatch)
    with pytest.raises(ProjectError, match="the database is unchanged"):
        Project.open(pg_url)
    columns = {r[0] for r in _sql(pg_url, "SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'documents'")}
    assert "half" not in columns
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(current),)]
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [
        (migrations.revision_for(current),)]


def test_upgrade_runs_the_next_step_in_one_transaction(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Project.create(pg_url) as p:
        p.documents.add([DocumentRecord("kept")])

    def add_column(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN marker INTEGER DEFAULT 7")

    current = add_next_step(add_column, tmp_path, monkeypatch)
    with Project.open(pg_url) as p:
        assert p.documents.stats()["documents"] == 1
    assert _sql(pg_url, "SELECT text, marker FROM documents") == [("kept", 7)]
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(current + 1),)]
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [
        (migrations.revision_for(current + 1),)]


def test_the_sqlite_steps_are_refused_on_postgresql(pg_url: str) -> None:
    """The steps released before PostgreSQL support are SQLite's DDL; a database at such a
    schema (it cannot come from the tool) gets a clear message, not a half-run step."""
    Project.create(pg_url).close()
    _sql(pg_url, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(ProjectError, match="the step from schema 3 is SQLite's.*database is unchanged"):
        Project.open(pg_url)
    assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]


def test_read_only_open_refuses_writes(pg_url: str) -> None:
    Project.create(pg_url, tasks={"ner": ["Disease"]}).close()
    with Project.open(pg_url, readonly=True) as p:
        with pytest.raises(ProjectError, match="read-only"):
            with p.write():
                pass
        assert p.documents.stats()["documents"] == 0


def test_models_of_a_database_project_go_to_the_models_folder(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(tmp_path / "shared"))
    with Project.create(pg_url) as p:
        assert p.models_dir.parent == (tmp_path / "shared").resolve()
        assert make_url(pg_url).database in p.models_dir.name
    with_password = pg_url.replace("postgres@", "postgres:secret@")
    with Project.open(with_password) as p:
        assert "secret" not in p.location


def test_a_schema_10_database_upgrades_and_never_hands_out_an_id_again(pg_url: str) -> None:
    """Schema 11 changes nothing in a database (its sequences never go back): the upgrade
    records the version, and a deleted question whose ids the next rows would have taken
    in a file comes back under them when undone."""
    with Project.create(pg_url, tasks={"qa": []}) as p:
        p.documents.add([DocumentRecord("Fever for two days.", external_id="d0")])
    for statement in ("UPDATE meta SET value = '10' WHERE key = 'schema_version'",
                      "UPDATE alembic_version SET version_num = 'schema_10'"):
        _sql(pg_url, statement)
    with Project.open(pg_url) as p:
        assert _sql(pg_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
            (str(dbmod.SCHEMA_VERSION),)]
        doc = p.documents.filter()[0]
        p.annotations.add_question(doc, "How long?")
        q = p.documents.get(doc).questions[0].id
        removed = p.annotations.remove_question(q)
        p.annotations.add_question(doc, "Which symptom?")
        assert p.documents.get(doc).questions[0].id > q
        p.undo(removed)
        assert sorted(x.id for x in p.documents.get(doc).questions)[0] == q
