"""The store: one row per probe, on SQLite by default and PostgreSQL with the same code.

SQLite runs in WAL mode with a busy timeout so readers (the page) never block the writer
(the runner). Timestamps are stored in UTC and come back timezone-aware.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, Index, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, col, create_engine

from checks.base import Outcome, Status

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """A database problem a user can act on, as one line."""


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
    """A claim on one scheduled run of a probe: the unique row is the lock, so a probe
    runs once however many instances share the database."""

    __tablename__ = "probe_slots"
    __table_args__ = (Index("ix_probe_slots_claimed_at", "claimed_at"),)

    account: str = Field(primary_key=True, max_length=100)
    check: str = Field(primary_key=True, max_length=50)
    model: str = Field(primary_key=True, max_length=200)
    slot: str = Field(primary_key=True, max_length=40)
    instance: str = Field(max_length=100)
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


# Latency histogram bucket bounds (ms): a rollup keeps counts per bucket so percentiles of
# days not yet pruned come from the rollup alone; prune replaces them with exact ones.
LATENCY_BOUNDS = (100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400)
STATUS_COLUMN = {
    "pass": "passed",
    "warn": "warned",
    "fail": "failed",
    "unknown": "unknown",
    "skipped": "skipped",
}
COUNTERS = (
    "total",
    "passed",
    "warned",
    "failed",
    "unknown",
    "skipped",
    "cost_usd",
    "latency_count",
    *(f"h{i}" for i in range(len(LATENCY_BOUNDS) + 1)),
)


def latency_bucket(latency_ms: float) -> int:
    return next(
        (i for i, bound in enumerate(LATENCY_BOUNDS) if latency_ms <= bound), len(LATENCY_BOUNDS)
    )


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


def rollup_percentile(rollup: Any, share: float) -> float | None:
    """p50/p95 of a rollup (an ORM row or a plain result row): exact after prune; before,
    interpolated within the latency histogram bucket."""
    exact = {0.5: rollup.latency_p50_ms, 0.95: rollup.latency_p95_ms}.get(share)
    if exact is not None:
        return float(exact)
    counts = [int(getattr(rollup, f"h{i}")) for i in range(len(LATENCY_BOUNDS) + 1)]
    total = sum(counts)
    if not total:
        return None
    rank, seen = share * total, 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = 0 if index == 0 else LATENCY_BOUNDS[index - 1]
            high = LATENCY_BOUNDS[index] if index < len(LATENCY_BOUNDS) else low * 2
            return round(low + (high - low) * (rank - seen) / count, 1)
        seen += count
    return float(LATENCY_BOUNDS[-1])


def rollup_increments(row: ProbeResult) -> list[dict[str, Any]]:
    """The hour and day rollup rows one result adds to."""
    finished = row.finished_at.astimezone(UTC)
    hour = finished.replace(minute=0, second=0, microsecond=0)
    values: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    values["total"] = 1
    values[STATUS_COLUMN.get(row.status, "unknown")] = 1
    values["cost_usd"] = row.cost_usd or 0.0
    if row.latency_ms is not None:
        values["latency_count"] = 1
        values[f"h{latency_bucket(row.latency_ms)}"] = 1
    keys = {"account": row.account, "check": row.check, "model": row.model}
    return [
        {"period": "hour", "bucket": hour, **keys, **values},
        {"period": "day", "bucket": hour.replace(hour=0), **keys, **values},
    ]


def add_to_rollups(new: Any) -> dict[str, Any]:
    return {name: getattr(Rollup, name) + new[name] for name in COUNTERS}


ROLLUP_KEYS = ["period", "bucket", "account", "check", "model"]


class Heartbeat(SQLModel, table=True):
    """The daemon's own liveness, so a stale monitor can be seen."""

    __tablename__ = "heartbeats"

    instance: str = Field(primary_key=True, max_length=100)
    host: str = Field(max_length=200)
    pid: int
    version: str = Field(max_length=40)
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    beat_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


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


