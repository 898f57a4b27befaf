"""Probe economy: simulated USD per account per day under the default config, for a healthy
account and for an unverified one, and the daily cost of the capability probes (edit,
transparency, streaming, the Responses tool) under their default cadence for a healthy
account opting in to every door and for a failing (unverified) one. A day is replayed
through the daemon's own decisions (cadence, slot claims, budget) with a frozen clock
against the in-process simulator."""

from __future__ import annotations

import asyncio
import heapq
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from checks import CAPABILITIES
from checks.generation import Generation
from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.daemon import Daemon
from monitor.simulator import create_app
from monitor.simulator.scenarios import PINNED, scenario
from monitor.store import Store

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# (account, scenario, capabilities): the last two opt in to every door.
ACCOUNTS = (
    ("verified", "verified", ()),
    ("unverified", "unverified", ()),
    ("doors-healthy", "open-doors", CAPABILITIES),
    ("doors-failing", "unverified", CAPABILITIES),
)


def account(name: str, capabilities: tuple[str, ...]) -> dict[str, Any]:
    block: dict[str, Any] = {
        "name": name,
        "base_url": "http://sim/v1",
        "api_key_env": name.upper().replace("-", "_"),
        "snapshots": [PINNED],
    }
    if capabilities:
        block |= {"capabilities": list(capabilities), "responses_model": "gpt-5-mini"}
    return block


async def replay(folder: Path) -> dict[str, tuple[float, int, int, float, int]]:
    env = {n.upper().replace("-", "_"): scenario(s).api_key for n, s, _ in ACCOUNTS}
    data = {
        "monitor": {"database_url": f"sqlite:///{folder / 'economy.db'}"},
        "accounts": [account(n, c) for n, _, c in ACCOUNTS],
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
    rows = store.results(100_000)
    for name, _, _ in ACCOUNTS:
        mine = [r for r in rows if r.account == name]
        doors = [r for r in mine if r.check in CAPABILITIES]
        out[name] = (
            store.spend(name, START.date()),
            sum(1 for r in mine if r.check == Generation.name),
            len(mine),
            sum(r.cost_usd or 0.0 for r in doors),
            len(doors),
        )
    store.close()
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(replay(Path(folder)))
    labels = {
        "verified": "healthy (verified)",
        "unverified": "unverified organization",
        "doors-healthy": "healthy, every door",
        "doors-failing": "unverified, every door",
    }
    for name, (usd, generations, probes, doors_usd, doors) in figures.items():
        line = (
            f"{labels[name]:<26} ${usd:.4f} per day: {generations} generation probes, "
            f"{probes} probes in all"
        )
        if doors:
            line += f"; capability probes {doors} for ${doors_usd:.4f}"
        print(line)


if __name__ == "__main__":
    main()
