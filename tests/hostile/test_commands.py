"""`check`, `run --once` and `publish` as an operator runs them, against one account per
hostile scenario: each finishes within its deadline, prints no traceback, stores a result for
every probe, passes nothing that should not pass and leaks the canary key nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.generation import Generation
from checks.model_listing import ModelListing
from checks.rate_limits import RateLimits
from monitor.config import load
from monitor.store import Store
from tests.hostile.server import SCENARIOS, SNAPSHOT, HostileServer

TAIL = "Zq7Xw3Vn9Ty5"  # every account's key ends so: one canary to look for everywhere
COMMAND_DEADLINE = 120.0
# The paid probe may pass on these: the image is real, only headers, usage or echoes differ.
GENERATION_MAY_PASS = {
    "valid",
    "many-headers",
    "negative-limit",
    "zero-limit",
    "nan-limit",
    "huge-limit",
    "absurd-reset",
    "no-usage",
    "key-in-request-id",
    "key-in-other-header",
    "key-in-body",
    "key-upper-case",
    "key-without-prefix",
    "key-unicode-hyphen",
    "models-wrong-shape",
}
LISTING_MUST_NOT_PASS = {
    "drip-body",
    "slow-headers",
    "gzip-bomb",
    "huge-body",
    "reset-mid-body",
    "close-before-headers",
    "garbage-status-line",
    "html-502",
    "error-is-a-list",
    "error-is-a-number",
    "models-wrong-shape",
    "weird-status",
    "redirect-away",
}


def key_for(index: int) -> str:
    return f"sk-proj-CANARY{index:04d}abcdEFGH{TAIL}"


@pytest.fixture(scope="module")
def workspace(hostile: HostileServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-commands")
    prices = Path(__file__).parents[1] / "fixtures" / "litellm_prices.json"
    blocks = [
        f'[monitor]\ndatabase_url = "sqlite:///{folder / "iw.db"}"\n'
        f'site_dir = "{folder / "public"}"\nrequest_timeout = "3s"\n',
        f'[checks.pricing]\nsource = "{prices}"\n',
        '[checks.generation]\ntimeout = "3s"\nmax_retry_wait = "1s"\n',
        '[checks.model_listing]\ntimeout = "3s"\n[checks.snapshot]\ntimeout = "3s"\n',
    ]
    for index, scenario in enumerate(SCENARIOS):
        blocks.append(
            f'[[accounts]]\nname = "{scenario}"\nbase_url = "{hostile.url(scenario)}"\n'
            f'api_key_env = "KEY_{index}"\nsnapshots = ["{SNAPSHOT}"]\n'
            "required_images_per_minute = 10\n"
        )
    (folder / "imagewatch.toml").write_text("\n".join(blocks), encoding="utf-8")
    return folder


def environment(folder: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(folder),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    env.update({f"KEY_{i}": key_for(i) for i in range(len(SCENARIOS))})
    return env


def imagewatch(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(folder / "imagewatch.toml")],
        cwd=folder,
        env=environment(folder),
        capture_output=True,
        text=True,
        timeout=COMMAND_DEADLINE,
        check=False,
    )
    return done, time.monotonic() - started


def assert_no_leak(folder: Path, *outputs: str) -> None:
    for text in outputs:
        assert TAIL.lower() not in text.lower()
    for path in folder.rglob("*"):
        if path.is_file() and path.name != "imagewatch.toml":
            assert TAIL.lower().encode() not in path.read_bytes().lower(), path


@pytest.mark.parametrize("command", [("check", "--json"), ("run", "--once", "--json")])
def test_a_round_against_every_hostile_answer_stores_a_result_for_each_probe(
    workspace: Path, command: tuple[str, ...]
) -> None:
    done, elapsed = imagewatch(workspace, *command)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode in (1, 3), done.stderr[-2000:]
    assert elapsed < COMMAND_DEADLINE
    results = json.loads(done.stdout)["results"]
    by_probe = {(r["account"], r["check"], r["model"]): r for r in results}
    assert {r["account"] for r in results} == set(SCENARIOS)
    for scenario in SCENARIOS:
        generation = by_probe[(scenario, Generation.name, "gpt-image-2")]
        if scenario not in GENERATION_MAY_PASS:
            assert generation["status"] != "pass", (scenario, generation["summary"])
        listing = by_probe[(scenario, ModelListing.name, "gpt-image-2")]
        if scenario in LISTING_MUST_NOT_PASS:
            assert listing["status"] != "pass", (scenario, listing["summary"])
        limits = by_probe[(scenario, RateLimits.name, "gpt-image-2")]
        assert limits["reason"] != "below_required" or scenario == "valid", scenario
    for result in results:
        assert result["reason"] != "monitor_error", result
        text = json.dumps(result, ensure_ascii=False)
        assert "\\u001b" not in text
        assert "\x1b" not in text
    assert_no_leak(workspace, done.stdout, done.stderr)


def test_publish_after_hostile_rounds_renders_clean_pages(workspace: Path) -> None:
    imagewatch(workspace, "check")
    done, _ = imagewatch(workspace, "publish")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    index = (workspace / "public" / "index.html").read_text(encoding="utf-8")
    assert "\x1b" not in index
    assert "\u202e" not in index
    status = json.loads((workspace / "public" / "status.json").read_text(encoding="utf-8"))
    assert {a["name"] for a in status["accounts"]} == set(SCENARIOS)
    store = Store.open(
        load(str(workspace / "imagewatch.toml"), environment(workspace)).config.monitor.database_url
    )
    try:
        assert store.latest("valid", Generation.name, "gpt-image-2") is not None
    finally:
        store.close()
    assert_no_leak(workspace, done.stdout, done.stderr)
