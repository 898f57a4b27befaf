"""Benchmark: 1,000,000 synthetic results over 100 account-check pairs in SQLite.
Targets: roll up and prune under 30 s; "latest result of every pair" under 50 ms.
Also prints the database size before and after."""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import LATEST_FROM_RAW, RAW_INSERT

from monitor.retention import prune
from monitor.store import Store

ROWS = 1_000_000
PAIRS = 100  # 20 accounts x 5 checks
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DAYS = 90
CHECKS = ("model_listing", "snapshot", "generation", "rate_limits", "pricing")


def fill(path: Path) -> None:
    """Bulk insert through SQLite directly: the rows are what the runner would store, with
    one latest-result row per pair as the store keeps them."""
    Store.open(f"sqlite:///{path}").close()  # schema, WAL, incremental vacuum
    rng = random.Random(7)
    span = DAYS * 86400
    step = span / (ROWS / PAIRS)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA synchronous=OFF")
        rows = []
        for index in range(ROWS):
            pair = index % PAIRS
            account, check = f"acct-{pair // 5:02d}", CHECKS[pair % 5]
            at = NOW - timedelta(seconds=span - (index // PAIRS) * step)
            status = "pass" if rng.random() > 0.02 else rng.choice(["fail", "warn", "unknown"])
            stamp = at.replace(tzinfo=None).isoformat(sep=" ")
            rows.append(
                (
                    account,
                    check,
                    "gpt-image-2",
                    status,
                    "ok",
                    "synthetic",
                    200,
                    "req_x",
                    rng.uniform(80, 900),
                    0.00168 if check == "generation" else None,
                    '{"synthetic": true}',
                    stamp,
                    stamp,
                    rng.random() < 0.01,
                    False,
                )
            )
            if len(rows) == 50_000:
                db.executemany(RAW_INSERT, rows)
                rows.clear()
        db.executemany(RAW_INSERT, rows)
        for period, fmt in (
            ("hour", "%Y-%m-%d %H:00:00.000000"),
            ("day", "%Y-%m-%d 00:00:00.000000"),
        ):
            db.execute(ROLLUPS.format(period=period, fmt=fmt, histogram=HISTOGRAM))
        db.execute(LATEST_FROM_RAW)


BOUNDS = (100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400)
HISTOGRAM = ", ".join(
    [
        f"sum(latency_ms <= {b}{f' AND latency_ms > {BOUNDS[i - 1]}' if i else ''})"
        for i, b in enumerate(BOUNDS)
    ]
    + [f"sum(latency_ms > {BOUNDS[-1]})"]
)
ROLLUPS = """INSERT INTO rollups (period, bucket, account, "check", model, total, passed, warned,
    failed, unknown, skipped, cost_usd, latency_count, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9,
    h10, h11)
    SELECT '{period}', strftime('{fmt}', finished_at), account, "check", model, count(*),
    sum(status = 'pass'), sum(status = 'warn'), sum(status = 'fail'), sum(status = 'unknown'),
    0, coalesce(sum(cost_usd), 0), count(latency_ms), {histogram}
    FROM probe_results GROUP BY 2, 3, 4, 5"""


def size(path: Path) -> str:
    total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return f"{total / 1e6:.0f} MB"


def time_latest(store: Store) -> float:
    times = []
    for _ in range(20):
        start = time.perf_counter()
        rows = store.latest_per_pair()
        times.append(time.perf_counter() - start)
    assert len(rows) == PAIRS, len(rows)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        start = time.perf_counter()
        fill(path)
        print(
            f"filled {ROWS:,} results over {PAIRS} pairs and {DAYS} days in "
            f"{time.perf_counter() - start:.1f} s; database {size(path)}"
        )
        store = Store.open(f"sqlite:///{path}")
        latest = time_latest(store)
        print(
            f"latest result of every pair: {latest * 1000:.1f} ms (median of 20); "
            f"target < 50 ms: {'met' if latest < 0.05 else 'MISSED'}"
        )
        start = time.perf_counter()
        report = prune(store, NOW, retention_days=30)
        took = time.perf_counter() - start
        print(
            f"roll up and prune: {took:.1f} s for {report.rolled_up:,} results -> "
            f"{report.rollup_rows:,} rollup rows, {report.deleted:,} deleted, "
            f"{report.kept_state_changes:,} state changes kept; "
            f"target < 30 s: {'met' if took < 30 else 'MISSED'}"
        )
        store.close()
        print(f"database after prune: {size(path)}")
        store = Store.open(f"sqlite:///{path}")
        print(f"latest result of every pair after prune: {time_latest(store) * 1000:.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
