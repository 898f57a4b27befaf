"""The schema of imagewatch 0.1, as its `SQLModel.metadata.create_all` made it.

A database made by that release has these tables and no `alembic_version`: the store
recognises it (same tables, same columns) and records it as this revision before upgrading.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _moment(name: str, *, nullable: bool = False) -> sa.Column[object]:
    # Aware UTC on PostgreSQL; SQLite keeps naive UTC (monitor.store.tables.UTCDateTime).
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _pair() -> list[sa.Column[str]]:
    """(account, check, model): what a probe is about."""
    return [_text("account", 100), _text("check", 50), _text("model", 200)]


def upgrade() -> None:
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("channel", 100),
        _text("kind", 20),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        _text("dedupe_key", 200),
        _text("title"),
        _text("body"),
        sa.Column("payload", sa.JSON(), nullable=False),
        _text("state", 12),
        _count("attempts"),
        _moment("next_attempt_at"),
        _moment("created_at"),
        _text("claimed_by", 100, nullable=True),
        _moment("claimed_at", nullable=True),
        _moment("sent_at", nullable=True),
        _text("last_error", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_outbox_due", "alert_outbox", ["state", "next_attempt_at"])
    op.create_index(
        "ux_alert_outbox_dedupe", "alert_outbox", ["channel", "dedupe_key"], unique=True
    )
    op.create_table(
        "alert_states",
        *_pair(),
        _count("failures"),
        _count("successes"),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("last_result_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("account", "check", "model"),
    )
    op.create_table(
        "daily_spend",
        _text("account", 100),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        _count("paid_probes"),
        _count("skipped_probes"),
        sa.PrimaryKeyConstraint("account", "day"),
    )
    op.create_table(
        "heartbeats",
        _text("instance", 100),
        _text("host", 200),
        _count("pid"),
        _text("version", 40),
        _moment("started_at"),
        _moment("beat_at"),
        sa.PrimaryKeyConstraint("instance"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        *_pair(),
        _text("reason", 50),
        _text("summary"),
        _text("request_id", 200, nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        _text("state", 10),
        _moment("opened_at"),
        _moment("updated_at"),
        _moment("resolved_at", nullable=True),
        _moment("last_notified_at", nullable=True),
        _text("silenced", nullable=True),
        _text("resolution", nullable=True),
        _text("resolution_request_id", 200, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_account_state", "incidents", ["account", "state", "opened_at"])
    op.create_table(
        "latest_results",
        *_pair(),
        _count("result_id"),
        _text("status", 10),
        _text("reason", 50),
        _moment("finished_at"),
        sa.PrimaryKeyConstraint("account", "check", "model"),
    )
    op.create_table(
        "launch_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("profile", 200),
        _text("account", 100),
        _text("verdict", 20),
        sa.Column("report", sa.JSON(), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_launch_reports_account", "launch_reports", ["account", "created_at"])
    op.create_table(
        "probe_results",
        sa.Column("id", sa.Integer(), nullable=False),
        *_pair(),
        _text("status", 10),
        _text("reason", 50),
        _text("summary"),
        sa.Column("http_status", sa.Integer(), nullable=True),
        _text("request_id", 200, nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _moment("started_at"),
        _moment("finished_at"),
        sa.Column("state_change", sa.Boolean(), nullable=False),
        sa.Column("rolled_up", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_probe_results_changes", "probe_results", ["state_change", "account", "finished_at"]
    )
    op.create_index(
        "ix_probe_results_pair_time", "probe_results", ["account", "check", "model", "finished_at"]
    )
    op.create_index("ix_probe_results_finished_at", "probe_results", ["finished_at"])
    op.create_table(
        "probe_slots",
        *_pair(),
        _text("slot", 40),
        _text("instance", 100),
        _moment("claimed_at"),
        sa.PrimaryKeyConstraint("account", "check", "model", "slot"),
    )
    op.create_index("ix_probe_slots_claimed_at", "probe_slots", ["claimed_at"])
    op.create_table(
        "rollups",
        _text("period", 5),
        _moment("bucket"),
        *_pair(),
        *(_count(name) for name in ("total", "passed", "warned", "failed", "unknown", "skipped")),
        sa.Column("latency_p50_ms", sa.Float(), nullable=True),
        sa.Column("latency_p95_ms", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        _count("latency_count"),
        *(_count(f"h{index}") for index in range(12)),
        sa.PrimaryKeyConstraint("period", "bucket", "account", "check", "model"),
    )
    op.create_index("ix_rollups_account", "rollups", ["account", "period", "bucket"])
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("account", 100),
        _text("check", 50, nullable=True),
        _text("reason"),
        _moment("created_at"),
        _moment("until"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    raise NotImplementedError("imagewatch migrates forward only; restore a backup instead")
