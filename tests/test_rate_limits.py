from __future__ import annotations

from typing import Any

import httpx
import pytest

from checks.base import Evidence
from checks.rate_limits import next_tier_for, tier_for
from tests.conftest import Api, error_fixture, fixture_bytes, make_account, raw_response, run_check

ADMIN_PATH = "/v1/organization/projects/proj_abc/rate_limits"


def headers(limit: int, remaining: int, tokens: int = 800_000) -> dict[str, Any]:
    return {
        "headers": {
            "rate_limits": {
                "requests": {"limit": limit, "remaining": remaining, "reset_seconds": 1.2},
                "tokens": {"limit": tokens, "remaining": tokens - 54},
            }
        },
        "finished_at": "2026-11-21T12:00:00+00:00",
    }


def test_rate_limits_passes_with_headroom_from_the_generation_headers() -> None:
    outcome = run_check("rate_limits", Api(), evidence=Evidence(generation=headers(50, 49)))
    assert (outcome.status, outcome.reason) == ("pass", "headroom_ok")
    assert outcome.details["tier"] == 3
    assert outcome.details["images_per_minute"] == 50


def test_rate_limits_warns_when_headroom_is_low() -> None:
    outcome = run_check(
        "rate_limits",
        Api(),
        evidence=Evidence(generation=headers(50, 5)),
        settings={"headroom_warn": 0.2},
    )
    assert (outcome.status, outcome.reason) == ("warn", "headroom_low")
    assert "requests 5/50" in outcome.summary


def test_rate_limits_fails_below_the_required_images_per_minute_and_names_the_tier() -> None:
    outcome = run_check(
        "rate_limits",
        Api(),
        evidence=Evidence(generation=headers(5, 4, 100_000)),
        account=make_account(required_images_per_minute=40),
    )
    assert (outcome.status, outcome.reason) == ("fail", "below_required")
    assert "tier 1" in outcome.summary
    assert "tier 3" in outcome.summary
    assert outcome.details["tier_needed"] == 3


def test_rate_limits_warns_when_the_limit_decreased() -> None:
    evidence = Evidence(generation=headers(20, 19, 250_000), previous={"images_per_minute": 50})
    outcome = run_check("rate_limits", Api(), evidence=evidence)
    assert (outcome.status, outcome.reason) == ("warn", "limit_decreased")


def test_rate_limits_is_unknown_without_headers_or_admin_key() -> None:
    outcome = run_check("rate_limits", Api(), evidence=Evidence(generation={"headers": {}}))
    assert (outcome.status, outcome.reason) == ("unknown", "rate_limit_unavailable")
    assert run_check("rate_limits", Api()).reason == "rate_limit_unavailable"


def test_rate_limits_reads_the_admin_api_with_the_admin_key() -> None:
    api = Api().on("GET", ADMIN_PATH, raw_response(200, fixture_bytes("project_rate_limits.json")))
    account = make_account(
        admin_key="sk-admin-secret-9999", project="proj_abc", required_images_per_minute=40
    )
    outcome = run_check("rate_limits", api, account=account)
    assert (outcome.status, outcome.reason) == ("pass", "headroom_ok")
    assert outcome.details["limit_source"] == "admin API"
    sent = api.requests[0]
    assert sent.headers["authorization"] == "Bearer sk-admin-secret-9999"
    assert "openai-project" not in sent.headers


def test_rate_limits_follows_admin_pagination() -> None:
    first = httpx.Response(
        200,
        json={
            "object": "list",
            "has_more": True,
            "data": [
                {
                    "object": "project.rate_limit",
                    "id": "rl-a",
                    "model": "gpt-4o",
                    "max_requests_per_1_minute": 500,
                    "max_tokens_per_1_minute": 30000,
                }
            ],
        },
    )
    second = httpx.Response(
        200,
        json={
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "object": "project.rate_limit",
                    "id": "rl-b",
                    "model": "gpt-image-2",
                    "max_requests_per_1_minute": 20,
                    "max_tokens_per_1_minute": 250000,
                    "max_images_per_1_minute": 20,
                }
            ],
        },
    )
    api = Api().on("GET", ADMIN_PATH, first, second)
    account = make_account(
        admin_key="sk-admin-secret-9999", project="proj_abc", required_images_per_minute=40
    )
    outcome = run_check("rate_limits", api, account=account)
    assert outcome.reason == "below_required"
    assert api.requests[1].url.params["after"] == "rl-a"


def test_rate_limits_reports_a_rejected_admin_key() -> None:
    api = Api().on("GET", ADMIN_PATH, raw_response(401, error_fixture("401_invalid_api_key.json")))
    account = make_account(admin_key="sk-admin-secret-9999", project="proj_abc")
    outcome = run_check("rate_limits", api, account=account)
    assert (outcome.status, outcome.reason) == ("fail", "invalid_api_key")


def test_rate_limits_falls_back_to_headers_when_the_admin_api_fails() -> None:
    api = Api().on("GET", ADMIN_PATH, raw_response(503, error_fixture("503_overloaded.json")))
    account = make_account(admin_key="sk-admin-secret-9999", project="proj_abc")
    outcome = run_check(
        "rate_limits", api, account=account, evidence=Evidence(generation=headers(50, 49))
    )
    assert outcome.reason == "headroom_ok"
    assert "admin_error" in outcome.details


def test_rate_limits_infers_images_from_the_token_tier() -> None:
    evidence = Evidence(
        generation={
            "headers": {"rate_limits": {"tokens": {"limit": 3_000_000, "remaining": 2_999_000}}}
        }
    )
    outcome = run_check(
        "rate_limits",
        Api(),
        evidence=evidence,
        account=make_account(required_images_per_minute=200),
    )
    assert outcome.details["tier"] == 4
    assert outcome.details["images_per_minute"] == 150
    assert outcome.reason == "below_required"


@pytest.mark.parametrize(
    ("images", "tokens", "tier"),
    [
        (5, None, 1),
        (20, None, 2),
        (50, None, 3),
        (150, None, 4),
        (250, None, 5),
        (3, None, None),
        (None, 800_000, 3),
        (60, None, 3),
    ],
)
def test_tier_inference(images: int | None, tokens: int | None, tier: int | None) -> None:
    assert tier_for(images, tokens) == tier


def test_next_tier_for_a_need() -> None:
    assert (next_tier_for(40), next_tier_for(100), next_tier_for(1000)) == (3, 4, None)


def failed_generation(reason: str) -> dict[str, Any]:
    return {
        "attempts": [{"http_status": 503, "reason": reason, "latency_ms": 12.0}],
        "finished_at": "2026-11-21T12:00:00+00:00",
    }


@pytest.mark.parametrize("reason", ["server_error", "org_verification_required", "timeout"])
def test_rate_limits_says_no_headers_because_generation_failed(reason: str) -> None:
    outcome = run_check(
        "rate_limits", Api(), evidence=Evidence(generation=failed_generation(reason))
    )
    assert (outcome.status, outcome.reason) == ("unknown", "generation_failed")
    assert outcome.summary == f"no headers because generation failed ({reason})"
    assert outcome.details["generation_reason"] == reason


def test_rate_limits_reads_headers_a_failed_generation_still_carried() -> None:
    evidence = headers(50, 49) | failed_generation("server_error")
    outcome = run_check("rate_limits", Api(), evidence=Evidence(generation=evidence))
    assert outcome.reason == "headroom_ok"
