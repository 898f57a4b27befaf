from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from checks.generation import Generation
from monitor.clock import FrozenClock
from monitor.config import LoadedConfig, parse
from monitor.daemon import Daemon, Probed
from monitor.plan import Probe, plan
from monitor.runner import Round
from monitor.scheduler import Scheduler, serve
from monitor.simulator.scenarios import PINNED, scenario
from monitor.store import DailySpend, ProbeResult, ProbeSlot, Store
from tests.conftest import ServedSimulator


def config_for(url: str, *names: str, budget: str = "0.25", **checks: object) -> LoadedConfig:
    env: dict[str, str] = {}
    accounts = []
    for name in names:
        var = name.upper().replace("-", "_")
        env[var] = scenario(name).api_key
        accounts.append(
            {
                "name": name,
                "base_url": f"{url}/v1",
                "api_key_env": var,
                "snapshots": [PINNED],
                "daily_probe_budget_usd": Decimal(budget),
            }
        )
    pricing = {"source": f"{url}/_sim/prices/published.json"}
    return parse({"accounts": accounts, "checks": {"pricing": pricing, **checks}}, env)


@pytest.fixture(autouse=True)
def in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon publishes to the default site_dir, relative to where it runs."""
    monkeypatch.chdir(tmp_path)


def probe(loaded: LoadedConfig, account: str, check: str) -> Probe:
    return next(p for p in plan(loaded) if p.account.name == account and p.check == check)


def test_a_paid_probe_past_the_daily_budget_is_skipped_not_sent(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "verified", budget="0.004")

    async def go() -> list[ProbeResult]:
        async with httpx.AsyncClient() as client:
            results = []
            for _ in range(3):
                results += await Round(loaded, client, clock, store).run(plan(loaded))
            return results

    results = asyncio.run(go())
    generations = [r for r in results if r.check == "generation"]
    # $0.00168 a probe: two fit under $0.004, the third would pass it.
    assert [r.reason for r in generations] == ["ok", "ok", "budget_exhausted"]
    assert generations[2].status == "skipped"
    assert all(r.status != "skipped" for r in results if r.check != "generation")
    assert simulator.control("verified")["billed_images"] == 2
    ledger = store.spend_ledger()
    assert [(d.account, d.paid_probes, d.skipped_probes) for d in ledger] == [("verified", 2, 1)]
    assert ledger[0].usd == pytest.approx(0.00336)


def test_the_budget_resets_on_the_next_utc_day(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "verified", budget="0.002")
    generation = probe(loaded, "verified", "generation")

    async def once() -> str:
        async with httpx.AsyncClient() as client:
            return (await Round(loaded, client, clock, store).run([generation]))[0].reason

    assert [asyncio.run(once()), asyncio.run(once())] == ["ok", "budget_exhausted"]
    clock.advance(12 * 3600 + 1)
    assert asyncio.run(once()) == "ok"


def test_two_daemons_on_one_database_run_each_slot_once(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "verified")
    generation = probe(loaded, "verified", "generation")

    async def race() -> list[ProbeResult | None]:
        async with httpx.AsyncClient() as one, httpx.AsyncClient() as two:
            a = Daemon(loaded, store, one, clock, instance="a")
            b = Daemon(loaded, store, two, clock, instance="b")
            both = await asyncio.gather(a.probe(generation), b.probe(generation))
            return [probed.result for probed in both]

    results = asyncio.run(race())
    assert sorted(r is None for r in results) == [False, True]
    assert simulator.control("verified")["billed_images"] == 1
    clock.advance(3600)  # the next slot is open again, to exactly one of them
    results = asyncio.run(race())
    assert sorted(r is None for r in results) == [False, True]
    assert simulator.control("verified")["billed_images"] == 2


def test_the_probe_step_runs_a_refused_generation_again_within_minutes(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "unverified")
    generation = probe(loaded, "unverified", "generation")

    async def step() -> Probed:
        async with httpx.AsyncClient() as client:
            return await Daemon(loaded, store, client, clock, instance="a").probe(generation)

    probed = asyncio.run(step())
    assert probed.result is not None
    assert probed.result.reason == "org_verification_required"
    assert 0 < (probed.decision.next_run - clock.now()).total_seconds() <= 300
    assert probed.decision.confirm is False
    assert simulator.control("unverified")["spend_usd"] == "0"


def test_two_schedulers_sharing_a_database_send_each_paid_probe_once(
    simulator: ServedSimulator, store: Store
) -> None:
    from checks.base import SystemClock

    loaded = config_for(
        simulator.url,
        "verified",
        generation={"every": "1s", "every_when_failing": "1s"},
        model_listing={"every": "1s"},
    )

    async def both() -> None:
        stop = asyncio.Event()

        async def three_generations_stored() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(stored_generations()) < 3:
                await asyncio.sleep(0.1)
            stop.set()

        async with httpx.AsyncClient() as one, httpx.AsyncClient() as two:
            await asyncio.gather(
                serve(Daemon(loaded, store, one, SystemClock(), "a"), lambda _: None, stop=stop),
                serve(Daemon(loaded, store, two, SystemClock(), "b"), lambda _: None, stop=stop),
                three_generations_stored(),
            )

    def stored_generations() -> list[ProbeResult]:
        with Session(store.engine) as session:
            return list(
                session.scalars(
                    select(ProbeResult).where(col(ProbeResult.check) == Generation.name)
                ).all()
            )

    asyncio.run(both())
    with Session(store.engine) as session:
        generations = session.scalars(
            select(ProbeResult).where(col(ProbeResult.check) == "generation")
        ).all()
        claims = session.scalars(
            select(ProbeSlot).where(col(ProbeSlot.check) == "generation")
        ).all()
    assert len(generations) >= 3
    assert len(generations) == len(claims)
    assert {c.instance for c in claims} <= {"a", "b"}
    assert simulator.control("verified")["billed_images"] == len(generations)
    assert {h.instance for h in store.heartbeats()} == {"a", "b"}


def test_scheduler_jobs_are_bounded_and_coalesced(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "verified")

    async def inspect() -> list[tuple[str, int, bool]]:
        async with httpx.AsyncClient() as client:
            scheduler = Scheduler(Daemon(loaded, store, client, clock, "a"), log=lambda _: None)
            scheduler.start()
            jobs = [(j.id, j.max_instances, j.coalesce) for j in scheduler.scheduler.get_jobs()]
            scheduler.scheduler.shutdown(wait=False)
            return jobs

    jobs = asyncio.run(inspect())
    assert {j[0] for j in jobs} >= {"verified/generation/gpt-image-2", "heartbeat", "prune"}
    assert all(max_instances == 1 and coalesce for _, max_instances, coalesce in jobs)


def write_config(folder: Path, url: str) -> tuple[Path, dict[str, str]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(folder),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "K_VERIFIED": scenario("verified").api_key,
        "K_UNVERIFIED": scenario("unverified").api_key,
    }
    path = folder / "imagewatch.toml"
    path.write_text(
        f"""
