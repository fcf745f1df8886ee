"""A simulated next schema step for the upgrade tests, added as a developer adds one: the
step in ``MIGRATIONS``, its Alembic revision file (in a folder of its own, added to
``core.store.migrations.VERSION_LOCATIONS``) and ``SCHEMA_VERSION`` bumped."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REVISION = '''
from core.store.migrations import run_step

revision = "schema_{new}"
down_revision = "schema_{old}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step({old})
'''


def add_next_step(step: Callable[[Any], None], folder: Path | None = None,
                  monkeypatch: Any = None) -> int:
    """Add ``step`` as the step from the current schema; returns that schema's version.
    With ``monkeypatch`` (pytest's) everything is put back after the test."""
    from core.store import db as dbmod
    from core.store import migrations

    current = dbmod.SCHEMA_VERSION
    versions = Path(tempfile.mkdtemp(prefix="test-versions-", dir=folder))
    (versions / f"v{current + 1}_test_step.py").write_text(
        REVISION.format(new=current + 1, old=current), encoding="utf-8")
    locations = [*migrations.VERSION_LOCATIONS, versions]
    if monkeypatch is not None:
        monkeypatch.setattr(migrations, "VERSION_LOCATIONS", locations)
        monkeypatch.setattr(dbmod, "SCHEMA_VERSION", current + 1)
        monkeypatch.setitem(dbmod.MIGRATIONS, current, step)
    else:
        migrations.VERSION_LOCATIONS[:] = locations
        dbmod.SCHEMA_VERSION = current + 1
        dbmod.MIGRATIONS[current] = step
    return current


def undo_schema_8(raw: Any) -> None:
    """Take a file of schema 8 back to schema 7's tables (an ``sqlite3`` connection): no
    ``assignments``, and ``documents`` rebuilt without ``layer_of``/``layer`` (SQLite
    cannot drop a column a foreign key uses)."""
    import re

    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DROP TABLE assignments")
    sql = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'documents'").fetchone()[0]
    sql = re.sub(r"\s*layer_of INTEGER,|\s*layer VARCHAR\(100\),", "", sql)
    sql = re.sub(r",\s*FOREIGN KEY\(layer_of\) REFERENCES documents \(id\) ON DELETE CASCADE",
                 "", sql)
    columns = [r[1] for r in raw.execute("PRAGMA table_info(documents)")
               if r[1] not in ("layer_of", "layer")]
    raw.execute(sql.replace("CREATE TABLE documents", "CREATE TABLE documents_v7", 1))
    raw.execute(f"INSERT INTO documents_v7 ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM documents")
    raw.execute("DROP TABLE documents")
    raw.execute("ALTER TABLE documents_v7 RENAME TO documents")


def undo_schema_9(raw: Any) -> None:
    """Take a file of schema 9 back to schema 8's tables (an ``sqlite3`` connection): no
    ``entity_relations``, and the kind CHECKs without 'relation'."""
    raw.execute("DROP TABLE entity_relations")
    version = raw.execute("PRAGMA schema_version").fetchone()[0]
    raw.execute("PRAGMA writable_schema = ON")
    raw.execute("UPDATE sqlite_master SET sql = replace(sql, \", 'relation')\", \")\") "
                "WHERE type = 'table' AND name IN ('tasks', 'document_tasks', 'timings', "
                "'suggestions')")
    raw.execute(f"PRAGMA schema_version = {int(version) + 1}")
    raw.execute("PRAGMA writable_schema = OFF")


def undo_schema_10(raw: Any) -> None:
    """Take a file of schema 10 back to schema 9's tables (an ``sqlite3`` connection)."""
    raw.execute("ALTER TABLE documents DROP COLUMN reviewed_by")
    raw.execute("ALTER TABLE suggestions DROP COLUMN decided_by")
