"""Schema 11: ids of labels, questions and suggestions are never handed out again, so an
undo can put a deleted row back under its id (MIGRATIONS[10], ``_v10_to_v11``).

The step itself is ``core.store.db.MIGRATIONS[10]``: this revision only calls it (and records
schema 11 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_11"
down_revision = "schema_10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(10)


def downgrade() -> None:
    refuse_downgrade()
