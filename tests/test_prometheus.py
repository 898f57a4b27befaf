"""End to end with a real Prometheus: `imagewatch run --listen` against the simulator on
loopback, a Prometheus of the test's own (scrape interval 1 s, its own port and storage)
scraping it, and PromQL over Prometheus' HTTP API saying what each account's generation
probe found. Under CI a missing prometheus or promtool fails; elsewhere it skips."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checks.generation import Generation
from monitor.simulator.scenarios import scenario
from tests.conftest import ServedSimulator, free_port
from tests.test_daemon import write_config

DEADLINE = 60.0


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {name} (Debian package prometheus)")
        pytest.skip(f"{name} is not installed (Debian package prometheus)")
    return found


class Started:
    """A server process whose output goes to a file (a pipe nobody reads would fill up)."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None) -> None:
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def poll(what: str, ready: Callable[[], Any], servers: list[Started]) -> Any:
    """`ready()`'s first true answer, polled until the deadline; fails early when one of
    the servers has ended."""
    deadline = time.monotonic() + DEADLINE
    while True:
        with contextlib.suppress(httpx.HTTPError):
            answer = ready()
            if answer:
                return answer
        ended = [s for s in servers if s.process.poll() is not None]
        if ended or time.monotonic() > deadline:
            details = "".join(s.output()[-3000:] for s in ended)
            pytest.fail(f"timed out waiting for {what}\n{details}")
        time.sleep(0.2)


@contextlib.contextmanager
def started(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Started]:
    server = Started(command, log, env)
    process = server.process
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def traffic(prometheus: str) -> dict[str, float]:
    """verified's day peak, limit and monthly budget, as Prometheus stored them (empty
    until it has all three)."""
    found = {}
    for name, query in (
        ("day", 'imagewatch_usage_peak_images_per_minute{account="verified",window="day"}'),
        ("limit", 'imagewatch_usage_limit_images_per_minute{account="verified"}'),
        ("budget", 'imagewatch_spend_monthly_budget_usd{account="verified"}'),
    ):
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=5)
        answer.raise_for_status()
        for series in answer.json()["data"]["result"]:
            found[name] = float(series["value"][1])
    return found if len(found) == 3 else {}


def statuses(prometheus: str) -> dict[str, str]:
    """Each account's generation status, as Prometheus stored it (empty until it has
    scraped both accounts)."""
    query = f'imagewatch_check_status{{check="{Generation.name}"}} == 1'
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=5)
    answer.raise_for_status()
    found = {
        series["metric"]["account"]: series["metric"]["status"]
        for series in answer.json()["data"]["result"]
    }
    return found if len(found) == 2 else {}


def test_prometheus_scrapes_the_daemon_and_sees_each_accounts_status(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    prometheus_binary, promtool = binary("prometheus"), binary("promtool")
    config, env = write_config(tmp_path, simulator.url)
    # verified reads its own traffic and bill too (the usage and spend gauges)
    verified = scenario("verified")
    env["K_ADMIN"] = verified.admin_key or ""
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'api_key_env = "K_VERIFIED"\n',
            f'api_key_env = "K_VERIFIED"\nproject = "{verified.project}"\n'
            'admin_key_env = "K_ADMIN"\nmonthly_budget_usd = 40000\n',
        ),
        encoding="utf-8",
    )
    listen = f"127.0.0.1:{free_port()}"
    daemon_command = [sys.executable, "-m", "monitor", "run", "--config", str(config)]
    scrape = tmp_path / "prometheus.yml"
    scrape.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: imagewatch\n"
        f"    static_configs:\n      - targets: ['{listen}']\n",
        encoding="utf-8",
    )
    web = f"127.0.0.1:{free_port()}"
    prometheus_command = [
        prometheus_binary,
        f"--config.file={scrape}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={web}",
        "--log.level=warn",
    ]
    with (
        started([*daemon_command, "--listen", listen], tmp_path / "daemon.log", env) as daemon,
        started(prometheus_command, tmp_path / "prometheus.log") as prometheus,
    ):
        both = [daemon, prometheus]
        base = f"http://{listen}"
        poll("/readyz", lambda: httpx.get(f"{base}/readyz", timeout=5).status_code == 200, both)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        found = poll("both accounts in Prometheus", lambda: statuses(f"http://{web}"), both)
        assert found == {"verified": "pass", "unverified": "fail"}
        peak = poll("verified's usage in Prometheus", lambda: traffic(f"http://{web}"), both)
        assert peak["limit"] == 50  # the simulator's tier 3
        assert 0 < peak["day"] <= peak["limit"]
        assert peak["budget"] == 40000
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        checked = subprocess.run(
            [promtool, "check", "metrics"],
            input=metrics.text,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert httpx.post(f"{base}/metrics", timeout=5).status_code == 405
        daemon.process.send_signal(signal.SIGTERM)
        daemon.process.wait(timeout=60)
    err = daemon.output()
    assert daemon.process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped" in err
    assert env["K_VERIFIED"] not in metrics.text
