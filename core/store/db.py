"""Opening, creating and upgrading projects: SQLite files and PostgreSQL databases.

A project file is one SQLite file in WAL mode with foreign keys on. Two engines share it:
reads run in ordinary deferred transactions (a consistent snapshot under WAL, never
blocking writers), writes run in ``BEGIN IMMEDIATE`` transactions so two writers queue on
the busy timeout instead of failing with "database is locked" half-way through.

A project may also live in a PostgreSQL database (``postgresql://user@host/dbname``, driver
psycopg 3), with the same schema: writes take the project's write lock first (a
transaction-level advisory lock, in READ COMMITTED), reads run on one REPEATABLE READ,
READ ONLY snapshot (see :func:`_make_pg_engine`).

Schema upgrades run through Alembic (:mod:`core.store.migrations`), one revision per step
of :data:`MIGRATIONS`.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ProjectError
from core.store import migrations
from core.store.models import Meta, ProjectInfo, create_schema

SCHEMA_VERSION = 11
APPLICATION_ID = 0x414E4E54  # "ANNT", written into the SQLite header
BUSY_TIMEOUT_MS = 30_000

# Steps that upgrade a file from version N to N + 1, run inside one transaction.
# Add one for every schema change and never edit a released step.
def _v1_to_v2(conn: Connection) -> None:
    """Schema 2 records which process runs a training run, to recover interrupted runs."""
    conn.exec_driver_sql("ALTER TABLE training_runs ADD COLUMN pid INTEGER")
    conn.exec_driver_sql("ALTER TABLE training_runs ADD COLUMN host VARCHAR(255)")


def _v2_to_v3(conn: Connection) -> None:
    """Schema 3 records which documents are labelled for a kind as a whole
    (``document_tasks``). Before it, a reviewed document counted as labelled for entities
    with or without any, so each reviewed document gets a "user" mark for entities and for
    every other task of the project (what marking a document done records from now on)."""
    conn.exec_driver_sql(
        "CREATE TABLE document_tasks (\n"
        "\tdocument_id INTEGER NOT NULL, \n"
        "\tkind VARCHAR(16) NOT NULL, \n"
        "\tsource VARCHAR(16) NOT NULL, \n"
        "\tcreated_at DATETIME NOT NULL, \n"
        "\tPRIMARY KEY (document_id, kind, source), \n"
        "\tCONSTRAINT document_task_kind CHECK (kind IN ('ner', 'classify', 'qa')), \n"
        "\tCONSTRAINT document_task_source CHECK (source IN ('import', 'user')), \n"
        "\tFOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE\n"
        ")"
    )
    conn.exec_driver_sql(
        "INSERT INTO document_tasks (document_id, kind, source, created_at) "
        "SELECT d.id, k.kind, 'user', COALESCE(d.reviewed_at, d.created_at) "
        "FROM documents d, (SELECT 'ner' AS kind UNION SELECT kind FROM tasks) k "
        "WHERE d.review_status = 'reviewed'"
    )


def _v3_to_v4(conn: Connection) -> None:
    """Schema 4 records how long each annotation and review decision took (``timings``)."""
    conn.exec_driver_sql(
        "CREATE TABLE timings (\n"
        "\tid INTEGER NOT NULL, \n"
        "\tdocument_id INTEGER NOT NULL, \n"
        "\tkind VARCHAR(16) NOT NULL, \n"
        "\taction VARCHAR(64) NOT NULL, \n"
        "\tannotator VARCHAR(100) NOT NULL, \n"
        "\tseconds FLOAT NOT NULL, \n"
        "\tcreated_at DATETIME NOT NULL, \n"
        "\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT timing_kind CHECK (kind IN ('ner', 'classify', 'qa')), \n"
        "\tFOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE\n"
        ")"
    )
    conn.exec_driver_sql("CREATE INDEX ix_timings_document_id ON timings (document_id)")


def _v4_to_v5(conn: Connection) -> None:
    """Schema 5 adds the sentences of documents and the classes of sentences (the
    sentence-classification task, kind 'sentence'). The kind CHECK constraints of tasks,
    marks, timings and suggestions take the new kind: loosening a CHECK changes no stored
    row, so the table definitions are rewritten in place (SQLite's documented procedure
    for such changes: writable_schema, then a new schema_version), not rebuilt."""
    conn.exec_driver_sql(
        "CREATE TABLE sentences (\n"
        "\tid INTEGER NOT NULL, \n"
        "\tdocument_id INTEGER NOT NULL, \n"
        "\tstart INTEGER NOT NULL, \n"
        '\t"end" INTEGER NOT NULL, \n'
        "\tPRIMARY KEY (id), \n"
        '\tCONSTRAINT sentence_offsets CHECK (start >= 0 AND start < "end"), \n'
        "\tCONSTRAINT sentence_unique UNIQUE (document_id, start), \n"
        "\tFOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE\n"
        ")"
    )
    conn.exec_driver_sql("CREATE INDEX ix_sentence_doc ON sentences (document_id)")
    conn.exec_driver_sql(
        "CREATE TABLE sentence_classes (\n"
        "\tid INTEGER NOT NULL, \n"
        "\tsentence_id INTEGER NOT NULL, \n"
        "\tlabel_id INTEGER NOT NULL, \n"
        "\tannotator VARCHAR(100) NOT NULL, \n"
        "\tcreated_at DATETIME NOT NULL, \n"
        "\torigin VARCHAR(16) NOT NULL, \n"
        "\tsuggestion_id INTEGER, \n"
        "\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT sentence_class_unique UNIQUE (sentence_id, label_id), \n"
        "\tFOREIGN KEY(sentence_id) REFERENCES sentences (id) ON DELETE CASCADE, \n"
        "\tFOREIGN KEY(label_id) REFERENCES labels (id) ON DELETE CASCADE, \n"
        "\tFOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL\n"
        ")"
    )
    conn.exec_driver_sql(
        "CREATE INDEX ix_sentence_class_sentence ON sentence_classes (sentence_id)"
    )
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, \"kind IN ('ner', 'classify', 'qa')\","
            " \"kind IN ('ner', 'classify', 'qa', 'sentence')\")"
            " WHERE type = 'table' AND name IN ('tasks', 'document_tasks', 'timings')"
        )
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql,"
            " \"kind IN ('entity', 'class', 'answer')\","
            " \"kind IN ('entity', 'class', 'answer', 'sentence')\")"
            " WHERE type = 'table' AND name = 'suggestions'"
        )
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _v5_to_v6(conn: Connection) -> None:
    """Schema 6 records who proposed a suggestion (``suggestions.source``: "model" or
    "patterns:<file name>"). Until then only pre-annotation wrote suggestions, so every
    stored one is the model's."""
    conn.exec_driver_sql("ALTER TABLE suggestions ADD COLUMN source VARCHAR(200)")
    conn.exec_driver_sql("UPDATE suggestions SET source = 'model'")


