"""Schema 3: documents labelled for a kind as a whole (MIGRATIONS[2], ``_v2_to_v3``).

The step itself is ``core.store.db.MIGRATIONS[2]``, released before Alembic: this revision
only calls it (and records schema 3 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_3"
down_revision = "schema_2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(2)


def downgrade() -> None:
    refuse_downgrade()
