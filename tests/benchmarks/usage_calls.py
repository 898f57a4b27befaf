"""How many Admin API calls a round of `usage` and `spend` makes, for many accounts.

Runs two rounds (a first read, then one 15 minutes later over the same store) of both
checks for N numbered copies of the `verified` scenario (each with an admin key, a project
and two models) against the simulator in process, and prints the calls per endpoint.
`python tests/benchmarks/usage_calls.py [accounts]` (default 1000).

Measured (1,000 accounts, 2 models): 4,000 calls in the first round (6,000 before an account's
models shared one read and one key lookup), 3,000 in the next (the key lookup is kept for 6
hours while the probe key is the same). The daemon runs each probe at its own slot, so there
an hour costs, per account, 4 usage reads a model, a key lookup a model every 6 hours and 2
spend reads: about 10.3 calls with 2 models, 6.2 with one (18 and 10 before).
"""

from __future__ import annotations

import asyncio
import collections
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.plan import plan
from monitor.runner import Round
from monitor.simulator import create_app
from monitor.simulator.scenarios import numbered, scenario
from monitor.simulator.state import SimulatorState
from monitor.store import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def main(count: int) -> None:
    clock = FrozenClock(NOW)
    base = scenario("verified")
    accounts, environ = [], {}
    for number in range(1, count + 1):
        copy = numbered(base, number)
        environ[f"KEY_{number}"], environ[f"ADMIN_{number}"] = copy.api_key, copy.admin_key or ""
        accounts.append(
            {
                "name": copy.name,
                "base_url": "http://sim.test/v1",
                "api_key_env": f"KEY_{number}",
                "admin_key_env": f"ADMIN_{number}",
                "project": copy.project,
                "models": ["gpt-image-2", "gpt-image-1"],
            }
        )
    folder = Path(tempfile.mkdtemp())
    data = {"monitor": {"database_url": f"sqlite:///{folder / 'iw.db'}"}, "accounts": accounts}
    loaded = parse(data, environ)
    store = Store.open(loaded.config.monitor.database_url)
    calls: collections.Counter[str] = collections.Counter()

    async def counted(request: httpx.Request) -> None:
        path = request.url.path
        calls["api_keys" if path.endswith("/api_keys") else path.rsplit("/v1/", 1)[-1]] += 1

    app = create_app(SimulatorState(), clock=clock.now)

    async def one_round() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, event_hooks={"request": [counted]}) as c:
            await Round(loaded, c, clock, store).run(plan(loaded, checks=["usage", "spend"]))

    for label in ("first round", "15 minutes later"):
        calls.clear()
        began = time.monotonic()
        asyncio.run(one_round())
        total = sum(calls.values())
        print(f"{label}: {count} accounts x 2 models, {total} Admin API calls "
              f"({total / count:.2f} an account) in {time.monotonic() - began:.1f} s")  # fmt: skip
        for path, n in sorted(calls.items()):
            print(f"  {path}: {n}")
        clock.advance(15 * 60)
    store.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
