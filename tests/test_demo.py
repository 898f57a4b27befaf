"""`imagewatch demo`: thirty days replayed through the daemon's steps, the page served, and
a config for the next step. One demo run serves every test here (it takes seconds)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.replay import ADMIN_DAYS, DAYS
from monitor.simulator import SCENARIOS
from monitor.simulator.scenarios import scenario
from tests.test_cli import SimulateProcess


def round_size(folder: Path) -> int:
    """The probes of one demo round: every scenario account's, the Azure and gateway ones
    included (they plan only what their provider can answer)."""
    from monitor.cli.demo import demo_config
    from monitor.config import parse
    from monitor.plan import plan

    return len(plan(parse(*demo_config("http://127.0.0.1:1", folder))))


@dataclasses.dataclass
class Demo:
    process: subprocess.Popen[str]
    folder: Path
    stdout: str
    simulator: str
    page: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("demo")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(home),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # the code under test, wherever it is
        "PYTHONUNBUFFERED": "1",
        # No network: any request that is not to the loopback simulator would fail.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--serve"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("Simulator stays up on"):
                break
        stdout = "".join(lines)
        simulator = re.search(r"Simulator stays up on (http://127\.0\.0\.1:\d+)/v1", stdout)
        page = re.search(r"Status page on (http://127\.0\.0\.1:\d+/)", stdout)
        failed = stdout + (process.stderr.read() if process.poll() is not None else "")
        assert simulator, failed
        assert page, failed
        yield Demo(process, home / "imagewatch-demo", stdout, simulator.group(1), page.group(1))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_demo_replays_thirty_days_with_no_key_and_no_network(demo: Demo) -> None:
    assert "scenario mismatch" not in demo.stdout
    for item in SCENARIOS:
        assert item.name in demo.stdout
    assert re.search(r"^  verified +ready$", demo.stdout, flags=re.MULTILINE)
    # one Azure OpenAI account and one gateway account, as their scenarios declare
    assert re.search(r"^  azure-ready +ready$", demo.stdout, flags=re.MULTILINE)
    assert re.search(r"^  gateway-ready +ready$", demo.stdout, flags=re.MULTILINE)
    assert "NOT READY — generation: Organization not verified" in demo.stdout
    database = demo.folder / "demo.db"
    assert f"Results stored in {database}" in demo.stdout
    with sqlite3.connect(database) as db:
        count = db.execute("SELECT count(*) FROM probe_results").fetchone()[0]
        days = db.execute(
            "SELECT count(DISTINCT date(finished_at)) FROM probe_results WHERE account = ?",
            ("verified",),
        ).fetchone()[0]
    # a round a day; the Admin API's usage and spend on the last ADMIN_DAYS only
    admin = [s for s in SCENARIOS if s.admin_key]
    skipped = (DAYS - ADMIN_DAYS) * 2 * len(admin)
    assert count == DAYS * round_size(demo.folder) - skipped
    assert days == DAYS


def test_demo_tells_its_story_through_opened_and_resolved_incidents(demo: Demo) -> None:
    with sqlite3.connect(demo.folder / "demo.db") as db:
        rows = db.execute(
            'SELECT account, "check", reason, state FROM incidents ORDER BY id'
        ).fetchall()
    resolved = {(a, reason) for a, _, reason, state in rows if state == "resolved"}
    assert ("verified", "org_verification_required") in resolved  # verified on day 4
    assert ("verified", "project_model_not_allowed") in resolved  # the model lost and regained
    assert ("verified", "server_error") in resolved  # the 5xx storm
    assert ("verified", "price_changed") in resolved  # the price move
    assert ("unverified", "org_verification_required", "open") in {
        (a, reason, state) for a, _, reason, state in rows
    }
    assert not [row for row in rows if row[2] == "generation_failed"]


def test_demo_page_has_thirty_day_bars_for_every_check(demo: Demo) -> None:
    page = (demo.folder / "public" / "accounts" / "verified.html").read_text(encoding="utf-8")
    figures = page.split('<figure class="bars">')[1:]
    assert len(figures) == 7  # with usage and spend: the account has an admin key
    for index, figure in enumerate(figures):
        # One shape per run of days alike, 6 units a day less a 1-unit gap.
        runs = re.findall(
            r'<rect [^>]*width="(\d+)"[^>]*class="(b-[a-z]+)"', figure.split("</figure>")[0]
        )
        days = sum((int(width) + 1) // 6 for width, state in runs if state != "b-none")
        assert days == (DAYS if index < 5 else ADMIN_DAYS)  # usage and spend: the last days
    index = (demo.folder / "public" / "index.html").read_text(encoding="utf-8")
    assert "price_changed" in index or "Published price" in index


def test_demo_charts_the_traffic_and_spend_of_the_accounts_with_an_admin_key(demo: Demo) -> None:
    accounts = demo.folder / "public" / "accounts"
    for item in (s for s in SCENARIOS if s.admin_key):
        page = (accounts / f"{item.name}.html").read_text(encoding="utf-8")
        traffic = page.split('<h2 id="traffic">')[1].split("<h2")[0]
        assert "Not enough data yet" not in traffic, item.name
        assert traffic.count('<rect class="use') >= 60 + 2, item.name  # an hour, and days
    verified = (accounts / "verified.html").read_text(encoding="utf-8")
    assert "dashed line: daily budget" in verified  # the budget line is drawn
    status = json.loads((demo.folder / "public" / "status.json").read_text(encoding="utf-8"))
    burst = next(a for a in status["accounts"] if a["name"] == "traffic-burst")
    assert burst["usage"][0]["share_of_limit"] == 1.0


def test_demo_serve_serves_the_page_and_the_simulator(demo: Demo) -> None:
    page = httpx.get(demo.page, timeout=5)
    assert page.status_code == 200
    assert "imagewatch demo" in page.text
    models = httpx.get(
        f"{demo.simulator}/v1/models",
        timeout=5,
        headers={"Authorization": f"Bearer {scenario('verified').api_key}"},
    )
    assert models.status_code == 200


def test_the_written_config_checks_against_imagewatch_simulate(demo: Demo, tmp_path: Path) -> None:
    written = (demo.folder / "imagewatch.toml").read_text(encoding="utf-8")
    assert 'base_url = "http://127.0.0.1:8787/v1"' in written
    environ = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (demo.folder / "simulator.env").read_text(encoding="utf-8").splitlines()
    )
    simulate = SimulateProcess()
    try:
        config = tmp_path / "imagewatch.toml"
        config.write_text(written.replace("127.0.0.1:8787", f"127.0.0.1:{simulate.port}"))
        check = subprocess.run(
            [sys.executable, "-m", "monitor", "check", "--config", str(config)],
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
                **environ,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        simulate.stop()
    assert check.returncode == 1, check.stderr  # some scenario accounts are not ready
    assert re.search(r"^  verified +ready$", check.stdout, flags=re.MULTILINE)
    assert "NOT READY — generation: Organization not verified" in check.stdout


def test_demo_serve_stops_on_ctrl_c(demo: Demo) -> None:
    demo.process.send_signal(signal.SIGINT)
    demo.process.communicate(timeout=30)
    assert demo.process.returncode == 0


def test_the_replay_runs_one_round_a_day_for_thirty_days_the_last_now() -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.replay import round_times

    end = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    times = round_times(end)
    assert [day for day, _ in times] == list(range(DAYS))
    assert times[-1][1] == end
    assert times[0][1] == end - timedelta(days=DAYS - 1)


def test_the_story_leaves_every_scenario_account_as_its_scenario_declares() -> None:
    from monitor.replay import STORY, apply
    from monitor.simulator.state import SimulatorState

    story, fresh = SimulatorState(), SimulatorState()
    for event in sorted(STORY, key=lambda e: e.day):
        apply(story, event)
    assert story.prices == fresh.prices
    for name, account in story.accounts.items():
        assert account.describe() == fresh.accounts[name].describe(), name
