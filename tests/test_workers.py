"""A large `check` round is shared by worker processes (monitor.workers): the same results,
stored once each by the command alone, one progress, Ctrl-C relayed, a dead worker named.
Real processes against the simulator served over HTTP, a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from checks.base import SystemClock
from monitor.config import LoadedConfig, parse
from monitor.plan import Probe, plan
from monitor.simulator.fleet import as_env_file, as_toml, fleet_config
from monitor.store import ProbeResult, Store
from monitor.workers import (
    COMMAND_SHARE,
    MIN_ACCOUNTS_PER_WORKER,
    WorkerError,
    bounded,
    run_split,
    split,
    worker_count,
)
from tests.conftest import ServedSimulator
from tests.test_stopping import Running, assert_quiet

ACCOUNTS = 2 * MIN_ACCOUNTS_PER_WORKER


def test_auto_runs_one_worker_per_cpu_and_small_rounds_in_one_process() -> None:
    assert worker_count(0, 1000, cpus=2) == 2
    assert worker_count(0, 1000, cpus=None) == 1
    assert worker_count(3, 1000, cpus=2) == 3
    assert worker_count(0, MIN_ACCOUNTS_PER_WORKER * 2 - 1, cpus=8) == 1
    assert worker_count(0, 1, cpus=8) == 1
    assert worker_count(16, 100_000, cpus=64) == 16


def fleet_data(
    url: str, folder: Path, workers: int, count: int = ACCOUNTS
) -> tuple[dict[str, Any], dict[str, str]]:
    """`count` numbered accounts, the five checks each (no admin key: no Admin API reads)."""
    data, env = fleet_config(url, count, database_url=f"sqlite:///{folder / 'iw.db'}")
    for account in data["accounts"]:
        env.pop(account.pop("admin_key_env", ""), None)
    data["monitor"]["workers"] = workers
    return data, env


def fleet(url: str, folder: Path, workers: int, count: int = ACCOUNTS) -> LoadedConfig:
    data, env = fleet_data(url, folder, workers, count)
    data["monitor"]["site_dir"] = str(folder / "public")
    return parse(data, env)


def test_a_split_keeps_every_account_whole_and_the_shares_even(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    probes = plan(fleet(simulator.url, tmp_path, 3, count=31))
    groups = split(probes, 3)
    assert sorted(i for group in groups for i in group) == list(range(len(probes)))
    owners = {probes[i].account.name: n for n, group in enumerate(groups) for i in group}
    for n, group in enumerate(groups):
        assert all(owners[probes[i].account.name] == n for i in group)
    sizes = [len(group) for group in groups]
    assert max(sizes) - min(sizes) <= max(Counter(p.account.name for p in probes).values())
    lighter, heavier = split(probes, 2, first_share=0.5)
    assert len(heavier) >= 2 * len(lighter) - 5  # within one account of a third / two thirds


def test_the_processes_share_the_bounds_on_probes_in_flight(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    data, env = fleet_data(simulator.url, tmp_path, 2)
    data["monitor"].update(concurrency=100, per_host_concurrency=40)
    loaded = parse(data, env)
    command, worker = bounded(loaded, 0.4), bounded(loaded, 0.6)
    assert (command.config.monitor.concurrency, worker.config.monitor.concurrency) == (40, 60)
    assert command.config.monitor.per_host_concurrency == 16
    assert worker.config.monitor.per_host_concurrency == 24
    assert bounded(loaded, 0.001).config.monitor.per_host_concurrency == 1
    assert loaded.config.monitor.concurrency == 100  # the command's own config is untouched


def stored_rows(database: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        query = 'SELECT account, "check", reason FROM probe_results'
        return [(str(a), str(c), str(r)) for a, c, r in db.execute(query)]


def write_fleet(url: str, folder: Path, workers: int) -> tuple[Path, dict[str, str]]:
    data, env = fleet_data(url, folder, workers)
    config = folder / "fleet.toml"
    config.write_text(as_toml(data, "fleet.env"), encoding="utf-8")
    (folder / "fleet.env").write_text(as_env_file(env), encoding="utf-8")
    return config, {"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(folder), **env}


def check_json(url: str, folder: Path, workers: int) -> tuple[list[dict[str, Any]], str]:
    config, env = write_fleet(url, folder, workers)
    command = Running(["check", "--config", str(config), "--json"], env)
    code, out, err = command.finish(timeout=120)
    assert code == 0, err
    assert_quiet(err)
    results: list[dict[str, Any]] = json.loads(out)["results"]
    return results, err


def test_two_workers_give_the_results_of_one_process_each_stored_once(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    alone, _ = check_json(simulator.url, tmp_path / "one", workers=1)
    simulator.reset()
    shared, err = check_json(simulator.url, tmp_path / "two", workers=2)

    def keyed(results: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
        return [(r["account"], r["check"], r["model"], r["reason"]) for r in results]

    assert keyed(shared) == keyed(alone)  # same reasons, in the probes' order
    rows = stored_rows(tmp_path / "two" / "iw.db")
    assert len(rows) == len(set(rows)) == len(shared) == ACCOUNTS * 5
    # Off a terminal, progress is one line per 100 accounts, workers' probes included.
    assert f"probed {ACCOUNTS}/{ACCOUNTS} accounts" in err


def test_a_round_on_an_in_memory_database_stays_in_one_process(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    """A fork could not open the command's in-memory database again: its reads would fail."""
    config, env = write_fleet(simulator.url, tmp_path, workers=2)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(f"sqlite:///{tmp_path / 'iw.db'}", "sqlite://"), "utf-8")
    command = Running(["check", "--config", str(config), "--json"], env)
    code, out, err = command.finish(timeout=120)
    assert code == 0, err
    assert len(json.loads(out)["results"]) == ACCOUNTS * 5


