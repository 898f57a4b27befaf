"""Many accounts: batched result writes, the per-host bound, numbered simulator accounts,
`simulate --write-config`, and the progress lines off a terminal."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from checks import REGISTRY
from checks.base import Account, FreeCheck, Outcome, ProbeContext, Status
from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.console import AccountSummary, progress
from monitor.plan import plan
from monitor.runner import FLUSH_SECONDS, Round
from monitor.simulator import create_app
from monitor.simulator.fleet import fleet_config
from monitor.simulator.state import SimulatorState
from monitor.store import ProbeResult, Store
from tests.conftest import ServedSimulator

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def result(account: str, check: str, status: str, minutes: float, cost: float = 0.0) -> ProbeResult:
    finished = T0 + timedelta(minutes=minutes)
    return ProbeResult(
        account=account,
        check=check,
        model="gpt-image-2",
        status=status,
        reason="budget_exhausted" if status == "skipped" else "ok",
        summary="s",
        latency_ms=90.0 + minutes,
        cost_usd=cost or None,
        details={},
        started_at=finished,
        finished_at=finished,
    )


def rows() -> list[ProbeResult]:
    # Out of order in time, a pair twice, two hours and two days, paid and skipped ones.
    return [
        result("a", "generation", "pass", 0, 0.002),
        result("a", "generation", "fail", 30),
        result("a", "generation", "pass", 10, 0.003),
        result("b", "model_listing", "pass", 65),
        result("b", "model_listing", "pass", 5),
        result("a", "generation", "skipped", 60 * 24),
        result("b", "generation", "pass", 60 * 24 + 1, 0.004),
    ]


def copies() -> list[ProbeResult]:
    return [ProbeResult.model_validate(r.model_dump(exclude={"id"})) for r in rows()]


def test_a_batch_leaves_the_side_tables_as_one_insert_per_row_does(
    store: Store, tmp_path: Path
) -> None:
    one_by_one = Store.open(f"sqlite:///{tmp_path / 'one.db'}")
    for row in copies():
        one_by_one.add_result(row)
    store.add_results(copies())

    def rollups(s: Store) -> list[tuple[object, ...]]:
        return [
            (r.period, r.bucket, r.account, r.check, r.total, r.passed, r.failed, r.skipped,
             round(r.cost_usd, 6), r.latency_count, r.h0, r.h1)
            for r in s.rollups("hour") + s.rollups("day")
        ]  # fmt: skip

    def side(s: Store) -> tuple[object, ...]:
        latest = sorted((r.account, r.check, r.status, r.finished_at) for r in s.latest_per_pair())
        spend = [(d.account, d.day, round(d.usd, 6), d.paid_probes, d.skipped_probes)
                 for d in s.spend_ledger()]  # fmt: skip
        changes = sorted((r.account, r.finished_at, r.state_change) for r in s.results())
        return rollups(s), latest, spend, changes

    assert side(store) == side(one_by_one)
    one_by_one.close()


class Held(FreeCheck):
    """A free check that answers at once, except for the account named `slow`, which
    waits until the test lets it go."""

    name: ClassVar[str] = "snapshot"
    release: ClassVar[asyncio.Event | None] = None

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    async def run(self, ctx: ProbeContext) -> Outcome:
        if ctx.account.name == "slow":
            assert self.release is not None
            await self.release.wait()
        return Outcome(Status.PASS, "snapshot_available", "held")


def test_results_are_stored_while_the_round_still_waits_so_a_crash_keeps_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FrozenClock
) -> None:
    monkeypatch.setitem(REGISTRY, "snapshot", Held())
    names = ["slow", *(f"fast-{i}" for i in range(5))]
    loaded = parse(
        {
            "monitor": {"database_url": f"sqlite:///{tmp_path / 'r.db'}"},
            "accounts": [{"name": n, "api_key_env": "K", "snapshots": ["s"]} for n in names],
        },
        {"K": "sk-test-0123456789abcdef"},
    )
    store = Store.open(loaded.config.monitor.database_url)
    probes = plan(loaded, checks=["snapshot"])

    async def go() -> int:
        Held.release = asyncio.Event()
        async with httpx.AsyncClient() as client:
            task = asyncio.create_task(Round(loaded, client, clock, store).run(probes))
            deadline = time.monotonic() + 10 * FLUSH_SECONDS + 5
            while len(store.results()) < 5 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stored_while_waiting = len(store.results())
            assert not task.done()
            Held.release.set()
            await task
        return stored_while_waiting

    assert asyncio.run(go()) == 5  # every finished probe, before the round ended
    assert len(store.results()) == 6
    store.close()


class Counting(FreeCheck):
    """A free check making one request to its account's host."""

    name: ClassVar[str] = "model_listing"

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    async def run(self, ctx: ProbeContext) -> Outcome:
        await ctx.client.get(f"{ctx.account.base_url}/models")
        return Outcome(Status.PASS, "listed", "counted")


