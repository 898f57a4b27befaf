"""Benchmark (b): every check for 50 accounts against a local server that answers each call
after 200 ms, versus one account. Target: 50 accounts within 3x of one account's wall time."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _common import ServedProcess

from checks.base import SystemClock
from monitor.config import parse
from monitor.plan import plan
from monitor.runner import run_once
from monitor.simulator.scenarios import PINNED, scenario
from monitor.store import Store

DELAY = 0.2
ACCOUNTS = 50
TARGET_RATIO = 3.0


def config(url: str, count: int, folder: Path) -> tuple[dict[str, object], dict[str, str]]:
    verified = scenario("verified")
    accounts = [
        {
            "name": f"acct-{i:02d}",
            "base_url": f"{url}/v1",
            "api_key_env": "KEY",
            "admin_key_env": "ADMIN",
            "project": verified.project,
            "snapshots": [PINNED],
        }
        for i in range(count)
    ]
    data = {
        "monitor": {"database_url": f"sqlite:///{folder / 'bench.db'}"},
        "accounts": accounts,
        "checks": {"pricing": {"source": f"{url}/_sim/prices/published.json"}},
    }
    return data, {"KEY": verified.api_key, "ADMIN": verified.admin_key or ""}


def timed_round(url: str, count: int, folder: Path) -> tuple[float, int, set[str]]:
    httpx.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    data, env = config(url, count, folder)
    loaded = parse(data, env)
    store = Store.open(loaded.config.monitor.database_url)
    probes = plan(loaded)
    start = time.perf_counter()
    results = asyncio.run(run_once(loaded, probes, clock=SystemClock(), store=store))
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, len(results), {r.reason for r in results}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, ServedProcess(delay=DELAY) as served:
        folder = Path(tmp)
        timed_round(served.url, 1, folder)  # warm up imports, Pillow, the connection pool
        one, n_one, reasons_one = timed_round(served.url, 1, folder)
        many, n_many, reasons_many = timed_round(served.url, ACCOUNTS, folder)
    ratio = many / one
    print(f"every check, server delay {DELAY * 1000:.0f} ms per call:")
    print(f"  1 account:   {n_one:4d} probes in {one:.3f} s  reasons {sorted(reasons_one)}")
    print(
        f"  {ACCOUNTS} accounts: {n_many:4d} probes in {many:.3f} s  reasons {sorted(reasons_many)}"
    )
    print(
        f"  ratio {ratio:.2f}x; target <= {TARGET_RATIO:.0f}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
