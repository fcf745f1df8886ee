"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade, run_step

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_step(N)  # N: the schema this revision upgrades from (MIGRATIONS[N])


def downgrade() -> None:
    refuse_downgrade()
