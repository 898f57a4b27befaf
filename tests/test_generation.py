from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import (
    Api,
    error_fixture,
    generation_body,
    image_b64,
    json_response,
    raw_response,
    run_check,
)

PATH = "/v1/images/generations"
RATE_HEADERS = {
    "x-ratelimit-limit-requests": "50",
    "x-ratelimit-remaining-requests": "49",
    "x-ratelimit-reset-requests": "1.2s",
    "x-ratelimit-limit-tokens": "800000",
    "x-ratelimit-remaining-tokens": "799946",
    "x-ratelimit-reset-tokens": "4ms",
    "x-request-id": "req_gen",
}


def error(status: int, fixture: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return raw_response(status, error_fixture(fixture), headers=headers)


def test_generation_sends_the_cheapest_valid_request() -> None:
    api = Api().on("POST", PATH, json_response(200, generation_body(), RATE_HEADERS))
    outcome = run_check("generation", api)
    sent = json.loads(api.requests[0].content)
    assert sent["model"] == "gpt-image-2"
    assert sent["size"] == "1408x480"
    assert sent["quality"] == "low"
    assert sent["n"] == 1
    assert "response_format" not in sent
    assert (outcome.status, outcome.reason) == ("pass", "ok")


def test_generation_records_usage_cost_latency_and_headers() -> None:
    api = Api().on("POST", PATH, json_response(200, generation_body(), RATE_HEADERS))
    outcome = run_check("generation", api)
    assert outcome.cost_usd == pytest.approx(0.00168)
    assert outcome.latency_ms is not None
    assert outcome.request_id == "req_gen"
    assert outcome.details["usage"]["output_tokens"] == 54
    assert outcome.details["expected_output_tokens"] == 54
    assert outcome.details["headers"]["rate_limits"]["requests"]["remaining"] == 49
    assert outcome.details["image"] == {
        "format": "jpeg",
        "width": 1408,
        "height": 480,
        "bytes": outcome.details["image"]["bytes"],
        "has_alpha": False,
    }


def test_generation_uses_a_fixed_size_for_older_models() -> None:
    body = generation_body(1024, 1024, 272)
    api = Api().on("POST", PATH, json_response(200, body))
    outcome = run_check("generation", api, model="gpt-image-1.5")
    assert json.loads(api.requests[0].content)["size"] == "1024x1024"
    assert outcome.reason == "ok"


@pytest.mark.parametrize(
    ("status", "fixture", "reason", "outcome_status"),
    [
        (403, "403_org_verification_required.json", "org_verification_required", "fail"),
        (403, "403_project_model_not_allowed.json", "project_model_not_allowed", "fail"),
        (403, "403_region_blocked.json", "region_blocked", "fail"),
        (403, "403_permission_denied.json", "permission_denied", "fail"),
        (404, "404_model_not_found.json", "model_not_found", "fail"),
        (401, "401_invalid_api_key.json", "invalid_api_key", "fail"),
        (429, "429_insufficient_quota.json", "insufficient_quota", "fail"),
        (400, "400_billing_hard_limit.json", "billing_hard_limit", "fail"),
        (400, "400_moderation_blocked.json", "moderation_blocked", "unknown"),
        (400, "400_unknown_parameter.json", "invalid_request", "unknown"),
    ],
)
def test_generation_never_retries_a_non_transient_answer(
    status: int, fixture: str, reason: str, outcome_status: str
) -> None:
    api = Api().on("POST", PATH, error(status, fixture, {"x-request-id": "req_err"}))
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason) == (outcome_status, reason)
    assert len(api.requests) == 1
    assert outcome.request_id == "req_err"
    assert outcome.http_status == status
    assert outcome.cost_usd is None


def test_generation_retries_a_rate_limit_once_after_retry_after() -> None:
    limited = error(429, "429_rate_limited.json", {"retry-after": "2", "retry-after-ms": "1500"})
    api = Api().on("POST", PATH, limited, json_response(200, generation_body()))
    sleeps: list[float] = []
    outcome = run_check("generation", api, sleeps=sleeps)
    assert outcome.reason == "ok"
    assert sleeps == [1.5]
    assert len(api.requests) == 2
    assert [a["reason"] for a in outcome.details["attempts"]] == ["rate_limited", "ok"]


def test_generation_warns_rate_limited_when_the_retry_is_limited_too() -> None:
    limited = error(429, "429_rate_limited.json", {"retry-after": "1"})
    api = Api().on("POST", PATH, limited)
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason) == ("warn", "rate_limited")
    assert len(api.requests) == 2


def test_generation_does_not_wait_out_a_long_retry_after() -> None:
    api = Api().on("POST", PATH, error(429, "429_rate_limited.json", {"retry-after": "600"}))
    sleeps: list[float] = []
    outcome = run_check("generation", api, sleeps=sleeps)
    assert outcome.reason == "rate_limited"
    assert sleeps == []
    assert len(api.requests) == 1


def test_generation_retries_a_server_error_at_most_once() -> None:
    api = Api().on(
        "POST",
        PATH,
        error(500, "500_server_error.json"),
        error(503, "503_overloaded.json"),
        json_response(200, generation_body()),
    )
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason) == ("unknown", "server_error")
    assert len(api.requests) == 2


def test_generation_survives_a_non_json_502() -> None:
    api = Api().on("POST", PATH, raw_response(502, error_fixture("502_proxy.html"), "text/html"))
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason) == ("unknown", "server_error")
    assert "502 Bad Gateway" in outcome.summary


@pytest.mark.parametrize(
    ("exception", "reason"),
    [(httpx.ReadTimeout("slow"), "timeout"), (httpx.ConnectError("refused"), "network_error")],
)
def test_generation_reports_transport_failures_as_unknown(
    exception: Exception, reason: str
) -> None:
    api = Api().on("POST", PATH, exception)
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason) == ("unknown", reason)
    assert len(api.requests) == 2  # transient: one retry


@pytest.mark.parametrize(
    "body",
    [
        {"created": 1, "data": []},
        {"created": 1, "data": [{"url": "https://example.invalid/x.png"}]},
        {"created": 1, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]},
        {"created": 1, "data": [{"b64_json": ""}]},
        ["not", "an", "object"],
    ],
)
def test_generation_refuses_a_200_without_a_real_image(body: object) -> None:
    api = Api().on("POST", PATH, json_response(200, body))
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason) == ("unknown", "unexpected_response")
    assert len(api.requests) == 1


def test_generation_refuses_an_image_of_another_size_than_answered() -> None:
    body = generation_body()
    body["data"] = [{"b64_json": image_b64(1024, 1024)}]
    api = Api().on("POST", PATH, json_response(200, body))
    outcome = run_check("generation", api)
    assert outcome.reason == "unexpected_response"
    assert "1024x1024" in outcome.summary


def test_generation_passes_without_usage_but_records_no_cost() -> None:
    body = generation_body()
    del body["usage"]
    outcome = run_check("generation", Api().on("POST", PATH, json_response(200, body)))
    assert outcome.reason == "ok"
    assert outcome.cost_usd is None
