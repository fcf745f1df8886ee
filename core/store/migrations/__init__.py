"""Schema upgrades through Alembic, for both back ends (SQLite files, PostgreSQL databases).

The step functions of :data:`core.store.db.MIGRATIONS` stay the source of truth: each
schema step N -> N + 1 is one Alembic revision, ``schema_<N+1>`` (``versions/``), whose
``upgrade()`` calls ``MIGRATIONS[N]`` through :func:`run_step` and then writes N + 1 into
``meta.schema_version``, so the meta row and Alembic's ``alembic_version`` table always
agree (the meta row stays because every released program reads it to refuse a newer
schema). ``schema_1`` is the base: the first schema, never upgraded to. A new project is
created at the head by ``create_all`` and stamped so; a file made before Alembic (no
``alembic_version`` table) is stamped at the revision of its ``meta.schema_version`` first.

Everything runs on the caller's connection inside the caller's transaction (Alembic's
"sharing a connection" recipe): an upgrade is one transaction, committed or rolled back
whole. No ``alembic.ini`` is needed: :func:`alembic_config` points Alembic at this folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

HERE = Path(__file__).resolve().parent
# Where revision files are looked for; tests add a folder with a revision of their own.
VERSION_LOCATIONS: list[Path] = [HERE / "versions"]


def revision_for(version: int) -> str:
    """The Alembic revision id of schema ``version``."""
    return f"schema_{int(version)}"


def version_of(revision: str | None) -> int | None:
    """The schema version of an Alembic revision id (``None`` for an unknown id)."""
    if revision and revision.startswith("schema_") and revision[7:].isdigit():
        return int(revision[7:])
    return None


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package, without an ini file; ``connection`` is the
    one ``env.py`` runs the migrations on."""
    config = Config()
    config.set_main_option("script_location", str(HERE).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(str(p).replace("%", "%%") for p in VERSION_LOCATIONS)
    )
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_version() -> int:
    """The schema version of the newest revision."""
    head = script_directory().get_current_head()
    version = version_of(head)
    if version is None:
        raise RuntimeError(f"the newest migration revision {head!r} is not named schema_<N>")
    return version


def stamp(connection: Connection, version: int) -> None:
    """Record in ``alembic_version`` that the database is at schema ``version``."""
    command.stamp(alembic_config(connection), revision_for(version), purge=True)


def upgrade(connection: Connection, target: int) -> None:
    """Run every revision from the database's current one up to schema ``target``."""
    command.upgrade(alembic_config(connection), revision_for(target))


def current_revision(connection: Connection) -> str | None:
    """The revision in ``alembic_version``, or ``None`` when the table is not there."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def run_step(version: int) -> None:
    """Called by revision ``schema_<version + 1>``: run ``MIGRATIONS[version]`` on the
    migration's connection, then record the new version in ``meta``."""
    from alembic import op

    from core.store import db

    connection = op.get_bind()
    if connection.dialect.name != "sqlite" and version < db.FIRST_DATABASE_SCHEMA:
        raise RuntimeError(
            f"the step from schema {version} is SQLite's (released before PostgreSQL support, "
            f"which starts at schema {db.FIRST_DATABASE_SCHEMA}); a {connection.dialect.name} "
            f"project is never at schema {version}"
        )
    step = db.MIGRATIONS.get(version)
    if step is None:
        raise RuntimeError(f"revision {revision_for(version + 1)} has no step MIGRATIONS[{version}]")
    step(connection)
    connection.exec_driver_sql(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'"
        if connection.dialect.name == "sqlite"
        else "UPDATE meta SET value = %s WHERE key = 'schema_version'",
        (str(version + 1),),
    )


def refuse_downgrade() -> None:
    """Revisions are not undone: restore the copy made before the upgrade instead."""
    raise RuntimeError(
        "schema downgrades are not supported: restore the backup copy made before the upgrade"
    )
