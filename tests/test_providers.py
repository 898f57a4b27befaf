"""Azure OpenAI and OpenAI-compatible gateways as account kinds: their config, their URLs and
auth at the HTTP seam, and which checks each can answer."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import httpx
import pytest

from checks import REGISTRY
from checks.base import AZURE, GATEWAY, Account, Evidence, Status
from checks.headers import parse_headers
from checks.providers import UNSUPPORTED, not_supported
from monitor.clock import FrozenClock
from monitor.config import ConfigError, parse
from monitor.plan import plan
from monitor.providers import ENTRA_SCOPE, MissingExtra, entra_token_provider
from monitor.runner import run_once
from tests.conftest import Api, generation_body, json_response, make_account, run_check

ENV = {"AZ_KEY": "azure-key-0000111122223333", "GW_KEY": "sk-gw-0000111122223333"}
ENDPOINT = "https://contoso-eastus.openai.azure.com"
API_VERSION = "2025-04-01-preview"


def azure(**overrides: Any) -> dict[str, Any]:
    account = {
        "name": "az",
        "provider": "azure",
        "endpoint": ENDPOINT,
        "deployment": "images-prod",
        "api_version": API_VERSION,
        "api_key_env": "AZ_KEY",
        "models": ["gpt-image-1"],
    }
    account.update(overrides)
    return {k: v for k, v in account.items() if v is not None}


def gateway(**overrides: Any) -> dict[str, Any]:
    account = {
        "name": "gw",
        "provider": "openai-compatible",
        "base_url": "https://llm-proxy.internal.example/v1",
        "api_key_env": "GW_KEY",
    }
    account.update(overrides)
    return account


def problems(*accounts: dict[str, Any], **parse_args: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse({"accounts": list(accounts)}, ENV, **parse_args)
    return caught.value.problems


def azure_account(**overrides: Any) -> Account:
    values: dict[str, Any] = {
        "name": "az",
        "base_url": ENDPOINT,
        "api_key": ENV["AZ_KEY"],
        "models": ("gpt-image-1",),
        "provider": AZURE,
        "deployment": "images-prod",
        "api_version": API_VERSION,
    }
    values.update(overrides)
    return Account(**values)


# --- config ---


def test_an_azure_account_loads_with_the_deployment_route_and_api_key_auth_by_default() -> None:
    account = parse({"accounts": [azure()]}, ENV).accounts[0]
    assert (account.provider, account.base_url, account.deployment) == (
        AZURE,
        ENDPOINT,
        "images-prod",
    )
    assert (account.route, account.api_version, account.token_provider) == (
        "deployment",
        API_VERSION,
        None,
    )
    assert account.headers() == {"api-key": ENV["AZ_KEY"]}


def test_a_missing_deployment_api_version_or_endpoint_is_one_line_each() -> None:
    found = problems(azure(deployment=None, api_version=None, endpoint=None))
    assert [line.split(":")[0] for line in found] == [
        "accounts[0].endpoint",
        "accounts[0].deployment",
        "accounts[0].api_version",
    ]
    assert all("\n" not in line for line in found)
    assert "no default" in found[2]


def test_an_unknown_provider_route_or_auth_is_refused_with_its_key_path() -> None:
    found = problems(azure(route="v2", auth="password"), gateway(provider="bedrock"))
    assert [line.split(":")[0] for line in found] == [
        "accounts[0].route",
        "accounts[0].auth",
        "accounts[1].provider",
    ]


def test_keys_of_another_provider_are_refused_with_their_key_path() -> None:
    found = problems(
        azure(base_url="https://api.openai.com/v1", project="proj_1", price_source="x.json"),
        gateway(deployment="d", admin_key_env="GW_KEY"),
        {"name": "plain", "api_key_env": "AZ_KEY", "api_version": API_VERSION},
    )
    assert sorted(found) == sorted(
        [
            "accounts[0].base_url: not a key of provider 'azure'",
            "accounts[0].price_source: not a key of provider 'azure'",
            "accounts[0].project: not a key of provider 'azure'",
            "accounts[1].deployment: not a key of provider 'openai-compatible'",
            "accounts[1].admin_key_env: not a key of provider 'openai-compatible'",
            "accounts[2].api_version: not a key of provider 'openai'",
        ]
    )


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://contoso.openai.azure.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/", True),
        ("http://contoso.openai.azure.com", False),
        ("https://contoso.openai.azure.com/openai/deployments/x", False),
        ("contoso.openai.azure.com", False),
    ],
)
def test_an_azure_endpoint_is_https_except_on_the_loopback(endpoint: str, ok: bool) -> None:
    if ok:
        assert parse({"accounts": [azure(endpoint=endpoint)]}, ENV).accounts[0].base_url
    else:
        assert [line.split(":")[0] for line in problems(azure(endpoint=endpoint))] == [
            "accounts[0].endpoint"
        ]


def test_the_api_version_must_suit_the_route() -> None:
    assert problems(azure(api_version="v1"), azure(name="b", route="v1")) == [
        "accounts[0].api_version: 'v1' is not a dated API version "
        '(YYYY-MM-DD or YYYY-MM-DD-preview; "v1" goes with route = "v1")',
        "accounts[1].api_version: the v1 route takes v1 or preview, not '2025-04-01-preview'",
    ]
    account = parse({"accounts": [azure(route="v1", api_version="preview")]}, ENV).accounts[0]
    assert account.url("images/generations") == (
        f"{ENDPOINT}/openai/v1/images/generations?api-version=preview"
    )


def test_an_azure_deployments_model_version_is_its_pinned_snapshot() -> None:
    account = parse({"accounts": [azure(model_version="2025-04-15")]}, ENV).accounts[0]
    assert account.snapshots == ("gpt-image-1-2025-04-15",)
    assert problems(azure(snapshots=["gpt-image-1-2025-04-15"])) == [
        "accounts[0].snapshots: not a key of provider 'azure'"
    ]


def test_a_gateway_needs_its_base_url_and_key() -> None:
    data = gateway(api_key_env=None)
    del data["base_url"], data["api_key_env"]
    assert sorted(problems(data)) == [
        "accounts[0].api_key_env: required key is missing",
        "accounts[0].base_url: required for provider 'openai-compatible'",
    ]


def test_entra_auth_without_the_azure_extra_is_one_clear_line() -> None:
    def missing() -> Any:
        raise MissingExtra('auth = "entra" needs azure-identity, the azure extra: pip x')

    found = problems(azure(auth="entra", api_key_env=None), entra=missing)
    assert found == [
        'accounts[0].auth: auth = "entra" needs azure-identity, the azure extra: pip x'
    ]


def test_the_entra_token_source_says_which_extra_to_install_when_azure_identity_is_missing() -> (
    None
):
    def no_module(name: str) -> ModuleType:
        raise ModuleNotFoundError(f"No module named {name!r}")

    with pytest.raises(MissingExtra, match=r"pip install 'imagewatch\[azure\]'"):
        entra_token_provider(no_module)


def test_the_entra_token_source_asks_azure_identity_for_the_cognitive_services_scope() -> None:
    asked: list[tuple[object, str]] = []
    identity = ModuleType("azure.identity")
    identity.DefaultAzureCredential = lambda: "credential"  # type: ignore[attr-defined]

    def get_bearer_token_provider(credential: object, scope: str) -> Any:
        asked.append((credential, scope))
        return lambda: "token"

    identity.get_bearer_token_provider = get_bearer_token_provider  # type: ignore[attr-defined]
    provider = entra_token_provider(lambda name: identity)
    assert provider() == "token"
    assert asked == [("credential", ENTRA_SCOPE)]


def test_entra_auth_sends_the_token_as_a_bearer_and_no_key() -> None:
    loaded = parse(
        {"accounts": [azure(auth="entra", api_key_env=None)]}, ENV, entra=lambda: lambda: "tok-1"
    )
    account = loaded.accounts[0]
    assert account.headers() == {"Authorization": "Bearer tok-1"}
    assert loaded.secrets == []
    assert "tok-1" not in repr(account)
    assert ENV["AZ_KEY"] not in repr(azure_account())


def test_an_azure_account_runs_one_deployment_so_lists_one_model() -> None:
    assert problems(azure(models=["gpt-image-1", "gpt-image-1.5"])) == [
        "accounts[0].models: an Azure account probes one deployment, which runs one model"
    ]


# --- URLs and auth at the HTTP seam ---


def test_generation_on_the_deployment_route_sends_the_api_key_and_the_api_version() -> None:
    api = Api().on(
        "POST",
        "/openai/deployments/images-prod/images/generations",
        json_response(200, generation_body(1024, 1024)),
    )
    outcome = run_check("generation", api, model="gpt-image-1", account=azure_account())
    assert outcome.reason == "ok"
    sent = api.requests[0]
    assert sent.url.params["api-version"] == API_VERSION
    assert sent.headers["api-key"] == ENV["AZ_KEY"]
    assert "authorization" not in sent.headers
    assert json.loads(sent.content)["model"] == "images-prod"


def test_generation_on_the_v1_route_names_the_deployment_as_model_and_no_api_version() -> None:
    api = Api().on(
        "POST", "/openai/v1/images/generations", json_response(200, generation_body(1024, 1024))
    )
    account = azure_account(route="v1", api_version="v1")
    outcome = run_check("generation", api, model="gpt-image-1", account=account)
    assert outcome.reason == "ok"
    sent = api.requests[0]
    assert "api-version" not in sent.url.params
    assert json.loads(sent.content)["model"] == "images-prod"


def test_an_entra_account_fetches_its_token_off_the_event_loop_per_request() -> None:
    tokens = iter(["tok-1", "tok-2"])
    account = azure_account(api_key="", token_provider=lambda: next(tokens))
    api = Api().on("GET", "/openai/models", json_response(200, {"data": []}))
    run_check("model_listing", api, model="gpt-image-1", account=account)
    run_check("model_listing", api, model="gpt-image-1", account=account)
    assert [r.headers["authorization"] for r in api.requests] == ["Bearer tok-1", "Bearer tok-2"]
    assert all("api-key" not in r.headers for r in api.requests)


def test_a_credential_that_fails_is_unknown_credential_unavailable_not_a_crash() -> None:
    def broken() -> str:
        raise RuntimeError("ManagedIdentityCredential: no identity endpoint")

    account = azure_account(api_key="", token_provider=broken)
    api = Api()
    outcome = run_check("generation", api, model="gpt-image-1", account=account)
    assert (outcome.status, outcome.reason) == (Status.UNKNOWN, "credential_unavailable")
    assert api.requests == []


def test_a_gateway_gets_openai_paths_under_its_base_url_with_a_bearer_key() -> None:
    account = make_account(
        base_url="https://llm-proxy.internal.example/v1", provider=GATEWAY, snapshots=()
    )
    api = Api().on("POST", "/v1/images/generations", json_response(200, generation_body()))
    assert run_check("generation", api, account=account).reason == "ok"
    assert api.requests[0].headers["authorization"].startswith("Bearer sk-")
    assert json.loads(api.requests[0].content)["model"] == "gpt-image-2"


# --- which checks each provider answers ---


def test_every_unsupported_row_names_a_real_provider_and_a_known_or_announced_check() -> None:
    for check, provider in UNSUPPORTED:
        assert provider in (AZURE, GATEWAY)
        assert check in REGISTRY or check in ("usage", "spend")


def test_a_round_does_not_plan_what_the_provider_cannot_answer_unless_the_account_asks() -> None:
    loaded = parse(
        {
            "accounts": [
                azure(capabilities=["responses_tool"], responses_model="gpt-5"),
                gateway(snapshots=["gpt-image-2-2026-04-21"]),
            ]
        },
        ENV,
    )
    planned = {(p.account.name, p.check) for p in plan(loaded)}
    assert ("az", "rate_limits") not in planned
    assert ("az", "responses_tool") in planned  # listed: seen not to be watched
    assert ("gw", "snapshot") in planned
    assert ("gw", "rate_limits") in planned
    assert ("az", "rate_limits") in {
        (p.account.name, p.check) for p in plan(loaded, checks=["rate_limits"])
    }


def test_what_the_provider_cannot_answer_is_skipped_not_supported_without_a_request() -> None:
    loaded = parse({"accounts": [gateway(snapshots=["gpt-image-2-2026-04-21"]), azure()]}, ENV)
    probes = plan(loaded, checks=["snapshot", "rate_limits"])
    requests: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500)

    async def go() -> list[Any]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
            clock = FrozenClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
            return await run_once(loaded, probes, clock=clock, client=client)

    results = asyncio.run(go())
    skipped = {(r.account, r.check): (r.status, r.reason) for r in results}
    assert skipped[("gw", "snapshot")] == ("skipped", "not_supported_by_provider")
    assert skipped[("az", "rate_limits")] == ("skipped", "not_supported_by_provider")
    assert requests == []


def test_an_openai_account_is_never_told_a_check_is_unsupported() -> None:
    account = make_account()
    assert all(not_supported(check, account) is None for check in REGISTRY.values())


# --- Azure headers ---


def test_azure_headers_are_parsed_and_kept_in_the_details() -> None:
    meta = parse_headers(
        {
            "x-ms-region": "Sweden Central",
            "apim-request-id": "5f2b1c3e-0000-4000-8000-000000000001",
            "x-ratelimit-remaining-requests": "79",
            "x-ratelimit-remaining-tokens": "79000",
            "retry-after-ms": "1500",
        }
    )
    shown = meta.as_dict()
    assert shown["region"] == "Sweden Central"
    assert shown["apim_request_id"] == "5f2b1c3e-0000-4000-8000-000000000001"
    assert shown["rate_limits"] == {"requests": {"remaining": 79}, "tokens": {"remaining": 79000}}
    assert shown["retry_after_seconds"] == 1.5


def test_hostile_azure_header_values_are_cleaned_and_cut() -> None:
    meta = parse_headers({"x-ms-region": "\x1b[31mEvil" + "x" * 500, "apim-request-id": "  "})
    assert meta.region is not None
    assert "\x1b" not in meta.region
    assert len(meta.region) <= 200
    assert meta.apim_request_id is None


# --- the Azure model-version watch ---

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def catalog(*entries: tuple[str, int]) -> dict[str, Any]:
    """`GET /openai/models` in the shape Microsoft's REST reference shows (Models - List)."""
    return {
        "data": [
            {
                "status": "succeeded",
                "capabilities": {"fine_tune": False, "inference": True, "completion": False},
                "lifecycle_status": "generally-available",
                "deprecation": {"inference": retires},
                "id": model_id,
                "created_at": 1744675200,
                "object": "model",
            }
            for model_id, retires in entries
        ],
        "object": "list",
    }


