"""Schema 4: the time each decision took (MIGRATIONS[3], ``_v3_to_v4``).

The step itself is ``core.store.db.MIGRATIONS[3]``, released before Alembic: this revision
only calls it (and records schema 4 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_4"
down_revision = "schema_3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(3)


def downgrade() -> None:
    refuse_downgrade()
