"""Alembic's environment: the migrations run on the connection the store hands over
(``config.attributes["connection"]``, see :mod:`core.store.migrations`), inside the
transaction the store already began, so an upgrade commits or rolls back whole."""

from __future__ import annotations

from alembic import context

from core.store.models import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "the annotator's migrations run through core.store (opening a project upgrades "
            "it); there is no database URL to run them on by themselves"
        )
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


# Alembic runs this file as a script (module name "env_py"); importing it as a module of
# the package (tests import every core module) does nothing.
if __name__ != "core.store.migrations.env":
    run_migrations()