def test_probes_stay_within_the_per_host_bound_and_the_global_one(
    monkeypatch: pytest.MonkeyPatch, clock: FrozenClock
) -> None:
    monkeypatch.setitem(REGISTRY, "model_listing", Counting())
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    overall: list[int] = [0, 0]

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        overall[0] += 1
        most[host] = max(most.get(host, 0), in_flight[host])
        overall[1] = max(overall[1], overall[0])
        await asyncio.sleep(0.005)  # the server's latency: requests overlap
        in_flight[host] -= 1
        overall[0] -= 1
        return httpx.Response(200, json={"object": "list", "data": []})

    accounts = [
        {"name": f"{host}-{i}", "api_key_env": "K", "base_url": f"https://{host}.example/v1"}
        for host in ("one", "two")
        for i in range(20)
    ]
    loaded = parse(
        {"monitor": {"concurrency": 6, "per_host_concurrency": 4}, "accounts": accounts},
        {"K": "sk-test-0123456789abcdef"},
    )

    async def go() -> list[ProbeResult]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await Round(loaded, client, clock).run(plan(loaded, checks=["model_listing"]))

    results = asyncio.run(go())
    assert [r.reason for r in results] == ["listed"] * 40
    assert max(most.values()) == 4  # the bound is reached, never passed
    assert overall[1] <= 6


def test_per_host_concurrency_must_be_positive() -> None:
    from monitor.config import ConfigError

    with pytest.raises(ConfigError, match="per_host_concurrency"):
        parse(
            {
                "monitor": {"per_host_concurrency": 0},
                "accounts": [{"name": "a", "api_key_env": "K"}],
            },
            {"K": "sk-test-0123456789abcdef"},
        )


def test_numbered_keys_open_fresh_copies_of_their_scenario() -> None:
    state = SimulatorState()
    first = state.account_for_key("sk-sim-verified-0001")
    assert first is not None
    assert first.name == "verified-0001"
    assert first is state.account_for_key("sk-sim-verified-0001")
    assert first is not state.accounts["verified"]
    assert first.scenario.project == "proj_sim_verified_0001"
    assert state.account_for_key("sk-admin-sim-verified-0001", admin=True) is first
    assert state.account_for_key("sk-admin-sim-verified-0001") is None  # not an API key
    unverified = state.account_for_key("sk-sim-unverified-400-0007")
    assert unverified is not None
    assert unverified.unverified_status == 400
    assert state.account_for_key("sk-sim-revoked-key-0001") is None  # revoked stays unknown
    assert state.account_for_key("sk-sim-nosuchscenario-0001") is None
    assert state.account_named("tier1-0003") is not None


def test_numbered_accounts_answer_as_their_scenario_over_http() -> None:
    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            codes = []
            for key in ("sk-sim-verified-0001", "sk-sim-revoked-key-0001"):
                answer = await client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
                codes.append(answer.status_code)
            return codes

    assert asyncio.run(go()) == [200, 401]


def test_a_fleet_config_names_one_key_per_numbered_account() -> None:
    config, environ = fleet_config("http://127.0.0.1:9", 3, ("verified", "unverified"))
    names = [a["name"] for a in config["accounts"]]
    assert names == ["verified-0001", "unverified-0002", "verified-0003"]
    assert environ["IMAGEWATCH_SIM_KEY_0002"] == "sk-sim-unverified-0002"
    assert "admin_key_env" not in config["accounts"][1]  # the scenario has no admin key
    loaded = parse(config, environ)
    assert len(plan(loaded)) == 19  # with usage and spend for the two with an admin key


