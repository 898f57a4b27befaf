"""Benchmark: shape and render the status page of 1,000 accounts (7 tags) with 90 days of
day rollups for each of their 5 probes and a failing day a week, from page data in memory
(no database: the store's read is `publish_site.py`'s). Prints the build and render times
(median of 3) and the sizes of the index and of the whole site."""

from __future__ import annotations

import statistics
import time
import types
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import parse
from monitor.page import AccountData, PageData, build, render
from monitor.store import ProbeResult

ACCOUNTS = 1000
DAYS = 90
RUNS = 3
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PINNED = "gpt-image-2-2026-04-21"
PAIRS = [
    ("model_listing", "gpt-image-2"),
    ("snapshot", PINNED),
    ("generation", "gpt-image-2"),
    ("rate_limits", "gpt-image-2"),
    ("pricing", "gpt-image-2"),
]


def rollup(day: int, check: str, model: str) -> Any:
    """A plain day row, as the store reads them."""
    failed = 1 if day % 7 == 0 else 0
    return types.SimpleNamespace(
        bucket=(NOW - timedelta(days=day)).replace(hour=0, minute=0),
        check=check,
        model=model,
        total=96,
        passed=96 - failed,
        warned=0,
        failed=failed,
        unknown=0,
        skipped=0,
        cost_usd=0.01 if check == "generation" else 0.0,
        latency_p50_ms=300.0,
        latency_p95_ms=900.0,
        latency_count=96,
        **{f"h{i}": 8 for i in range(12)},
    )


def latest(account: str) -> list[ProbeResult]:
    at = NOW - timedelta(minutes=1)
    return [
        ProbeResult(
            account=account,
            check=check,
            model=model,
            status="pass",
            reason="ok",
            summary="ok",
            details={},
            started_at=at - timedelta(seconds=1),
            finished_at=at,
        )
        for check, model in PAIRS
    ]


def main() -> None:
    names = [f"acct-{n:04d}" for n in range(ACCOUNTS)]
    loaded = parse(
        {
            "accounts": [
                {"name": name, "api_key_env": "K", "snapshots": [PINNED], "tags": [f"t{n % 7}"]}
                for n, name in enumerate(names)
            ]
        },
        {"K": "sk-bench"},
    )
    rollups = [rollup(day, check, model) for day in range(DAYS) for check, model in PAIRS]
    data = PageData(
        latest=[row for name in names for row in latest(name)],
        accounts={name: AccountData(day_rollups=rollups) for name in names},
    )
    builds, renders, files = [], [], {}
    for _ in range(RUNS):
        start = time.perf_counter()
        site = build(data, loaded, NOW)
        built = time.perf_counter()
        files = render(site)
        builds.append(built - start)
        renders.append(time.perf_counter() - built)
    print(f"page of {ACCOUNTS} accounts x {len(PAIRS)} probes x {DAYS} days (median of {RUNS}):")
    print(f"  build  {statistics.median(builds):.2f} s")
    print(f"  render {statistics.median(renders):.2f} s")
    print(
        f"  index.html {len(files['index.html']) / 1e6:.2f} MB, "
        f"{len(files)} files {sum(map(len, files.values())) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
