"""Retention: raw results older than `retention_days` are deleted once their hourly and daily
rollups (kept up to date as results arrive) have exact latency percentiles; state changes are
kept for good. The page reads rollups, so it costs the same with a year of history as with a
day."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from monitor.store import ROLLUP_KEYS, ProbeResult, ProbeSlot, Rollup, Store, StoreError, describe

BATCH = 20_000
SLOT_KEEP = timedelta(days=2)


@dataclasses.dataclass
class PruneReport:
    cutoff: datetime
    rolled_up: int = 0
    deleted: int = 0
    kept_state_changes: int = 0
    rollup_rows: int = 0
    slots_deleted: int = 0


def cutoff_for(now: datetime, retention_days: int) -> datetime:
    """Whole UTC days only, so every hourly and daily bucket is finalised in one go."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=retention_days)


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


BucketKey = tuple[str, datetime, str, str, str]


def _finalise(session: Session, buckets: dict[BucketKey, list[float]]) -> int:
    """Counts were added to the rollups as results arrived; only the exact latency
    percentiles need the raw rows, so they are written now, before the rows go."""
    table = Rollup.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(*(table.c[name] == bindparam(f"k_{name}") for name in ROLLUP_KEYS))
        .values(latency_p50_ms=bindparam("p50"), latency_p95_ms=bindparam("p95"))
    )
    rows = []
    for key, latencies in buckets.items():
        latencies.sort()
        rows.append(
            {
                **{f"k_{name}": value for name, value in zip(ROLLUP_KEYS, key, strict=True)},
                "p50": percentile(latencies, 0.5),
                "p95": percentile(latencies, 0.95),
            }
        )
    if rows:
        session.connection().execute(statement, rows)
    buckets.clear()
    return len(rows)


def _rows(session: Session, cutoff: datetime) -> Iterable[Any]:
    columns = (
        ProbeResult.account,
        ProbeResult.check,
        ProbeResult.model,
        ProbeResult.latency_ms,
        ProbeResult.finished_at,
    )
    statement = (
        select(*[col(c) for c in columns])
        .where(col(ProbeResult.finished_at) < cutoff, col(ProbeResult.rolled_up).is_(False))
        .order_by(col(ProbeResult.account), col(ProbeResult.check), col(ProbeResult.model))
        .execution_options(yield_per=BATCH)
    )
    return session.execute(statement)


def _count(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def prune(store: Store, now: datetime, retention_days: int) -> PruneReport:
    report = PruneReport(cutoff=cutoff_for(now, retention_days))
    try:
        with Session(store.engine) as session:
            buckets: dict[BucketKey, list[float]] = {}
            pair: tuple[str, str, str] | None = None
            for account, check, model, latency, finished in _rows(session, report.cutoff):
                if (account, check, model) != pair:
                    report.rollup_rows += _finalise(session, buckets)
                    pair = (account, check, model)
                hour = finished.replace(minute=0, second=0, microsecond=0)
                for key in (
                    ("hour", hour, account, check, model),
                    ("day", hour.replace(hour=0), account, check, model),
                ):
                    found = buckets.setdefault(key, [])
                    if latency is not None:
                        found.append(latency)
                report.rolled_up += 1
            report.rollup_rows += _finalise(session, buckets)
            old = col(ProbeResult.finished_at) < report.cutoff
            report.deleted = _count(
                session.execute(
                    delete(ProbeResult).where(old, col(ProbeResult.state_change).is_(False))
                )
            )
            report.kept_state_changes = _count(
                session.execute(
                    update(ProbeResult)
                    .where(old, col(ProbeResult.rolled_up).is_(False))
                    .values(rolled_up=True)
                )
            )
            report.slots_deleted = _count(
                session.execute(
                    delete(ProbeSlot).where(col(ProbeSlot.claimed_at) < now - SLOT_KEEP)
                )
            )
            session.commit()
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as connection:
                connection.execute(text("PRAGMA incremental_vacuum"))
                connection.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"database: prune failed, nothing was deleted: {describe(exc)}") from None
    return report
