"""`POST /v1/responses` with the `image_generation` tool: the request validated as the API
does (openai-openapi.yaml CreateResponse, ImageGenTool, ToolChoiceTypes), the account's
refusals, and a Response whose output holds an `image_generation_call` item.

Refusals copy real answers where one is published: the tool missing from an account's tools
(https://github.com/james-6-23/codex2api/issues/89), the image model refused inside the tool
(https://github.com/openai/codex/issues/25966) and a transparent background refused through
it (https://github.com/gaoren002/GPT2Image-Pro/issues/2). The mainline model's token counts
are ours: no published figure exists for one forced tool call.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from checks.images import family, image_family
from checks.prices import MAINLINE, priced
from monitor.simulator.errors import ApiFailure
from monitor.simulator.gate import reserve_images
from monitor.simulator.images import expected_tokens, make_images
from monitor.simulator.state import AccountState, SimulatorState
from monitor.simulator.validation import GENERATION_PARAMS, validate

RESPONSE_PARAMS = {
    "model", "input", "instructions", "tools", "tool_choice", "store", "stream",
    "max_output_tokens", "temperature", "top_p", "user", "metadata", "reasoning", "text",
    "parallel_tool_calls", "previous_response_id", "include", "truncation", "service_tier",
}  # fmt: skip
TOOL_PARAMS = {
    "type", "model", "quality", "size", "output_format", "output_compression", "moderation",
    "background", "input_fidelity", "input_image_mask", "partial_images", "action",
}  # fmt: skip
MAINLINE_INPUT_TOKENS = 1_200  # ours: the tool's definition and the prompt, billed as input
MAINLINE_OUTPUT_TOKENS = 160  # ours: the forced call's arguments and a one-line reply


def tool_user_error(message: str, code: str = "invalid_value") -> ApiFailure:
    """The image tool's own refusals: type image_generation_user_error, param tools."""
    return ApiFailure(400, message, type_="image_generation_user_error", param="tools", code=code)


def validate_request(params: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The mainline model, the image tool and the image request it stands for."""
    for key in params:
        if key not in RESPONSE_PARAMS:
            raise ApiFailure(
                400, f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter"
            )
    model = params.get("model")
    if not isinstance(model, str) or not model:
        raise ApiFailure(400, "Missing required parameter: 'model'.", param="model",
                         code="missing_required_parameter")  # fmt: skip
    if image_family(model) or model.startswith(("gpt-image", "dall-e")):
        # Ours: users who put an image model here were refused; its exact words vary by relay.
        raise ApiFailure(
            400,
            f"The model '{model}' is not supported with the Responses API; "
            "use it as the image_generation tool's model.",
            param="model",
            code="model_not_supported",
        )
    tools = params.get("tools") or []
    if not isinstance(tools, list):
        raise ApiFailure(400, "Invalid type for 'tools': expected an array.", param="tools",
                         code="invalid_type")  # fmt: skip
    tool = next(
        (t for t in tools if isinstance(t, dict) and t.get("type") == "image_generation"), None
    )
    choice = params.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "image_generation" and tool is None:
        raise ApiFailure(
            400,
            "Tool choice 'image_generation' not found in 'tools' parameter.",
            param="tool_choice",
        )
    if tool is None:
        raise ApiFailure(400, "This simulator answers the image_generation tool only.",
                         param="tools", code="invalid_value")  # fmt: skip
    for key in tool:
        if key not in TOOL_PARAMS:
            raise ApiFailure(400, f"Unknown parameter: 'tools[0].{key}'.", param="tools",
                             code="unknown_parameter")  # fmt: skip
    image_params = {k: tool[k] for k in tool if k in GENERATION_PARAMS and k != "type"}
    image_params.setdefault("model", "gpt-image-1")  # the tool's documented default
    prompt = params.get("input")
    image_params["prompt"] = prompt if isinstance(prompt, str) else "an image"
    try:
        spec = validate(image_params, GENERATION_PARAMS)
    except ApiFailure as exc:
        raise tool_user_error(str(exc)) from None
    return model, tool, spec


def create_response(
    state: SimulatorState, account: AccountState, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The Response for a valid request, after the account's refusals; bills the mainline
    model's tokens and the image."""
    model, tool, spec = validate_request(params)
    scenario = account.scenario
    if scenario.image_tool_refused:
        raise ApiFailure(
            400,
            "Tool choice 'image_generation' not found in 'tools' parameter.",
            param="tool_choice",
        )
    if scenario.tool_refuses_image_model or not account.knows(spec["model"]):
        raise tool_user_error(f"The model '{spec['model']}' does not exist.")
    headers = reserve_images(state, account, spec["model"], 1, expected_tokens(spec))
    images = make_images(account, spec, 0)
    usage = {
        "input_tokens": MAINLINE_INPUT_TOKENS,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": MAINLINE_OUTPUT_TOKENS,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": MAINLINE_INPUT_TOKENS + MAINLINE_OUTPUT_TOKENS,
    }
    mainline = MAINLINE.get(model) or MAINLINE.get(family(model)) or {}
    tokens = {"text_input": MAINLINE_INPUT_TOKENS, "text_output": MAINLINE_OUTPUT_TOKENS}
    account.spend_usd += priced(tokens, mainline).total
    created = int(time.time())
    call = {
        "type": "image_generation_call",
        "id": "ig_" + secrets.token_hex(24),
        "status": "completed",
        "result": images["data"][0]["b64_json"],
        "background": images["background"],
        "output_format": images["output_format"],
        "quality": images["quality"],
        "size": images["size"],
        "revised_prompt": spec["prompt"],
    }
    message = {
        "type": "message",
        "id": "msg_" + secrets.token_hex(24),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Here is the image.", "annotations": []}],
    }
    body = {
        "id": "resp_" + secrets.token_hex(24),
        "object": "response",
        "created_at": created,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": params.get("instructions"),
        "model": model,
        "output": [call, message],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "store": bool(params.get("store", True)),
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": params.get("tool_choice", "auto"),
        "tools": [tool],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }
    return body, headers
