"""What delivery tells ops: a line per failed attempt and per retry, and `run --once`'s
alert summary per channel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from monitor.alerts import process
from monitor.clock import FrozenClock
from monitor.daemon import Daemon
from monitor.store import Store
from tests.receivers import http_receiver
from tests.test_alerts import SECRET, T0, config, hook, imagewatch, result, webhooks

TOKEN = "tok-9f8e7d6c5b4a"
__all__ = ["webhooks"]  # the fixture, shared with test_alerts


def test_the_daemon_logs_each_failed_attempt_and_each_retry_as_one_line(
    store: Store, webhooks: httpx.Client
) -> None:
    loaded = config()
    process(store, loaded, [result(store, "fail", "not_listed", T0, check="model_listing")], T0, 0)
    lines: list[str] = []
    with http_receiver(fail_first=2) as receiver:
        channels = hook(webhooks, f"{receiver.url}/hook/{TOKEN}")
        clock = FrozenClock(T0)
        daemon = Daemon(loaded, store, httpx.AsyncClient(), clock, "a", channels, lines.append)
        for _ in range(8):
            daemon.deliver()
            clock.advance(25)
        assert len(receiver.requests) == 1
    assert len(lines) == 3, lines
    assert "model_listing" not in lines[0]  # the message, not the incident, is what failed
    assert lines[0].startswith("alert delivery: hook: opened message ")
    assert lines[0].endswith("; retry in 10s")
    assert ": attempt 1 failed: " in lines[0]
    assert ": attempt 2 failed: " in lines[1]
    assert lines[1].endswith("; retry in 20s")
    assert lines[2].endswith(": sent on retry (attempt 3)")
    assert all(TOKEN not in line and SECRET not in line for line in lines)


def test_run_once_ends_with_an_alert_summary_per_channel(simulator: Any, tmp_path: Path) -> None:
    from monitor.simulator.scenarios import scenario

    with http_receiver() as receiver:
        path = tmp_path / "imagewatch.toml"
        path.write_text(
            f"""
[monitor]
database_url = "sqlite:///{tmp_path / "once.db"}"
site_dir = "{tmp_path / "public"}"
[[accounts]]
name = "prod"
base_url = "{simulator.url}/v1"
api_key_env = "KEY"
[checks.pricing]
source = "{simulator.url}/_sim/prices/published.json"
[[alerts.channels]]
name = "hook"
kind = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"
[[alerts.channels]]
name = "broken"
kind = "webhook"
url_env = "BROKEN_URL"
secret_env = "HOOK_SECRET"
""",
            encoding="utf-8",
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "KEY": scenario("unverified").api_key,
            "HOOK_URL": receiver.url + "/hook",
            "BROKEN_URL": f"http://127.0.0.1:9/{TOKEN}",
            "HOOK_SECRET": SECRET,
        }
        once = imagewatch("run", "--once", "--config", str(path), env=env)
    assert once.returncode == 1, once.stderr
    assert receiver.events() == ["opened"]  # generation's; rate_limits opens none of its own
    lines = once.stderr.splitlines()
    assert lines[-2:] == [
        "alerts: hook: 0 queued, 1 sent, 0 failed",
        "alerts: broken: 1 queued, 0 sent, 1 failed (1 to retry)",
    ]
    [failure] = [line for line in lines if line.startswith("alert delivery: broken:")]
    assert failure.endswith("; retry in 10s")
    assert TOKEN not in once.stderr + once.stdout


def test_run_once_says_when_no_channel_is_configured(simulator: Any, tmp_path: Path) -> None:
    from monitor.simulator.scenarios import scenario

    path = tmp_path / "imagewatch.toml"
    path.write_text(
        f'[monitor]\ndatabase_url = "sqlite:///{tmp_path / "none.db"}"\n'
        f'site_dir = "{tmp_path / "public"}"\n'
        f'[[accounts]]\nname = "prod"\nbase_url = "{simulator.url}/v1"\napi_key_env = "KEY"\n'
        f'[checks.pricing]\nsource = "{simulator.url}/_sim/prices/published.json"\n',
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "KEY": scenario("verified").api_key,
    }
    once = imagewatch("run", "--once", "--config", str(path), env=env)
    assert once.returncode == 0, once.stderr
    assert once.stderr.splitlines()[-1] == "alerts: no channel configured"
