"""Schema 7: attributes of entities (MIGRATIONS[6], ``_v6_to_v7``).

The step itself is ``core.store.db.MIGRATIONS[6]``: this revision only calls it (and records
schema 7 in ``meta``).
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = "schema_7"
down_revision = "schema_6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(6)


def downgrade() -> None:
    refuse_downgrade()
