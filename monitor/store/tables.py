"""The tables: one row per probe, and everything kept beside it. Timestamps go in as
aware datetimes and come back aware, in UTC, whatever the backend keeps."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from checks.base import Outcome, Status
from monitor.store.rollups import LATENCY_BOUNDS, rollup_percentile


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ProbeResult(SQLModel, table=True):
    __tablename__ = "probe_results"
    __table_args__ = (
        Index("ix_probe_results_pair_time", "account", "check", "model", "finished_at"),
        Index("ix_probe_results_finished_at", "finished_at"),
        Index("ix_probe_results_changes", "state_change", "account", "finished_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=100)
    check: str = Field(max_length=50)
    model: str = Field(max_length=200)
    status: str = Field(max_length=10)
    reason: str = Field(max_length=50)
    summary: str
    http_status: int | None = None
    request_id: str | None = Field(default=None, max_length=200)
    latency_ms: float | None = None
    cost_usd: float | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    state_change: bool = False
    """True when the status differs from the pair's previous result: kept past retention."""
    rolled_up: bool = False
    """True once counted in the rollups (set on the state changes kept past retention)."""

    @property
    def outcome(self) -> Outcome:
        return Outcome(
            status=Status(self.status),
            reason=self.reason,
            summary=self.summary,
            details=dict(self.details or {}),
            http_status=self.http_status,
            request_id=self.request_id,
            latency_ms=self.latency_ms,
            cost_usd=self.cost_usd,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "check": self.check,
            "model": self.model,
            "status": self.status,
            "reason": self.reason,
            "summary": self.summary,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "latency_ms": self.latency_ms,
            "cost_usd": self.cost_usd,
            "details": self.details,
            "finished_at": self.finished_at.isoformat(),
        }


class LatestResult(SQLModel, table=True):
    """The newest result of each (account, check, model), kept on every insert, so that the
    page and the runner read 100 rows instead of scanning a million."""

    __tablename__ = "latest_results"

    account: str = Field(primary_key=True, max_length=100)
    check: str = Field(primary_key=True, max_length=50)
    model: str = Field(primary_key=True, max_length=200)
    result_id: int
    status: str = Field(max_length=10)
    reason: str = Field(max_length=50)
    finished_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DailySpend(SQLModel, table=True):
    """USD spent by paid probes per account per UTC day: the probe budget's ledger."""

    __tablename__ = "daily_spend"

    account: str = Field(primary_key=True, max_length=100)
    day: date = Field(primary_key=True)
    usd: float = 0.0
    paid_probes: int = 0
    skipped_probes: int = 0


class ProbeSlot(SQLModel, table=True):
    """A claim on one window of a probe (`cadence.claim_slot`): the unique row is the lock,
    so a probe runs once a window however many instances share the database."""

    __tablename__ = "probe_slots"
    __table_args__ = (Index("ix_probe_slots_claimed_at", "claimed_at"),)

    account: str = Field(primary_key=True, max_length=100)
    check: str = Field(primary_key=True, max_length=50)
    model: str = Field(primary_key=True, max_length=200)
    slot: str = Field(primary_key=True, max_length=40)
    instance: str = Field(max_length=100)
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Rollup(SQLModel, table=True):
    """Hourly and daily counts per status, latency and cost of one pair, kept up to date as
    results arrive, so the page never reads raw rows."""

    __tablename__ = "rollups"
    __table_args__ = (Index("ix_rollups_account", "account", "period", "bucket"),)

    period: str = Field(primary_key=True, max_length=5)  # "hour" | "day"
    bucket: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    account: str = Field(primary_key=True, max_length=100)
    check: str = Field(primary_key=True, max_length=50)
    model: str = Field(primary_key=True, max_length=200)
    total: int = 0
    passed: int = 0
    warned: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    latency_p50_ms: float | None = None
    """Exact, once prune has seen the bucket's raw rows; else None (use `percentile`)."""
    latency_p95_ms: float | None = None
    cost_usd: float = 0.0
    latency_count: int = 0
    h0: int = 0
    h1: int = 0
    h2: int = 0
    h3: int = 0
    h4: int = 0
    h5: int = 0
    h6: int = 0
    h7: int = 0
    h8: int = 0
    h9: int = 0
    h10: int = 0
    h11: int = 0

    def histogram(self) -> list[int]:
        return [getattr(self, f"h{i}") for i in range(len(LATENCY_BOUNDS) + 1)]

    def percentile(self, share: float) -> float | None:
        return rollup_percentile(self, share)


class Heartbeat(SQLModel, table=True):
    """The daemon's own liveness, so a stale monitor can be seen."""

    __tablename__ = "heartbeats"

    instance: str = Field(primary_key=True, max_length=100)
    host: str = Field(max_length=200)
    pid: int
    version: str = Field(max_length=40)
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    beat_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_result_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    """When this instance last stored a result: running but not probing shows here."""
    stopped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    """When the instance stopped (a `run --once` round at once): not running any more."""


class AlertState(SQLModel, table=True):
    """Per (account, check, model): the run of failures or passes, and the open incident."""

    __tablename__ = "alert_states"

    account: str = Field(primary_key=True, max_length=100)
    check: str = Field(primary_key=True, max_length=50)
    model: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    successes: int = 0
    incident_id: int | None = None
    last_result_id: int | None = None


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_account_state", "account", "state", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=100)
    check: str = Field(max_length=50)
    model: str = Field(max_length=200)
    reason: str = Field(max_length=50)
    summary: str
    request_id: str | None = Field(default=None, max_length=200)
    http_status: int | None = None
    state: str = Field(default="open", max_length=10)  # open | resolved
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_notified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    silenced: str | None = None
    """Why its messages were not sent: a silence, a maintenance window, an account-level
    incident that mutes it, or a provider-wide message that covers it."""
    resolution: str | None = None
    resolution_request_id: str | None = Field(default=None, max_length=200)


def new_message_id() -> str:
    return str(uuid.uuid4())


class OutboxMessage(SQLModel, table=True):
    """Every alert message is written here first, then delivered: a crash or a failing
    channel loses nothing, and an atomic claim sends it once however many daemons run."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index("ix_alert_outbox_due", "state", "next_attempt_at"),
        Index("ux_alert_outbox_dedupe", "channel", "dedupe_key", unique=True),
        Index("ux_alert_outbox_message_id", "message_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(default_factory=new_message_id, max_length=36)
    """Given when the row is written and never changed: a message sent twice (its sender
    died mid-send) carries the same id, for receivers to de-duplicate on."""
    channel: str = Field(max_length=100)
    kind: str = Field(max_length=20)  # opened | reminder | resolved | provider_wide | test
    incident_id: int | None = None
    dedupe_key: str = Field(max_length=200)
    title: str
    body: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=12)  # pending|sending|sent|failed|suppressed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = None


class Silence(SQLModel, table=True):
    __tablename__ = "silences"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=100)
    check: str | None = Field(default=None, max_length=50)
    reason: str
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    until: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LaunchReport(SQLModel, table=True):
    """One account's go/no-go for a launch profile, as `imagewatch readiness` printed it."""

    __tablename__ = "launch_reports"
    __table_args__ = (Index("ix_launch_reports_account", "account", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=200)
    account: str = Field(max_length=100)
    verdict: str = Field(max_length=20)
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
