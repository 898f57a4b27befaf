"""`streaming`: does this account get partial images over server-sent events? Public pages
disagree on whether gpt-image-2 streams; only a probe on the account settles it. A
capability, probed daily for the accounts that list it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from checks.base import Outcome, ProbeContext
from checks.generation import Capability, error_fields, error_in_success, refusal
from checks.http import Answer, call, failure_outcome, unexpected
from checks.images import ImageDecodeError, decode_b64_image, family
from checks.openai_errors import parse_json
from checks.prices import MILLION, PUBLISHED
from checks.settings import CheckSettings, StreamingSettings

PARTIAL_IMAGE_TOKENS = 100
"""Image output tokens each partial image adds. OpenAI's image generation guide
(https://platform.openai.com/docs/guides/image-generation, streaming): "Each partial image
will incur an additional 100 image output tokens"."""
MAX_EVENTS = 64
"""More events than a stream of at most 3 partials and a final image ever sends."""
# openai-openapi.yaml: ImageGenStreamEvent / ImageEditStreamEvent, discriminated by `type`.
PARTIAL_TYPES = ("image_generation.partial_image", "image_edit.partial_image")
COMPLETED_TYPES = ("image_generation.completed", "image_edit.completed")


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON objects of a server-sent-event body's `data:` fields, in order (at most
    MAX_EVENTS); comments, `[DONE]` and anything that is not a JSON object are skipped."""
    events: list[dict[str, Any]] = []
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        lines = [line[5:].removeprefix(" ") for line in block.split("\n") if line[:5] == "data:"]
        if not lines:
            continue
        parsed = parse_json("\n".join(lines).encode())
        if isinstance(parsed, dict):
            events.append(parsed)
            if len(events) >= MAX_EVENTS:
                break
    return events


def refuses_streaming(outcome: Outcome) -> bool:
    """A 400 about `stream` that is not the verification refusal (which has its own rule
    and reason: "organization must be verified to stream this model")."""
    if outcome.reason != "invalid_request":
        return False
    param, _, message = error_fields(outcome)
    return param in ("stream", "partial_images") or "stream" in message


class Streaming(Capability):
    """Calls POST /v1/images/generations once with the cheapest valid request plus
    `stream=true` and `partial_images=1`, read as server-sent events (paid: the
    generation's cost plus 100 output tokens per partial image). Passes `ok` when a partial
    image and a final image (`image_generation.partial_image`, then
    `image_generation.completed` with its usage) arrive and decode. Fails
    `streaming_unsupported` when the API refuses the parameter or answers without a stream;
    a stream without a partial or a final image is `unknown: unexpected_response`; every
    other answer is classified as for generation."""

    name: ClassVar[str] = "streaming"
    settings_type: ClassVar[type[CheckSettings]] = StreamingSettings
    verb: ClassVar[str] = "streamed"

    def expected_cost(self, model: str, settings: Mapping[str, Any]) -> Decimal | None:
        """The generation's output plus the partial images' extra tokens."""
        output = super().expected_cost(model, settings)
        if output is None:
            return None
        table = settings.get("prices") or PUBLISHED.get(family(model), {})
        partials = int(settings.get("partial_images", 1))
        rate = Decimal(table.get("image_output", Decimal(0)))
        return output + rate * PARTIAL_IMAGE_TOKENS * partials / MILLION

    async def send(self, ctx: ProbeContext, request: dict[str, Any]) -> Answer:
        partials = int(ctx.settings.get("partial_images", 1))
        return await call(
            ctx,
            "POST",
            self.endpoint,
            json={**request, "stream": True, "partial_images": partials},
        )

    def _judge(
        self, ctx: ProbeContext, answer: Answer, what: str, request: dict[str, Any]
    ) -> Outcome:
        if not answer.ok:
            outcome = failure_outcome(answer, what)
            return (
                refusal(outcome, "streaming_unsupported") if refuses_streaming(outcome) else outcome
            )
        assert answer.response is not None
        kind = answer.response.headers.get("content-type", "")
        if not kind.startswith("text/event-stream"):
            outcome = super()._judge(ctx, answer, what, request)
            if outcome.reason != "ok":
                return outcome
            return refusal(outcome, "streaming_unsupported", f"{what}: answered without a stream")
        events = sse_events(answer.response.body)
        for event in events:
            if event.get("type") == "error" or "error" in event:
                # An error event inside the 200 stream: classified like any error answer.
                body = json.dumps(event).encode()
                inner = dataclasses.replace(
                    answer, response=dataclasses.replace(answer.response, body=body)
                )
                return error_in_success(inner, what)
        partials = [e for e in events if e.get("type") in PARTIAL_TYPES]
        final = next((e for e in events if e.get("type") in COMPLETED_TYPES), None)
        if final is None:
            return unexpected(
                answer, what, f"the stream ended without a final image ({len(events)} events)"
            )
        if not partials:
            return unexpected(answer, what, "a final image came back without a partial one")
        try:
            decode_b64_image(str(partials[0].get("b64_json") or ""))
        except ImageDecodeError as exc:
            return unexpected(answer, what, f"partial image: {exc}")
        payload = {
            "data": [{"b64_json": final.get("b64_json")}],
            "size": final.get("size"),
            "quality": final.get("quality"),
            "usage": final.get("usage"),
        }
        outcome = self.judge_image(ctx, answer, what, request, payload)
        return outcome.with_details(stream={"events": len(events), "partial_images": len(partials)})
