"""What a publish reads of every account, in one query per kind (day rollups, state
changes, incidents, launch reports, today's spend) rather than one per account: a site of a
thousand accounts made five thousand queries, and their per-row ORM work was most of its
time."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
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
    of them for a large site; a tuple's attribute costs a fraction of an ORM or SQLAlchemy
    row's, and it holds only the counts: the latency is read where it is charted)."""

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


class DayLatency(NamedTuple):
    """`DayCounts` with the day's latency, for the checks whose latency is charted."""

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
    day_rollups: dict[str, list[DayCounts | DayLatency]]
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


COUNT_FIELDS = DayCounts._fields[1:]
LATENCY_FIELDS = DayLatency._fields[len(DayCounts._fields) :]


def day_rollups(
    store: Store,
    since: date,
    latency_checks: Collection[str],
    names: Collection[str] | None = None,
) -> dict[str, list[DayCounts | DayLatency]]:
    """Every account's day rollups from `since` on, oldest first. Only the rows of
    `latency_checks` carry their latency (`DayLatency`): the histogram is half of a row's
    columns, and fetching and keeping it for every check cost a second and 50 MB in a
    thousand-account publish. The bucket is read untyped and converted once per distinct
    value: a window has ninety of them, and a typed column converts every row. With
    `names`, only those accounts' rollups."""
    table = Rollup.__table__  # type: ignore[attr-defined]
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    raw_bucket = type_coerce(table.c.bucket, NullType())
    window = (
        table.c.period == "day",
        table.c.bucket >= start,
        *of_accounts(table.c.account, names),
    )
    counts = (
        select(table.c.account, raw_bucket, *(table.c[name] for name in COUNT_FIELDS))
        .where(*window)
        # by bucket alone, the unique index's order: by account as well made SQLite sort
        # the whole window (0.3 s of 1.3 s at a thousand accounts); each account's list is
        # oldest first all the same
        .order_by(table.c.bucket)
    )
    latencies = select(
        table.c.account,
        raw_bucket,
        table.c.check,
        table.c.model,
        *(table.c[name] for name in LATENCY_FIELDS),
    ).where(*window, table.c.check.in_(list(latency_checks)))
    with Session(store.engine) as session:
        # The driver's own tuples, fetched at once: every column is untyped or plain (no
        # result processing to skip), and SQLAlchemy's rows, or a fetch row by row, cost
        # more than the fetch itself.
        latency = {
            row[:4]: row[4:]
            for row in session.execute(latencies).cursor.fetchall()  # type: ignore[attr-defined]
        }
        rows = session.execute(counts).cursor.fetchall()  # type: ignore[attr-defined]
    # Plain indexing and tuple slices: this loop meets every row of the window.
    buckets: dict[Any, datetime] = {}
    out: dict[str, list[DayCounts | DayLatency]] = {}
    new = tuple.__new__
    wanted = set(latency_checks)
    for row in rows:
        raw = row[1]
        bucket = buckets.get(raw)
        if bucket is None:
            bucket = buckets[raw] = as_utc_bucket(raw)
        kept = latency.get(row[:4]) if row[2] in wanted else None
        account = row[0]
        rollups = out.get(account)
        if rollups is None:
            rollups = out[account] = []
        if kept is None:
            rollups.append(new(DayCounts, (bucket, *row[2:])))
        else:
            rollups.append(new(DayLatency, (bucket, *row[2:], *kept)))
    return out


def of_accounts(column: Any, names: Collection[str] | None) -> tuple[Any, ...]:
    """The condition keeping `names`' rows (none: every account's)."""
    return () if names is None else (column.in_(sorted(names)),)


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
    store: Store,
    since: date,
    today: date,
    changes_per_account: int,
    incidents_per_account: int,
    latency_checks: Collection[str],
    names: Collection[str] | None = None,
) -> AccountReads:
    """Every account's page data (or only `names`'), in six queries whatever the number of
    accounts (see `day_rollups` for `latency_checks`)."""
    with Session(store.engine) as session:
        spend = {
            row.account: row.usd
            for row in session.scalars(
                select(DailySpend).where(
                    col(DailySpend.day) == today, *of_accounts(col(DailySpend.account), names)
                )
            )
        }
    return AccountReads(
        spend_today=spend,
        day_rollups=day_rollups(store, since, latency_checks, names),
        changes=newest_per_account(
            store,
            ProbeResult,
            (col(ProbeResult.finished_at).desc(), col(ProbeResult.id).desc()),
            changes_per_account,
            col(ProbeResult.state_change).is_(True),
            *of_accounts(col(ProbeResult.account), names),
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
            *of_accounts(col(Incident.account), names),
        ),
        launch={
            account: rows[0]
            for account, rows in newest_per_account(
                store,
                LaunchReport,
                (col(LaunchReport.created_at).desc(), col(LaunchReport.id).desc()),
                1,
                *of_accounts(col(LaunchReport.account), names),
            ).items()
        },
    )
