"""Retention's queries: raw results older than a cutoff leave exact latency percentiles in
their rollups, then go; state changes stay, marked as counted; old slot claims are freed.
Counts were added to the rollups as results arrived, so only the percentiles need the raw
rows, read once, streamed, and written back in batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, bindparam, delete, select, text, update
from sqlmodel import Session, col

from monitor.store.engine import transaction
from monitor.store.rollups import ROLLUP_KEYS, exact_percentiles, hour_and_day
from monitor.store.tables import ProbeResult, ProbeSlot, Rollup

BATCH = 20_000
PRUNE_FAILED = "prune failed, nothing was deleted"

BucketKey = tuple[str, datetime, str, str, str]


@dataclasses.dataclass
class PruneReport:
    cutoff: datetime
    rolled_up: int = 0
    deleted: int = 0
    kept_state_changes: int = 0
    rollup_rows: int = 0
    slots_deleted: int = 0


def _finalise(session: Session, buckets: dict[BucketKey, list[float]]) -> int:
    """Write the buckets' exact percentiles in one executemany, and forget them."""
    table = Rollup.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(*(table.c[name] == bindparam(f"k_{name}") for name in ROLLUP_KEYS))
        .values(latency_p50_ms=bindparam("p50"), latency_p95_ms=bindparam("p95"))
    )
    rows = []
    for key, latencies in buckets.items():
        p50, p95 = exact_percentiles(latencies)
        rows.append(
            {
                **{f"k_{name}": value for name, value in zip(ROLLUP_KEYS, key, strict=True)},
                "p50": p50,
                "p95": p95,
            }
        )
    if rows:
        session.connection().execute(statement, rows)
    buckets.clear()
    return len(rows)


def _old_rows(session: Session, cutoff: datetime) -> Iterable[Any]:
    """Not yet counted rows before the cutoff, one pair after the other, streamed."""
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


class PruneQueries:
    engine: Engine

    def prune(self, cutoff: datetime, slots_before: datetime) -> PruneReport:
        """All in one transaction: when anything fails, nothing was deleted."""
        report = PruneReport(cutoff=cutoff)
        with transaction(self.engine, PRUNE_FAILED) as session:
            # Rows come ordered by pair, so one pair's buckets are held in memory at a time.
            buckets: dict[BucketKey, list[float]] = {}
            pair: tuple[str, str, str] | None = None
            for account, check, model, latency, finished in _old_rows(session, cutoff):
                if (account, check, model) != pair:
                    report.rollup_rows += _finalise(session, buckets)
                    pair = (account, check, model)
                hour, day = hour_and_day(finished)
                for key in (
                    ("hour", hour, account, check, model),
                    ("day", day, account, check, model),
                ):
                    found = buckets.setdefault(key, [])
                    if latency is not None:
                        found.append(latency)
                report.rolled_up += 1
            report.rollup_rows += _finalise(session, buckets)
            old = col(ProbeResult.finished_at) < cutoff
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
                session.execute(delete(ProbeSlot).where(col(ProbeSlot.claimed_at) < slots_before))
            )
        if self.engine.dialect.name == "sqlite":
            # Give the freed pages back to the disk (the database was made incremental).
            with transaction(self.engine, PRUNE_FAILED) as session:
                session.execute(text("PRAGMA incremental_vacuum"))
        return report
