"""Benchmark: one `/metrics` scrape for 100 accounts x 5 checks with 90 days of rollups and
100,000 raw rows (the store `publish_site.py` builds). Target: well under a second, so a
15 s or even 1 s scrape interval costs the daemon little; prints the series count too."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from prometheus_client import CollectorRegistry, generate_latest
from publish_site import ACCOUNTS, CHECKS, DAYS, NOW, filled_store

from monitor.clock import FrozenClock
from monitor.metrics import Collector

RAW_ROWS = 100_000
RUNS = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        loaded, store = filled_store(Path(folder), RAW_ROWS)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Collector(store, loaded, FrozenClock(NOW), lambda: True))
        times, body = [], b""
        for _ in range(RUNS):
            start = time.perf_counter()
            body = generate_latest(registry)
            times.append(time.perf_counter() - start)
        store.close()
    series = sum(1 for line in body.decode().splitlines() if not line.startswith("#"))
    print(
        f"scrape {ACCOUNTS} accounts x {len(CHECKS)} checks, {DAYS} days of rollups, "
        f"{RAW_ROWS:,} raw rows: {statistics.median(times) * 1000:.0f} ms "
        f"(median of {RUNS}), {series:,} series, {len(body):,} bytes"
    )


if __name__ == "__main__":
    main()
