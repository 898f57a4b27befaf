from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from checks import REGISTRY
from checks.base import Account, FreeCheck, Outcome, ProbeContext
from monitor.clock import FrozenClock
from monitor.config import LoadedConfig, parse
from monitor.plan import plan
from monitor.runner import exit_code, run_once
from monitor.store import ProbeResult, Store
from monitor.transport import ShardedTransport
from tests.conftest import ServedSimulator


def loaded_for(simulator: ServedSimulator, tmp_path: Path, *names: str) -> LoadedConfig:
    from monitor.simulator.scenarios import PINNED, scenario

    env: dict[str, str] = {}
    accounts = []
    for name in names:
        env[name.upper()] = scenario(name).api_key
        accounts.append(
            {
                "name": name,
                "base_url": f"{simulator.url}/v1",
                "api_key_env": name.upper(),
                "snapshots": [PINNED],
            }
        )
    data = {
        "monitor": {"database_url": f"sqlite:///{tmp_path / 'r.db'}"},
        "accounts": accounts,
        "checks": {"pricing": {"source": f"{simulator.url}/_sim/prices/published.json"}},
    }
    return parse(data, env)


def run(
    loaded: LoadedConfig, clock: FrozenClock, store: Store | None = None, **selection: Any
) -> list[ProbeResult]:
    return asyncio.run(run_once(loaded, plan(loaded, **selection), clock=clock, store=store))


def test_results_come_back_in_plan_order_and_are_stored(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    loaded = loaded_for(simulator, tmp_path, "verified", "unverified")
    store = Store.open(loaded.config.monitor.database_url)
    results = run(loaded, clock, store)
    assert [(r.account, r.check) for r in results] == [
        (p.account.name, p.check) for p in plan(loaded)
    ]
    assert len(store.results()) == len(results) == 10
    assert all(r.finished_at == clock.now() for r in results)


def test_rate_limits_reads_the_latest_stored_generation_when_not_in_the_round(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    loaded = loaded_for(simulator, tmp_path, "verified")
    store = Store.open(loaded.config.monitor.database_url)
    run(loaded, clock, store, checks=["generation"])
    clock.advance(60)
    results = run(loaded, clock, store, checks=["rate_limits"])
    assert [r.reason for r in results] == ["headroom_ok"]
    assert results[0].details["images_per_minute"] == 50
    assert "headers_observed_at" in results[0].details


def test_a_crashing_check_is_recorded_not_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FrozenClock
) -> None:
    class Broken(FreeCheck):
        name: ClassVar[str] = "model_listing"

        def targets(self, account: Account) -> tuple[str, ...]:
            return account.models

        async def run(self, ctx: ProbeContext) -> Outcome:
            raise ZeroDivisionError(f"bug near {ctx.account.api_key}\nsecond line")

    monkeypatch.setitem(REGISTRY, "model_listing", Broken())
    key = "sk-proj-crash0123456789abcdefWXYZ"
    loaded = parse({"accounts": [{"name": "a", "api_key_env": "K"}]}, {"K": key})
    results = run(loaded, clock, checks=["model_listing", "snapshot"])
    assert (results[0].status, results[0].reason) == ("unknown", "monitor_error")
    assert "ZeroDivisionError" in results[0].summary
    assert "\n" not in results[0].summary
    assert key[-12:] not in results[0].summary
    assert results[0].details["exception"] == "ZeroDivisionError"


def test_exit_codes_follow_the_worst_status() -> None:
    def rows(*statuses: str) -> list[ProbeResult]:
        return [ProbeResult(status=s) for s in statuses]  # type: ignore[call-arg]

    assert exit_code(rows("pass", "warn")) == 0
    assert exit_code(rows("pass", "skipped")) == 3
    assert exit_code(rows("pass", "unknown")) == 3
    assert exit_code(rows("unknown", "fail")) == 1


def test_the_sharded_transport_spreads_concurrent_requests_over_small_pools(
    simulator: ServedSimulator,
) -> None:
    transport = ShardedTransport(concurrency=40, pool_size=8)
    assert len(transport._pools) == 5
    seen: list[int] = []
    original = transport.handle_async_request

    async def spy(request: httpx.Request) -> httpx.Response:
        seen.append(max(transport._in_flight))
        return await original(request)

    async def go() -> list[int]:
        async with httpx.AsyncClient(transport=transport) as client:
            transport.handle_async_request = spy  # type: ignore[method-assign]
            responses = await asyncio.gather(
                *(client.get(f"{simulator.url}/_sim/accounts") for _ in range(40))
            )
            return [r.status_code for r in responses]

    assert asyncio.run(go()) == [200] * 40
    assert max(seen) <= 8
