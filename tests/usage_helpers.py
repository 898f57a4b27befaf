"""What the usage and spend tests share: a simulator served on 127.0.0.1 with an injected
clock, and a way to run a check against one of its scenario accounts."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from checks import REGISTRY
from checks.base import Account, Evidence, Outcome, ProbeContext
from checks.usage import SETTLE_SECONDS
from monitor.clock import FrozenClock
from monitor.simulator import create_app
from monitor.simulator.scenarios import scenario
from monitor.simulator.state import SimulatorState
from tests.conftest import BASE, ServedSimulator

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
# The Admin API's routes, and the day of minute buckets a read at NOW covers.
USAGE_URL = f"{BASE}/organization/usage/images"
COSTS_URL = f"{BASE}/organization/costs"
KEYS_URL = f"{BASE}/organization/projects/proj_x/api_keys"
END = int(NOW.timestamp()) - SETTLE_SECONDS  # NOW is on a whole minute
START = END - 86400
LIMIT = 50  # the tier-3 scenario accounts' images per minute


@dataclasses.dataclass
class ClockedSimulator:
    served: ServedSimulator
    clock: FrozenClock

    @property
    def url(self) -> str:
        return self.served.url

    def set(self, moment: datetime) -> None:
        self.clock.advance((moment - self.clock.now()).total_seconds())

    def account(self, name: str, **overrides: Any) -> Account:
        found = scenario(name)
        values: dict[str, Any] = {
            "name": name,
            "base_url": f"{self.url}/v1",
            "api_key": found.api_key,
            "project": found.project,
            "admin_key": found.admin_key,
            "models": ("gpt-image-2",),
        }
        return Account(**(values | overrides))

    def run(
        self,
        check: str,
        name: str,
        *,
        limit: int | None = LIMIT,
        previous: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        budget: str | None = None,
        **overrides: Any,
    ) -> Outcome:
        if budget is not None:
            overrides["monthly_budget_usd"] = Decimal(budget)
        account = self.account(name, **overrides)
        kind = REGISTRY[check]
        merged = kind.settings_type().model_dump() | (settings or {})
        evidence = Evidence(
            generation={"images_per_minute": limit} if limit is not None else {},
            previous=previous,
        )

        async def go() -> Outcome:
            async with httpx.AsyncClient() as client:
                ctx = ProbeContext(client, account, "gpt-image-2", merged, self.clock, evidence)
                return await kind.run(ctx)

        return asyncio.run(go())


def served_with_clock() -> Iterator[ClockedSimulator]:
    clock = FrozenClock(NOW)
    served = ServedSimulator(create_app(SimulatorState(), clock=clock.now))
    served.start()
    try:
        yield ClockedSimulator(served, clock)
    finally:
        served.stop()


@pytest.fixture(scope="module")
def clocked() -> Iterator[ClockedSimulator]:
    yield from served_with_clock()


@pytest.fixture
def usage_sim(clocked: ClockedSimulator) -> ClockedSimulator:
    clocked.set(NOW)
    return clocked