[monitor]
database_url = "sqlite:///{folder / "iw.db"}"
site_dir = "{folder / "public"}"
[[accounts]]
name = "verified"
base_url = "{url}/v1"
api_key_env = "K_VERIFIED"
[[accounts]]
name = "unverified"
base_url = "{url}/v1"
api_key_env = "K_UNVERIFIED"
[checks.model_listing]
every = "1s"
[checks.generation]
every = "2s"
every_when_failing = "1s"
# A run killed mid-probe holds its pair for twice this (tests kill daemons on purpose).
timeout = "4s"
[checks.rate_limits]
every = "1s"
[checks.pricing]
every = "3s"
source = "{url}/_sim/prices/published.json"
""",
        encoding="utf-8",
    )
    return path, env


def results_per_check(database: Path) -> dict[str, int]:
    """Stored results per `account/check`; none before the daemon has made its tables."""
    if not database.exists():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(database)) as db:
            rows = db.execute(
                "SELECT account || '/' || \"check\", count(*) FROM probe_results GROUP BY 1"
            )
            return {str(key): int(count) for key, count in rows}
    except sqlite3.OperationalError:  # the daemon is still creating the schema
        return {}


def test_imagewatch_run_keeps_watching_until_sigterm(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, simulator.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wanted = {"verified/generation": 2, "unverified/generation": 3, "verified/model_listing": 3}
    deadline = time.monotonic() + 60
    while not all(n <= results_per_check(tmp_path / "iw.db").get(k, 0) for k, n in wanted.items()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate(timeout=30)
            pytest.fail(f"{results_per_check(tmp_path / 'iw.db')} by the deadline\n{err}")
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in err
    counts = results_per_check(tmp_path / "iw.db")
    with contextlib.closing(sqlite3.connect(tmp_path / "iw.db")) as db:
        spend = dict(db.execute("SELECT account, usd FROM daily_spend"))
        beats = db.execute("SELECT instance, started_at, beat_at FROM heartbeats").fetchall()
    assert counts["verified/generation"] >= 2
    assert counts["unverified/generation"] >= 3  # failing: re-probed every second
    assert counts["verified/model_listing"] >= 3
    assert spend["verified"] > 0
    assert "unverified" not in spend  # refusals are not billed
    assert len(beats) == 1


def test_run_once_runs_one_round_and_exits_with_the_check_code(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, simulator.url)
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--once", "--json", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    results = json.loads(run.stdout)["results"]
    assert {(r["account"], r["check"]) for r in results} == {
        (a, c)
        for a in ("verified", "unverified")
        for c in ("model_listing", "generation", "rate_limits", "pricing")
    }
    with sqlite3.connect(tmp_path / "iw.db") as db:
        assert db.execute("SELECT count(*) FROM heartbeats").fetchone()[0] == 1
        # A one-shot round is over when it has published: never counted as running.
        assert db.execute("SELECT stopped_at FROM heartbeats").fetchone()[0] is not None
    status = json.loads((tmp_path / "public" / "status.json").read_text())
    assert status["heartbeat"]["state"] == "stopped"


def test_a_probe_or_step_that_raises_does_not_stop_the_next_round(
    simulator: ServedSimulator, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checks import REGISTRY
    from checks.base import Outcome, ProbeContext, SystemClock
    from checks.snapshot import Snapshot

    class Exploding(Snapshot):
        async def run(self, ctx: ProbeContext) -> Outcome:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    class AlertBug(Daemon):
        def alert(self, results: object) -> None:
            raise RuntimeError("alert step bug")

    monkeypatch.setitem(REGISTRY, Snapshot.name, Exploding())
    loaded = config_for(
        simulator.url, "verified", model_listing={"every": "1s"}, snapshot={"every": "1s"}
    )
    lines: list[str] = []

    def rounds_of(check: str) -> int:
        with Session(store.engine) as session:
            return len(
                session.scalars(select(ProbeResult).where(col(ProbeResult.check) == check)).all()
            )

    async def go() -> None:
        stop = asyncio.Event()

        async def two_rounds_stored() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                rounds_of(Snapshot.name) < 2 or rounds_of("model_listing") < 2
            ):
                await asyncio.sleep(0.1)
            stop.set()

        async with httpx.AsyncClient() as client:
            daemon = AlertBug(loaded, store, client, SystemClock(), "a")
            await asyncio.gather(serve(daemon, lines.append, stop=stop), two_rounds_stored())

    asyncio.run(go())
    assert rounds_of(Snapshot.name) >= 2
    assert rounds_of("model_listing") >= 2
    snapshot = store.latest("verified", Snapshot.name, PINNED)
    assert snapshot is not None
    assert (snapshot.status, snapshot.reason) == ("unknown", "monitor_error")
    assert any("monitor error: RuntimeError: alert step bug" in line for line in lines)


def test_the_daemon_says_when_it_runs_but_stores_nothing(store: Store) -> None:
    from datetime import UTC, datetime

    from checks.base import Outcome, Status
    from monitor.redact import Redactor
    from monitor.runner import to_row

    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    clock = FrozenClock(now)
    loaded = config_for("http://127.0.0.1:9", "verified")
    lines: list[str] = []
    scheduler = Scheduler(Daemon(loaded, store, httpx.AsyncClient(), clock, "a"), lines.append)
    clock.advance(3600)  # started an hour ago, nothing stored since
    scheduler.beat()
    assert lines == [
        "warning: running but not probing: no result stored for twice the shortest probe interval"
    ]
    listing = probe(loaded, "verified", "model_listing")
    outcome = Outcome(Status.PASS, "listed", "listed")
    store.add_result(to_row(listing, outcome, clock.now(), clock.now(), Redactor()))
    scheduler.beat()
    scheduler.beat()
    assert lines[1:] == ["probing again: results are being stored"]


def test_the_heartbeat_records_when_the_instance_last_stored_a_result(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "verified")

    async def go() -> Daemon:
        async with httpx.AsyncClient() as client:
            daemon = Daemon(loaded, store, client, clock, "a")
            await daemon.probe(probe(loaded, "verified", "model_listing"))
            return daemon

    daemon = asyncio.run(go())
    clock.advance(30)
    daemon.beat()
    [heartbeat] = store.heartbeats()
    assert heartbeat.last_result_at == daemon.last_result_at
    assert heartbeat.last_result_at is not None
    assert heartbeat.beat_at == clock.now()


def test_the_daemons_rounds_wait_through_its_own_sleep_not_the_real_clock(
    store: Store, clock: FrozenClock
) -> None:
    """A replay injects a sleep that does not wait; every round the daemon builds (its
    scheduled probes and its whole rounds) must use it for retry waits."""
    waits: list[float] = []

    async def recorded(seconds: float) -> None:
        waits.append(seconds)

    loaded = config_for("http://127.0.0.1:9", "verified")

    async def built() -> Round:
        async with httpx.AsyncClient() as client:
            return Daemon(loaded, store, client, clock, "a", sleep=recorded).round()

    round_ = asyncio.run(built())
    asyncio.run(round_.sleep(1.5))
    assert waits == [1.5]


def test_a_round_of_one_account_holds_only_that_account_s_spend(
    simulator: ServedSimulator, store: Store, clock: FrozenClock
) -> None:
    loaded = config_for(simulator.url, "verified")
    with Session(store.engine) as session:
        session.add_all(
            DailySpend(account=f"other-{n}", day=clock.now().date(), usd=0.01) for n in range(50)
        )
        session.commit()

    async def go() -> Round:
        async with httpx.AsyncClient() as client:
            one = Round(loaded, client, clock, store)
            await one.run([probe(loaded, "verified", Generation.name)])
            return one

    one = asyncio.run(go())
    assert set(one.spent[clock.now().date()]) <= {"verified"}


def test_the_catch_up_on_start_leaves_half_the_gates_to_probes_whose_slot_comes(
    store: Store, clock: FrozenClock
) -> None:
    from monitor.simulator import create_app
    from monitor.simulator.fleet import fleet_config

    counts = {"now": 0, "most": 0}

    class Counting(httpx.AsyncBaseTransport):
        """The simulator in process, counting the requests in flight."""

        def __init__(self) -> None:
            self.app = httpx.ASGITransport(app=create_app())

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            counts["now"] += 1
            counts["most"] = max(counts["most"], counts["now"])
            try:
                await asyncio.sleep(0.01)  # the server's latency: requests overlap
                return await self.app.handle_async_request(request)
            finally:
                counts["now"] -= 1

    data, env = fleet_config("http://sim", 6)
    data["monitor"].update(concurrency=4, per_host_concurrency=4)
    loaded = parse(data, env)

    async def catch_up() -> None:
        async with httpx.AsyncClient(transport=Counting()) as client:
            scheduler = Scheduler(Daemon(loaded, store, client, clock, "a"), log=lambda _: None)
            due = scheduler.start()
            try:
                await scheduler.catch_up(due)
            finally:
                scheduler.scheduler.shutdown(wait=False)

    asyncio.run(catch_up())
    assert len(store.results(limit=1000)) == len(plan(loaded))  # every probe was due, ran
    assert counts["most"] == 2  # half of the four places, never more


FROZEN_AFTER_CATCH_UP = """
import asyncio, gc, sys
import httpx
from checks.base import SystemClock
from monitor.config import parse
from monitor.daemon import Daemon
from monitor.scheduler import Scheduler
from monitor.store import Store