FAR = int(datetime(2027, 10, 1, tzinfo=UTC).timestamp())
SOON = int(datetime(2027, 1, 15, tzinfo=UTC).timestamp())


def listing(
    body: dict[str, Any],
    *,
    check: str = "model_listing",
    model: str = "gpt-image-1",
    previous: dict[str, Any] | None = None,
    **account: Any,
) -> Any:
    api = Api().on("GET", "/openai/models", json_response(200, body))
    outcome = run_check(
        check,
        api,
        model=model,
        account=azure_account(**account),
        evidence=Evidence(previous=previous),
    )
    assert api.requests[0].url.params["api-version"] == API_VERSION
    return outcome


def test_the_deployments_model_versions_are_listed_with_their_lifecycle_and_retirement() -> None:
    outcome = listing(
        catalog(("gpt-image-1-2025-04-15", FAR), ("gpt-image-1-mini-2025-10-06", FAR)),
        model_version="2025-04-15",
    )
    assert outcome.reason == "listed"
    assert [v["version"] for v in outcome.details["model_versions"]] == ["2025-04-15"]
    assert outcome.details["model_versions"][0]["retires"].startswith("2027-10-01")
    assert outcome.details["model_versions"][0]["lifecycle_status"] == "generally-available"


def test_the_pinned_versions_retirement_within_the_horizon_warns_shutdown_scheduled() -> None:
    outcome = listing(
        catalog(("gpt-image-1-2025-04-15", SOON)),
        check="snapshot",
        model="gpt-image-1-2025-04-15",
    )
    assert (outcome.status, outcome.reason) == (Status.WARN, "shutdown_scheduled")
    assert "2027-01-15" in outcome.summary
    far = listing(
        catalog(("gpt-image-1-2025-04-15", FAR)), check="snapshot", model="gpt-image-1-2025-04-15"
    )
    assert far.reason == "snapshot_available"


