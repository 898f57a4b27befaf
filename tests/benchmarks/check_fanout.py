"""Benchmark: `check`'s round at scale against the simulator in its own process, every call
answered after 200 ms, numbered simulator accounts (`sk-sim-verified-0001`…).

(a) every check for 200 accounts versus one account. Target: within 2x of one account.
(b) 1,000 accounts x 5 checks. Targets: under 15 s wall; the monitor's own CPU (this
    process, apart from the simulator's) under 2 ms per probe.

The five checks are the ones every account runs; `--admin` gives the accounts their admin
keys too, so the `usage` and `spend` checks (the Admin API's reads) run as well.

    python tests/benchmarks/check_fanout.py [--accounts 1000] [--admin] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import tempfile
import time
from pathlib import Path

import httpx
from _common import ServedProcess, process_cpu

from checks.base import SystemClock
from monitor.config import parse
from monitor.plan import plan
from monitor.runner import run_once
from monitor.simulator.fleet import fleet_config
from monitor.store import Store
from monitor.workers import run_split, worker_count

DELAY = 0.2
RATIO_ACCOUNTS = 200
TARGET_RATIO = 2.0
TARGET_WALL = 15.0
TARGET_CPU_MS = 2.0


def own_and_children_cpu() -> float:
    """CPU seconds of this process and its ended children (the round's worker processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed_round(
    served: ServedProcess,
    count: int,
    folder: Path,
    admin: bool,
    profile: cProfile.Profile | None = None,
    workers: int = 0,
) -> tuple[float, float, float, int, set[str]]:
    """Wall seconds, the monitor's CPU seconds, the simulator's CPU seconds, probes, reasons."""
    httpx.post(f"{served.url}/_sim/reset", timeout=5).raise_for_status()
    database = folder / f"bench-{count}-{time.monotonic_ns()}.db"
    data, env = fleet_config(served.url, count, database_url=f"sqlite:///{database}")
    if not admin:
        for account in data["accounts"]:
            account.pop("admin_key_env", None)
    data["monitor"]["workers"] = workers
    loaded = parse(data, env)
    store = Store.open(loaded.config.monitor.database_url)
    probes = plan(loaded)
    accounts = len({p.account.name for p in probes})
    workers = worker_count(loaded.config.monitor.workers, accounts, os.cpu_count())
    server_cpu = process_cpu(served.process.pid)
    cpu, start = own_and_children_cpu(), time.perf_counter()
    if profile is not None:
        profile.enable()
    if workers > 1:  # as `imagewatch check` runs it
        results, _ = run_split(
            loaded,
            probes,
            clock=SystemClock(),
            store=store,
            workers=workers,
            interruptible=lambda main: (asyncio.run(main(asyncio.Event())), False),
            progress=lambda: contextlib.nullcontext(None),
        )
    else:
        results = asyncio.run(run_once(loaded, probes, clock=SystemClock(), store=store))
    if profile is not None:
        profile.disable()
    elapsed, cpu = time.perf_counter() - start, own_and_children_cpu() - cpu
    server_cpu = process_cpu(served.process.pid) - server_cpu
    stored = len(store.results(limit=len(probes) + 1))
    store.close()
    assert stored == len(results), f"stored {stored} of {len(results)}"
    return elapsed, cpu, server_cpu, len(results), {r.reason for r in results}


def line(label: str, figures: tuple[float, float, float, int, set[str]]) -> str:
    wall, cpu, server, probes, reasons = figures
    return (
        f"  {label}: {probes:5d} probes in {wall:6.2f} s wall; monitor CPU {cpu:6.2f} s "
        f"({cpu / probes * 1000:.2f} ms/probe); simulator CPU {server:.2f} s; "
        f"reasons {sorted(reasons)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--admin", action="store_true", help="run usage and spend too")
    parser.add_argument("--profile", help="write a cProfile of the large round here")
    parser.add_argument(
        "--workers", type=int, default=0, help="[monitor] workers (0: one per CPU, as check)"
    )
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp, ServedProcess(delay=DELAY) as served:
        folder = Path(tmp)
        timed_round(served, 1, folder, args.admin)  # warm up imports, Pillow, the pool
        one = timed_round(served, 1, folder, args.admin)
        many = timed_round(served, RATIO_ACCOUNTS, folder, args.admin, workers=args.workers)
        large = timed_round(
            served, args.accounts, folder, args.admin, profile, workers=args.workers
        )
    if profile is not None:
        profile.dump_stats(args.profile)
    ratio = many[0] / one[0]
    checks = "every check" if args.admin else "every check but usage and spend (no admin key)"
    print(f"{checks}, simulator in its own process, {DELAY * 1000:.0f} ms per call:")
    print(line("1 account", one))
    print(line(f"{RATIO_ACCOUNTS} accounts", many))
    print(
        f"  ratio {ratio:.2f}x; target <= {TARGET_RATIO:.0f}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}"
    )
    print(line(f"{args.accounts} accounts", large))
    wall, cpu, _, probes, _ = large
    print(
        f"  wall target < {TARGET_WALL:.0f} s: {'met' if wall < TARGET_WALL else 'MISSED'}; "
        f"monitor CPU target < {TARGET_CPU_MS:.0f} ms/probe: "
        f"{'met' if cpu / probes * 1000 < TARGET_CPU_MS else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
