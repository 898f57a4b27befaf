"""Each outbox message gets a stable id (the webhook's `id` and `Idempotency-Key`), and each
heartbeat says when its instance last stored a result.

Messages already in the outbox get their id here, once, so a message written by 0.1 and
sent after the upgrade carries an id like any other.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "heartbeats", sa.Column("last_result_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("alert_outbox", sa.Column("message_id", sa.String(36), nullable=True))
    outbox = sa.table("alert_outbox", sa.column("id", sa.Integer), sa.column("message_id"))
    connection = op.get_bind()
    ids = connection.execute(sa.select(outbox.c.id)).scalars().all()
    if ids:
        connection.execute(
            outbox.update()
            .where(outbox.c.id == sa.bindparam("row"))
            .values(message_id=sa.bindparam("new")),
            [{"row": row, "new": str(uuid.uuid4())} for row in ids],
        )
    # SQLite cannot make a column NOT NULL in place: batch mode copies the table (rows kept).
    with op.batch_alter_table("alert_outbox") as batch:
        batch.alter_column("message_id", existing_type=sa.String(36), nullable=False)
        batch.create_index("ux_alert_outbox_message_id", ["message_id"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("imagewatch migrates forward only; restore a backup instead")
