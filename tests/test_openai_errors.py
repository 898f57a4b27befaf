from __future__ import annotations

import json
import re

import pytest

from checks.contract_docs import describe_statuses, reason_table, render_rules
from checks.error_rules import RULES
from checks.openai_errors import classify, classify_error, match_error, parse_error
from checks.reasons import REASONS
from tests.conftest import error_fixture


@pytest.mark.parametrize(
    ("status", "fixture", "reason"),
    [
        (403, "403_org_verification_required.json", "org_verification_required"),
        (403, "403_project_model_not_allowed.json", "project_model_not_allowed"),
        (403, "403_region_blocked.json", "region_blocked"),
        (403, "403_permission_denied.json", "permission_denied"),
        (403, "403_key_scope_missing.json", "key_scope_missing"),
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
    match = classify(429, "insufficient_quota", "some_new_code", "x")
    assert match.reason.code == "insufficient_quota"
    assert match.rule.name == "quota_by_type"


def test_classifier_takes_billing_limit_from_code_whatever_the_type_says() -> None:
    reason = classify(400, "some_new_type", "billing_hard_limit_reached", "x").reason
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


def envelope(message: str, code: str | None = None, error_type: str | None = None) -> bytes:
    error = {"message": message, "type": error_type, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


def reason_of(status: int, body: bytes) -> str:
    return classify_error(parse_error(status, body)).code


def test_verification_refused_with_400_for_streaming_is_org_verification_required() -> None:
    body = envelope(
        "Your organization must be verified to stream this model. Please go to: "
        "https://platform.openai.com/settings/organization/general and click on Verify "
        "Organization. If you just verified, it can take up to 15 minutes for access to propagate.",
        "unsupported_value",
        "invalid_request_error",
    )
    assert reason_of(400, body) == "org_verification_required"


@pytest.mark.parametrize("status", [429, 403, 400])
@pytest.mark.parametrize(
    ("error_type", "code"),
    [("billing_not_active", "billing_not_active"), ("billing_not_active", None)],
)
def test_billing_not_active_is_its_own_reason_under_any_status(
    status: int, error_type: str, code: str | None
) -> None:
    message = "Your account is not active, please check your billing details on our website."
    match = match_error(parse_error(status, envelope(message, code, error_type)))
    assert match.reason.code == "billing_not_active"
    assert match.reason.structural
    assert not match.reason.transient


@pytest.mark.parametrize("status", [401, 403])
def test_missing_scopes_is_key_scope_missing_not_an_invalid_key(status: int) -> None:
    body = envelope(
        "You have insufficient permissions for this operation. Missing scopes: "
        "api.model.images.request. Check that you have the correct role in your organization "
        "(Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted "
        "API key, that it has the necessary scopes.",
        error_type="invalid_request_error",
    )
    assert reason_of(status, body) == "key_scope_missing"


def test_key_scope_advice_names_the_image_permission() -> None:
    advice = REASONS["key_scope_missing"].advice
    assert "Model capabilities → Images" in advice
    assert "/v1/images" in advice


SAFETY = "Your request was rejected as a result of our safety system."


@pytest.mark.parametrize(
    "body",
    [
        envelope(SAFETY + " Your prompt may contain text.", "content_policy_violation"),
        envelope(SAFETY + " Image descriptions generated from your prompt may contain text."),
        envelope("This request has been blocked by our content filters."),
        envelope("The response was filtered due to the prompt triggering Azure OpenAI's content "
                 "management policy.", "content_filter"),
        json.dumps({"error": {"code": "content_policy_violation", "message": SAFETY,
                              "inner_error": {"code": "ResponsibleAIPolicyViolation"}}}).encode(),
    ],
    ids=["content_policy_violation", "safety_system", "content_filters", "azure_content_filter",
         "azure_inner_error"],
)  # fmt: skip
def test_content_policy_in_its_other_shapes_is_moderation_blocked(body: bytes) -> None:
    assert reason_of(400, body) == "moderation_blocked"


@pytest.mark.parametrize("key", ["inner_error", "innererror"])
def test_parse_error_reads_azures_inner_error_in_both_spellings(key: str) -> None:
    inner = {"code": "ResponsibleAIPolicyViolation"}
    body = json.dumps({"error": {"code": "BadRequest", "message": "x", key: inner}}).encode()
    error = parse_error(400, body)
    assert error.inner_code == "ResponsibleAIPolicyViolation"
    match = match_error(error)
    assert (match.reason.code, match.rule.name) == ("moderation_blocked", "azure_responsible_ai")


@pytest.mark.parametrize("code", [None, "invalid_value"])
def test_a_400_saying_the_model_does_not_exist_is_model_not_found(code: str | None) -> None:
    body = envelope("The model 'gpt-image-2' does not exist.", code, "image_generation_user_error")
    assert reason_of(400, body) == "model_not_found"


def test_project_access_403_and_a_real_404_are_told_apart() -> None:
    project = envelope(
        "Project `proj_abc` does not have access to model `gpt-image-2`",
        "model_not_found",
        "invalid_request_error",
    )
    missing = envelope(
        "The model `gpt-image-3` does not exist or you do not have access to it.",
        "model_not_found",
        "invalid_request_error",
    )
    assert reason_of(403, project) == "project_model_not_allowed"
    assert reason_of(404, missing) == "model_not_found"


def test_gateway_quirks_are_read() -> None:
    litellm = envelope("litellm.RateLimitError: …", "429", "throttling_error")
    openrouter = json.dumps({"error": {"message": "Insufficient credits.", "code": 402}}).encode()
    one_api = envelope(
        "Country, region, or territory not supported (request id: abc)",
        "unsupported_country_region_territory",
        "request_forbidden",
    )
    assert reason_of(429, litellm) == "rate_limited"
    assert reason_of(402, openrouter) == "credits_exhausted"
    assert reason_of(403, one_api) == "region_blocked"


def test_a_gateways_text_counts_only_through_its_words() -> None:
    quota = (
        b"OpenAIException - Error code: 429 - "
        b"{'error': {'message': 'You exceeded your current quota, please check your plan"
    )
    assert reason_of(429, quota) == "insufficient_quota"
    assert reason_of(429, b"error code: 1015") == "rate_limited"
    assert reason_of(401, b"<html>401 Authorization Required</html>") == "unexpected_response"


def test_every_rule_names_a_known_reason_a_source_and_a_valid_pattern() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert rule.reason in REASONS, rule.name
        assert rule.sources, rule.name
        assert rule.why, rule.name
        if rule.message is not None:
            re.compile(rule.message)


def test_the_last_rule_catches_everything() -> None:
    last = RULES[-1]
    assert (last.statuses, last.reads_the_answer, last.any_body) == (None, False, True)
    assert classify(299, None, None, None, well_formed=False).rule is last


def test_rule_table_renders_every_rule_for_people() -> None:
    table = render_rules()
    for rule in RULES:
        assert f"`{rule.name}`" in table
    assert "| 500-599 |" in table
    assert describe_statuses((400, 403)) == "400, 403"
    assert describe_statuses(None) == "any"


def test_reason_table_lists_every_reason_once() -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \|", reason_table(), flags=re.MULTILINE)
    assert rows == list(REASONS)