def test_a_pinned_version_the_resource_no_longer_lists_fails_snapshot_missing() -> None:
    outcome = listing(
        catalog(("gpt-image-1-2025-10-01", FAR)), check="snapshot", model="gpt-image-1-2025-04-15"
    )
    assert (outcome.status, outcome.reason) == (Status.FAIL, "snapshot_missing")


def test_a_version_newer_than_the_configured_one_warns_new_snapshot() -> None:
    outcome = listing(
        catalog(("gpt-image-1-2025-04-15", FAR), ("gpt-image-1-2026-09-30", FAR)),
        model_version="2025-04-15",
    )
    assert (outcome.status, outcome.reason) == (Status.WARN, "new_snapshot")
    assert outcome.details["new_snapshots"] == ["gpt-image-1-2026-09-30"]


def test_without_a_configured_version_only_a_version_absent_before_is_news() -> None:
    body = catalog(("gpt-image-1-2025-04-15", FAR), ("gpt-image-1-2026-09-30", FAR))
    assert listing(body).reason == "listed"
    before = {"model_versions": [{"version": "2025-04-15"}]}
    assert listing(body, previous=before).reason == "new_snapshot"


def test_a_model_the_resource_cannot_serve_fails_not_listed() -> None:
    outcome = listing(catalog(("dall-e-3-3.0", FAR)))
    assert (outcome.status, outcome.reason) == (Status.FAIL, "not_listed")


