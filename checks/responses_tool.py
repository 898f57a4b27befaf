"""`responses_tool`: can this account generate through the Responses API's `image_generation`
tool, behind its mainline model? A capability, probed daily for the accounts that list it.

The image model goes in the tool, never in the request's `model` (users who put gpt-image-2
there were refused: https://github.com/router-for-me/CLIProxyAPI/issues/2961,
https://github.com/rikkahub/rikkahub/issues/1129); the mainline model is the account's
`responses_model`, with no default that would silently go stale."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from checks.base import Outcome, ProbeContext
from checks.generation import (
    Capability,
    error_fields,
    error_in_success,
    estimated_cost,
    probe_request,
    refusal,
)
from checks.http import Answer, call, json_object, unexpected
from checks.images import ImageDecodeError, decode_b64_image, family, output_tokens
from checks.prices import MAINLINE, PUBLISHED, mainline_cost, priced
from checks.settings import CheckSettings, ResponsesToolSettings

TOOL_PROMPT = "Draw a plain light grey square on a white background."
# A mainline model's tokens around one forced tool call: the tool's definition and the
# instructions are billed as input, the call's arguments (its revised prompt) as output.
# Conservative figures, so the budget guard errs on the side of not probing.
MAINLINE_INPUT_TOKENS = 2_000
MAINLINE_OUTPUT_TOKENS = 400
# The image-side evidence a Responses answer carries: the call item has no `usage`, so the
# image's output tokens are those the size and quality are billed at.
TOOL_FIELDS = ("size", "quality", "output_format", "output_compression", "background")


def mainline_prices(settings: Mapping[str, Any]) -> dict[str, Decimal] | None:
    model = settings.get("responses_model")
    if not isinstance(model, str):
        return None
    return MAINLINE.get(model) or MAINLINE.get(family(model))


def tool_request(model: str, responses_model: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The cheapest valid Responses request that must call the image tool: the image
    request's size, quality and format moved into the tool (openai-openapi.yaml ImageGenTool),
    `tool_choice` forcing it (ToolChoiceTypes), nothing stored."""
    background = str(settings.get("background", "auto"))
    output_format = (
        "png" if background == "transparent" else str(settings.get("output_format", "jpeg"))
    )
    image = probe_request(model, str(settings.get("quality", "low")), output_format)
    tool: dict[str, Any] = {"type": "image_generation", "model": model}
    tool.update({k: image[k] for k in TOOL_FIELDS if k in image})
    if background != "auto":
        tool["background"] = background
    return {
        "model": responses_model,
        "input": TOOL_PROMPT,
        "tools": [tool],
        "tool_choice": {"type": "image_generation"},
        "store": False,
    }


def tool_refusal(outcome: Outcome) -> Outcome:
    """The tool's own refusals, each its own reason: transparency through the tool ("Transparent
    background is not supported for this model. | invalid_value | image_generation_user_error",
    https://github.com/gaoren002/GPT2Image-Pro/issues/2), the image model inside the tool
    (type image_generation_user_error, param tools: "The model 'gpt-image-2' does not
    exist.", https://github.com/openai/codex/issues/25966); the tool itself has its rule."""
    param, kind, message = error_fields(outcome)
    if "transparent background" in message:
        return refusal(outcome, "tool_transparency_unsupported")
    in_tool = param == "tools" or kind == "image_generation_user_error"
    if outcome.reason == "model_not_found" and in_tool:
        return refusal(outcome, "tool_image_model_refused")
    return outcome


