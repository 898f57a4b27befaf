"""`imagewatch check` end to end: the real CLI against `imagewatch simulate` over HTTP."""

from __future__ import annotations

import inspect
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.cli.main import COMMANDS
from monitor.simulator import SCENARIOS
from monitor.simulator.scenarios import DEMO_REQUIRED_IMAGES_PER_MINUTE, PINNED
from tests.conftest import free_port


class SimulateProcess:
    def __init__(self, *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "simulate", "--port", str(self.port), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{self.url}/_sim/accounts", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("imagewatch simulate did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture(scope="module")
def simulate() -> Iterator[SimulateProcess]:
    process = SimulateProcess()
    yield process
    process.stop()


@pytest.fixture
def sim(simulate: SimulateProcess) -> SimulateProcess:
    httpx.post(f"{simulate.url}/_sim/reset", timeout=5).raise_for_status()
    return simulate


def write_config(
    folder: Path, url: str, names: list[str] | None = None
) -> tuple[Path, dict[str, str]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(folder),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # the code under test, wherever it is
    }
    blocks = [
        f'[monitor]\ndatabase_url = "sqlite:///{folder / "iw.db"}"\n',
        f'[checks.pricing]\nsource = "{url}/_sim/prices/published.json"\n'
        '[checks.generation]\nmax_retry_wait = "2s"\n',
    ]
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        var = "KEY_" + scenario.name.upper().replace("-", "_")
        env[var] = scenario.api_key
        block = (
            f'[[accounts]]\nname = "{scenario.name}"\nbase_url = "{url}/v1"\n'
            f'api_key_env = "{var}"\nproject = "{scenario.project}"\n'
            f'snapshots = ["{PINNED}"]\n'
            f"required_images_per_minute = {DEMO_REQUIRED_IMAGES_PER_MINUTE}\n"
        )
        if scenario.capabilities:
            block += f"capabilities = {json.dumps(list(scenario.capabilities))}\n"
        if scenario.responses_model:
            block += f'responses_model = "{scenario.responses_model}"\n'
        if scenario.admin_key:
            env[var + "_ADMIN"] = scenario.admin_key
            block += f'admin_key_env = "{var}_ADMIN"\n'
        blocks.append(block)
    path = folder / "imagewatch.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path, env


def imagewatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_check_json_yields_each_scenarios_declared_reason_for_every_check(
    sim: SimulateProcess, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, sim.url)
    run = imagewatch("check", "--config", str(config), "--json", env=env)
    assert run.returncode == 1, run.stderr
    results = json.loads(run.stdout)["results"]
    got = {(r["account"], r["check"]): r["reason"] for r in results}
    expected = {(s.name, check): reason for s in SCENARIOS for check, reason in s.expect.items()}
    assert got == expected
    keys = {
        "account",
        "check",
        "model",
        "status",
        "reason",
        "summary",
        "http_status",
        "request_id",
        "latency_ms",
        "cost_usd",
        "details",
        "finished_at",
    }
    assert all(set(r) == keys for r in results)
    for scenario in SCENARIOS:  # no key, not even a prefix, in what is printed
        assert scenario.api_key not in run.stdout + run.stderr
    with sqlite3.connect(tmp_path / "iw.db") as db:
        assert db.execute("SELECT count(*) FROM probe_results").fetchone()[0] == len(results)
        stored = "\n".join(str(row) for row in db.execute("SELECT * FROM probe_results"))
    for scenario in SCENARIOS:
        assert scenario.api_key not in stored


def test_check_exits_0_when_ready_and_3_when_inconclusive(
    sim: SimulateProcess, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, sim.url, ["verified", "flaky"])
    ready = imagewatch("check", "--config", str(config), "--account", "verified", env=env)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "Generation works" in ready.stdout
    assert "7 pass" in ready.stdout  # usage and spend too: it has an admin key
    inconclusive = imagewatch(
        "check", "--config", str(config), "--account", "flaky", "--check", "generation", env=env
    )
    assert inconclusive.returncode == 3
    assert "server_error" in inconclusive.stdout


def test_check_filters_by_check_and_model(sim: SimulateProcess, tmp_path: Path) -> None:
    config, env = write_config(tmp_path, sim.url, ["verified"])
    run = imagewatch(
        "check",
        "--config",
        str(config),
        "--check",
        "snapshot",
        "--model",
        PINNED,
        "--json",
        env=env,
    )
    results = json.loads(run.stdout)["results"]
    assert [(r["check"], r["model"]) for r in results] == [("snapshot", PINNED)]


def test_check_refuses_unknown_selections_with_exit_2(sim: SimulateProcess, tmp_path: Path) -> None:
    config, env = write_config(tmp_path, sim.url, ["verified"])
    run = imagewatch("check", "--config", str(config), "--account", "nobody", env=env)
    assert run.returncode == 2
    assert run.stderr.strip() == "error: --account: no account named 'nobody' (known: verified)"
    run = imagewatch("check", "--config", str(config), "--check", "uptime", env=env)
    assert run.returncode == 2
    assert run.stderr.startswith("error: --check: unknown check 'uptime'")


def test_check_against_a_dead_port_is_inconclusive_not_a_crash(tmp_path: Path) -> None:
    config, env = write_config(tmp_path, f"http://127.0.0.1:{free_port()}", ["verified"])
    run = imagewatch("check", "--config", str(config), "--json", env=env)
    assert run.returncode == 3, run.stderr
    reasons = {r["check"]: r["reason"] for r in json.loads(run.stdout)["results"]}
    assert reasons["model_listing"] == "network_error"
    assert reasons["pricing"] == "price_source_unavailable"


# The scenarios that make the simulator speak every generation reason, and what each shows.
NEW_SCENARIOS = {
    "region-blocked": "region_blocked",
    "moderation-refusal": "moderation_blocked",
    "billing-not-active": "billing_not_active",
    "scope-missing": "key_scope_missing",
    "unverified-400": "org_verification_required",
}


def test_simulate_list_prints_every_scenario_as_json() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "simulate", "--list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    listing = json.loads(run.stdout)
    assert [s["name"] for s in listing["scenarios"]] == [s.name for s in SCENARIOS]
    first = listing["scenarios"][0]
    assert set(first) == {"name", "api_key", "description", "expect"}
    assert first["expect"]["generation"] == "ok"
    by_name = {s["name"]: s["expect"]["generation"] for s in listing["scenarios"]}
    assert {name: by_name[name] for name in NEW_SCENARIOS} == NEW_SCENARIOS
    table = subprocess.run(
        [sys.executable, "-m", "monitor", "simulate", "--list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "unverified" in table.stdout
    assert "org_verification_required" in table.stdout
    for name, reason in NEW_SCENARIOS.items():
        assert name in table.stdout
        assert reason in table.stdout


def test_help_lists_every_command() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, timeout=60
    )
    for command in ("check", "demo", "init", "simulate"):
        assert command in run.stdout


def test_help_imports_no_command_module() -> None:
    script = (
        "import sys\n"
        "from monitor.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('monitor', 'checks'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    *_, imported = run.stdout.strip().splitlines()
    assert imported == str(["monitor", "monitor.cli", "monitor.cli.main", "monitor.cli.options"])
    for name, lazy in COMMANDS.items():
        assert lazy.summary.split()[0] in run.stdout, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_listed_with_the_first_paragraph_of_its_help(name: str) -> None:
    command = COMMANDS[name].load()
    assert command.name == name
    assert command.help is not None
    first_paragraph = inspect.cleandoc(command.help).split("\n\n")[0]
    assert COMMANDS[name].summary == " ".join(first_paragraph.split())


def test_config_is_taken_before_or_after_the_subcommand_and_the_subcommands_wins(
    sim: SimulateProcess, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, sim.url, ["verified"])
    missing = str(tmp_path / "missing.toml")
    not_found = f"error: {missing}: config file not found (write one with `imagewatch init`)"
    only = ("--check", "model_listing", "--json")
    for args in (("--config", str(config), "check"), ("check", "--config", str(config))):
        run = imagewatch(*args, *only, env=env)
        assert run.returncode == 0, run.stderr
        assert [r["check"] for r in json.loads(run.stdout)["results"]] == ["model_listing"]
    wins = imagewatch("--config", missing, "check", "--config", str(config), *only, env=env)
    assert wins.returncode == 0, wins.stderr
    loses = imagewatch("--config", str(config), "check", "--config", missing, *only, env=env)
    assert loses.returncode == 2
    assert loses.stderr.strip() == not_found
    flag_over_env = imagewatch(
        "--config", str(config), "check", *only, env={**env, "IMAGEWATCH_CONFIG": missing}
    )
    assert flag_over_env.returncode == 0, flag_over_env.stderr
    from_env = imagewatch("check", *only, env={**env, "IMAGEWATCH_CONFIG": str(config)})
    assert from_env.returncode == 0, from_env.stderr


def test_config_before_a_group_reaches_its_subcommand(tmp_path: Path) -> None:
    config, env = write_config(tmp_path, "http://127.0.0.1:9", ["verified"])
    run = imagewatch("--config", str(config), "alerts", "test", env=env)
    assert run.returncode == 2
    assert run.stderr.strip() == "error: alerts.channels: no channel configured"


def test_a_gpt_image_model_no_account_watches_is_news_once_with_its_published_price(
    sim: SimulateProcess, tmp_path: Path
) -> None:
    config, env = write_config(tmp_path, sim.url, ["verified"])
    # A second account watches gpt-image-2.5-sunburst: listed elsewhere, it is not news.
    env["KEY_OTHER"] = "sk-sim-other-account-0000"
    with config.open("a", encoding="utf-8") as file:
        file.write(
            f'\n[[accounts]]\nname = "other"\nbase_url = "{sim.url}/v1"\n'
            'api_key_env = "KEY_OTHER"\nmodels = ["gpt-image-2.5-sunburst"]\n'
        )
    listing = ("check", "--config", str(config), "--account", "verified")
    listing += ("--check", "model_listing", "--json")

    def reason_and_details() -> tuple[str, dict[str, object]]:
        run = imagewatch(*listing, env=env)
        assert run.returncode == 0, run.stderr
        (result,) = json.loads(run.stdout)["results"]
        return result["reason"], result["details"]

    assert reason_and_details()[0] == "listed"  # the first listing is the baseline
    added = ["gpt-image-2.5-flare", "gpt-image-2.5-sunburst"]
    sim_control = httpx.post(
        f"{sim.url}/_sim/accounts/verified", json={"extra_models": added}, timeout=5
    )
    sim_control.raise_for_status()
    reason, details = reason_and_details()
    assert reason == "new_model"
    assert details["new_models"] == ["gpt-image-2.5-flare"]
    assert details["new_model_prices"] == {  # from [checks.pricing] source: the simulator's map
        "gpt-image-2.5-flare": {
            "cached_image_input": "2",
            "cached_text_input": "1.25",
            "image_input": "8",
            "image_output": "30",
            "text_input": "5",
        }
    }
    assert reason_and_details()[0] == "listed"  # said once, then remembered
