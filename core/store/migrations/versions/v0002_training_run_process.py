"""Schema 2: which process runs a training run (MIGRATIONS[1], ``_v1_to_v2``).

The step itself is ``core.store.db.MIGRATIONS[1]``, released before Alembic: this revision
only calls it (and records schema 2 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_2"
down_revision = "schema_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(1)


def downgrade() -> None:
    refuse_downgrade()
