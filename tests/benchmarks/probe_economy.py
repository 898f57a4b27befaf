"""Probe economy: simulated USD per account per day under the default config, for a healthy
account and for an unverified one. A day is replayed through the daemon's own decisions
(cadence, slot claims, budget) with a frozen clock against the in-process simulator."""

from __future__ import annotations

import asyncio
import heapq
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.daemon import Daemon
from monitor.simulator import create_app
from monitor.simulator.scenarios import PINNED, scenario
from monitor.store import Store

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def replay(folder: Path) -> dict[str, tuple[float, int, int]]:
    env = {n.upper(): scenario(n).api_key for n in ("verified", "unverified")}
    data = {
        "monitor": {"database_url": f"sqlite:///{folder / 'economy.db'}"},
        "accounts": [
            {
                "name": n,
                "base_url": "http://sim/v1",
                "api_key_env": n.upper(),
                "snapshots": [PINNED],
            }
            for n in ("verified", "unverified")
        ],
        "checks": {"pricing": {"source": "http://sim/_sim/prices/published.json"}},
    }
    loaded = parse(data, env)  # every interval and budget at its default
    store = Store.open(loaded.config.monitor.database_url)
    clock = FrozenClock(START)
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        daemon = Daemon(loaded, store, client, clock, instance="economy")
        queue = [(START, index, probe) for index, probe in enumerate(daemon.probes)]
        heapq.heapify(queue)
        runs = 0
        while queue and runs < 100_000:
            when, index, probe = heapq.heappop(queue)
            if when >= START + DAY:
                break
            clock._now = when
            probed = await daemon.probe(probe)
            heapq.heappush(queue, (probed.decision.next_run, index, probe))
            runs += 1
    out = {}
    for account in ("verified", "unverified"):
        spend = store.spend(account, START.date())
        generations = [
            r for r in store.results(100_000) if r.account == account and r.check == "generation"
        ]
        out[account] = (
            spend,
            len(generations),
            sum(1 for r in store.results(100_000) if r.account == account),
        )
    store.close()
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(replay(Path(folder)))
    for account, (usd, generations, probes) in figures.items():
        label = "healthy (verified)" if account == "verified" else "unverified organization"
        print(
            f"{label:<26} ${usd:.4f} per day: {generations} generation probes, "
            f"{probes} probes in all"
        )


if __name__ == "__main__":
    main()