account = {"name": "a", "api_key_env": "K", "base_url": "http://127.0.0.1:9/v1"}
loaded = parse({"accounts": [account]}, {"K": "sk-test-0123456789abcdef"})
store = Store.open(sys.argv[1])

async def main() -> None:
    async with httpx.AsyncClient() as client:
        daemon = Daemon(loaded, store, client, SystemClock(), "a")
        scheduler = Scheduler(daemon, own_process=True)
        scheduler.start()
        await scheduler.catch_up([])  # nothing due: the freezing alone
        scheduler.scheduler.shutdown(wait=False)

asyncio.run(main())
print(gc.get_freeze_count())
"""


def test_the_daemon_s_own_process_freezes_its_long_lived_heap_out_of_the_collector(
    tmp_path: Path,
) -> None:
    # A process of its own: freezing is for the whole heap, never the test runner's.
    done = subprocess.run(
        [sys.executable, "-c", FROZEN_AFTER_CATCH_UP, f"sqlite:///{tmp_path / 'iw.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10_000  # the modules, the config, the plan, the jobs


def test_a_catch_up_round_that_fails_says_so_and_leaves_its_probes_to_their_next_slot(
    store: Store, clock: FrozenClock
) -> None:
    from monitor.store import StoreError

    class StoreDown(Daemon):
        async def probe_all(self, probes: object, share: int, ended: object) -> list[Probed]:
            raise StoreError("database: could not read the latest results")

    loaded = config_for("http://127.0.0.1:9", "verified")
    lines: list[str] = []

    async def catch_up() -> tuple[list[Probe], dict[str, object]]:
        async with httpx.AsyncClient() as client:
            scheduler = Scheduler(StoreDown(loaded, store, client, clock, "a"), lines.append)
            due = scheduler.start()
            await scheduler.catch_up(due)
            jobs = {job.id: job.next_run_time for job in scheduler.scheduler.get_jobs()}
            scheduler.scheduler.shutdown(wait=False)
            return due, jobs

    due, jobs = asyncio.run(catch_up())
    assert due  # an empty database: every probe was due
    assert all(jobs[p.key] is not None for p in due)  # none left paused for good
    assert lines == [
        f"error: catch-up of {len(due)} probe(s): database: could not read the latest results"
    ]
