"""Rollup arithmetic, free of any database: which hourly and daily buckets a result adds
to, the latency histogram, and percentiles (interpolated from the histogram while raw rows
exist, exact once retention has seen them)."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

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
ROLLUP_KEYS = ["period", "bucket", "account", "check", "model"]
HISTOGRAM = operator.attrgetter(*(f"h{i}" for i in range(len(LATENCY_BOUNDS) + 1)))
"""A rollup's histogram counts as a tuple, in one C call (a large site's charts read
hundreds of thousands of them)."""


class Counted(Protocol):
    """What a rollup counts of one result."""

    account: str
    check: str
    model: str
    status: str
    latency_ms: float | None
    cost_usd: float | None
    finished_at: datetime
    reason: str


def latency_bucket(latency_ms: float) -> int:
    return next(
        (i for i, bound in enumerate(LATENCY_BOUNDS) if latency_ms <= bound), len(LATENCY_BOUNDS)
    )


def hour_and_day(finished: datetime) -> tuple[datetime, datetime]:
    """The starts of the hourly and daily buckets a moment falls in."""
    hour = finished.replace(minute=0, second=0, microsecond=0)
    return hour, hour.replace(hour=0)


def rollup_increments(row: Counted) -> list[dict[str, Any]]:
    """The hour and day rollup rows one result adds to."""
    hour, day = hour_and_day(row.finished_at.astimezone(UTC))
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
        {"period": "day", "bucket": day, **keys, **values},
    ]


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def summed_rollups(rows: Sequence[Counted]) -> list[dict[str, Any]]:
    """The rollup increments of `rows`, one row per bucket: a statement may not upsert one
    key twice, and adding the sums is adding each row."""
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        for increment in rollup_increments(row):
            key = tuple(increment[k] for k in ROLLUP_KEYS)
            kept = totals.get(key)
            if kept is None:
                totals[key] = increment
            else:
                for name in COUNTERS:
                    kept[name] += increment[name]
    return list(totals.values())


def summed_spend(rows: Sequence[Counted]) -> list[dict[str, Any]]:
    """The spend ledger's increments of `rows`, one row per (account, UTC day)."""
    totals: dict[tuple[str, date], dict[str, Any]] = {}
    for row in rows:
        paid = bool(row.cost_usd)
        skipped = row.reason == "budget_exhausted"
        if not (paid or skipped):
            continue
        day = row.finished_at.astimezone(UTC).date()
        kept = totals.setdefault(
            (row.account, day),
            {"account": row.account, "day": day, "usd": 0.0, "paid_probes": 0, "skipped_probes": 0},
        )
        kept["usd"] += row.cost_usd or 0.0
        kept["paid_probes"] += int(paid)
        kept["skipped_probes"] += int(skipped)
    return list(totals.values())


def interpolated(counts: Sequence[int], total: int, share: float) -> float:
    """The `share` percentile of a latency histogram of `total` (> 0) counts, interpolated
    within its bucket."""
    rank, seen = share * total, 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            return inside(index, count, rank - seen)
        seen += count
    return float(LATENCY_BOUNDS[-1])


def rollup_percentile(rollup: Any, share: float) -> float | None:
    """p50/p95 of a rollup (an ORM row or a plain result row): exact after prune; before,
    interpolated within the latency histogram bucket."""
    exact = (
        rollup.latency_p50_ms if share == 0.5 else rollup.latency_p95_ms if share == 0.95 else None
    )
    if exact is not None:
        return float(exact)
    counts: tuple[int, ...] = HISTOGRAM(rollup)
    total = sum(counts)
    return interpolated(counts, total, share) if total else None


def rollup_percentiles(rollup: Any) -> tuple[float | None, float | None]:
    """`rollup_percentile` at 0.5 and 0.95, the histogram read once for both (a large site
    charts both for every day of every account)."""
    p50, p95 = rollup.latency_p50_ms, rollup.latency_p95_ms
    if p50 is not None and p95 is not None:
        return float(p50), float(p95)
    counts: tuple[int, ...] = HISTOGRAM(rollup)
    total = sum(counts)
    if not total:
        return (None if p50 is None else float(p50)), (None if p95 is None else float(p95))
    if p50 is None and p95 is None:
        return interpolated_pair(counts, total)
    return (
        float(p50) if p50 is not None else interpolated(counts, total, 0.5),
        float(p95) if p95 is not None else interpolated(counts, total, 0.95),
    )


def interpolated_pair(counts: Sequence[int], total: int) -> tuple[float, float]:
    """`interpolated` at 0.5 and 0.95 in one walk of the histogram."""
    p50: float | None = None
    low_rank, high_rank, seen = 0.5 * total, 0.95 * total, 0
    for index, count in enumerate(counts):
        if count:
            if p50 is None and seen + count >= low_rank:
                p50 = inside(index, count, low_rank - seen)
            if seen + count >= high_rank:  # past the median's rank too: p50 is set
                return p50 or 0.0, inside(index, count, high_rank - seen)
        seen += count
    last = float(LATENCY_BOUNDS[-1])
    return (p50 if p50 is not None else last), last


def inside(index: int, count: int, into: float) -> float:
    """The latency `into` counts into histogram bucket `index` of `count`."""
    low = 0 if index == 0 else LATENCY_BOUNDS[index - 1]
    high = LATENCY_BOUNDS[index] if index < len(LATENCY_BOUNDS) else low * 2
    return round(low + (high - low) * into / count, 1)


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def exact_percentiles(latencies: list[float]) -> tuple[float | None, float | None]:
    """The p50 and p95 a bucket keeps once its raw rows are gone (sorts in place)."""
    latencies.sort()
    return percentile(latencies, 0.5), percentile(latencies, 0.95)