def _v6_to_v7(conn: Connection) -> None:
    """Schema 7 adds attributes of entities: their values (``entity_attributes``, one row
    per entity and attribute set) and the kind 'attribute' (its task holds the attribute
    model's versions and suggestions); the kind CHECKs are loosened in place as in
    :func:`_v4_to_v5`. Declarations live in the NER task's settings: nothing to move."""
    conn.exec_driver_sql(
        "CREATE TABLE entity_attributes (\n"
        "\tid INTEGER NOT NULL, \n"
        "\tentity_id INTEGER NOT NULL, \n"
        "\tname VARCHAR(200) NOT NULL, \n"
        "\tvalue VARCHAR(200) NOT NULL, \n"
        "\tannotator VARCHAR(100) NOT NULL, \n"
        "\tcreated_at DATETIME NOT NULL, \n"
        "\torigin VARCHAR(16) NOT NULL, \n"
        "\tsuggestion_id INTEGER, \n"
        "\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT entity_attribute_unique UNIQUE (entity_id, name), \n"
        "\tFOREIGN KEY(entity_id) REFERENCES entity_annotations (id) ON DELETE CASCADE, \n"
        "\tFOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL\n"
        ")"
    )
    conn.exec_driver_sql(
        "CREATE INDEX ix_entity_attribute_entity ON entity_attributes (entity_id)"
    )
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql,"
            " \"kind IN ('ner', 'classify', 'qa', 'sentence')\","
            " \"kind IN ('ner', 'classify', 'qa', 'sentence', 'attribute')\")"
            " WHERE type = 'table' AND name IN ('tasks', 'document_tasks', 'timings')"
        )
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql,"
            " \"kind IN ('entity', 'class', 'answer', 'sentence')\","
            " \"kind IN ('entity', 'class', 'answer', 'sentence', 'attribute')\")"
            " WHERE type = 'table' AND name = 'suggestions'"
        )
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _v7_to_v8(conn: Connection) -> None:
    """Schema 8, team work: an annotator's own copy of a double-annotated document (its
    layer: ``documents.layer_of`` the original, ``documents.layer`` the annotator) and who
    labels which document (``assignments``). What a project holds stays the documents'
    single layer, so a project with one annotator behaves as before. The first step that
    also runs on PostgreSQL: plain DDL for both."""
    stamp_type = "DATETIME" if conn.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    conn.exec_driver_sql(
        "ALTER TABLE documents ADD COLUMN layer_of INTEGER"
        " REFERENCES documents (id) ON DELETE CASCADE"
    )
    conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN layer VARCHAR(100)")
    conn.exec_driver_sql("CREATE INDEX ix_documents_layer_of ON documents (layer_of)")
    key = "INTEGER NOT NULL" if conn.dialect.name == "sqlite" else "SERIAL NOT NULL"
    conn.exec_driver_sql(
        "CREATE TABLE assignments (\n"
        f"\tid {key}, \n"
        "\tdocument_id INTEGER NOT NULL, \n"
        "\tannotator VARCHAR(100) NOT NULL, \n"
        f"\tcreated_at {stamp_type} NOT NULL, \n"
        "\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT assignment_unique UNIQUE (document_id, annotator), \n"
        "\tFOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE\n"
        ")"
    )
    conn.exec_driver_sql("CREATE INDEX ix_assignments_annotator ON assignments (annotator)")