def test_ctrl_c_to_the_command_alone_stops_its_workers_and_keeps_what_was_sent(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, env = write_fleet(simulator.url, tmp_path, workers=2)
    probes = plan(fleet(simulator.url, tmp_path, 2))
    in_worker = probes[split(probes, 2, COMMAND_SHARE)[1][-1]].account.name
    simulator.control(in_worker, slow_ms=3000)
    command = Running(["check", "--config", str(config)], env)
    command.wait_until(
        lambda: simulator.control(in_worker)["requests"] > 0, "the slow account's probe"
    )
    command.process.send_signal(signal.SIGINT)  # the command only, not its process group
    code, _, err = command.finish(timeout=60)
    assert code == 130, err
    assert_quiet(err)
    rows = stored_rows(tmp_path / "iw.db")
    slow = [r for r in rows if r[0] == in_worker]
    assert slow, "the worker's probes in flight were lost"
    assert len(rows) == len(set(rows))
    assert not processes_running(str(config)), "a worker outlived the command"


def processes_running(argument: str) -> list[int]:
    """Processes whose command line holds `argument` (the command's forks share its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if argument in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
    return found


# This test forks pytest itself, whose served simulator runs in a thread (Python 3.12 warns
# of that); the command forks before it starts any thread.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_worker_that_dies_is_an_error_naming_it_and_the_rest_is_stored(
    simulator: ServedSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.workers

    loaded = fleet(simulator.url, tmp_path, 2)
    probes: list[Probe] = plan(loaded)
    store = Store.open(loaded.config.monitor.database_url)

    def die(*args: object) -> int:
        os._exit(7)  # the fork runs this copy: it dies before any probe

    monkeypatch.setattr(monitor.workers, "_work", die)

    def interruptible(main: Any) -> tuple[list[ProbeResult], bool]:
        return asyncio.run(main(asyncio.Event())), False

    try:
        with pytest.raises(WorkerError, match=r"worker \d+: .*exit code 7") as raised:
            run_split(
                loaded,
                probes,
                clock=SystemClock(),
                store=store,
                workers=2,
                interruptible=interruptible,
                progress=lambda: contextlib.nullcontext(None),
            )
        kept = len(store.results(limit=len(probes)))
    finally:
        store.close()
    own = len(split(probes, 2, COMMAND_SHARE)[0])
    assert kept == own
    assert f"({own} of {len(probes)} results stored)" in str(raised.value)
