"""`transparency`: does the model give this account a PNG with a transparent background? A
probe for launch readiness, not part of every round."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from checks.base import Outcome, ProbeContext
from checks.generation import Generation
from checks.settings import CheckSettings, TransparencySettings

# Whatever settings the probe is handed, these make it the question it exists to ask.
TRANSPARENT_PNG: dict[str, Any] = {"background": "transparent", "output_format": "png"}


class Transparency(Generation):
    """Calls POST /v1/images/generations once, as `generation` does, asking for
    `background=transparent` and a PNG (paid: the generation's cost). Passes `ok` when a
    real PNG of the answered size comes back with an alpha channel; an image without one is
    `unknown: unexpected_response`. A model that refuses the parameter answers 400 on
    `background` (`unknown: invalid_request`, the refusal in the details); every other
    answer is classified as for generation."""

    name: ClassVar[str] = "transparency"
    # Run when asked for (a launch profile, `--check transparency`), not in every round.
    scheduled: ClassVar[bool] = False
    settings_type: ClassVar[type[CheckSettings]] = TransparencySettings

    async def run(self, ctx: ProbeContext) -> Outcome:
        return await super().run(
            dataclasses.replace(ctx, settings={**ctx.settings, **TRANSPARENT_PNG})
        )
