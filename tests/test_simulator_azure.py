"""The simulator's Azure OpenAI face over HTTP on 127.0.0.1, and the official `openai` SDK's
`AzureOpenAI` client reading it as it reads the real service."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai._models import FinalRequestOptions
from PIL import Image

from monitor.simulator import AZURE_SCENARIOS
from monitor.simulator.azure_scenarios import (
    API_VERSION,
    NEAR_RETIREMENT,
    PINNED_VERSION,
    ROLLED_VERSION,
    azure_scenario,
)
from tests.conftest import ServedSimulator

CORPUS = Path(__file__).parent / "fixtures" / "openai_answers"
GENERATIONS = "/openai/deployments/{deployment}/images/generations"
PROMPT = {"prompt": "A grey square", "size": "1024x1024", "quality": "low"}


def corpus_body(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))["body"]


def key(short: str) -> dict[str, str]:
    return {"api-key": f"azure-sim-{short}"}


def generate(
    simulator: ServedSimulator,
    short: str,
    deployment: str = "gpt-image-2",
    api_version: str | None = API_VERSION,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    query = f"?api-version={api_version}" if api_version else ""
    return httpx.post(
        simulator.url + GENERATIONS.format(deployment=deployment) + query,
        headers=key(short) if headers is None else headers,
        json=PROMPT,
        timeout=30,
    )


# --- the answers over HTTP -----------------------------------------------------------------


def test_an_azure_deployment_generates_with_azure_headers(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "ready")
    assert answer.status_code == 200
    body = answer.json()
    image = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
    assert image.size == (1024, 1024)
    headers = answer.headers
    uuid.UUID(headers["x-request-id"])  # a UUID, not OpenAI's req_…
    assert headers["apim-request-id"] == headers["x-ms-client-request-id"]
    assert headers["x-ms-region"]
    assert int(headers["x-ratelimit-remaining-requests"]) == 19
    assert int(headers["x-ratelimit-remaining-tokens"]) > 0
    assert "x-ratelimit-limit-requests" not in headers  # Azure sends remaining counts only
    assert not any(name.startswith("openai-") for name in headers)


def test_the_deployment_decides_the_model_whatever_the_body_says(
    simulator: ServedSimulator,
) -> None:
    answer = httpx.post(
        f"{simulator.url}{GENERATIONS.format(deployment='gpt-image-2')}?api-version={API_VERSION}",
        headers=key("ready"),
        json={**PROMPT, "model": "dall-e-3"},
        timeout=30,
    )
    assert answer.status_code == 200


def test_the_v1_route_takes_the_deployment_as_model(simulator: ServedSimulator) -> None:
    answer = httpx.post(
        f"{simulator.url}/openai/v1/images/generations",
        headers=key("ready-v1"),
        json={**PROMPT, "model": "images-prod"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.json()["data"][0]["b64_json"]


def test_the_v1_route_refuses_a_dated_api_version(simulator: ServedSimulator) -> None:
    answer = httpx.post(
        f"{simulator.url}/openai/v1/images/generations?api-version={API_VERSION}",
        headers=key("ready-v1"),
        json={**PROMPT, "model": "images-prod"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {"code": "BadRequest", "message": "API version not supported"}
    }


def test_a_missing_api_version_gets_the_bare_resource_not_found(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "ready", api_version=None)
    assert answer.status_code == 404
    assert answer.json() == corpus_body("azure-resource-not-found-404-okgodoit-179.json")


def test_an_api_version_before_images_gets_resource_not_found(simulator: ServedSimulator) -> None:
    assert generate(simulator, "ready", api_version="2022-12-01").status_code == 404


def test_an_unknown_api_version_is_not_supported(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "ready", api_version="2031-01-01")
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "BadRequest")


def test_gpt_image_needs_a_recent_api_version(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "ready", api_version="2024-10-21")
    assert answer.status_code == 400
    assert (
        "is enabled only for api versions 2025-04-01-preview and later"
        in (answer.json()["error"]["message"])
    )


def test_a_missing_deployment_answers_deployment_not_found(simulator: ServedSimulator) -> None:
    scenario = azure_scenario("azure-deployment-missing")
    answer = generate(simulator, "deployment-missing", deployment=scenario.deployment)
    assert answer.status_code == 404
    assert answer.json() == corpus_body("azure-deployment-not-found-chatbox-646.json")


def test_a_wrong_key_answers_azures_401(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "wrong-key")
    assert answer.status_code == 401
    assert answer.json() == corpus_body("azure-invalid-key-401-semantic-kernel-10337.json")
    missing = generate(simulator, "ready", headers={})
    assert missing.status_code == 401


def test_an_entra_token_opens_the_account_and_a_bad_one_gets_the_gateways_401(
    simulator: ServedSimulator,
) -> None:
    good = generate(simulator, "ready", headers={"authorization": "Bearer azure-sim-ready"})
    assert good.status_code == 200
    bad = generate(simulator, "ready", headers={"authorization": "Bearer eyJ0eXAi.bad.token"})
    assert bad.status_code == 401
    assert bad.json()["statusCode"] == 401
    assert bad.json()["message"].startswith("Unauthorized. Access token is missing")


def test_a_throttled_deployment_answers_429_with_both_retry_headers(
    simulator: ServedSimulator,
) -> None:
    answer = generate(simulator, "throttled")
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == "429"
    assert re.search(
        r"exceeded call rate limit of your current OpenAI S0 pricing tier\. "
        r"Please retry after 2 seconds\.",
        error["message"],
    )
    assert (answer.headers["retry-after"], answer.headers["retry-after-ms"]) == ("2", "2000")
    assert answer.headers["x-ratelimit-remaining-requests"] == "0"


def test_the_per_minute_quota_runs_out_and_says_when_to_retry(simulator: ServedSimulator) -> None:
    simulator.control("azure-ready", requests_per_minute=1)
    assert generate(simulator, "ready").status_code == 200
    answer = generate(simulator, "ready")
    assert answer.status_code == 429
    assert 0 < int(answer.headers["retry-after-ms"]) <= 60_000
    assert answer.json()["error"]["message"].startswith(
        "Requests to the ImageGenerations_Create Operation under Azure OpenAI API version "
        f"{API_VERSION} have exceeded call rate limit"
    )


def test_the_content_filter_refuses_with_the_images_body(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "content-filter")
    assert answer.status_code == 400
    quoted = corpus_body("moderation-azure-dalle-3-litellm-16072.json")
    # The quote is LiteLLM's text with Azure's JSON inside it: the JSON is the body.
    assert answer.json() == json.loads(quoted[quoted.index("{") :])
    assert answer.json()["error"]["inner_error"]["code"] == "ResponsibleAIPolicyViolation"


def test_a_blocked_resource_answers_403(simulator: ServedSimulator) -> None:
    answer = generate(simulator, "blocked")
    assert answer.status_code == 403
    assert answer.json() == corpus_body("azure-resource-blocked-403-pollinations-8837.json")


def test_an_edit_goes_through_the_deployment_route(simulator: ServedSimulator) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024)).save(buffer, format="PNG")
    answer = httpx.post(
        f"{simulator.url}/openai/deployments/gpt-image-2/images/edits?api-version={API_VERSION}",
        headers=key("ready"),
        data={"prompt": "Add a dot", "quality": "low"},
        files={"image": ("in.png", buffer.getvalue(), "image/png")},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.json()["usage"]["input_tokens_details"]["image_tokens"] > 0


def catalog(simulator: ServedSimulator, short: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{simulator.url}/openai/models?api-version=2024-10-21", headers=key(short), timeout=10
    )
    assert answer.status_code == 200
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def retirement(entries: list[dict[str, Any]], model_id: str) -> dt.date:
    entry = next(e for e in entries if e["id"] == model_id)
    return dt.datetime.fromtimestamp(entry["deprecation"]["inference"], dt.UTC).date()


def test_the_catalog_lists_versions_with_lifecycle_and_retirement(
    simulator: ServedSimulator,
) -> None:
    entries = catalog(simulator, "ready")
    entry = next(e for e in entries if e["id"] == f"gpt-image-2-{PINNED_VERSION}")
    assert set(entry) == {
        "status", "capabilities", "lifecycle_status", "deprecation", "id", "created_at", "object",
    }  # fmt: skip
    assert entry["lifecycle_status"] == "generally-available"
    assert "owned_by" not in entry
    assert "created" not in entry
    moved = {e["id"] for e in catalog(simulator, "version-moved")}
    assert f"gpt-image-2-{ROLLED_VERSION}" in moved
    retiring = catalog(simulator, "retiring")
    assert retirement(retiring, f"gpt-image-2-{PINNED_VERSION}").isoformat() == NEAR_RETIREMENT


def test_the_catalog_needs_an_api_version(simulator: ServedSimulator) -> None:
    answer = httpx.get(f"{simulator.url}/openai/models", headers=key("ready"), timeout=10)
    assert answer.status_code == 404


def test_the_control_route_moves_and_retires_the_served_version(
    simulator: ServedSimulator,
) -> None:
    simulator.control("azure-ready", model_version=ROLLED_VERSION, retires="2026-12-01")
    entries = catalog(simulator, "ready")
    assert retirement(entries, f"gpt-image-2-{ROLLED_VERSION}") == dt.date(2026, 12, 1)
    described = simulator.control("azure-ready")
    assert described["deployments"]["gpt-image-2"]["version"] == ROLLED_VERSION
    refused = httpx.post(
        f"{simulator.url}/_sim/accounts/azure-ready", json={"retires": "soon"}, timeout=5
    )
    assert refused.status_code == 400


def test_the_v1_model_list_has_openais_four_fields(simulator: ServedSimulator) -> None:
    answer = httpx.get(f"{simulator.url}/openai/v1/models", headers=key("ready"), timeout=10)
    assert answer.status_code == 200
    assert all(set(m) == {"id", "object", "created", "owned_by"} for m in answer.json()["data"])


def test_an_unknown_azure_path_gets_resource_not_found(simulator: ServedSimulator) -> None:
    answer = httpx.get(f"{simulator.url}/openai/deployments", headers=key("ready"), timeout=10)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "404")


def test_every_azure_scenario_names_its_deployment_version_and_expectations() -> None:
    for item in AZURE_SCENARIOS:
        assert item.api_key == "azure-sim-" + item.name.removeprefix("azure-")
        assert item.expect
        assert all((item.deployment, item.model, item.model_version, item.api_version))
    assert {s.name for s in AZURE_SCENARIOS} >= {
        "azure-ready", "azure-ready-v1", "azure-deployment-missing", "azure-wrong-key",
        "azure-throttled", "azure-content-filter", "azure-blocked", "azure-version-moved",
        "azure-retiring",
    }  # fmt: skip


# --- the openai SDK's AzureOpenAI client -----------------------------------------------------

AzureClients = Callable[..., openai.AzureOpenAI]


@pytest.fixture
def azure(simulator: ServedSimulator) -> Iterator[AzureClients]:
    opened: list[openai.AzureOpenAI] = []

    def make(name: str, max_retries: int = 0, **auth: Any) -> openai.AzureOpenAI:
        scenario = azure_scenario(name)
        sdk = openai.AzureOpenAI(
            azure_endpoint=simulator.url,
            azure_deployment=scenario.deployment,
            api_version=scenario.api_version,
            max_retries=max_retries,
            timeout=30,
            **(auth or {"api_key": scenario.api_key}),
        )
        opened.append(sdk)
        return sdk

    yield make
    for sdk in opened:
        sdk.close()


def sdk_generate(sdk: openai.AzureOpenAI | openai.OpenAI, model: str = "gpt-image-2") -> Any:
    return sdk.images.generate(model=model, prompt="A grey square", size="1024x1024", quality="low")


def test_azure_openai_generates_through_a_deployment(azure: AzureClients) -> None:
    response = sdk_generate(azure("azure-ready"))
    assert response.data is not None
    assert response.data[0].b64_json
    assert response.usage is not None


def test_azure_openai_authenticates_with_an_entra_token(azure: AzureClients) -> None:
    response = sdk_generate(azure("azure-ready", azure_ad_token="azure-sim-ready"))
    assert response.data is not None
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk_generate(azure("azure-ready", azure_ad_token="not-a-token"))
    assert caught.value.status_code == 401


def test_azure_openai_without_a_deployment_routes_by_model(simulator: ServedSimulator) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=simulator.url,
        api_version=API_VERSION,
        api_key="azure-sim-ready",
        max_retries=0,
    ) as sdk:
        assert sdk_generate(sdk, model="gpt-image-2").data is not None
        ids = [m.id for m in sdk.models.list()]  # the data-plane catalog
    assert f"gpt-image-2-{PINNED_VERSION}" in ids


def test_the_v1_base_url_style_generates_with_the_openai_client(
    simulator: ServedSimulator,
) -> None:
    # Microsoft's v1 style: the plain OpenAI client, the key as a bearer token.
    with openai.OpenAI(
        base_url=f"{simulator.url}/openai/v1/", api_key="azure-sim-ready-v1", max_retries=0
    ) as sdk:
        assert sdk_generate(sdk, model="images-prod").data is not None
        assert [m.id for m in sdk.models.list()]


def test_azure_openai_raises_not_found_for_a_missing_deployment(azure: AzureClients) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk_generate(azure("azure-deployment-missing"))
    assert caught.value.code == "DeploymentNotFound"
    assert caught.value.type is None


def test_azure_openai_raises_authentication_error_for_a_wrong_key(azure: AzureClients) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk_generate(azure("azure-wrong-key"))
    assert caught.value.code == "401"
    uuid.UUID(str(caught.value.request_id))


def test_azure_openai_raises_rate_limit_error_and_honours_retry_after_ms(
    azure: AzureClients, simulator: ServedSimulator
) -> None:
    simulator.control("azure-throttled", retry_after_ms=20)
    sdk = azure("azure-throttled", max_retries=1)
    with pytest.raises(openai.RateLimitError) as caught:
        sdk_generate(sdk)
    assert caught.value.code == "429"
    assert simulator.control("azure-throttled")["requests"] == 2  # retried once
    wait = sdk._calculate_retry_timeout(
        1, FinalRequestOptions(method="post", url="/x"), caught.value.response.headers
    )
    assert wait == pytest.approx(0.02)  # retry-after-ms, not the 1-second retry-after


def test_azure_openai_raises_bad_request_with_the_content_filter_body(
    azure: AzureClients,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk_generate(azure("azure-content-filter"))
    assert caught.value.code == "content_policy_violation"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["inner_error"]["code"] == "ResponsibleAIPolicyViolation"


def test_azure_openai_raises_permission_denied_for_a_blocked_resource(
    azure: AzureClients,
) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk_generate(azure("azure-blocked"))
    assert caught.value.code == "Forbidden"