# The kind CHECKs of schema 7 and 8, by table: (constraint name, the kinds' SQL).
_V8_KINDS = "('ner', 'classify', 'qa', 'sentence', 'attribute')"
_V8_KIND_CHECKS = {
    "tasks": ("task_kind", _V8_KINDS),
    "document_tasks": ("document_task_kind", _V8_KINDS),
    "timings": ("timing_kind", _V8_KINDS),
    "suggestions": ("suggestion_kind", "('entity', 'class', 'answer', 'sentence', 'attribute')"),
}


def _v8_to_v9(conn: Connection) -> None:
    """Schema 9 adds relations between entities: ``entity_relations`` (a head entity, a tail
    entity, the type's name; both ends ``ON DELETE CASCADE``) and the kind 'relation' (its
    task holds the relation model's versions and suggestions) in the kind CHECKs. The types
    are declared in the NER task's settings: nothing to move. Plain DDL for both back ends;
    the CHECKs are loosened in place on SQLite (as :func:`_v6_to_v7` does) and dropped and
    added again, under the same names, on PostgreSQL."""
    sqlite = conn.dialect.name == "sqlite"
    stamp_type = "DATETIME" if sqlite else "TIMESTAMP WITH TIME ZONE"
    key = "INTEGER NOT NULL" if sqlite else "SERIAL NOT NULL"
    conn.exec_driver_sql(
        "CREATE TABLE entity_relations (\n"
        f"\tid {key}, \n"
        "\thead_id INTEGER NOT NULL, \n"
        "\ttail_id INTEGER NOT NULL, \n"
        "\tlabel VARCHAR(200) NOT NULL, \n"
        "\tannotator VARCHAR(100) NOT NULL, \n"
        f"\tcreated_at {stamp_type} NOT NULL, \n"
        "\torigin VARCHAR(16) NOT NULL, \n"
        "\tsuggestion_id INTEGER, \n"
        "\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT entity_relation_unique UNIQUE (head_id, tail_id, label), \n"
        "\tCONSTRAINT entity_relation_ends CHECK (head_id <> tail_id), \n"
        "\tFOREIGN KEY(head_id) REFERENCES entity_annotations (id) ON DELETE CASCADE, \n"
        "\tFOREIGN KEY(tail_id) REFERENCES entity_annotations (id) ON DELETE CASCADE, \n"
        "\tFOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL\n"
        ")"
    )
    conn.exec_driver_sql("CREATE INDEX ix_entity_relation_tail ON entity_relations (tail_id)")
    widened = {table: (name, kinds[:-1] + ", 'relation')")
               for table, (name, kinds) in _V8_KIND_CHECKS.items()}
    if not sqlite:
        for table, (name, kinds) in widened.items():
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}, "
                                 f"ADD CONSTRAINT {name} CHECK (kind IN {kinds})")
        return
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, (_, kinds) in _V8_KIND_CHECKS.items():
            conn.exec_driver_sql(
                f"UPDATE sqlite_master SET sql = replace(sql, \"kind IN {kinds}\", "
                f"\"kind IN {widened[table][1]}\") WHERE type = 'table' AND name = '{table}'"
            )
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _v9_to_v10(conn: Connection) -> None:
    """Schema 10 records who set a document's review status (``documents.reviewed_by``)
    and who decided a suggestion (``suggestions.decided_by``). A project had one implicit
    annotator before, "user": the statuses and decisions it holds become that one's."""
    conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN reviewed_by VARCHAR(100)")
    conn.exec_driver_sql("ALTER TABLE suggestions ADD COLUMN decided_by VARCHAR(100)")
    conn.exec_driver_sql(
        "UPDATE documents SET reviewed_by = 'user' WHERE review_status <> 'unreviewed'")
    conn.exec_driver_sql("UPDATE suggestions SET decided_by = 'user' WHERE state <> 'pending'")


