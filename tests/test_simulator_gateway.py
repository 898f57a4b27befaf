"""The simulator's gateway face (a LiteLLM proxy or OpenRouter in front of OpenAI) over HTTP
on 127.0.0.1, and the official `openai` SDK reading it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from monitor.simulator import GATEWAY_SCENARIOS
from tests.conftest import ServedSimulator

CORPUS = Path(__file__).parent / "fixtures" / "openai_answers"
PROMPT = {"model": "gpt-image-2", "prompt": "A grey square", "size": "1024x1024", "quality": "low"}


def corpus_body(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))["body"]


def shape(value: Any) -> Any:
    """A body's keys and value types, to compare with a quoted answer's."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__


def bearer(short: str) -> dict[str, str]:
    return {"authorization": f"Bearer sk-gw-sim-{short}"}


def generate(simulator: ServedSimulator, short: str) -> httpx.Response:
    return httpx.post(
        f"{simulator.url}/gateway/v1/images/generations",
        headers=bearer(short),
        json=PROMPT,
        timeout=30,
    )


def test_a_litellm_proxy_generates_with_its_own_and_the_upstreams_headers(
    simulator: ServedSimulator,
) -> None:
    answer = generate(simulator, "ready")
    assert answer.status_code == 200
    assert answer.json()["data"][0]["b64_json"]
    headers = answer.headers
    assert headers["x-litellm-call-id"]
    assert headers["x-litellm-model-group"] == "gpt-image-2"
    assert headers["x-ratelimit-remaining-requests"] == "49"
    assert headers["llm_provider-x-ratelimit-remaining-requests"] == "49"


def test_a_rate_limited_upstream_comes_back_in_litellms_envelope(
    simulator: ServedSimulator,
) -> None:
    answer = generate(simulator, "rate-limited")
    assert answer.status_code == 429
    quoted = corpus_body("litellm-proxy-429-docs-error-reference.json")
    assert shape(answer.json()) == shape(quoted)
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == ("429", "throttling_error")
    assert error["message"].startswith(
        "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for "
        "gpt-image-2"
    )
    assert "retry-after" not in answer.headers  # the provider's limit, not the proxy's


def test_an_openrouter_account_without_credits_answers_402_with_a_numeric_code(
    simulator: ServedSimulator,
) -> None:
    answer = generate(simulator, "no-credits")
    assert answer.status_code == 402
    assert answer.json() == corpus_body("openrouter-402-credits-free-claude-code-772.json")


def test_an_unknown_virtual_key_gets_litellms_401(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "wrong-key")
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("token_not_found_in_db", "key", "401")
    assert error["message"].startswith(
        "Authentication Error, Invalid proxy server token passed. Received API Key = sk-...-key"
    )
    assert "sk-gw-sim-wrong-key" not in error["message"]  # only the last four characters


def test_the_gateway_lists_its_configured_models(simulator: ServedSimulator) -> None:
    answer = httpx.get(f"{simulator.url}/gateway/v1/models", headers=bearer("ready"), timeout=10)
    assert answer.status_code == 200
    ids = [m["id"] for m in answer.json()["data"]]
    assert ids == ["gpt-image-2", "gpt-image-1"]


@pytest.mark.parametrize(
    "path",
    [
        "/gateway/v1/models/gpt-image-2-2026-04-21",
        "/gateway/v1/organization/projects/p/rate_limits",
    ],
)
def test_the_gateway_has_no_admin_api_and_no_snapshot_route(
    simulator: ServedSimulator, path: str
) -> None:
    answer = httpx.get(simulator.url + path, headers=bearer("ready"), timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})


def test_the_control_route_runs_a_gateway_out_of_credits(simulator: ServedSimulator) -> None:
    simulator.control("gateway-ready", out_of_credits=True)
    assert generate(simulator, "ready").status_code == 402
    simulator.reset()
    assert generate(simulator, "ready").status_code == 200


def test_every_gateway_scenario_names_its_key_and_expectations() -> None:
    for item in GATEWAY_SCENARIOS:
        assert item.api_key == "sk-gw-sim-" + item.name.removeprefix("gateway-")
        assert item.expect["generation"]
    assert {s.name for s in GATEWAY_SCENARIOS} >= {
        "gateway-ready", "gateway-rate-limited", "gateway-no-credits",
    }  # fmt: skip


# --- the openai SDK's OpenAI client ------------------------------------------------------------

Clients = Callable[[str], openai.OpenAI]


@pytest.fixture
def clients(simulator: ServedSimulator) -> Iterator[Clients]:
    opened: list[openai.OpenAI] = []

    def make(short: str) -> openai.OpenAI:
        sdk = openai.OpenAI(
            api_key=f"sk-gw-sim-{short}",
            base_url=f"{simulator.url}/gateway/v1",
            max_retries=0,
            timeout=30,
        )
        opened.append(sdk)
        return sdk

    yield make
    for sdk in opened:
        sdk.close()


def sdk_generate(sdk: openai.OpenAI) -> Any:
    return sdk.images.generate(
        model="gpt-image-2", prompt="A grey square", size="1024x1024", quality="low"
    )


def test_the_sdk_generates_and_lists_through_the_gateway(clients: Clients) -> None:
    sdk = clients("ready")
    assert sdk_generate(sdk).data is not None
    assert [m.id for m in sdk.models.list()] == ["gpt-image-2", "gpt-image-1"]


def test_the_sdk_raises_rate_limit_error_with_litellms_string_code(clients: Clients) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        sdk_generate(clients("rate-limited"))
    assert (caught.value.code, caught.value.type) == ("429", "throttling_error")


def test_the_sdk_raises_a_402_status_error_for_openrouter_credits(clients: Clients) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        sdk_generate(clients("no-credits"))
    assert caught.value.status_code == 402
    # The body's code is the number 402; the SDK hands it on as the string "402".
    assert caught.value.code == "402"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == 402


def test_the_sdk_raises_authentication_error_for_an_unknown_key(clients: Clients) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        clients("wrong-key").models.list()
    assert caught.value.code == "401"


def test_the_sdk_raises_not_found_for_a_snapshot_the_gateway_cannot_look_up(
    clients: Clients,
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        clients("ready").models.retrieve("gpt-image-2-2026-04-21")
    assert caught.value.body == {"detail": "Not Found"}
