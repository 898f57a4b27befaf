"""The one place that turns an OpenAI error answer into a reason code.

Input is (HTTP status, error.type, error.code, message) as found in the error envelope
`{"error": {"message", "type", "param", "code"}}`; every part may be missing or malformed.
See the contract notes: verification 403s have `code: null`, quota 429s are recognised by
`type`, billing hard limits by `code`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from checks.reasons import REASONS, Reason
from checks.text import clean

MAX_MESSAGE = 500


@dataclasses.dataclass(frozen=True)
class ApiError:
    http_status: int
    message: str | None
    type: str | None
    code: str | None
    param: str | None
    well_formed: bool
    """True when the body is the OpenAI error envelope; False for HTML pages, bare
    `{"message": …}` bodies from proxies and anything else."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return clean(value[:MAX_MESSAGE])
    if isinstance(value, dict | list):  # a wrong shape is evidence, not text to keep whole
        return clean(type(value).__name__)
    return clean(str(value)[:MAX_MESSAGE])


def parse_json(body: bytes) -> Any:
    """JSON or None: a proxy's HTML page is not an exception."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def parse_error(http_status: int, body: bytes) -> ApiError:
    data = parse_json(body)
    envelope = data.get("error") if isinstance(data, dict) else None
    if isinstance(envelope, dict):
        return ApiError(
            http_status=http_status,
            message=_text(envelope.get("message")),
            type=_text(envelope.get("type")),
            code=_text(envelope.get("code")),
            param=_text(envelope.get("param")),
            well_formed=True,
        )
    message: str | None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        message = _text(data["message"])
    elif isinstance(envelope, str):
        message = _text(envelope)
    else:
        snippet = clean(body[:200].decode("utf-8", "replace")).strip()
        message = snippet or None
    return ApiError(http_status, message, None, None, None, well_formed=False)


def classify(
    http_status: int, error_type: str | None, code: str | None, message: str | None
) -> Reason:
    """The reason for an error answer. Order matters: the most specific facts first."""
    text = (message or "").strip()
    lowered = text.lower()
    if http_status == 401:
        return REASONS["invalid_api_key"]
    if error_type == "insufficient_quota" or code == "insufficient_quota":
        return REASONS["insufficient_quota"]
    if code == "billing_hard_limit_reached" or lowered.startswith("billing hard limit"):
        return REASONS["billing_hard_limit"]
    if http_status == 403:
        if lowered.startswith("your organization must be verified"):
            return REASONS["org_verification_required"]
        if code == "unsupported_country_region_territory" or "region, or territory" in lowered:
            return REASONS["region_blocked"]
        if code == "model_not_found" or (
            lowered.startswith("project ") and "does not have access to model" in lowered
        ):
            return REASONS["project_model_not_allowed"]
        return REASONS["permission_denied"]
    if http_status == 404:
        if code == "model_not_found" or "does not exist" in lowered:
            return REASONS["model_not_found"]
        return REASONS["unexpected_response"]
    if http_status == 429:
        return REASONS["rate_limited"]
    if http_status == 408 or http_status >= 500:
        return REASONS["server_error"]
    if code == "moderation_blocked" or lowered.startswith(
        "your request was rejected by the safety system"
    ):
        return REASONS["moderation_blocked"]
    if http_status in (400, 409, 413, 415, 422):
        return REASONS["invalid_request"]
    return REASONS["unexpected_response"]


def classify_error(error: ApiError) -> Reason:
    reason = classify(error.http_status, error.type, error.code, error.message)
    # A body that is not the envelope only counts as evidence for status-decided reasons:
    # a 403 HTML page from a corporate proxy is not OpenAI's permission answer.
    status_decided = {"rate_limited", "server_error"}
    if not error.well_formed and reason.code not in status_decided:
        return REASONS["unexpected_response"]
    return reason
