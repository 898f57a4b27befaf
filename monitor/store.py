"""The store: one row per probe, on SQLite by default and PostgreSQL with the same code.

SQLite runs in WAL mode with a busy timeout so readers (the page) never block the writer
(the runner). Timestamps are stored in UTC and come back timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, Index, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
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
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add(row)
                session.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not store a result: {describe(exc)}") from None
        return row

    def add_results(self, rows: Iterable[ProbeResult]) -> None:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add_all(list(rows))
                session.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not store results: {describe(exc)}") from None

    def latest(self, account: str, check: str, model: str) -> ProbeResult | None:
        with Session(self.engine) as session:
            statement = (
                select(ProbeResult)
                .where(
                    col(ProbeResult.account) == account,
                    col(ProbeResult.check) == check,
                    col(ProbeResult.model) == model,
                )
                .order_by(col(ProbeResult.finished_at).desc(), col(ProbeResult.id).desc())
                .limit(1)
            )
            return session.scalars(statement).first()

    def latest_per_pair(self) -> list[ProbeResult]:
        """The newest result of every (account, check, model)."""
        with Session(self.engine) as session:
            newest = (
                select(func.max(ProbeResult.id).label("id"))
                .group_by(ProbeResult.account, ProbeResult.check, ProbeResult.model)
                .subquery()
            )
            statement = select(ProbeResult).join(newest, col(ProbeResult.id) == newest.c.id)
            return list(session.scalars(statement).all())

    def results(self, limit: int = 1000) -> Sequence[ProbeResult]:
        with Session(self.engine) as session:
            statement = select(ProbeResult).order_by(col(ProbeResult.id).desc()).limit(limit)
            return session.scalars(statement).all()
