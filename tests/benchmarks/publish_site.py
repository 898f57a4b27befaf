"""Benchmark: publish for 100 accounts x 5 checks with 90 days of rollups, with 1,000,000 raw
rows and with 10,000. Targets: under 2 s with a million rows, and within 1.5x of the time
with ten thousand (the page reads rollups, not raw rows). Then 1,000 accounts with 90 days
of rollups and a million raw rows: under 5 s (such a site renders half of its accounts'
pages in a second process: its CPU is counted apart)."""

from __future__ import annotations

import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import LATEST_FROM_RAW, RAW_INSERT

from monitor.config import LoadedConfig, parse
from monitor.page import publish
from monitor.store import Store

ACCOUNTS = 100
MANY_ACCOUNTS = 1000
CHECKS = ("model_listing", "snapshot", "generation", "rate_limits", "pricing")
PINNED = "gpt-image-2-2026-04-21"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DAYS = 90
RUNS = 3


def model_for(check: str) -> str:
    return PINNED if check == "snapshot" else "gpt-image-2"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def fill(path: Path, raw_rows: int, count: int) -> None:
    Store.open(f"sqlite:///{path}").close()
    rng = random.Random(11)
    pairs = [(f"acct-{a:04d}", c) for a in range(count) for c in CHECKS]
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA synchronous=OFF")
        rollups = []
        for day in range(DAYS):
            bucket = (NOW - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
            for account, check in pairs:
                total = 96
                failed = rng.choice([0] * 20 + [1, 3])
                histogram = [0, 0, 40, 40, 16, 0, 0, 0, 0, 0, 0, 0]
                rollups.append(
                    (
                        "day",
                        stamp(bucket),
                        account,
                        check,
                        model_for(check),
                        total,
                        total - failed,
                        0,
                        failed,
                        0,
                        0,
                        0.04 if check == "generation" else 0.0,
                        total,
                        *histogram,
                    )
                )
        db.executemany(
            f'INSERT INTO rollups (period, bucket, account, "check", model, total,'
            f" passed, warned, failed, unknown, skipped, cost_usd, latency_count, "
            f"{', '.join(f'h{i}' for i in range(12))}) VALUES "
            f"({', '.join('?' * 25)})",
            rollups,
        )
        span = 30 * 86400
        batch = []
        for index in range(raw_rows):
            account, check = pairs[index % len(pairs)]
            at = NOW - timedelta(seconds=span * (1 - index / raw_rows))
            status = "pass" if rng.random() > 0.01 else "fail"
            batch.append(
                (
                    account,
                    check,
                    model_for(check),
                    status,
                    "ok",
                    "synthetic",
                    200,
                    "req_x",
                    420.0,
                    None,
                    '{"images_per_minute": 50, "tier": 3}',
                    stamp(at),
                    stamp(at),
                    rng.random() < 0.01,
                    False,
                )
            )
            if len(batch) == 50_000:
                db.executemany(RAW_INSERT, batch)
                batch.clear()
        db.executemany(RAW_INSERT, batch)
        db.execute(LATEST_FROM_RAW)


def filled_store(folder: Path, raw_rows: int, count: int = ACCOUNTS) -> tuple[LoadedConfig, Store]:
    """A config of `count` accounts and its store, filled by `fill`."""
    path = folder / "bench.db"
    fill(path, raw_rows, count)
    accounts = [
        {"name": f"acct-{a:04d}", "api_key_env": "KEY", "snapshots": [PINNED]} for a in range(count)
    ]
    loaded = parse(
        {"monitor": {"database_url": f"sqlite:///{path}"}, "accounts": accounts},
        {"KEY": "sk-bench-000000000000"},
    )
    return loaded, Store.open(loaded.config.monitor.database_url)


def children_cpu() -> float:
    """CPU seconds of this process's ended children: a large publish's second process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_publish(raw_rows: int, count: int = ACCOUNTS) -> tuple[float, float, float, int, int]:
    """The median wall time of a publish, the median CPU time of the publishing process and
    of all its processes (the second one of a large site too), the files it wrote and the
    processes that rendered them."""
    with tempfile.TemporaryDirectory() as folder:
        loaded, store = filled_store(Path(folder), raw_rows, count)
        times, cpu, total_cpu, files, processes = [], [], [], 0, 1
        for _ in range(RUNS):
            start, start_cpu, start_children = (
                time.perf_counter(),
                time.process_time(),
                children_cpu(),
            )
            report = publish(store, loaded, NOW, Path(folder) / "public")
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            total_cpu.append(cpu[-1] + children_cpu() - start_children)
            files, processes = report.files, report.processes
        store.close()
        return (
            statistics.median(times),
            statistics.median(cpu),
            statistics.median(total_cpu),
            files,
            processes,
        )


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def main() -> None:
    small, small_cpu, _, files, _ = timed_publish(10_000)
    large, large_cpu, _, _, _ = timed_publish(1_000_000)
    ratio = large / small
    print(
        f"publish {ACCOUNTS} accounts x {len(CHECKS)} checks, {DAYS} days of rollups, "
        f"{files} files (medians of {RUNS}; CPU is the publishing process's):"
    )
    print(f"  with    10,000 raw rows: {small:.2f} s, CPU {small_cpu:.2f} s")
    print(
        f"  with 1,000,000 raw rows: {large:.2f} s, CPU {large_cpu:.2f} s; target < 2 s: "
        f"{'met' if large < 2 else 'MISSED'}"
    )
    print(f"  ratio {ratio:.2f}x; target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'} ({load()})")
    many, many_cpu, many_total, files, processes = timed_publish(1_000_000, MANY_ACCOUNTS)
    print(
        f"publish {MANY_ACCOUNTS} accounts x {len(CHECKS)} checks, {DAYS} days of rollups, "
        f"1,000,000 raw rows, {files} files, {processes} processes: {many:.2f} s, "
        f"CPU {many_cpu:.2f} s in the publishing process, {many_total:.2f} s in all "
        f"(medians of {RUNS}; {load()}); target < 5 s: {'met' if many < 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
