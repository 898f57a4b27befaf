"""Retention: raw results older than `retention_days` roll up into hourly and daily rows and
are deleted; state changes are kept for good. The page reads rollups, so it costs the same
with a year of history as with a day."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from monitor.store import ProbeResult, ProbeSlot, Rollup, Store, StoreError, describe, upsert

BATCH = 20_000
SLOT_KEEP = timedelta(days=2)
STATUS_COLUMN = {
    "pass": "passed",
    "warn": "warned",
    "fail": "failed",
    "unknown": "unknown",
    "skipped": "skipped",
}


@dataclasses.dataclass
class PruneReport:
    cutoff: datetime
    rolled_up: int = 0
    deleted: int = 0
    kept_state_changes: int = 0
    rollup_rows: int = 0
    slots_deleted: int = 0


def cutoff_for(now: datetime, retention_days: int) -> datetime:
    """Whole UTC days only, so every hourly and daily bucket is rolled up in one go."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=retention_days)


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclasses.dataclass
class Bucket:
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    latencies: list[float] = dataclasses.field(default_factory=list)
    cost: float = 0.0

    def add(self, status: str, latency: float | None, cost: float | None) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if latency is not None:
            self.latencies.append(latency)
        self.cost += cost or 0.0

    def values(self) -> dict[str, Any]:
        self.latencies.sort()
        out: dict[str, Any] = {
            column: self.counts.get(status, 0) for status, column in STATUS_COLUMN.items()
        }
        out["total"] = sum(self.counts.values())
        out["latency_p50_ms"] = percentile(self.latencies, 0.5)
        out["latency_p95_ms"] = percentile(self.latencies, 0.95)
        out["cost_usd"] = round(self.cost, 8)
        return out


ADDITIVE = ("total", "passed", "warned", "failed", "unknown", "skipped", "cost_usd")


def _merge(new: Any) -> dict[str, Any]:
    # A bucket met again (late rows) adds its counts; its percentiles are the newer ones.
    merged: dict[str, Any] = {name: getattr(Rollup, name) + new[name] for name in ADDITIVE}
    merged["latency_p50_ms"] = new.latency_p50_ms
    merged["latency_p95_ms"] = new.latency_p95_ms
    return merged


def _flush(session: Session, buckets: dict[tuple[str, datetime, str, str, str], Bucket]) -> int:
    rows = [
        {
            "period": period,
            "bucket": bucket,
            "account": account,
            "check": check,
            "model": model,
            **data.values(),
        }
        for (period, bucket, account, check, model), data in buckets.items()
    ]
    upsert(session, Rollup, rows, ["period", "bucket", "account", "check", "model"], _merge)
    buckets.clear()
    return len(rows)


def _rows(session: Session, cutoff: datetime) -> Iterable[Any]:
    columns = (
        ProbeResult.account,
        ProbeResult.check,
        ProbeResult.model,
        ProbeResult.status,
        ProbeResult.latency_ms,
        ProbeResult.cost_usd,
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
            buckets: dict[tuple[str, datetime, str, str, str], Bucket] = {}
            pair: tuple[str, str, str] | None = None
            for account, check, model, status, latency, cost, finished in _rows(
                session, report.cutoff
            ):
                if (account, check, model) != pair:
                    report.rollup_rows += _flush(session, buckets)
                    pair = (account, check, model)
                hour = finished.replace(minute=0, second=0, microsecond=0)
                day = hour.replace(hour=0)
                for key in (
                    ("hour", hour, account, check, model),
                    ("day", day, account, check, model),
                ):
                    bucket = buckets.get(key)
                    if bucket is None:
                        bucket = buckets[key] = Bucket()
                    bucket.add(status, latency, cost)
                report.rolled_up += 1
            report.rollup_rows += _flush(session, buckets)
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
