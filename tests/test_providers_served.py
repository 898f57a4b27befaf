"""Every Azure and gateway scenario of the simulator, probed over HTTP on 127.0.0.1 through the
one probe path (plan → Round), each answer classified as the scenario expects."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from checks.base import no_sleep
from monitor.clock import FrozenClock
from monitor.config import LoadedConfig, parse
from monitor.plan import plan
from monitor.runner import run_once
from monitor.simulator import AZURE_SCENARIOS, GATEWAY_SCENARIOS
from monitor.simulator.azure_scenarios import AzureScenario
from monitor.simulator.gateway import GatewayScenario
from monitor.store import ProbeResult
from tests.conftest import ServedSimulator


def azure_account(scenario: AzureScenario, url: str) -> dict[str, Any]:
    return {
        "name": "az",
        "provider": "azure",
        "endpoint": url,
        "deployment": scenario.deployment,
        "api_version": scenario.api_version,
        "route": scenario.route,
        "api_key_env": "KEY",
        "models": [scenario.model],
        "model_version": scenario.model_version,
    }


def gateway_account(scenario: GatewayScenario, url: str) -> dict[str, Any]:
    return {
        "name": "gw",
        "provider": "openai-compatible",
        "base_url": f"{url}/gateway/v1",
        "api_key_env": "KEY",
        "models": [scenario.models[0]],
    }


def probe(
    account: dict[str, Any], key: str, clock: FrozenClock, checks: list[str]
) -> dict[str, ProbeResult]:
    loaded: LoadedConfig = parse({"accounts": [account]}, {"KEY": key})
    probes = plan(loaded, checks=checks)
    results = asyncio.run(run_once(loaded, probes, clock=clock, sleep=no_sleep))
    return {r.check: r for r in results}


@pytest.mark.parametrize("scenario", AZURE_SCENARIOS, ids=lambda s: s.name)
def test_each_azure_scenario_is_classified_as_it_expects_over_http(
    scenario: AzureScenario, simulator: ServedSimulator, clock: FrozenClock, tmp_path: Path
) -> None:
    account = azure_account(scenario, simulator.url)
    results = probe(account, scenario.api_key, clock, list(scenario.expect))
    assert {check: results[check].reason for check in scenario.expect} == scenario.expect


@pytest.mark.parametrize("scenario", GATEWAY_SCENARIOS, ids=lambda s: s.name)
def test_each_gateway_scenario_is_classified_as_it_expects_over_http(
    scenario: GatewayScenario, simulator: ServedSimulator, clock: FrozenClock
) -> None:
    account = gateway_account(scenario, simulator.url)
    results = probe(account, scenario.api_key, clock, list(scenario.expect))
    assert {check: results[check].reason for check in scenario.expect} == scenario.expect


def test_a_ready_azure_round_passes_what_azure_answers_and_skips_nothing(
    simulator: ServedSimulator, clock: FrozenClock
) -> None:
    scenario = AZURE_SCENARIOS[0]
    prices = {"pricing": {"source": f"{simulator.url}/_sim/prices/published.json"}}
    data = {"accounts": [azure_account(scenario, simulator.url)], "checks": prices}
    loaded = parse(data, {"KEY": scenario.api_key})
    results = asyncio.run(run_once(loaded, plan(loaded), clock=clock, sleep=no_sleep))
    by_check = {r.check: r for r in results}
    assert "rate_limits" not in by_check  # not planned: Azure's answers carry no limits
    assert by_check["snapshot"].reason == "snapshot_available"
    assert by_check["generation"].reason == "ok"
    # Priced against LiteLLM's own Azure row (the simulator's price file carries it).
    assert (by_check["pricing"].reason, by_check["pricing"].details["source_key"]) == (
        "price_unchanged",
        f"azure/{scenario.model}",
    )
    headers = by_check["generation"].details["headers"]
    assert headers["region"]
    assert headers["apim_request_id"]
    assert set(headers["rate_limits"]) == {"requests", "tokens"}
    assert all(r.status in ("pass", "warn") for r in results), [
        (r.check, r.reason) for r in results
    ]


def test_a_ready_gateway_round_is_unpriced_without_a_price_source_and_skips_snapshots(
    simulator: ServedSimulator, clock: FrozenClock
) -> None:
    scenario = GATEWAY_SCENARIOS[0]
    account = gateway_account(scenario, simulator.url) | {"snapshots": ["gpt-image-2-2026-04-21"]}
    loaded = parse({"accounts": [account]}, {"KEY": scenario.api_key})
    results = asyncio.run(run_once(loaded, plan(loaded), clock=clock, sleep=no_sleep))
    by_check = {r.check: (r.status, r.reason) for r in results}
    assert by_check["snapshot"] == ("skipped", "not_supported_by_provider")
    assert by_check["pricing"] == ("warn", "model_unpriced")
    assert by_check["generation"] == ("pass", "ok")
