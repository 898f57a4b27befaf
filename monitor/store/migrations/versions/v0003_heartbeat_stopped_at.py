"""Each heartbeat says when its instance stopped: a `run --once` round stops as soon as it
has beaten, and a daemon says so when it shuts down, so neither is counted as running.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("heartbeats", sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("imagewatch migrates forward only; restore a backup instead")
