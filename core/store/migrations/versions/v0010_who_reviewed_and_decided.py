"""Schema 10: who set a document's review status and who decided a suggestion
(MIGRATIONS[9], ``_v9_to_v10``).

The step itself is ``core.store.db.MIGRATIONS[9]``: this revision only calls it (and records
schema 10 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_10"
down_revision = "schema_9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(9)


def downgrade() -> None:
    refuse_downgrade()