# Schema 11's tables: those whose rows an undo restores under their old ids.
_V11_AUTOINCREMENT = ("labels", "questions", "suggestions")
# The foreign keys of the two tables in the questions <-> suggestions cycle, which a file
# created after a PostgreSQL project in the same process lacked (models.create_schema):
# (column, table referred to, ON DELETE), in the order they are put back.
_V11_FOREIGN_KEYS = {
    "questions": (("document_id", "documents", "CASCADE"),
                  ("suggestion_id", "suggestions", "SET NULL")),
    "suggestions": (("document_id", "documents", "CASCADE"), ("task_id", "tasks", "CASCADE"),
                    ("question_id", "questions", "CASCADE"),
                    ("model_version_id", "model_versions", "CASCADE")),
}


def _v10_to_v11(conn: Connection) -> None:
    """Schema 11 never hands out an id again (``models.NEVER_REUSED_IDS``): SQLite gave a new
    row the largest id plus one, so the id of a deleted last question, label or suggestion
    went to the next new one (a suggestion written by pre-annotation, a label by an
    import), and undoing the deletion then failed on a UNIQUE id. Those three tables become
    AUTOINCREMENT, counting on from their largest id. PostgreSQL's sequences never go back:
    nothing to do there.

    It also gives ``questions`` and ``suggestions`` back the foreign keys a file lacked when
    it was created after a PostgreSQL project in the same process (see
    ``models.create_schema``), first removing what those keys would have removed: the
    suggestions and questions of deleted documents, and so on (a question's link to a
    deleted suggestion is cleared).

    Neither changes what is stored, so the table definitions are rewritten in place (as the
    kind CHECKs of schema 5 were); ``DROP TABLE`` to rebuild them would fire their foreign
    keys' cascades inside this transaction."""
    if conn.dialect.name != "sqlite":
        return
    # sqlite_sequence, where SQLite keeps the counters, exists once an AUTOINCREMENT table
    # has been created, and stays when that table is dropped.
    conn.exec_driver_sql("CREATE TABLE schema_11_sequence (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    conn.exec_driver_sql("DROP TABLE schema_11_sequence")
    rewritten: dict[str, str] = {}
    counted: list[str] = []
    for table in _V11_AUTOINCREMENT:
        sql = new = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        unlike_ours = ProjectError(
            f"the table {table} is not defined as this program made it: {sql}")
        if "AUTOINCREMENT" not in sql:
            new, columns = re.subn(r"\bid INTEGER NOT NULL,",
                                   "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", new, count=1)
            new, keys = re.subn(r",\s*PRIMARY KEY \(id\)", "", new, count=1)
            if columns != 1 or keys != 1:
                raise unlike_ours
            counted.append(table)
        have = {row[3] for row in conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})")}
        missing = [fk for fk in _V11_FOREIGN_KEYS.get(table, ()) if fk[0] not in have]
        for column, refers_to, action in missing:
            dangling = (f"{column} IS NOT NULL AND {column} NOT IN (SELECT id FROM {refers_to})")
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE {dangling}" if action == "CASCADE"
                                 else f"UPDATE {table} SET {column} = NULL WHERE {dangling}")
        if missing:
            body = new.rstrip()
            if not body.endswith(")"):
                raise unlike_ours
            new = body[:-1].rstrip() + "".join(
                f", \n\tFOREIGN KEY({column}) REFERENCES {refers_to} (id) ON DELETE {action}"
                for column, refers_to, action in missing) + "\n)"
        if new != sql:
            rewritten[table] = new
    if not rewritten:
        return
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in rewritten.items():
            conn.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    for table in counted:
        conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        conn.exec_driver_sql(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT ?, COALESCE(MAX(id), 0) FROM {table}",
            (table,))


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5, 5: _v5_to_v6, 6: _v6_to_v7,
    7: _v7_to_v8, 8: _v8_to_v9, 9: _v9_to_v10, 10: _v10_to_v11,
}


# Steps released before PostgreSQL support: a PostgreSQL project starts at
# FIRST_DATABASE_SCHEMA (``create_all`` at the head), so these only ever run on SQLite files
# (their DDL is SQLite's: DATETIME columns, writable_schema). run_step refuses them
# elsewhere with a clear message instead of failing half-way through.
FIRST_DATABASE_SCHEMA = 7


