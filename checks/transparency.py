"""`transparency`: does the model give this account an image with a transparent background?
A capability, probed daily for the accounts that list it."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from checks.base import Outcome, ProbeContext, as_mapping
from checks.generation import Capability, error_fields, refusal
from checks.settings import CheckSettings, TransparencySettings

# Whatever the settings say, the probe asks the question it exists to ask: a transparent
# background, in a format that carries alpha (a JPEG would flatten it).
ALPHA_FORMATS = ("png", "webp")


def transparent_request(settings: Any) -> dict[str, Any]:
    chosen = str(as_mapping(settings).get("output_format", "png"))
    return {
        "background": "transparent",
        "output_format": chosen if chosen in ALPHA_FORMATS else "png",
    }


def refuses_transparency(outcome: Outcome) -> bool:
    """A 400 about `background`, or the API's words for it ("Transparent background is not
    supported for this model.", tests/fixtures/openai_answers/
    invalid-request-400-transparent-sub2api-7150.json)."""
    if outcome.reason != "invalid_request":
        return False
    param, _, message = error_fields(outcome)
    return param == "background" or "transparent background" in message


def opaque(outcome: Outcome) -> bool:
    """A real image came back with no see-through pixel: the parameter was ignored."""
    image = as_mapping(outcome.details.get("image"))
    return outcome.reason == "ok" and not image.get("transparent_pixels")


class Transparency(Capability):
    """Calls POST /v1/images/generations once, as `generation` does, asking for
    `background=transparent` and a PNG (or WebP) (paid: the generation's cost). Passes `ok`
    only when the image that comes back really has transparent pixels. Fails
    `transparency_unsupported` when the API refuses the parameter (400 on `background`) or
    answers an opaque image (billed); every other answer is classified as for generation."""

    name: ClassVar[str] = "transparency"
    settings_type: ClassVar[type[CheckSettings]] = TransparencySettings

    async def run(self, ctx: ProbeContext) -> Outcome:
        settings = {**ctx.settings, **transparent_request(ctx.settings)}
        outcome = await super().run(dataclasses.replace(ctx, settings=settings))
        if refuses_transparency(outcome):
            return refusal(outcome, "transparency_unsupported")
        if opaque(outcome):
            note = f"{outcome.summary}, but no pixel of it is transparent"
            return refusal(outcome, "transparency_unsupported", note)
        return outcome