@pytest.fixture
def simulate_fleet(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    from tests.test_cli import SimulateProcess

    config = tmp_path / "fleet.toml"
    process = SimulateProcess("--write-config", str(config), "--accounts", "3")
    try:
        env_file = tmp_path / "fleet.toml.env"
        keys = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        yield config, keys
    finally:
        process.stop()


def test_simulate_writes_a_config_that_check_runs_against(
    simulate_fleet: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    config, keys = simulate_fleet
    text = config.read_text()
    assert "sk-sim" not in text  # keys live in the env file, never in the config
    env = {**os.environ, **keys, "IMAGEWATCH_CONFIG": str(config)}
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count('"status": "pass"') == 21  # usage and spend pass for copies too


def test_simulate_refuses_an_unknown_scenario_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "simulate", "--port", "0", "--write-config",
         str(tmp_path / "f.toml"), "--scenario", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2
    assert len(lines) == 1
    assert lines[0].startswith("error: --scenario: unknown scenario 'nope'")
    assert not (tmp_path / "f.toml").exists()


def test_off_a_terminal_a_line_is_printed_per_hundred_accounts_done() -> None:
    names = [f"acct-{i}" for i in range(250)]
    loaded = parse(
        {"accounts": [{"name": n, "api_key_env": "K"} for n in names]},
        {"K": "sk-test-0123456789abcdef"},
    )
    probes = plan(loaded, checks=["model_listing", "snapshot"])
    out = io.StringIO()
    ticks = iter(range(10_000))
    summary = AccountSummary(probes, out, clock=lambda: float(next(ticks)))
    for probe in probes:
        summary(probe, None)
        status = "fail" if probe.account.name == "acct-0" else "pass"
        summary(probe, ProbeResult(status=status))  # type: ignore[call-arg]
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "probed 100/250 accounts",
        "probed 200/250 accounts",
        "probed 250/250 accounts",
    ]
    assert lines[-1].startswith("probed 250/250 accounts: 249 pass, 1 fail (")


def test_small_rounds_print_no_progress_off_a_terminal() -> None:
    loaded = parse({"accounts": [{"name": "a", "api_key_env": "K"}]}, {"K": "sk-test-0123456789"})
    with progress(5, io.StringIO(), probes=plan(loaded)) as callback:
        assert callback is None


def test_two_instances_are_each_first_in_line_for_about_half_the_probes() -> None:
    from monitor.cadence import first_in_line

    keys = [f"acct-{i:04d}/{c}/gpt-image-2" for i in range(1000) for c in ("a", "b", "c")]
    live = ["host-a:101", "host-b:202"]
    share = sum(first_in_line(k, live, "host-a:101") for k in keys) / len(keys)
    assert 0.45 <= share <= 0.55
    assert all(first_in_line(k, live, "host-a:101") != first_in_line(k, live, "host-b:202")
               for k in keys)  # fmt: skip
    assert all(first_in_line(k, ["host-a:101"], "host-a:101") for k in keys[:50])
    assert all(first_in_line(k, [], "host-c:303") for k in keys[:50])  # before its first beat


def test_a_slow_publish_makes_the_next_wait_so_publishing_takes_a_fifth_of_the_time() -> None:
    from monitor.cadence import publish_wait

    assert publish_wait(5.0, 0.3) == 5.0  # a quick publish: the plain debounce
    assert publish_wait(5.0, 10.0) == pytest.approx(40.0)


def test_an_instance_waiting_its_turn_does_not_probe_again_across_a_window_boundary(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    from checks.generation import Generation
    from monitor import cadence
    from monitor.daemon import Daemon
    from tests.test_daemon import config_for

    loaded = config_for(simulator.url, "verified")
    store = Store.open(f"sqlite:///{tmp_path / 'two.db'}")
    probe = next(p for p in plan(loaded) if p.check == Generation.name)
    window = cadence.shortest_interval(loaded.config.check_settings(Generation.name))
    # A boundary of the claim window that is not one of the hourly cadence's slots too.
    boundary = cadence.slot_at(probe.key, window, T0 + timedelta(minutes=10)).next_start
    assert cadence.slot_at(probe.key, 3600, boundary).start != boundary
    clock = FrozenClock(boundary - timedelta(seconds=0.2))
    first, second = ("a", "b") if cadence.first_in_line(probe.key, ["a", "b"], "a") else ("b", "a")

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            ahead = Daemon(loaded, store, client, clock, first)
            behind = Daemon(loaded, store, client, clock, second)
            ahead.live = behind.live = ["a", "b"]
            waiting = asyncio.create_task(behind.probe(probe))
            await asyncio.sleep(0)  # it checks, then waits its grace
            await ahead.probe(probe)  # claims the window ending in 0.2 s, and runs
            clock.advance(0.5)  # the grace ends in the next window
            assert (await waiting).result is None

    asyncio.run(go())
    assert [r.check for r in store.results()].count(Generation.name) == 1
    store.close()
