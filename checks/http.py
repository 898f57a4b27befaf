"""One request to the OpenAI API, and the Outcome for an answer that is not a success.

Every check goes through `call`, so timeouts, network errors, header parsing and the error
classifier behave the same everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from checks.base import Outcome, ProbeContext, Stopwatch
from checks.headers import ResponseMeta, parse_headers
from checks.openai_errors import ApiError, classify_error, parse_error, parse_json
from checks.reasons import REASONS, Reason

MAX_BODY = 64 * 1024 * 1024  # a base64 3840x2160 PNG is well under this; a runaway body is not


@dataclasses.dataclass
class Answer:
    response: httpx.Response | None
    latency_ms: float
    meta: ResponseMeta
    transport_error: Reason | None = None
    transport_detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.response is not None and 200 <= self.response.status_code < 300

    @property
    def http_status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    def json(self) -> Any:
        return None if self.response is None else parse_json(self.response.content)

    def outcome(
        self, code: str, summary: str, details: dict[str, Any], cost_usd: float | None = None
    ) -> Outcome:
        """An Outcome for reason `code`, carrying this answer's status, request id, latency."""
        return Outcome(
            REASONS[code].status,
            code,
            summary,
            details,
            http_status=self.http_status,
            request_id=self.meta.request_id,
            latency_ms=self.latency_ms,
            cost_usd=cost_usd,
        )

    def error(self) -> ApiError | None:
        if self.response is None or self.ok:
            return None
        return parse_error(self.response.status_code, self.response.content)


async def call(
    ctx: ProbeContext,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    admin: bool = False,
    timeout: float | None = None,
) -> Answer:
    watch = Stopwatch()
    request_timeout = timeout if timeout is not None else float(ctx.settings.get("timeout", 60))
    try:
        response = await ctx.client.request(
            method,
            ctx.account.url(path),
            json=json,
            params=params,
            data=data,
            files=files,
            headers=ctx.account.headers(admin=admin),
            timeout=request_timeout,
        )
    except httpx.TimeoutException as exc:
        return Answer(None, watch.ms(), ResponseMeta(), REASONS["timeout"], type(exc).__name__)
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        detail = f"{type(exc).__name__}: {exc}"[:300]
        return Answer(None, watch.ms(), ResponseMeta(), REASONS["network_error"], detail)
    if len(response.content) > MAX_BODY:
        return Answer(
            None,
            watch.ms(),
            parse_headers(response.headers, ctx.clock.now()),
            REASONS["unexpected_response"],
            f"body of {len(response.content)} bytes",
        )
    return Answer(response, watch.ms(), parse_headers(response.headers, ctx.clock.now()))


def failure_outcome(answer: Answer, what: str, reason: Reason | None = None) -> Outcome:
    """The Outcome of an answer that is not a success: transport error or error envelope."""
    details: dict[str, Any] = {"headers": answer.meta.as_dict()} if answer.response else {}
    if answer.transport_error is not None:
        chosen = reason or answer.transport_error
        summary = f"{what}: {chosen.words}"
        if answer.transport_detail:
            details["error"] = answer.transport_detail
            summary += f" ({answer.transport_detail})"
        return Outcome(
            chosen.status,
            chosen.code,
            summary,
            details,
            latency_ms=answer.latency_ms,
            http_status=answer.http_status,
            request_id=answer.meta.request_id,
        )
    error = answer.error()
    assert error is not None, "failure_outcome needs a failed answer"
    chosen = reason or classify_error(error)
    details["error"] = error.as_dict()
    message = f" — {error.message}" if error.message else ""
    return Outcome(
        chosen.status,
        chosen.code,
        f"{what}: HTTP {error.http_status}{message}",
        details,
        http_status=error.http_status,
        request_id=answer.meta.request_id,
        latency_ms=answer.latency_ms,
    )


def unexpected(answer: Answer, what: str, problem: str) -> Outcome:
    return answer.outcome(
        "unexpected_response",
        f"{what}: {problem}",
        {"problem": problem, "headers": answer.meta.as_dict()},
    )
