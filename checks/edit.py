"""`edit`: can this account edit an image (multipart, with a mask)? A capability, probed
daily for the accounts that list it."""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from checks.base import ProbeContext
from checks.generation import Capability
from checks.http import Answer, call
from checks.images import EDIT_INPUT_TOKENS, family
from checks.prices import MILLION, PUBLISHED
from checks.settings import CheckSettings, EditSettings

EDIT_PROMPT = "Fill the transparent square with light grey."
EDIT_SIDE = 512  # a small input image: input image tokens are billed too


@functools.cache
def edit_inputs(side: int = EDIT_SIDE) -> tuple[bytes, bytes]:
    """A plain PNG and a mask of the same size whose centre is transparent (to be edited)."""
    from PIL import Image, ImageDraw

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (236, 238, 241)).save(buffer, format="PNG")
    image = buffer.getvalue()
    mask = Image.new("RGBA", (side, side), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle(
        (side // 4, side // 4, 3 * side // 4, 3 * side // 4), fill=(0, 0, 0, 0)
    )
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return image, buffer.getvalue()


def edit_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    """The multipart files of an edit probe: the image and its mask."""
    image, mask = edit_inputs()
    return [
        ("image", ("probe.png", image, "image/png")),
        ("mask", ("mask.png", mask, "image/png")),
    ]


def edit_input_cost(model: str, settings: Mapping[str, Any]) -> Decimal:
    """What the edit probe's input image adds to the output's cost."""
    table = settings.get("prices") or PUBLISHED.get(family(model), {})
    return Decimal(table.get("image_input", Decimal(0))) * EDIT_INPUT_TOKENS / MILLION


class Edit(Capability):
    """Calls POST /v1/images/edits once (multipart: a generated 512x512 PNG and a mask) with
    the cheapest valid output (paid: the generation's output tokens plus about 200 input
    image tokens). Passes `ok` when a real image of the answered size comes back; every
    other answer is classified as for generation."""

    name: ClassVar[str] = "edit"
    settings_type: ClassVar[type[CheckSettings]] = EditSettings
    endpoint: ClassVar[str] = "images/edits"
    verb: ClassVar[str] = "edited"

    def expected_cost(self, model: str, settings: Mapping[str, Any]) -> Decimal | None:
        """The generation's output plus the input image's tokens."""
        output = super().expected_cost(model, settings)
        if output is None:
            return None
        return output + edit_input_cost(model, settings)

    async def send(self, ctx: ProbeContext, request: dict[str, Any]) -> Answer:
        fields = {k: str(v) for k, v in request.items() if k != "prompt"}
        fields["prompt"] = EDIT_PROMPT
        return await call(ctx, "POST", self.endpoint, data=fields, files=edit_files())
