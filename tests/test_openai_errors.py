from __future__ import annotations

import pytest

from checks.openai_errors import classify, classify_error, parse_error
from tests.conftest import error_fixture


@pytest.mark.parametrize(
    ("status", "fixture", "reason"),
    [
        (403, "403_org_verification_required.json", "org_verification_required"),
        (403, "403_project_model_not_allowed.json", "project_model_not_allowed"),
        (403, "403_region_blocked.json", "region_blocked"),
        (403, "403_permission_denied.json", "permission_denied"),
        (404, "404_model_not_found.json", "model_not_found"),
        (401, "401_invalid_api_key.json", "invalid_api_key"),
        (429, "429_rate_limited.json", "rate_limited"),
        (429, "429_insufficient_quota.json", "insufficient_quota"),
        (429, "429_insufficient_quota_other_code.json", "insufficient_quota"),
        (400, "400_billing_hard_limit.json", "billing_hard_limit"),
        (400, "400_moderation_blocked.json", "moderation_blocked"),
        (400, "400_unknown_parameter.json", "invalid_request"),
        (400, "400_invalid_size.json", "invalid_request"),
        (500, "500_server_error.json", "server_error"),
        (503, "503_overloaded.json", "server_error"),
    ],
)
def test_classifier_maps_real_error_bodies_to_reasons(
    status: int, fixture: str, reason: str
) -> None:
    error = parse_error(status, error_fixture(fixture))
    assert error.well_formed
    assert classify_error(error).code == reason


def test_classifier_takes_quota_from_type_whatever_the_code_says() -> None:
    assert classify(429, "insufficient_quota", "some_new_code", "x").code == "insufficient_quota"


def test_classifier_takes_billing_limit_from_code_whatever_the_type_says() -> None:
    reason = classify(400, "some_new_type", "billing_hard_limit_reached", "x")
    assert reason.code == "billing_hard_limit"


def test_verification_403_has_null_code_and_is_matched_on_message() -> None:
    error = parse_error(403, error_fixture("403_org_verification_required.json"))
    assert error.code is None
    assert classify_error(error).code == "org_verification_required"


def test_html_502_from_a_proxy_is_a_server_error_not_a_crash() -> None:
    error = parse_error(502, error_fixture("502_proxy.html"))
    assert not error.well_formed
    assert error.message is not None
    assert "502 Bad Gateway" in error.message
    assert classify_error(error).code == "server_error"


def test_html_403_from_a_proxy_is_unexpected_not_permission_denied() -> None:
    error = parse_error(403, b"<html><body>Access denied by corporate proxy</body></html>")
    assert classify_error(error).code == "unexpected_response"


def test_bare_message_body_is_unexpected_response() -> None:
    error = parse_error(403, b'{"message": "Forbidden"}')
    assert error.message == "Forbidden"
    assert classify_error(error).code == "unexpected_response"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b'{"error": null}',
        b'{"error": 42}',
        b"\xff\xfe",
        b"{" * 5000,
        b'{"error": {"message": ["a", "list"], "code": {"nested": 1}}}',
    ],
)
def test_malformed_bodies_never_crash(body: bytes) -> None:
    error = parse_error(400, body)
    assert classify_error(error).code in {"invalid_request", "unexpected_response"}


def test_extra_keys_inside_the_error_are_tolerated() -> None:
    error = parse_error(400, error_fixture("400_moderation_blocked.json"))
    assert error.code == "moderation_blocked"


def test_long_messages_are_truncated() -> None:
    body = b'{"error": {"message": "' + b"x" * 10_000 + b'", "type": "t", "code": null}}'
    error = parse_error(400, body)
    assert error.message is not None
    assert len(error.message) <= 500
