"""Several instances on one database, and instances killed at any moment: all come up on an
empty database, each paid probe goes out once whatever each instance knows, and no alert is
lost while every repeat of one carries the same id."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import ProgrammingError
from sqlmodel import Session, col, select

from checks.base import SystemClock
from checks.generation import Generation
from monitor import cadence
from monitor.alerts import Channel, deliver
from monitor.alerts.outbox import STALE_CLAIM
from monitor.config import ChannelTarget, load
from monitor.daemon import Daemon, last_of
from monitor.plan import plan
from monitor.scheduler import serve
from monitor.store import OutboxMessage, ProbeResult, ProbeSlot, Store, make_engine
from monitor.store.schema import HEAD, current
from tests.conftest import PG_URL, ServedSimulator, drop_every_table
from tests.receivers import http_receiver
from tests.test_daemon import config_for, write_config

DEADLINE = 90.0


def poll(what: str, ready: Callable[[], bool], seconds: float = DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A database of its own for this test run, named after the configured one; when the
    role may not create databases, the configured one emptied."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set IMAGEWATCH_TEST_DATABASE_URL to run the PostgreSQL tests")
        pytest.skip("set IMAGEWATCH_TEST_DATABASE_URL to run against PostgreSQL")
    base = make_url(PG_URL)
    name = f"{base.database}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except ProgrammingError:
        admin.dispose()
        engine = make_engine(PG_URL)
        drop_every_table(engine)
        engine.dispose()
        yield PG_URL
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        with fresh_postgres() as url:
            yield url


# Each instance loads everything `run --once` needs, says it is ready, and waits for the
# start signal: the three then open the empty database within milliseconds of each other.
STARTER = """
import pathlib, sys, time
import alembic.command, alembic.script, monitor.cli.run, monitor.daemon, monitor.page
from monitor.cli import main
folder = pathlib.Path(sys.argv[1])
(folder / f"ready-{sys.argv[2]}").touch()
deadline = time.monotonic() + 60
while not (folder / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.001)
sys.argv = ["imagewatch", "run", "--once", "--config", sys.argv[3]]
main()
"""


def test_three_instances_started_at_once_on_an_empty_database_all_come_up(
    simulator: ServedSimulator, empty_database: str, tmp_path: Path
) -> None:
    _, env = write_config(tmp_path, simulator.url)
    configs = []
    for index in range(3):
        config = tmp_path / f"instance-{index}.toml"
        config.write_text(
            f'[monitor]\ndatabase_url = "{empty_database}"\n'
            f'site_dir = "{tmp_path / f"site-{index}"}"\n'
            f'[[accounts]]\nname = "verified"\nbase_url = "{simulator.url}/v1"\n'
            'api_key_env = "K_VERIFIED"\n'
            f'[checks.pricing]\nsource = "{simulator.url}/_sim/prices/published.json"\n',
            encoding="utf-8",
        )
        configs.append(config)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(tmp_path), str(index), str(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, config in enumerate(configs)
    ]
    try:
        poll("three instances ready", lambda: len(list(tmp_path.glob("ready-*"))) == 3, 60)
        (tmp_path / "go").touch()
        finished = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (_, err) in zip(processes, finished, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert "error:" not in err
    store = Store.open(empty_database)
    assert current(store.engine) == HEAD
    assert {r.account for r in store.results()} == {"verified"}
    assert len({h.instance for h in store.heartbeats()}) == 3
    store.close()


def generations(store: Store) -> list[ProbeResult]:
    with Session(store.engine) as session:
        statement = (
            select(ProbeResult)
            .where(col(ProbeResult.check) == Generation.name)
            .order_by(col(ProbeResult.started_at))
        )
        return list(session.scalars(statement).all())


def test_two_daemons_send_each_paid_probe_once_across_fail_to_pass_changes(
    simulator: ServedSimulator, store: Store
) -> None:
    loaded = config_for(
        simulator.url,
        "unverified",
        generation={"every": "2s", "every_when_failing": "1s"},
        model_listing={"every": "1h"},
        snapshot={"every": "1h"},
        rate_limits={"every": "1h"},
    )
    passes = fails = 0

    def count(status: str) -> int:
        return sum(r.status == status for r in generations(store))

    async def change_the_world(stop: asyncio.Event) -> None:
        nonlocal passes, fails

        async def until(status: str, target: int) -> int:
            deadline = time.monotonic() + DEADLINE
            while (found := count(status)) < target:
                if time.monotonic() > deadline:
                    pytest.fail(f"timed out waiting for {target} results {status}")
                await asyncio.sleep(0.05)
            return found

        try:
            # Each change of the account reaches the instances when one of them probes it:
            # the other still holds the schedule of what it knew before.
            for _ in range(2):
                fails = await until("fail", fails + 2)
                await asyncio.to_thread(simulator.control, "unverified", verified=True)
                passes = await until("pass", passes + 2)
                await asyncio.to_thread(simulator.control, "unverified", verified=False)
        finally:
            stop.set()

    async def two_daemons() -> None:
        stop = asyncio.Event()
        async with httpx.AsyncClient() as one, httpx.AsyncClient() as two:
            await asyncio.gather(
                serve(Daemon(loaded, store, one, SystemClock(), "a"), lambda _: None, stop=stop),
                serve(Daemon(loaded, store, two, SystemClock(), "b"), lambda _: None, stop=stop),
                change_the_world(stop),
            )

    asyncio.run(two_daemons())
    probe = next(p for p in plan(loaded) if p.check == Generation.name)
    settings = loaded.config.check_settings(Generation.name)
    runs = generations(store)
    # Each run went ahead only when, by the result stored before it, its slot had not run:
    # never a second probe because an instance still ran the cadence it knew before.
    for before, after in itertools.pairwise(runs):
        assert cadence.runs_now(probe.key, settings, last_of(before), None, after.started_at), (
            f"{after.status} at {after.started_at:%H:%M:%S.%f} repeats "
            f"{before.status} at {before.started_at:%H:%M:%S.%f}"
        )
    with Session(store.engine) as session:
        claims = session.scalars(
            select(ProbeSlot).where(col(ProbeSlot.check) == Generation.name)
        ).all()
    assert len(claims) == len(runs)
    # Once both have beaten, the instance first in line for the probe claims it; the other
    # only waits its grace (before the first heartbeat both race for it).
    first = "a" if cadence.first_in_line(probe.key, ["a", "b"], "a") else "b"
    assert sum(c.instance == first for c in claims) > len(claims) / 2
    assert simulator.control("unverified")["billed_images"] == count("pass") >= 4


ALERTS = """
[alerts]
remind_every = "1s"
group_wait = 0.01
[[alerts.channels]]
name = "hook"
kind = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"
"""


class Gate:
    """Holds the receiver's answer to one chosen request, so that the sender can be killed
    after the receiver has the message and before the sender knows it arrived."""

    def __init__(self) -> None:
        self.hold_at: int | None = None
        self.seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, _request: dict[str, Any]) -> None:
        self.seen += 1
        if self.seen == self.hold_at:
            self.holding.set()
            self.release.wait(timeout=DEADLINE)


def reaches(database: Path, table: str, target: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while count_rows(database, table) < target:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {target} rows in {table}")
        time.sleep(0.01)


def count_rows(database: Path, table: str) -> int:
    """Rows in a table of the daemon's SQLite file, read without opening a Store (which
    would wait for the daemon's own upgrade); 0 before the daemon has made it."""
    if not database.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is still being made
        return 0


