"""Schema 5: sentences and their classes (MIGRATIONS[4], ``_v4_to_v5``).

The step itself is ``core.store.db.MIGRATIONS[4]``, released before Alembic: this revision
only calls it (and records schema 5 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_5"
down_revision = "schema_4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(4)


def downgrade() -> None:
    refuse_downgrade()
