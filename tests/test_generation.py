from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from checks.generation import PROMPT
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
        "transparent_pixels": False,
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
        (403, "403_key_scope_missing.json", "key_scope_missing", "fail"),
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


def envelope(message: str, code: str | None = None, error_type: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    ).encode()


BILLING = envelope(
    "Your account is not active, please check your billing details on our website.",
    "billing_not_active",
    "billing_not_active",
)
QUOTA = error_fixture("429_insufficient_quota.json")
SCOPE = error_fixture("403_key_scope_missing.json")
LIMITED = error_fixture("429_rate_limited.json")
SERVER = error_fixture("500_server_error.json")
INVALID = error_fixture("400_unknown_parameter.json")


@pytest.mark.parametrize(
    ("status", "body", "headers", "requests", "reason"),
    [
        # the SDK retries 408, 409, 429 and 5xx
        (408, envelope("Request timed out."), {}, 2, "timeout"),
        (409, envelope("Conflict."), {}, 2, "invalid_request"),
        (429, LIMITED, {}, 2, "rate_limited"),
        (500, SERVER, {}, 2, "server_error"),
        (400, INVALID, {}, 1, "invalid_request"),
        # x-should-retry decides before the status
        (500, SERVER, {"x-should-retry": "false"}, 1, "server_error"),
        (400, INVALID, {"x-should-retry": "true"}, 2, "invalid_request"),
        # a wait beyond max_retry_wait is not waited out, whatever the header says
        (429, LIMITED, {"retry-after": "31", "x-should-retry": "true"}, 1, "rate_limited"),
        # quota, billing and scope never: waiting does not change them
        (429, QUOTA, {}, 1, "insufficient_quota"),
        (429, BILLING, {}, 1, "billing_not_active"),
        (403, BILLING, {}, 1, "billing_not_active"),
        (400, BILLING, {}, 1, "billing_not_active"),
        (429, QUOTA, {"x-should-retry": "true"}, 1, "insufficient_quota"),
        (401, SCOPE, {}, 1, "key_scope_missing"),
    ],
)
def test_generation_retries_as_the_sdk_does_except_for_facts_about_the_account(
    status: int, body: bytes, headers: dict[str, str], requests: int, reason: str
) -> None:
    api = Api().on("POST", PATH, raw_response(status, body, headers=headers))
    outcome = run_check("generation", api)
    assert outcome.reason == reason
    assert len(api.requests) == requests
    assert len(outcome.details["attempts"]) == requests


def test_generation_waits_retry_after_ms_before_retry_after() -> None:
    limited = error(429, "429_rate_limited.json", {"retry-after-ms": "2500", "retry-after": "9"})
    api = Api().on("POST", PATH, limited, json_response(200, generation_body()))
    sleeps: list[float] = []
    assert run_check("generation", api, sleeps=sleeps).reason == "ok"
    assert (sleeps, len(api.requests)) == ([2.5], 2)


def test_generation_waits_a_retry_after_given_as_an_http_date() -> None:
    # the clock of run_check is 2026-11-21 12:00:00 UTC
    limited = error(429, "429_rate_limited.json", {"retry-after": "Sat, 21 Nov 2026 12:00:20 GMT"})
    api = Api().on("POST", PATH, limited, json_response(200, generation_body()))
    sleeps: list[float] = []
    assert run_check("generation", api, sleeps=sleeps).reason == "ok"
    assert (sleeps, len(api.requests)) == ([20.0], 2)


def test_generation_backs_off_half_a_second_without_retry_after() -> None:
    api = Api().on(
        "POST", PATH, error(503, "503_overloaded.json"), json_response(200, generation_body())
    )
    sleeps: list[float] = []
    outcome = run_check("generation", api, sleeps=sleeps)
    assert (outcome.reason, sleeps) == ("ok", [0.5])
    assert outcome.details["attempts"][0]["retry"] == "HTTP 503 is retried, as the SDK does"


def test_generation_reads_an_error_inside_a_200() -> None:
    body = {
        "message": "Provider returned error",
        "code": 429,
        "metadata": {"raw": "error code: 1015"},
    }
    api = Api().on("POST", PATH, json_response(200, body))
    outcome = run_check("generation", api)
    assert (outcome.status, outcome.reason, outcome.details["rule"]) == (
        "warn",
        "rate_limited",
        "rate_limit_by_code",
    )
    assert len(api.requests) == 1


GPT_IMAGE = {"quality": "low", "output_format": "jpeg", "output_compression": 50}
DALL_E = {"response_format": "b64_json"}
FAMILY_REQUESTS: dict[str, dict[str, Any]] = {
    "gpt-image-2": {"size": "1408x480", **GPT_IMAGE},
    "gpt-image-2-2026-04-21": {"size": "1408x480", **GPT_IMAGE},
    "gpt-image-2.5-flare": {"size": "1024x1024", **GPT_IMAGE},
    "gpt-image-2.5-sunburst-2026-09-08": {"size": "1024x1024", **GPT_IMAGE},
    "gpt-image-1.5": {"size": "1024x1024", **GPT_IMAGE},
    "gpt-image-1": {"size": "1024x1024", **GPT_IMAGE},
    "gpt-image-1-mini": {"size": "1024x1024", **GPT_IMAGE},
    "dall-e-3": {"size": "1024x1024", "quality": "standard", **DALL_E},
    "dall-e-2": {"size": "256x256", **DALL_E},
}


@pytest.mark.parametrize("model", list(FAMILY_REQUESTS))
def test_generation_sends_a_request_valid_for_the_models_family(model: str) -> None:
    width, height = map(int, FAMILY_REQUESTS[model]["size"].split("x"))
    body = generation_body(width, height)
    if model.startswith("dall-e"):  # DALL-E answers carry no size, usage or output_format
        body = {"created": 1, "data": [{"b64_json": image_b64(width, height, "PNG")}]}
    api = Api().on("POST", PATH, json_response(200, body))
    outcome = run_check("generation", api, model=model)
    sent = json.loads(api.requests[0].content)
    assert sent == {"model": model, "prompt": PROMPT, "n": 1, **FAMILY_REQUESTS[model]}
    assert outcome.reason == "ok"
    assert "request_note" not in outcome.details


def test_generation_probes_an_unknown_gpt_image_model_at_the_safest_request() -> None:
    api = Api().on("POST", PATH, json_response(200, generation_body(1024, 1024)))
    outcome = run_check("generation", api, model="gpt-image-3")
    sent = json.loads(api.requests[0].content)
    assert (sent["size"], sent["quality"], sent["output_format"]) == ("1024x1024", "low", "jpeg")
    assert outcome.reason == "ok"
    assert "gpt-image-3 is not in the family table" in outcome.details["request_note"]
