"""Schema 9: relations between entities (MIGRATIONS[8], ``_v8_to_v9``).

The step itself is ``core.store.db.MIGRATIONS[8]``: this revision only calls it (and records
schema 9 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_9"
down_revision = "schema_8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(8)


def downgrade() -> None:
    refuse_downgrade()