def test_a_listing_that_is_not_a_model_list_is_unexpected() -> None:
    assert listing({"value": []}).reason == "unexpected_response"


def test_the_v1_route_reads_versions_from_the_v1_model_list_without_retirements() -> None:
    model = {"id": "gpt-image-1-2025-04-15", "object": "model", "created": 1, "owned_by": "x"}
    api = Api().on("GET", "/openai/v1/models", json_response(200, {"data": [model]}))
    account = azure_account(route="v1", api_version="v1")
    outcome = run_check("snapshot", api, model="gpt-image-1-2025-04-15", account=account)
    assert outcome.reason == "snapshot_available"
    assert "api-version" not in api.requests[0].url.params


# --- Azure's answers through an Azure account, at the HTTP seam, from the corpus ---

AZURE_CORPUS = {
    "azure-deployment-not-found-chatbox-646.json": 404,
    "azure-invalid-key-401-semantic-kernel-10337.json": 401,
    "azure-resource-blocked-403-pollinations-8837.json": 403,
    "azure-content-filter-400-helm-3327.json": 400,
    "moderation-azure-dalle-3-litellm-16072.json": 400,
    "azure-call-rate-limit-429-weaviate-3095.json": 429,
    "azure-rate-limit-headers-429-copilot-camp-551.json": 429,
    "azure-token-rate-limit-429-paperless-gpt-814.json": 429,
}


