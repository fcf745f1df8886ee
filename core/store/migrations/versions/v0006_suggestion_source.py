"""Schema 6: who proposed a suggestion (MIGRATIONS[5], ``_v5_to_v6``).

The step itself is ``core.store.db.MIGRATIONS[5]``, released before Alembic: this revision
only calls it (and records schema 6 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_6"
down_revision = "schema_5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(5)


def downgrade() -> None:
    refuse_downgrade()