def _configure(engine: Engine, *, immediate: bool, readonly: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate and not readonly else "BEGIN")


def _ro_uri(path: Path) -> str:
    """The SQLite URI that reads ``path`` without writing anything.

    A WAL-mode file needs its ``-shm`` index even to read; where the folder cannot be written
    the index cannot be made, so a file with no write-ahead log left (closed cleanly) is read
    as immutable instead. A log left beside it there cannot be read safely: said plainly.
    """
    if os.access(path.parent, os.W_OK):
        return f"file:{path}?mode=ro"
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ProjectError(
            f"{path}: the project was not closed cleanly (its write-ahead log {wal.name} is "
            "still there) and its folder is read-only, so it cannot be read consistently; "
            "open it once where the folder can be written"
        )
    return f"file:{path}?mode=ro&immutable=1"


def _make_engine(path: Path, *, immediate: bool, readonly: bool) -> Engine:
    if readonly:
        url = "sqlite:///" + _ro_uri(path) + "&uri=true"
    else:
        url = "sqlite:///" + str(path)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    _configure(engine, immediate=immediate, readonly=readonly)
    return engine


# --- PostgreSQL ------------------------------------------------------------------------------

# The key of the project's write lock (a transaction-level advisory lock; advisory locks are
# per database, so one key serves every project).
WRITE_LOCK_KEY = APPLICATION_ID
_URL_START = re.compile(r"^postgres(ql)?(\+[a-z0-9_]+)?://", re.IGNORECASE)


def is_database_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://user@host/dbname``,
    ``postgresql+psycopg://...``) rather than a project file."""
    return isinstance(target, (str, URL)) and bool(_URL_START.match(str(target)))


def database_url(target: str | URL) -> URL:
    """The SQLAlchemy URL (driver psycopg 3) of a PostgreSQL project URL."""
    try:
        url = make_url(target) if isinstance(target, str) else target
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's ArgumentError and friends
        raise ProjectError(f"{target}: not a database URL ({exc})") from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in ("postgresql", "postgres") or driver not in ("", "psycopg"):
        raise ProjectError(
            f"{url.render_as_string(hide_password=True)}: use postgresql://user@host/dbname "
            "(or postgresql+psycopg://...); the project store speaks PostgreSQL through psycopg 3"
        )
    if not url.database:
        raise ProjectError(
            f"{url.render_as_string(hide_password=True)}: the URL names no database "
            "(postgresql://user@host/dbname)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ProjectError(
            "a project in PostgreSQL needs psycopg 3: pip install 'psycopg[binary]' "
            "(or the package's extra: pip install 'text-annotator[postgres]')"
        ) from None
    return url.set(drivername="postgresql+psycopg")


def display_url(url: URL) -> str:
    """The URL as the user wrote it, its password hidden (for messages and titles)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=True)


def _make_pg_engine(url: URL, *, write: bool) -> Engine:
    """The write engine: READ COMMITTED, every transaction begins by taking the project's
    write lock (``pg_advisory_xact_lock``), so writers queue one at a time as SQLite's
    ``BEGIN IMMEDIATE`` makes them, and each statement after the lock sees every earlier
    commit: no lost update, no serialization failure to retry. The read engine: REPEATABLE
    READ, READ ONLY: one snapshot per session, never blocking writers nor blocked by them
    (read-only transactions never fail to serialize at this level)."""
    connect_args: dict[str, Any] = {}
    if "options" not in url.query:
        # Times are stored as UTC (SQLite files hand them back naive, in UTC): a server in
        # another time zone must not shift the naive ones a copy writes.
        connect_args["options"] = "-c timezone=UTC"
    engine = create_engine(
        url,
        isolation_level="READ COMMITTED" if write else "REPEATABLE READ",
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    if write:
        @event.listens_for(engine, "begin")
        def _take_write_lock(conn: Connection) -> None:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
    else:
        @event.listens_for(engine, "begin")
        def _read_only(conn: Connection) -> None:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    return engine


class ProjectDB:
    """The engines and session factories of one open project (a file or a database).

    Sessions never cross threads: each thread makes its own with :meth:`read` or
    :meth:`write`. ``write()`` is one unit of work: committed when the block ends,
    rolled back entirely if it raises.
    """

    def __init__(self, location: Path | URL, *, readonly: bool = False) -> None:
        self.readonly = readonly
        if isinstance(location, URL):
            self.path: Path | None = None
            self.url = location
            self.location = display_url(location)
            self.write_engine = _make_pg_engine(location, write=True)
            self.read_engine = _make_pg_engine(location, write=False)
        else:
            self.path = location
            self.url = make_url("sqlite:///" + str(location))
            self.location = str(location)
            self.write_engine = _make_engine(location, immediate=True, readonly=readonly)
            self.read_engine = _make_engine(location, immediate=False, readonly=readonly)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.write_engine.dialect.name

    @property
    def is_file(self) -> bool:
        return self.path is not None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session holding the project's write lock (SQLite: ``BEGIN IMMEDIATE``;
        PostgreSQL: the advisory lock), committed on success."""
        if self.readonly:
            raise ProjectError(f"{self.location}: the project is open read-only")
        with _damage_as_project_error(self.location):
            with self._write_sessions.begin() as session:
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session on one consistent snapshot; nothing it does is committed."""
        with _damage_as_project_error(self.location):
            with self._read_sessions() as session:
                with session.begin():
                    yield session
                    session.rollback()

    def close(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()


_DAMAGE_MARKERS = ("malformed", "not a database", "disk image", "database corrupt")


@contextmanager
def _damage_as_project_error(location: str | Path) -> Iterator[None]:
    """Turn SQLite's "the file is damaged" errors into a message the user can act on."""
    try:
        yield
    except DatabaseError as exc:
        text_ = str(exc.orig).lower()
        if any(marker in text_ for marker in _DAMAGE_MARKERS):
            raise ProjectError(
                f"{location}: the project file is damaged ({exc.orig}); restore a backup copy "
                "(files ending in .bak beside it are copies made before upgrades)"
            ) from None
        raise