@pytest.mark.parametrize(("name", "status"), sorted(AZURE_CORPUS.items()))
def test_each_real_azure_answer_is_classified_right_on_both_routes(name: str, status: int) -> None:
    from tests.test_real_answers import CORPUS, FRAMING, body_bytes, load

    answer = load(CORPUS / name)
    body, content_type = body_bytes(answer)
    headers = {k: v for k, v in answer["headers"].items() if k.lower() not in FRAMING}
    for route, path in (
        ("deployment", "/openai/deployments/images-prod/images/generations"),
        ("v1", "/openai/v1/images/generations"),
    ):
        api = Api().on(
            "POST",
            path,
            httpx.Response(status, content=body, headers={"content-type": content_type, **headers}),
        )
        outcome = run_check(
            "generation",
            api,
            model="gpt-image-1",
            account=azure_account(route=route),
            settings={"max_retry_wait": 0.1},
        )
        assert (outcome.reason, str(outcome.status)) == (
            answer["expect"]["reason"],
            answer["expect"]["status"],
        ), route


def test_the_azure_quota_429_is_decided_by_its_own_row_and_waits_what_it_says() -> None:
    from checks.openai_errors import classify
    from checks.retries import wait_hint

    message = (
        "Requests to the ImageGenerations_Create Operation under Azure OpenAI API version "
        "2025-04-01-preview have exceeded call rate limit of your current OpenAI S0 pricing "
        "tier. Please retry after 3 seconds."
    )
    assert classify(429, None, "429", message).rule.name == "azure_quota_rate_limit"
    assert wait_hint(message) == 3.0


