"""Schema 8: annotators' layers of double-annotated documents and assignments
(MIGRATIONS[7], ``_v7_to_v8``).

The step itself is ``core.store.db.MIGRATIONS[7]``: this revision only calls it (and records
schema 8 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_8"
down_revision = "schema_7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(7)


def downgrade() -> None:
    refuse_downgrade()
