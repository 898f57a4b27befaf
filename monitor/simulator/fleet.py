"""A config for many numbered simulator accounts (`imagewatch simulate --accounts N
--write-config FILE`): what scale rehearsals and the benchmarks run against, with no
hand-made config. Account `verified-0001` uses key `sk-sim-verified-0001`, which the
simulator maps to a fresh copy of the `verified` scenario."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from monitor.simulator.scenarios import PINNED, numbered, scenario

# Many accounts on one host: enough in flight that a round of 1,000 accounts at the real
# API's latency takes seconds, not minutes (the simulator answers on loopback).
FLEET_CONCURRENCY = 256


def key_env(number: int, admin: bool = False) -> str:
    return f"IMAGEWATCH_SIM_{'ADMIN_' if admin else ''}KEY_{number:04d}"


def fleet_config(
    base_url: str,
    count: int,
    scenarios: Sequence[str] = ("verified",),
    database_url: str = "sqlite:///imagewatch-sim.db",
) -> tuple[dict[str, Any], dict[str, str]]:
    """`count` numbered accounts cycling through `scenarios` (KeyError for an unknown
    one), and the environment holding their keys."""
    bases = [scenario(name) for name in scenarios]
    environ: dict[str, str] = {}
    accounts = []
    for number in range(1, count + 1):
        copy = numbered(bases[(number - 1) % len(bases)], number)
        environ[key_env(number)] = copy.api_key
        account: dict[str, Any] = {
            "name": copy.name,
            "base_url": f"{base_url}/v1",
            "api_key_env": key_env(number),
            "project": copy.project,
            "snapshots": [PINNED],
        }
        if copy.admin_key:
            environ[key_env(number, admin=True)] = copy.admin_key
            account["admin_key_env"] = key_env(number, admin=True)
        accounts.append(account)
    config = {
        "monitor": {
            "database_url": database_url,
            "concurrency": FLEET_CONCURRENCY,
            "per_host_concurrency": FLEET_CONCURRENCY,
        },
        "checks": {"pricing": {"source": f"{base_url}/_sim/prices/published.json"}},
        "accounts": accounts,
    }
    return config, environ


def _value(value: Any) -> str:
    # A JSON string or list of strings is a valid TOML value (basic strings, same escapes).
    return json.dumps(value)


def as_toml(config: dict[str, Any], env_file: str) -> str:
    """The config as TOML (the shape `fleet_config` makes: tables of plain values)."""
    lines = [
        f"# {len(config['accounts'])} numbered simulator accounts; their keys are in {env_file}:",
        f"#   set -a; . {env_file}; set +a; imagewatch check --config <this file>",
        "",
        "[monitor]",
        *(f"{k} = {_value(v)}" for k, v in config["monitor"].items()),
        "",
    ]
    for name, section in config["checks"].items():
        lines += [f"[checks.{name}]", *(f"{k} = {_value(v)}" for k, v in section.items()), ""]
    for account in config["accounts"]:
        lines += ["[[accounts]]", *(f"{k} = {_value(v)}" for k, v in account.items()), ""]
    return "\n".join(lines)


def as_env_file(environ: dict[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in environ.items())