def test_azures_short_rate_limit_wording_names_its_wait_in_seconds() -> None:
    from checks.retries import wait_hint

    assert wait_hint("Rate limit is exceeded. Try again in 2 seconds.") == 2.0
    assert wait_hint("Please try again in 20s.") == 20.0


def test_an_azure_429_with_retry_after_ms_waits_the_milliseconds() -> None:
    sleeps: list[float] = []
    api = Api().on(
        "POST",
        "/openai/deployments/images-prod/images/generations",
        json_response(
            429,
            {"error": {"code": "429", "message": "Rate limit is exceeded. Try again in 2 s."}},
            {"retry-after": "2", "retry-after-ms": "1500", "x-ms-region": "Sweden Central"},
        ),
        json_response(200, generation_body(1024, 1024), {"x-ms-region": "Sweden Central"}),
    )
    outcome = run_check(
        "generation", api, model="gpt-image-1", account=azure_account(), sleeps=sleeps
    )
    assert outcome.reason == "ok"
    assert sleeps == [1.5]
    assert outcome.details["headers"]["region"] == "Sweden Central"


# --- prices per provider ---

AZURE_PRICES = {
    "gpt-image-1": {
        "input_cost_per_token": 5e-06,
        "input_cost_per_image_token": 1e-05,
        "output_cost_per_image_token": 4e-05,
    },
    "azure/gpt-image-1": {
        "mode": "image_generation",
        "litellm_provider": "azure",
        "input_cost_per_token": 5e-06,
        "input_cost_per_image_token": 1e-05,
        "output_cost_per_image_token": 5e-05,
    },
}


def pricing(account: Account, document: dict[str, Any], **settings: Any) -> Any:
    api = Api().on("GET", "/prices.json", json_response(200, document))
    source = {"source": "https://prices.test/prices.json", **settings}
    return run_check("pricing", api, model="gpt-image-1", account=account, settings=source), api


def test_an_azure_account_reads_the_azure_row_against_its_own_baseline() -> None:
    loaded = parse(
        {
            "accounts": [azure()],
            "pricing": {"baseline": {"azure/gpt-image-1": {"image_output": "50"}}},
        },
        ENV,
    )
    baseline = loaded.config.baseline("gpt-image-1", AZURE)
    outcome, _ = pricing(azure_account(), AZURE_PRICES, baseline={"gpt-image-1": baseline})
    assert (outcome.reason, outcome.details["source_key"]) == (
        "price_unchanged",
        "azure/gpt-image-1",
    )


def test_an_azure_price_apart_from_openais_baseline_is_a_change() -> None:
    outcome, _ = pricing(azure_account(), AZURE_PRICES)
    assert outcome.reason == "price_changed"
    assert outcome.details["moved"][0]["published"] == "50"


def test_an_azure_model_without_an_azure_row_is_unpriced_not_priced_as_openai() -> None:
    outcome, _ = pricing(azure_account(), {"gpt-image-1": AZURE_PRICES["gpt-image-1"]})
    assert (outcome.status, outcome.reason) == (Status.WARN, "model_unpriced")