class ResponsesTool(Capability):
    """Calls POST /v1/responses once with the account's `responses_model` and
    `tools=[{"type": "image_generation", "model": <the image model>, "quality": "low", …}]`,
    the tool forced, at the image probe's cheapest size (paid: the mainline model's tokens,
    about 2,000 in and 400 out, plus the image's output tokens). Passes `ok` when an
    `image_generation_call` output item carries a real image. Fails
    `responses_tool_unsupported` (the tool refused for the mainline model),
    `tool_image_model_refused` (the image model refused inside the tool) and
    `tool_transparency_unsupported` (`background = "transparent"` refused through the tool);
    every other answer is classified as for generation."""

    name: ClassVar[str] = "responses_tool"
    settings_type: ClassVar[type[CheckSettings]] = ResponsesToolSettings
    endpoint: ClassVar[str] = "responses"

    def expected_cost(self, model: str, settings: Mapping[str, Any]) -> Decimal | None:
        """The image's output plus the mainline model's tokens (None when either is unpriced)."""
        image = estimated_cost(model, str(settings.get("quality", "low")), settings.get("prices"))
        table = mainline_prices(settings)
        if image is None or table is None:
            return None
        tokens = {"text_input": MAINLINE_INPUT_TOKENS, "text_output": MAINLINE_OUTPUT_TOKENS}
        return image + priced(tokens, table).total

    async def run(self, ctx: ProbeContext) -> Outcome:
        responses_model = ctx.account.responses_model or ctx.settings.get("responses_model")
        if not responses_model:
            raise ValueError(
                f"account {ctx.account.name} has no responses_model: set it on the account "
                "(or in the launch profile)"
            )
        request = tool_request(ctx.model, str(responses_model), ctx.settings)
        tool = request["tools"][0]
        called = ctx.account.called("POST", self.endpoint)
        what = f"{called} ({responses_model} + image_generation {ctx.model}, {tool['size']})"
        answer = await call(ctx, "POST", self.endpoint, json=request)
        outcome = self._judge_response(ctx, answer, what, request)
        return tool_refusal(outcome).with_details(
            request={k: v for k, v in request.items() if k != "input"},
            attempts=[{"http_status": answer.http_status, "request_id": answer.meta.request_id}],
        )

    def _judge_response(
        self, ctx: ProbeContext, answer: Answer, what: str, request: dict[str, Any]
    ) -> Outcome:
        payload = json_object(answer, what)
        if isinstance(payload, Outcome):
            return payload
        if payload.get("error"):
            return error_in_success(answer, what)
        output = payload.get("output")
        items = output if isinstance(output, list) else []
        call_item = next(
            (i for i in items if isinstance(i, dict) and i.get("type") == "image_generation_call"),
            None,
        )
        if call_item is None:
            return unexpected(answer, what, "no image_generation_call output item")
        result = call_item.get("result")
        if not isinstance(result, str) or not result:
            return unexpected(
                answer, what, f"image_generation_call {call_item.get('status')} without an image"
            )
        try:
            image = decode_b64_image(result)
        except ImageDecodeError as exc:
            return unexpected(answer, what, str(exc))
        tool = request["tools"][0]
        size = f"{image.width}x{image.height}"
        if size != tool["size"]:
            return unexpected(answer, what, f"image is {size}, the tool asked for {tool['size']}")
        usage = payload.get("usage")
        image_tokens = output_tokens(ctx.model, size, str(tool.get("quality"))) or 0
        image_prices = ctx.settings.get("prices") or PUBLISHED.get(family(ctx.model), {})
        image_cost = priced({"image_output": image_tokens}, image_prices)
        table = mainline_prices({"responses_model": request["model"]})
        text_cost = mainline_cost(usage, table or {})
        total = image_cost.total + text_cost.total
        details: dict[str, Any] = {
            "image": image.as_details(),
            "size": size,
            "quality": tool.get("quality"),
            "usage": usage if isinstance(usage, dict) else None,
            "expected_output_tokens": image_tokens,
            "cost": {
                "usd": str(total),
                "mainline": text_cost.as_dict(),
                "image": image_cost.as_dict(),
                "image_tokens_estimated": True,
            },
            "headers": answer.meta.as_dict(),
        }
        through = f"through {request['model']}'s image tool"
        summary = f"{image.format.upper()} {size} {through} for ${total:.4f}"
        outcome = answer.outcome("ok", summary, details, cost_usd=float(total))
        if tool.get("background") == "transparent" and not image.transparent_pixels:
            return refusal(outcome, "tool_transparency_unsupported", f"{summary}, opaque")
        return outcome
