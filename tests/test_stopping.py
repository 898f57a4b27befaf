"""Stopping never loses a probe that was sent, nor prints a traceback: `imagewatch run`
exits 0 on SIGTERM or SIGINT; `check`, `run --once` and `readiness` exit 130 on Ctrl-C. In
each, the probes in flight finish and are stored, and no new one starts. Real processes,
real signals, the simulator over HTTP slowed down through its control route."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.simulator.scenarios import PINNED, scenario
from tests.conftest import ServedSimulator
from tests.test_readiness import setup as readiness_setup

SLOW_MS = 2500


class Running:
    """`imagewatch *args` in a subprocess, its output read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                self.finish()
                pytest.fail(f"{what} did not happen\n{''.join(self.err)}")
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.process.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code, "".join(self.out), "".join(self.err)


def write_config(folder: Path, url: str, **every: str) -> tuple[Path, dict[str, str]]:
    """One account, `verified`; each check every `every[check]` (1 h unless given)."""
    checks = "".join(
        f'[checks.{check}]\nevery = "{every.get(check, "1h")}"\n'
        for check in ("model_listing", "snapshot", "generation", "rate_limits")
    )
    path = folder / "imagewatch.toml"
    path.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{folder / "iw.db"}"\n'
        f'site_dir = "{folder / "public"}"\n'
        f'[[accounts]]\nname = "verified"\nbase_url = "{url}/v1"\napi_key_env = "KEY"\n'
        f'snapshots = ["{PINNED}"]\n{checks}'
        f'[checks.pricing]\nevery = "1h"\nsource = "{url}/_sim/prices/published.json"\n',
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(folder),
        "KEY": scenario("verified").api_key,
    }
    return path, env


def stored(database: Path, where: str = "1 = 1") -> list[tuple[str, float]]:
    """(check, latency_ms) of the stored results matching `where`."""
    if not database.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(database)) as db:
            query = f'SELECT "check", latency_ms FROM probe_results WHERE {where}'
            return [(str(c), float(ms or 0)) for c, ms in db.execute(query)]
    except sqlite3.OperationalError:  # the schema is still being created
        return []


def requests(simulator: ServedSimulator, account: str = "verified") -> int:
    return int(simulator.control(account)["requests"])


def assert_quiet(err: str) -> None:
    assert "Traceback" not in err, err
    assert "CancelledError" not in err, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_daemon_stops_on_a_signal_after_storing_the_probe_in_flight(
    simulator: ServedSimulator, tmp_path: Path, signum: signal.Signals
) -> None:
    config, env = write_config(tmp_path, simulator.url, model_listing="1s")
    daemon = Running(["run", "--config", str(config)], env)
    database = tmp_path / "iw.db"
    daemon.wait_until(
        lambda: (
            {c for c, _ in stored(database)}
            >= {"model_listing", "snapshot", "generation", "rate_limits", "pricing"}
        ),
        "the first round",
    )
    simulator.control("verified", slow_ms=SLOW_MS)  # a scheduled probe will be in flight
    sent = requests(simulator)
    daemon.wait_until(lambda: requests(simulator) > sent, "a scheduled probe in flight")
    daemon.process.send_signal(signum)
    code, _, err = daemon.finish()
    assert code == 0, err
    assert_quiet(err)
    assert "stopped" in err
    assert stored(database, f"latency_ms >= {SLOW_MS - 500}"), "the probe in flight was lost"
    # The daemon said it stopped: a page published now says so, not "running".
    published = subprocess.run(
        [sys.executable, "-m", "monitor", "publish", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.returncode == 0, published.stderr
    index = (tmp_path / "public" / "index.html").read_text()
    assert "Monitor stopped" in index
    assert "Monitor running" not in index


def test_ctrl_c_during_check_stores_the_probes_in_flight_starts_no_more_and_exits_130(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, simulator.url)
    simulator.control("verified", slow_ms=SLOW_MS)
    check = Running(["check", "--json", "--config", str(config)], env)
    check.wait_until(lambda: requests(simulator) >= 1, "a probe in flight")
    check.process.send_signal(signal.SIGINT)
    code, out, err = check.finish()
    assert code == 130, err
    assert_quiet(err)
    assert err.strip().splitlines()[-1].startswith("interrupted")
    printed = {r["check"] for r in json.loads(out)["results"]}
    rows = stored(tmp_path / "iw.db")
    assert printed == {c for c, _ in rows}
    assert printed, "the probes in flight were stored"
    assert all(ms >= SLOW_MS - 500 for _, ms in rows)  # each was in flight at Ctrl-C
    assert not printed & {"rate_limits", "pricing"}  # they start after those: never started


def test_a_second_ctrl_c_abandons_the_probes_in_flight(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, simulator.url)
    simulator.control("verified", slow_ms=60_000)
    check = Running(["check", "--config", str(config)], env)
    check.wait_until(lambda: requests(simulator) >= 1, "a probe in flight")
    check.process.send_signal(signal.SIGINT)
    check.wait_until(lambda: "Ctrl-C again" in "".join(check.err), "the first Ctrl-C heard")
    check.process.send_signal(signal.SIGINT)
    code, _, err = check.finish(timeout=20)
    assert code == 130, err
    assert_quiet(err)
    assert stored(tmp_path / "iw.db") == []


def test_ctrl_c_during_run_once_stores_the_probes_in_flight_and_exits_130(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, simulator.url)
    simulator.control("verified", slow_ms=SLOW_MS)
    once = Running(["run", "--once", "--json", "--config", str(config)], env)
    once.wait_until(lambda: requests(simulator) >= 1, "a probe in flight")
    once.process.send_signal(signal.SIGINT)
    code, out, err = once.finish()
    assert code == 130, err
    assert_quiet(err)
    rows = stored(tmp_path / "iw.db")
    assert {r["check"] for r in json.loads(out)["results"]} == {c for c, _ in rows}
    assert rows
    assert all(ms >= SLOW_MS - 500 for _, ms in rows)


def test_ctrl_c_during_readiness_stores_the_probes_but_no_report_and_exits_130(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    config, profile, env = readiness_setup(tmp_path, simulator.url)
    simulator.control("verified", slow_ms=SLOW_MS)
    args = ["readiness", "--config", str(config), "--profile", str(profile)]
    launch = Running([*args, "--account", "verified", "--json"], env)
    launch.wait_until(lambda: requests(simulator) >= 1, "a probe in flight")
    launch.process.send_signal(signal.SIGINT)
    code, out, err = launch.finish()
    assert code == 130, err
    assert_quiet(err)
    assert out == ""  # a verdict on half the probes would mislead
    assert stored(tmp_path / "r.db")
    with contextlib.closing(sqlite3.connect(tmp_path / "r.db")) as db:
        assert db.execute("SELECT count(*) FROM launch_reports").fetchone() == (0,)
