"""`generation`: can this account really generate an image with the model? Listing is not
access; only a real generation proves it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from checks.base import Account, Outcome, ProbeContext
from checks.http import Answer, call, json_object, unexpected
from checks.images import (
    ImageDecodeError,
    cheapest_size,
    decode_b64_image,
    family,
    image_family,
    output_tokens,
    probe_family,
    probe_quality,
)
from checks.openai_errors import match_error, parse_error
from checks.prices import PUBLISHED, PriceTable, usage_cost
from checks.reasons import REASONS
from checks.retries import decide_retry
from checks.settings import CheckSettings, GenerationSettings

PROMPT = "A plain light grey square on a white background."
MAX_RETRY_WAIT_SECONDS = 30.0
MAX_ATTEMPTS = 2  # a retryable answer is retried once (the SDK: twice); others never
UNKNOWN_MODEL_NOTE = (
    "{model} is not in the family table (checks/images.py): probed with the request every GPT "
    "image model accepts (1024x1024, no token grid), not a cheapest one"
)


def probe_request(
    model: str, quality: str, output_format: str, background: str | None = None
) -> dict[str, Any]:
    """The cheapest valid request for the model's family: every parameter the API validates
    must be right, or a 400 would hide the 403 the probe exists to see. `response_format` only
    for the DALL·E models (their default is a URL); `output_format` and `background` only for
    the GPT image models."""
    row = probe_family(model)
    request: dict[str, Any] = {
        "model": model,
        "prompt": PROMPT,
        "n": 1,
        "size": cheapest_size(model, quality),
    }
    sent_quality = probe_quality(model, quality)
    if sent_quality is not None:
        request["quality"] = sent_quality
    if row.response_format is not None:
        request["response_format"] = row.response_format
    if row.output_format:
        request["output_format"] = output_format
        if output_format in ("jpeg", "webp"):
            request["output_compression"] = 50  # fewer bytes on the wire, same tokens
        if background:
            request["background"] = background
    return request


def estimated_cost(model: str, quality: str, prices: PriceTable | None) -> Decimal | None:
    """What one probe should cost (image output tokens only), before it is sent."""
    table = prices or PUBLISHED.get(family(model))
    tokens = output_tokens(model, cheapest_size(model, quality), quality)
    if not table or tokens is None or "image_output" not in table:
        return None
    # The prompt is ~12 text tokens; a margin of 50 keeps the budget check conservative.
    text_rate = table.get("text_input", Decimal(0))
    return (table["image_output"] * tokens + text_rate * 50) / 1_000_000


class Generation:
    """Calls POST /v1/images/generations once with the cheapest valid request (paid: about
    $0.0017 for gpt-image-2 at 1408x480, low quality; errors are not billed).

    Passes `ok` when a real image of the answered size decodes from `b64_json`; records usage,
    cost and latency. Fails on verification, project allow-list, region, permission, unknown
    model, quota and billing answers. Warns `rate_limited`. `unknown` for moderation, invalid
    requests, 5xx, timeouts, network errors and answers outside the contract. Transient
    answers are retried once, after `retry-after` when it is short; others never.
    """

    name: ClassVar[str] = "generation"
    paid: ClassVar[bool] = True
    scheduled: ClassVar[bool] = True
    reads_evidence: ClassVar[str | None] = None
    confirms_with: ClassVar[str | None] = None
    opt_in: ClassVar[bool] = False
    follows_recovery_of: ClassVar[str | None] = None
    settings_type: ClassVar[type[CheckSettings]] = GenerationSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    def expected_cost(self, model: str, settings: Mapping[str, Any]) -> Decimal | None:
        return estimated_cost(model, str(settings.get("quality", "low")), settings.get("prices"))

    async def run(self, ctx: ProbeContext) -> Outcome:
        quality = str(ctx.settings.get("quality", "low"))
        output_format = str(ctx.settings.get("output_format", "jpeg"))
        background = ctx.settings.get("background")
        request = probe_request(
            ctx.model, quality, output_format, str(background) if background else None
        )
        shown_quality = request.get("quality", "no quality")
        called = ctx.account.called("POST", self.endpoint)
        what = f"{called} ({ctx.model}, {request['size']}, {shown_quality})"
        max_wait = float(ctx.settings.get("max_retry_wait", MAX_RETRY_WAIT_SECONDS))
        attempts: list[dict[str, Any]] = []
        waited = 0.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if waited:
                await ctx.sleep(waited)
            answer = await self.send(ctx, request)
            outcome = self._judge(ctx, answer, what, request)
            decision = decide_retry(
                answer.http_status, answer.meta, REASONS[outcome.reason], max_wait
            )
            attempts.append(
                {
                    "http_status": answer.http_status,
                    "reason": outcome.reason,
                    "latency_ms": answer.latency_ms,
                    "request_id": answer.meta.request_id,
                    **({"waited_s": waited} if waited else {}),
                    **({"retry": decision.why} if outcome.reason != "ok" else {}),
                }
            )
            if not decision.retry or attempt == MAX_ATTEMPTS:
                break
            waited = decision.wait
        evidence: dict[str, Any] = {"request": _public(request), "attempts": attempts}
        if image_family(ctx.model) is None:
            evidence["request_note"] = UNKNOWN_MODEL_NOTE.format(model=ctx.model)
        return outcome.with_details(**evidence)

    endpoint: ClassVar[str] = "images/generations"
    verb: ClassVar[str] = "generated"

    async def send(self, ctx: ProbeContext, request: dict[str, Any]) -> Answer:
        return await call(ctx, "POST", self.endpoint, json=request)

    def _judge(
        self, ctx: ProbeContext, answer: Answer, what: str, request: dict[str, Any]
    ) -> Outcome:
        payload = json_object(answer, what)
        if isinstance(payload, Outcome):
            return payload
        if "data" not in payload and ("error" in payload or "code" in payload):
            return error_in_success(answer, what)
        return self.judge_image(ctx, answer, what, request, payload)

    def judge_image(
        self,
        ctx: ProbeContext,
        answer: Answer,
        what: str,
        request: dict[str, Any],
        payload: Mapping[str, Any],
    ) -> Outcome:
        """An Images API answer's `data[0].b64_json` (or a stream's final event, in that
        shape): a real image of the answered size passes, with its usage and cost."""
        data = payload.get("data")
        first = data[0] if isinstance(data, list) and data else None
        b64 = first.get("b64_json") if isinstance(first, dict) else None
        if not isinstance(b64, str) or not b64:
            return unexpected(answer, what, "200 without an image (no data[0].b64_json)")
        try:
            image = decode_b64_image(b64)
        except ImageDecodeError as exc:
            return unexpected(answer, what, str(exc))
        answered_size = payload.get("size") if isinstance(payload.get("size"), str) else None
        expected_size = answered_size or request["size"]
        actual_size = f"{image.width}x{image.height}"
        if expected_size != "auto" and actual_size != expected_size:
            return unexpected(
                answer, what, f"image is {actual_size}, the answer says {expected_size}"
            )
        usage = payload.get("usage")
        prices = ctx.settings.get("prices") or PUBLISHED.get(family(ctx.model), {})
        cost = usage_cost(usage, prices) if isinstance(usage, dict) else None
        expected_tokens = output_tokens(ctx.model, actual_size, str(request.get("quality")))
        details: dict[str, Any] = {
            "image": image.as_details(),
            "size": actual_size,
            "quality": payload.get("quality")
            if isinstance(payload.get("quality"), str)
            else request.get("quality"),
            "usage": usage if isinstance(usage, dict) else None,
            "expected_output_tokens": expected_tokens,
            "headers": answer.meta.as_dict(),
        }
        if cost is not None:
            details["cost"] = cost.as_dict()
        summary = f"{image.format.upper()} {actual_size} {self.verb}"
        if cost is not None:
            summary += f" for ${cost.total:.4f}"
        return answer.outcome(
            "ok", summary, details, cost_usd=float(cost.total) if cost is not None else None
        )


def error_in_success(answer: Answer, what: str) -> Outcome:
    """An error inside an HTTP 200 (OpenRouter sends a provider's 429 that way once an answer
    has started): classified like any error answer, with the status it came with."""
    assert answer.response is not None
    error = parse_error(answer.response.status, answer.response.body)
    match = match_error(error)
    message = f" — {error.message}" if error.message else ""
    return answer.outcome(
        match.reason.code,
        f"{what}: error inside HTTP {error.http_status}{message}",
        {"error": error.as_dict(), "rule": match.rule.name, "headers": answer.meta.as_dict()},
    )


def _public(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "prompt"}


class Capability(Generation):
    """A door beyond a plain generation (an edit, a transparent background, a stream, the
    Responses API's image tool): paid like the generation, probed daily, and only for the
    accounts that list it in `capabilities`. It runs at once when `generation` turns from
    fail to pass: whatever kept the account out may have kept it from this door too."""

    opt_in: ClassVar[bool] = True
    follows_recovery_of: ClassVar[str | None] = Generation.name


def refusal(outcome: Outcome, code: str, note: str | None = None) -> Outcome:
    """The outcome re-read as the capability's own reason: the answer, its evidence and
    its cost stay; the status follows the reason."""
    reason = REASONS[code]
    summary = f"{reason.words}: {note or outcome.summary}"
    return dataclasses.replace(outcome, status=reason.status, reason=code, summary=summary)


def error_fields(outcome: Outcome) -> tuple[str, str, str]:
    """The (param, type, lowercased message) of an error outcome's parsed answer."""
    error = outcome.details.get("error")
    if not isinstance(error, Mapping):
        return "", "", ""
    return (
        str(error.get("param") or ""),
        str(error.get("type") or ""),
        str(error.get("message") or "").lower(),
    )