class OutboxMessage(SQLModel, table=True):
    """Every alert message is written here first, then delivered: a crash or a failing
    channel loses nothing, and an atomic claim sends it once however many daemons run."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index("ix_alert_outbox_due", "state", "next_attempt_at"),
        Index("ux_alert_outbox_dedupe", "channel", "dedupe_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
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


@functools.lru_cache(maxsize=64)
def _upsert_statement(
    table: type[SQLModel],
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    update: Callable[[Any], dict[str, Any]] | None,
    only_if_newer: str | None,
    dialect: str,
) -> Any:
    """Built once per shape: constructing an upsert costs more than running it."""
    target = table.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(target)
    excluded = statement.excluded
    changes = (
        update(excluded)
        if update is not None
        else {name: excluded[name] for name in columns if name not in keys}
    )
    where = None if only_if_newer is None else target.c[only_if_newer] <= excluded[only_if_newer]
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changes, where=where)


def upsert(
    session: Session,
    table: type[SQLModel],
    rows: list[dict[str, Any]],
    keys: list[str],
    update: Callable[[Any], dict[str, Any]] | None = None,
    only_if_newer: str | None = None,
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE for many rows in one executemany, on SQLite and
    PostgreSQL alike. `update` gets the `excluded` (incoming) row and returns the columns to
    set; without it every other column takes the incoming value. `only_if_newer` names a
    column that must not go back in time. Pass module-level functions as `update`: the
    statement is cached per shape."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = _upsert_statement(
        table, tuple(rows[0]), tuple(keys), update, only_if_newer, dialect
    )
    session.connection().execute(statement, rows)


def add_spend(new: Any) -> dict[str, Any]:
    return {
        "usd": DailySpend.usd + new.usd,
        "paid_probes": DailySpend.paid_probes + new.paid_probes,
        "skipped_probes": DailySpend.skipped_probes + new.skipped_probes,
    }


def beat_again(new: Any) -> dict[str, Any]:
    return {"beat_at": new.beat_at, "pid": new.pid}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Only takes effect on a new, empty database: lets prune give pages back to the disk.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StoreError(f"database_url: cannot parse {database_url!r}") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            folder = Path(url.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"database_url: cannot create {folder} ({exc.strerror or exc})"
                ) from None
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"database_url: {exc}") from None


def describe(exc: BaseException) -> str:
    """One line for a database error: the driver's own words, no SQL, no traceback."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, database_url: str) -> Store:
        store = cls(make_engine(database_url))
        store.create_schema()
        return store

    def create_schema(self) -> None:
        try:
            SQLModel.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"database: {describe(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()

    def add_result(self, row: ProbeResult) -> ProbeResult:
        self.add_results([row])
        return row

    def add_results(self, rows: Iterable[ProbeResult]) -> None:
        """Store results with their side tables (latest per pair, spend ledger) in one
        transaction: all of it lands or none of it does."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                for row in rows:
                    self._insert(session, row)
                session.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not store results: {describe(exc)}") from None

    def _insert(self, session: Session, row: ProbeResult) -> None:
        previous = session.get(LatestResult, (row.account, row.check, row.model))
        row.state_change = previous is None or previous.status != row.status
        session.add(row)
        session.flush()
        assert row.id is not None
        upsert(
            session,
            LatestResult,
            [
                {
                    "account": row.account,
                    "check": row.check,
                    "model": row.model,
                    "result_id": row.id,
                    "status": row.status,
                    "reason": row.reason,
                    "finished_at": row.finished_at,
                }
            ],
            ["account", "check", "model"],
            only_if_newer="finished_at",
        )
        if previous is not None:
            session.expire(previous)  # the upsert went around the ORM
        upsert(session, Rollup, rollup_increments(row), ROLLUP_KEYS, add_to_rollups)
        paid = bool(row.cost_usd)
        skipped = row.reason == "budget_exhausted"
        if paid or skipped:
            day = row.finished_at.astimezone(UTC).date()
            upsert(
                session,
                DailySpend,
                [
                    {
                        "account": row.account,
                        "day": day,
                        "usd": row.cost_usd or 0.0,
                        "paid_probes": int(paid),
                        "skipped_probes": int(skipped),
                    }
                ],
                ["account", "day"],
                add_spend,
            )

    def latest(self, account: str, check: str, model: str) -> ProbeResult | None:
        with Session(self.engine) as session:
            pointer = session.get(LatestResult, (account, check, model))
            return None if pointer is None else session.get(ProbeResult, pointer.result_id)

    def latest_per_pair(self) -> list[ProbeResult]:
        """The newest result of every (account, check, model)."""
        with Session(self.engine) as session:
            statement = select(ProbeResult).join(
                LatestResult, col(LatestResult.result_id) == col(ProbeResult.id)
            )
            return list(session.scalars(statement).all())

    def spend(self, account: str, day: date) -> float:
        with Session(self.engine) as session:
            row = session.get(DailySpend, (account, day))
            return row.usd if row else 0.0

    def spend_ledger(self, since: date | None = None) -> list[DailySpend]:
        with Session(self.engine) as session:
            statement = select(DailySpend).order_by(col(DailySpend.day), col(DailySpend.account))
            if since is not None:
                statement = statement.where(col(DailySpend.day) >= since)
            return list(session.scalars(statement).all())

    def claim(
        self, account: str, check: str, model: str, slot: str, instance: str, now: datetime
    ) -> bool:
        """True when this instance won the slot; False when another already holds it."""
        try:
            with Session(self.engine) as session:
                session.add(
                    ProbeSlot(
                        account=account,
                        check=check,
                        model=model,
                        slot=slot,
                        instance=instance,
                        claimed_at=now,
                    )
                )
                session.commit()
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not claim a probe slot: {describe(exc)}") from None
        return True

    def beat(
        self, instance: str, host: str, pid: int, version: str, started_at: datetime, now: datetime
    ) -> None:
        try:
            with Session(self.engine) as session:
                upsert(
                    session,
                    Heartbeat,
                    [
                        {
                            "instance": instance,
                            "host": host,
                            "pid": pid,
                            "version": version,
                            "started_at": started_at,
                            "beat_at": now,
                        }
                    ],
                    ["instance"],
                    beat_again,
                )
                session.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not record the heartbeat: {describe(exc)}") from None

    def rollups_for(self, account: str, since: date, period: str = "day") -> list[Any]:
        """Plain rows (not ORM objects: the page reads tens of thousands of them)."""
        with Session(self.engine) as session:
            start = datetime(since.year, since.month, since.day, tzinfo=UTC)
            statement = (
                select(Rollup.__table__)  # type: ignore[attr-defined]
                .where(
                    col(Rollup.period) == period,
                    col(Rollup.account) == account,
                    col(Rollup.bucket) >= start,
                )
                .order_by(col(Rollup.bucket))
            )
            return list(session.execute(statement).all())

    def state_changes(self, account: str | None, limit: int) -> list[ProbeResult]:
        """The newest results whose status differed from the one before, newest first."""
        with Session(self.engine) as session:
            statement = select(ProbeResult).where(col(ProbeResult.state_change).is_(True))
            if account is not None:
                statement = statement.where(col(ProbeResult.account) == account)
            statement = statement.order_by(
                col(ProbeResult.finished_at).desc(), col(ProbeResult.id).desc()
            ).limit(limit)
            return list(session.scalars(statement).all())

    def incidents(self, account: str | None, limit: int) -> list[Incident]:
        """Open incidents first, then the most recently opened ones."""
        with Session(self.engine) as session:
            statement = select(Incident)
            if account is not None:
                statement = statement.where(col(Incident.account) == account)
            statement = statement.order_by(
                (col(Incident.state) == "open").desc(),
                col(Incident.opened_at).desc(),
                col(Incident.id).desc(),
            ).limit(limit)
            return list(session.scalars(statement).all())

    def add_launch_reports(self, rows: Iterable[LaunchReport]) -> None:
        try:
            with Session(self.engine) as session:
                session.add_all(list(rows))
                session.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not store the report: {describe(exc)}") from None

    def latest_launch_report(self, account: str) -> LaunchReport | None:
        with Session(self.engine) as session:
            statement = (
                select(LaunchReport)
                .where(col(LaunchReport.account) == account)
                .order_by(col(LaunchReport.created_at).desc(), col(LaunchReport.id).desc())
                .limit(1)
            )
            return session.scalars(statement).first()

    def heartbeats(self) -> list[Heartbeat]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Heartbeat).order_by(col(Heartbeat.beat_at).desc())))

    def rollups(self, period: str) -> list[Rollup]:
        with Session(self.engine) as session:
            statement = (
                select(Rollup)
                .where(col(Rollup.period) == period)
                .order_by(
                    col(Rollup.bucket), col(Rollup.account), col(Rollup.check), col(Rollup.model)
                )
            )
            return list(session.scalars(statement).all())

    def results(self, limit: int = 1000) -> Sequence[ProbeResult]:
        with Session(self.engine) as session:
            statement = select(ProbeResult).order_by(col(ProbeResult.id).desc()).limit(limit)
            return session.scalars(statement).all()