def test_a_gateway_without_its_own_price_source_is_unpriced_without_fetching() -> None:
    account = make_account(provider=GATEWAY, snapshots=())
    outcome, api = pricing(account, AZURE_PRICES)
    assert (outcome.status, outcome.reason) == (Status.WARN, "model_unpriced")
    assert api.requests == []


def test_a_gateway_with_a_price_source_is_compared_with_it() -> None:
    account = make_account(
        provider=GATEWAY, snapshots=(), price_source="https://gw.test/prices.json"
    )
    api = Api().on("GET", "/prices.json", json_response(200, AZURE_PRICES))
    outcome = run_check("pricing", api, model="gpt-image-1", account=account)
    assert outcome.reason == "price_unchanged"
    assert api.requests[0].url.host == "gw.test"


# --- Azure headers shown ---


def test_explain_shows_azures_region_and_apim_request_id(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from monitor.cli.main import main

    body = tmp_path / "body.json"
    body.write_text('{"error": {"code": "429", "message": "Rate limit is exceeded."}}')
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "--status",
            "429",
            "--body",
            str(body),
            "--header",
            "x-ms-region: North Central US",
            "--header",
            "apim-request-id: 3d37de60-f6c3-4ced-a637-92bc9d16d8b5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "region North Central US · apim_request_id 3d37de60-f6c3-4ced-a637-92bc9d16d8b5"
        in result.output
    )


def test_the_account_pages_evidence_names_the_azure_region_and_apim_request_id() -> None:
    from monitor.page.build import azure_evidence

    headers = {"region": "Sweden Central", "apim_request_id": "abc-1", "request_id": "r"}
    assert azure_evidence({"headers": headers}) == "region Sweden Central · apim-request-id abc-1"
    assert azure_evidence({"headers": {"request_id": "r"}}) is None
    assert azure_evidence({"headers": ["not", "a", "mapping"]}) is None
    assert azure_evidence(None) is None


# --- the documented surface ---


def test_the_readme_providers_examples_load_as_written() -> None:
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Providers: Azure OpenAI and gateways", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 3
    accounts = [tomllib.loads(block)["accounts"][0] for block in blocks]
    environ = {"AZURE_OPENAI_KEY": "k" * 32, "LITELLM_VIRTUAL_KEY": "sk-" + "l" * 30}
    loaded = parse({"accounts": accounts}, environ, entra=lambda: lambda: "token")
    assert [a.provider for a in loaded.accounts] == [AZURE, AZURE, GATEWAY]
    assert [a.route for a in loaded.accounts[:2]] == ["deployment", "v1"]


def test_the_readme_providers_table_says_skipped_where_the_code_does() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Providers: Azure OpenAI and gateways", 1)[1].split("\n## ", 1)[0]
    columns = {AZURE: 2, GATEWAY: 3}
    skipped = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        for name in cells[0].replace("`", "").split(", "):
            for provider, column in columns.items():
                if "not_supported_by_provider" in cells[column]:
                    skipped.add((name, provider))
    assert skipped == set(UNSUPPORTED)


def test_the_example_config_loads_with_its_provider_accounts_uncommented(tmp_path: Any) -> None:
    from monitor.config import example_text

    lines = []
    for line in example_text().splitlines():
        stripped = line.removeprefix("# ")
        if line.startswith("# [[accounts]]") or (lines and lines[-1][1] and line.startswith("# ")):
            lines.append((stripped, True))
        else:
            lines.append((line, False))
    text = "\n".join(line.replace('# auth = "api-key"', 'auth = "api-key"') for line, _ in lines)
    environ = {
        "OPENAI_API_KEY": "sk-" + "o" * 30,
        "AZURE_OPENAI_KEY": "k" * 32,
        "LITELLM_VIRTUAL_KEY": "sk-" + "l" * 30,
    }
    import tomllib

    loaded = parse(tomllib.loads(text), environ)
    assert [a.provider for a in loaded.accounts] == ["openai", AZURE, GATEWAY]
