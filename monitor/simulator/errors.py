"""The OpenAI error bodies the simulator answers with.

Every refusal is an `ApiFailure` raised wherever the problem is found (validation, the
account gate, a route); the routes turn it into the JSON error answer. The bodies, status
codes and messages copy the real API's, because the checks classify answers by them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.simulator.state import request_id


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The API's error envelope; its four keys are always present, null when unset."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class ApiFailure(Exception):
    """An error answer: its status, its body and any headers it adds (e.g. `retry-after`)."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type_, param, code)
        self.headers = headers or {}


def invalid_value(param: str, value: object, supported: list[str]) -> ApiFailure:
    listed = ", ".join(f"'{s}'" for s in supported[:-1]) + f", and '{supported[-1]}'"
    return ApiFailure(
        400,
        f"Invalid value: '{value}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def model_not_found(model: str) -> ApiFailure:
    return ApiFailure(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def invalid_key(key: str) -> ApiFailure:
    masked = f"{key[:6]}***{key[-4:]}" if len(key) > 10 else "***"
    return ApiFailure(
        401,
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


# The refusals below copy answers quoted in public sources; each names its file of the corpus
# of real answers (tests/fixtures/openai_answers/), where the source and the quote are kept.


def verification_required(model: str, status: int = 403) -> ApiFailure:
    """An unverified organization: 403 for using the model; 400 with param `stream` in the
    streaming wording (org-verification-stream-400-openrouter-pal-mcp-134.json, whose quote
    stops at `"code": "unsupported_val`: completed as the API's code `unsupported_value`)."""
    advice = (
        "Please go to: https://platform.openai.com/settings/organization/general and click on "
        "Verify Organization. If you just verified, it can take up to 15 minutes for access "
        "to propagate."
    )
    if status == 400:
        return ApiFailure(
            400,
            f"Your organization must be verified to stream this model. {advice}",
            param="stream",
            code="unsupported_value",
        )
    return ApiFailure(
        403, f"Your organization must be verified to use the model `{model}`. {advice}"
    )


def region_blocked() -> ApiFailure:
    """Every call from an unsupported country (region-blocked-403-home-assistant-120072.json)."""
    return ApiFailure(
        403,
        "Country, region, or territory not supported",
        type_="request_forbidden",
        code="unsupported_country_region_territory",
    )


def billing_not_active() -> ApiFailure:
    """Billing not set up or lapsed: a 429 that is no rate limit, and no `x-ratelimit-*`
    headers (billing-not-active-429-ai-research-assistant-174.json)."""
    return ApiFailure(
        429,
        "Your account is not active, please check your billing details on our website.",
        type_="billing_not_active",
        code="billing_not_active",
    )


IMAGES_SCOPE = "api.model.images.request"


def scope_missing(scope: str = IMAGES_SCOPE) -> ApiFailure:
    """A restricted key without a scope: 401, code null (key-scope-401-trae-agent-162.json;
    the images scope's name from openclaw/openclaw#70885)."""
    return ApiFailure(
        401,
        f"You have insufficient permissions for this operation. Missing scopes: {scope}. "
        "Check that you have the correct role in your organization (Reader, Writer, Owner) "
        "and project (Member, Owner), and if you're using a restricted API key, that it has "
        "the necessary scopes.",
    )


def moderation_blocked() -> ApiFailure:
    """The safety system refusing the prompt (moderation-blocked-400-gpt-image-2-new-api-zjt-
    480.json, an Azure-backed relay: OpenAI's own wording points to help.openai.com). The
    message names the request id, so the answer carries that same id."""
    rid = request_id()
    return ApiFailure(
        400,
        "Your request was rejected by the safety system. If you believe this is an error, "
        f"contact us at help.openai.com and include the request ID {rid}. "
        "safety_violations=[violence].",
        type_="image_generation_user_error",
        code="moderation_blocked",
        headers={"x-request-id": rid},
    )


async def unknown_route(request: Request, exc: Exception) -> Response:
    """Starlette's 404/405 handler: the API's `Invalid URL` body. No route ran, so no
    account is known and only `x-request-id` is sent."""
    body = error_body(f"Invalid URL ({request.method} {request.url.path})")
    return JSONResponse(body, status_code=404, headers={"x-request-id": request_id()})
