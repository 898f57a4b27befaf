"""What a publish reads of every account, in one query per kind (day rollups, state
changes, incidents, launch reports, today's spend) rather than one per account: a site of a
thousand accounts made five thousand queries, and their per-row ORM work was most of its
time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import func, select, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session, col

from monitor.store.store import Store
from monitor.store.tables import DailySpend, Incident, LaunchReport, ProbeResult, Rollup

Row = TypeVar("Row", ProbeResult, Incident, LaunchReport)


class DayCounts(NamedTuple):
    """One pair's day rollup as the page reads it: a plain tuple (hundreds of thousands
    of them for a large site; attribute access on a tuple costs a fraction of an ORM or
    SQLAlchemy row's)."""

    bucket: datetime
    check: str
    model: str
    total: int
    passed: int
    warned: int
    failed: int
    unknown: int
    skipped: int
    cost_usd: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    h0: int
    h1: int
    h2: int
    h3: int
    h4: int
    h5: int
    h6: int
    h7: int
    h8: int
    h9: int
    h10: int
    h11: int


@dataclasses.dataclass(frozen=True)
class AccountReads:
    """Each account's rows, by account name (an account absent from a mapping has none)."""

    spend_today: dict[str, float]
    day_rollups: dict[str, list[DayCounts]]
    """Oldest first."""
    changes: dict[str, list[ProbeResult]]
    """Newest first, at most `changes_per_account` each."""
    incidents: dict[str, list[Incident]]
    """Open first, then the most recently opened, at most `incidents_per_account` each."""
    launch: dict[str, LaunchReport]
    """The newest launch report."""


def as_utc_bucket(raw: Any) -> datetime:
    """A bucket as the driver returned it, untyped (SQLite: ISO text; PostgreSQL: an aware
    datetime), as an aware UTC datetime."""
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_rollups(store: Store, since: date) -> dict[str, list[DayCounts]]:
    """Every account's day rollups from `since` on, oldest first. The bucket is read
    untyped and converted once per distinct value: a window has ninety of them, and the
    typed column's per-row conversion was a second of a thousand-account publish."""
    table = Rollup.__table__  # type: ignore[attr-defined]
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    fields = [table.c[name] for name in DayCounts._fields[1:]]
    statement = (
        select(table.c.account, type_coerce(table.c.bucket, NullType()), *fields)
        .where(table.c.period == "day", table.c.bucket >= start)
        .order_by(table.c.account, table.c.bucket)
    )
    buckets: dict[Any, datetime] = {}
    out: dict[str, list[DayCounts]] = {}
    make = DayCounts._make
    with Session(store.engine) as session:
        rows = session.execute(statement).all()  # one fetch: row by row costs twice as much
    for account, raw, *rest in rows:
        bucket = buckets.get(raw)
        if bucket is None:
            bucket = buckets[raw] = as_utc_bucket(raw)
        out.setdefault(account, []).append(make((bucket, *rest)))
    return out


def newest_per_account(
    store: Store, entity: type[Row], order: Sequence[Any], limit: int, *where: Any
) -> dict[str, list[Row]]:
    """The first `limit` rows of each account in `order`, in one query (a window ranks
    each account's rows)."""
    key = col(entity.id)
    ranked = (
        select(
            key.label("row_id"),
            func.row_number().over(partition_by=col(entity.account), order_by=order).label("rank"),
        )
        .where(*where)
        .subquery()
    )
    statement = (
        select(entity)
        .join(ranked, ranked.c.row_id == key)
        .where(ranked.c.rank <= limit)
        .order_by(col(entity.account), ranked.c.rank)
    )
    out: dict[str, list[Row]] = {}
    with Session(store.engine) as session:
        for row in session.scalars(statement):
            out.setdefault(row.account, []).append(row)
    return out


def read_accounts(
    store: Store, since: date, today: date, changes_per_account: int, incidents_per_account: int
) -> AccountReads:
    """Every account's page data, in five queries whatever the number of accounts."""
    with Session(store.engine) as session:
        spend = {
            row.account: row.usd
            for row in session.scalars(select(DailySpend).where(col(DailySpend.day) == today))
        }
    return AccountReads(
        spend_today=spend,
        day_rollups=day_rollups(store, since),
        changes=newest_per_account(
            store,
            ProbeResult,
            (col(ProbeResult.finished_at).desc(), col(ProbeResult.id).desc()),
            changes_per_account,
            col(ProbeResult.state_change).is_(True),
        ),
        incidents=newest_per_account(
            store,
            Incident,
            (
                (col(Incident.state) == "open").desc(),
                col(Incident.opened_at).desc(),
                col(Incident.id).desc(),
            ),
            incidents_per_account,
        ),
        launch={
            account: rows[0]
            for account, rows in newest_per_account(
                store,
                LaunchReport,
                (col(LaunchReport.created_at).desc(), col(LaunchReport.id).desc()),
                1,
            ).items()
        },
    )
