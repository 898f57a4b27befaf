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


async def unknown_route(request: Request, exc: Exception) -> Response:
    """Starlette's 404/405 handler: the API's `Invalid URL` body. No route ran, so no
    account is known and only `x-request-id` is sent."""
    body = error_body(f"Invalid URL ({request.method} {request.url.path})")
    return JSONResponse(body, status_code=404, headers={"x-request-id": request_id()})
