"""Opening, creating and upgrading project files.

A project is one SQLite file in WAL mode with foreign keys on. Two engines share it:
reads run in ordinary deferred transactions (a consistent snapshot under WAL, never
blocking writers), writes run in ``BEGIN IMMEDIATE`` transactions so two writers queue on
the busy timeout instead of failing with "database is locked" half-way through.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ProjectError
from core.store.models import Base, Meta, ProjectInfo

SCHEMA_VERSION = 7
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


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5, 5: _v5_to_v6, 6: _v6_to_v7,
}


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


class ProjectDB:
    """The engines and session factories of one open project file.

    Sessions never cross threads: each thread makes its own with :meth:`read` or
    :meth:`write`. ``write()`` is one unit of work: committed when the block ends,
    rolled back entirely if it raises.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.write_engine = _make_engine(path, immediate=True, readonly=readonly)
        self.read_engine = _make_engine(path, immediate=False, readonly=readonly)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a ``BEGIN IMMEDIATE`` transaction, committed on success."""
        if self.readonly:
            raise ProjectError(f"{self.path}: the project is open read-only")
        with _damage_as_project_error(self.path):
            with self._write_sessions.begin() as session:
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session on one consistent snapshot; nothing it does is committed."""
        with _damage_as_project_error(self.path):
            with self._read_sessions() as session:
                with session.begin():
                    yield session
                    session.rollback()

    def close(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()


_DAMAGE_MARKERS = ("malformed", "not a database", "disk image", "database corrupt")


@contextmanager
def _damage_as_project_error(path: Path) -> Iterator[None]:
    """Turn SQLite's "the file is damaged" errors into a message the user can act on."""
    try:
        yield
    except DatabaseError as exc:
        text_ = str(exc.orig).lower()
        if any(marker in text_ for marker in _DAMAGE_MARKERS):
            raise ProjectError(
                f"{path}: the project file is damaged ({exc.orig}); restore a backup copy "
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
        if row is None:
            raise ProjectError(f"{path}: the project file has no schema version")
        try:
            version = int(row[0])
        except ValueError:
            raise ProjectError(f"{path}: the project's schema version {row[0]!r} is not a number") from None
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


def _upgrade(db: ProjectDB, found: int) -> Path:
    """Upgrade the file from schema ``found`` in one transaction, after a backup copy."""
    for version in range(found, SCHEMA_VERSION):
        if version not in MIGRATIONS:
            raise ProjectError(f"{db.path}: no upgrade step from schema version {version}")
    backup = backup_file(db.path, f".v{found}.bak")
    version = found
    try:
        with db.write_engine.connect() as conn:
            with conn.begin():
                for version in range(found, SCHEMA_VERSION):
                    MIGRATIONS[version](conn)
                conn.execute(
                    Meta.__table__.update()
                    .where(Meta.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
    except Exception as exc:  # noqa: BLE001 - any failure rolls the whole upgrade back
        raise ProjectError(
            f"{db.path}: upgrading the project from schema {version} to {version + 1} failed "
            f"({type(exc).__name__}: {exc}); the file is unchanged and a copy is at {backup}"
        ) from exc
    return backup


def open_db(path: str | os.PathLike[str], *, readonly: bool = False) -> ProjectDB:
    """Open an existing project file, upgrading an older schema after a backup copy."""
    path = Path(path).resolve()
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
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{path}: made by a newer version of the tool (schema {version}, "
                f"this one reads up to {SCHEMA_VERSION}); please upgrade the tool"
            )
        if version < SCHEMA_VERSION:
            if readonly:
                raise ProjectError(
                    f"{path}: schema {version} needs an upgrade, which a read-only open cannot do"
                )
            _upgrade(db, version)
    except DatabaseError as exc:
        db.close()
        raise ProjectError(f"{path}: cannot open the project ({exc.orig})") from None
    except BaseException:
        db.close()
        raise
    return db


def create_db(path: str | os.PathLike[str], *, name: str | None = None) -> ProjectDB:
    """Create a new, empty project file. Refuses to overwrite an existing file."""
    path = Path(path).resolve()
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
        Base.metadata.create_all(engine)
        with engine.begin() as conn2:
            conn2.execute(
                Meta.__table__.insert(),
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "application", "value": "text-annotator"},
                ],
            )
            conn2.execute(
                ProjectInfo.__table__.insert(), [{"name": name or path.stem, "settings": {}}]
            )
    finally:
        engine.dispose()
    # The file appears complete or not at all.
    os.replace(tmp, path)
    return open_db(path)


def schema_sql() -> str:
    """The CREATE statements of the current schema (for frozen copies in tests)."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        return ";\n".join(r[0] for r in rows) + ";\n"
