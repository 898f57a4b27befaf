"""`generation`: can this account really generate an image with the model? Listing is not
access; only a real generation proves it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from checks.base import Account, Outcome, ProbeContext
from checks.http import Answer, call, failure_outcome, unexpected
from checks.images import ImageDecodeError, cheapest_size, decode_b64_image, family, output_tokens
from checks.prices import PUBLISHED, PriceTable, usage_cost
from checks.reasons import REASONS
from checks.settings import CheckSettings, GenerationSettings

PROMPT = "A plain light grey square on a white background."
MAX_RETRY_WAIT_SECONDS = 30.0
MAX_ATTEMPTS = 2  # a transient answer is retried once; a non-transient one never


def probe_request(
    model: str, quality: str, output_format: str, background: str | None = None
) -> dict[str, Any]:
    """The cheapest valid request: every parameter the API validates must be right, or a
    400 would hide the 403 the probe exists to see. Never `response_format`."""
    request: dict[str, Any] = {
        "model": model,
        "prompt": PROMPT,
        "n": 1,
        "size": cheapest_size(model, quality),
        "quality": quality,
        "output_format": output_format,
    }
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
        what = f"POST /v1/{self.endpoint} ({ctx.model}, {request['size']}, {quality})"
        max_wait = float(ctx.settings.get("max_retry_wait", MAX_RETRY_WAIT_SECONDS))
        attempts: list[dict[str, Any]] = []
        waited = 0.0
        for _ in range(MAX_ATTEMPTS):
            if waited:
                await ctx.sleep(waited)
            answer = await self.send(ctx, request)
            outcome = self._judge(ctx, answer, what, request)
            attempts.append(
                {
                    "http_status": answer.http_status,
                    "reason": outcome.reason,
                    "latency_ms": answer.latency_ms,
                    "request_id": answer.meta.request_id,
                    **({"waited_s": waited} if waited else {}),
                }
            )
            waited = answer.meta.retry_after_seconds or 1.0
            if not _transient(outcome) or waited > max_wait:
                break
        return outcome.with_details(request=_public(request), attempts=attempts)

    endpoint: ClassVar[str] = "images/generations"
    verb: ClassVar[str] = "generated"

    async def send(self, ctx: ProbeContext, request: dict[str, Any]) -> Answer:
        return await call(ctx, "POST", self.endpoint, json=request)

    def _judge(
        self, ctx: ProbeContext, answer: Answer, what: str, request: dict[str, Any]
    ) -> Outcome:
        if not answer.ok:
            return failure_outcome(answer, what)
        payload = answer.json()
        if not isinstance(payload, dict):
            return unexpected(answer, what, "answer is not a JSON object")
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
        if request.get("background") == "transparent" and not image.has_alpha:
            return unexpected(
                answer,
                what,
                "a transparent background was asked for; the image has no alpha channel",
            )
        usage = payload.get("usage")
        prices = ctx.settings.get("prices") or PUBLISHED.get(family(ctx.model), {})
        cost = usage_cost(usage, prices) if isinstance(usage, dict) else None
        expected_tokens = output_tokens(ctx.model, actual_size, str(request["quality"]))
        details: dict[str, Any] = {
            "image": {
                "format": image.format,
                "width": image.width,
                "height": image.height,
                "bytes": image.bytes,
                "has_alpha": image.has_alpha,
            },
            "size": actual_size,
            "quality": payload.get("quality")
            if isinstance(payload.get("quality"), str)
            else request["quality"],
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


def _transient(outcome: Outcome) -> bool:
    known = REASONS.get(outcome.reason)
    return known is not None and known.transient


def _public(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "prompt"}