def _check_sqlite_file(path: Path) -> None:
    with open(path, "rb") as fh:
        header = fh.read(16)
    if not header:
        raise ProjectError(f"{path}: the file is empty (0 bytes), not a project")
    if header != b"SQLite format 3\x00":
        raise ProjectError(f"{path}: this file is not a project (not an SQLite database)")


def _meta_version(location: str | Path, value: str | None) -> int:
    if value is None:
        raise ProjectError(f"{location}: the project has no schema version")
    try:
        return int(value)
    except ValueError:
        raise ProjectError(f"{location}: the project's schema version {value!r} is not a number") from None


def _identify(path: Path) -> int:
    """Check, without writing anything, that ``path`` is a project; return its schema version.

    A plain read-only connection is used so that a file that turns out not to be a project
    (another application's database, a damaged copy) is never modified.
    """
    try:
        conn = sqlite3.connect(_ro_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise ProjectError(f"{path}: cannot open the project ({exc})") from None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "meta" not in tables or "project" not in tables:
            raise ProjectError(
                f"{path}: this SQLite file is not an annotator project (no project tables)"
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = _meta_version(path, None if row is None else row[0])
        # Catch a damaged file at open, before the user labels into it (reads every page
        # once: about 0.1 s per 100 MB).
        check = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if check != "ok":
            raise ProjectError(
                f"{path}: the project file is damaged ({check}); restore a backup copy"
            )
        return version
    except sqlite3.DatabaseError as exc:
        raise ProjectError(
            f"{path}: the project file is damaged or not a project ({exc}); "
            "restore a backup copy"
        ) from None
    finally:
        conn.close()


def _identify_database(conn: Connection, location: str) -> int:
    """A PostgreSQL database's schema version (``meta.schema_version``)."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        raise ProjectError(
            f"{location}: the database is empty, no project there yet; create one in it with "
            f"`annotator init {location}` (or copy one: `annotator copy FILE {location}`)"
        )
    if "meta" not in tables or "project" not in tables:
        raise ProjectError(
            f"{location}: this database is not an annotator project (no project tables)"
        )
    value = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    return _meta_version(location, value)


def backup_file(path: Path, suffix: str) -> Path:
    """Copy a project file (consistently, through SQLite's backup API) next to itself."""
    target = path.with_name(path.name + suffix)
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}{suffix}.{n}")
        n += 1
    # Written under a temporary name and renamed: a backup is complete or absent.
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, target)
    return target


def _check_steps(location: str, found: int) -> None:
    revisions = {r.revision for r in migrations.script_directory().walk_revisions()}
    for version in range(found, SCHEMA_VERSION):
        if version not in MIGRATIONS:
            raise ProjectError(f"{location}: no upgrade step from schema version {version}")
        if migrations.revision_for(version + 1) not in revisions:
            raise ProjectError(
                f"{location}: no migration revision {migrations.revision_for(version + 1)} "
                f"for the step from schema {version} (core/store/migrations/versions)"
            )


def _upgrade(db: ProjectDB, found: int) -> Path | None:
    """Upgrade the project from schema ``found`` in one transaction (Alembic, each step's
    revision in turn); a file after a backup copy (returned)."""
    _check_steps(db.location, found)
    backup = backup_file(db.path, f".v{found}.bak") if db.path is not None else None
    try:
        with db.write_engine.connect() as conn:
            with conn.begin():
                # Read again under the lock: another process may have upgraded it meanwhile.
                now = conn.execute(
                    text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
                _follow_meta(conn, _meta_version(db.location, now))
                migrations.upgrade(conn, SCHEMA_VERSION)
    except Exception as exc:  # noqa: BLE001 - any failure rolls the whole upgrade back
        where = (f"the file is unchanged and a copy is at {backup}" if backup is not None else
                 "the database is unchanged (the upgrade is one transaction, rolled back)")
        raise ProjectError(
            f"{db.location}: upgrading the project from schema {found} to {SCHEMA_VERSION} "
            f"failed ({type(exc).__name__}: {exc}); {where}"
        ) from exc
    return backup


def _follow_meta(conn: Connection, version: int) -> None:
    """Make Alembic's table name schema ``version``, the one ``meta.schema_version`` records.

    The meta row is the record of truth: every released program reads it (and refuses a
    newer schema by it), and programs before Alembic wrote only it. So a file they made, or
    one whose meta row was set back by hand (as tests make older files), is stamped at its
    meta version; every revision then writes both, so they stay in step."""
    if migrations.current_revision(conn) != migrations.revision_for(version):
        migrations.stamp(conn, version)


def _stamp_current(db: ProjectDB) -> None:
    """Make Alembic's table agree with a current project's meta row."""
    with db.write_engine.connect() as conn:
        with conn.begin():
            _follow_meta(conn, SCHEMA_VERSION)


def _bring_to_current(db: ProjectDB, version: int, *, stamped: bool) -> None:
    """Refuse a newer schema, upgrade an older one, stamp a current one made before Alembic."""
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{db.location}: made by a newer version of the tool (schema {version}, "
            f"this one reads up to {SCHEMA_VERSION}); please upgrade the tool"
        )
    if version < SCHEMA_VERSION:
        if db.readonly:
            raise ProjectError(
                f"{db.location}: schema {version} needs an upgrade, which a read-only open "
                "cannot do"
            )
        _upgrade(db, version)
    elif not stamped and not db.readonly:
        _stamp_current(db)


def open_db(target: str | os.PathLike[str] | URL, *, readonly: bool = False) -> ProjectDB:
    """Open an existing project: a file (an older schema upgraded after a backup copy) or a
    PostgreSQL database URL (an older schema upgraded in one transaction)."""
    if is_database_url(target):
        return _open_database(database_url(str(target) if not isinstance(target, URL) else target),
                              readonly=readonly)
    path = Path(target).resolve()  # type: ignore[arg-type]
    if not path.exists():
        raise ProjectError(f"{path}: no such project file")
    if path.is_dir():
        raise ProjectError(f"{path}: is a folder, not a project file")
    _check_sqlite_file(path)
    if not readonly and not os.access(path, os.W_OK):
        raise ProjectError(
            f"{path}: the project file is read-only; copy it to a folder you can write to, "
            "or open it read-only"
        )
    if not readonly and not os.access(path.parent, os.W_OK):
        raise ProjectError(
            f"{path.parent}: the project's folder is read-only (SQLite needs to write a journal "
            "beside the file); move the project to a folder you can write to"
        )
    version = _identify(path)
    db = ProjectDB(path, readonly=readonly)
    try:
        with db.read_engine.connect() as conn:
            stamped = (migrations.current_revision(conn)
                            == migrations.revision_for(SCHEMA_VERSION))
        _bring_to_current(db, version, stamped=stamped)
    except DatabaseError as exc:
        db.close()
        raise ProjectError(f"{path}: cannot open the project ({exc.orig})") from None
    except BaseException:
        db.close()
        raise
    return db


def _unreachable(location: str, exc: DatabaseError) -> ProjectError:
    detail = " ".join(str(exc.orig).split())
    hint = ""
    if "does not exist" in detail and "database" in detail:
        hint = "; create it first (createdb NAME, or CREATE DATABASE), then annotator init URL"
    elif "password" in detail:
        hint = "; give the password in ~/.pgpass (or user:password@host in the URL)"
    return ProjectError(f"{location}: cannot open the project database ({detail}){hint}")


def _open_database(url: URL, *, readonly: bool) -> ProjectDB:
    db = ProjectDB(url, readonly=readonly)
    try:
        with db.read_engine.connect() as conn:
            version = _identify_database(conn, db.location)
            stamped = (migrations.current_revision(conn)
                            == migrations.revision_for(SCHEMA_VERSION))
        _bring_to_current(db, version, stamped=stamped)
    except DatabaseError as exc:
        db.close()
        raise _unreachable(db.location, exc) from None
    except BaseException:
        db.close()
        raise
    return db


def project_exists(target: str | os.PathLike[str] | URL) -> bool:
    """Whether a project is there: the file exists, or the database has the project's
    tables (an unreachable server raises :class:`ProjectError`)."""
    if not is_database_url(target):
        return Path(target).exists()  # type: ignore[arg-type]
    url = database_url(str(target) if not isinstance(target, URL) else target)
    engine = _make_pg_engine(url, write=False)
    try:
        with engine.connect() as conn:
            return {"meta", "project"} <= set(inspect(conn).get_table_names())
    except DatabaseError as exc:
        raise _unreachable(display_url(url), exc) from None
    finally:
        engine.dispose()


def _fill_new_schema(conn: Connection, name: str) -> None:
    """Create the current schema, its meta and project rows, and Alembic's stamp."""
    create_schema(conn)
    conn.execute(
        Meta.__table__.insert(),
        [
            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
            {"key": "application", "value": "text-annotator"},
        ],
    )
    conn.execute(ProjectInfo.__table__.insert(), [{"name": name, "settings": {}}])
    migrations.stamp(conn, SCHEMA_VERSION)


def create_db(target: str | os.PathLike[str] | URL, *, name: str | None = None) -> ProjectDB:
    """Create a new, empty project: a file (refuses to overwrite an existing one) or the
    schema in an empty PostgreSQL database (refuses a database with tables)."""
    if is_database_url(target):
        return _create_database(database_url(str(target) if not isinstance(target, URL) else target),
                                name=name)
    path = Path(target).resolve()  # type: ignore[arg-type]
    if path.exists():
        raise ProjectError(f"{path}: a file already exists there")
    if not path.parent.is_dir():
        raise ProjectError(f"{path.parent}: no such folder")
    tmp = path.with_name(path.name + ".creating")
    if tmp.exists():
        tmp.unlink()
    conn = sqlite3.connect(tmp)
    try:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    engine = create_engine("sqlite:///" + str(tmp))
    try:
        with engine.begin() as conn2:
            _fill_new_schema(conn2, name or path.stem)
    finally:
        engine.dispose()
    # The file appears complete or not at all.
    os.replace(tmp, path)
    return open_db(path)


def check_empty_database(conn: Connection, location: str) -> None:
    """Refuse a database that already has tables (a project, or anything else)."""
    tables = sorted(inspect(conn).get_table_names())
    if {"meta", "project"} <= set(tables):
        raise ProjectError(f"{location}: a project already exists in this database")
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise ProjectError(
            f"{location}: the database is not empty (tables: {shown}); a project needs an "
            "empty database of its own (createdb NAME)"
        )


def _create_database(url: URL, *, name: str | None) -> ProjectDB:
    engine = _make_pg_engine(url, write=True)
    location = display_url(url)
    try:
        # One transaction (PostgreSQL's DDL is transactional): the schema appears whole
        # or not at all; the write lock keeps two creators from racing.
        with engine.connect() as conn:
            with conn.begin():
                check_empty_database(conn, location)
                _fill_new_schema(conn, name or str(url.database))
    except DatabaseError as exc:
        raise _unreachable(location, exc) from None
    finally:
        engine.dispose()
    return _open_database(url, readonly=False)


def discard_new_database_project(target: str | URL) -> None:
    """Take back :func:`create_db` of a database project that holds no document yet (an
    ``init`` that failed after creating the schema): every table of the project and
    Alembic's, in one transaction, leaving the empty database it was made in."""
    url = database_url(str(target) if not isinstance(target, URL) else target)
    engine = _make_pg_engine(url, write=True)
    try:
        with engine.connect() as conn, conn.begin():
            count = conn.execute(text("SELECT count(*) FROM documents")).scalar_one()
            if count:
                raise ProjectError(f"{display_url(url)}: the project holds {count} documents; "
                                   "it is not new, so it is not discarded")
            # The database was empty when the project was made (create_db checks): every
            # table in it is the project's.
            for table in inspect(conn).get_table_names():
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    finally:
        engine.dispose()


def schema_sql() -> str:
    """The CREATE statements of the current schema (for frozen copies in tests)."""
    engine = create_engine("sqlite://")
    create_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        return ";\n".join(r[0] for r in rows) + ";\n"
