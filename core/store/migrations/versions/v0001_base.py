"""Schema 1, the base: the first released schema.

Nothing upgrades to it: a new project is created at the head (``create_all``) and stamped, a
file made before Alembic is stamped at the revision of its ``meta.schema_version``.
"""

from __future__ import annotations

from core.store.migrations import refuse_downgrade

revision = "schema_1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    refuse_downgrade()