def test_a_daemon_killed_at_random_points_loses_no_alert_and_repeats_carry_one_id(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    database = tmp_path / "iw.db"
    chance = random.Random(11)
    gate = Gate()
    with http_receiver(on_request=gate) as receiver:
        config, env = write_config(tmp_path, simulator.url)
        config.write_text(config.read_text(encoding="utf-8") + ALERTS, encoding="utf-8")
        env.update(HOOK_URL=receiver.url, HOOK_SECRET="whsec-kill-test-secret")
        # Each point once, the dice choosing only how far in: while the receiver holds a
        # message, after a result is stored (before its alert is written), after a message
        # is written (before it is sent).
        points = ["mid-send", "after-result", "after-outbox"]
        for point in points:
            step = chance.randint(1, 3)
            results = count_rows(database, "probe_results")
            messages = count_rows(database, "alert_outbox")
            gate.holding.clear()
            gate.release.clear()
            gate.hold_at = gate.seen + step if point == "mid-send" else None
            # A session of its own, killed whole as a service manager kills a unit: the
            # daemon's spawned publisher (and multiprocessing's resource tracker) would
            # otherwise outlive it, holding stderr open for as long as a loaded machine
            # takes to finish the publish.
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(config)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                if point == "mid-send":
                    poll("a message held mid-send", gate.holding.is_set)
                elif point == "after-result":
                    reaches(database, "probe_results", results + step)
                else:
                    reaches(database, "alert_outbox", messages + step)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                _, err = process.communicate(timeout=30)
                gate.release.set()
            assert process.returncode == -signal.SIGKILL
            assert "Traceback" not in err

        # Whatever a killed sender held is taken over once its claim is stale: deliver as
        # a later instance would, past that point, until nothing is left.
        loaded = load(str(config), env)
        later = SystemClock().now() + STALE_CLAIM + timedelta(minutes=1)
        store = Store.open(f"sqlite:///{database}")
        with httpx.Client() as client:
            target = ChannelTarget("hook", "webhook", receiver.url, "whsec-kill-test-secret")
            channels = {"hook": Channel(target, client, SystemClock())}
            while deliver(store, loaded, channels, later, "survivor").sent:
                pass
        store.close()
        received = list(receiver.requests)

    store = Store.open(f"sqlite:///{database}")
    with Session(store.engine) as session:
        rows = list(session.scalars(select(OutboxMessage)))
    store.close()
    assert rows, "the trials wrote no message"
    assert {r.state for r in rows} <= {"sent", "suppressed"}, "a message was left undelivered"
    ids = {r.message_id for r in rows if r.state == "sent"}
    by_id: dict[str, list[bytes]] = {}
    for request in received:
        body = json.loads(request["body"])
        assert request["headers"]["Idempotency-Key"] == body["id"]
        by_id.setdefault(body["id"], []).append(request["body"])
    assert set(by_id) == ids, "every message sent arrived, and nothing else did"
    repeats = {key: bodies for key, bodies in by_id.items() if len(bodies) > 1}
    assert repeats, "a sender killed mid-send sends its message again"
    for bodies in repeats.values():
        assert len(set(bodies)) == 1, "a repeat is the same message"
