"""Image answers: token counts, the account's bill, and real PNG, JPEG or WebP bytes.

The bytes are real images at the requested size and format so that clients which decode
them (the generation check, the SDK fidelity tests) see what the real API sends.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import math
import time
from typing import Any

from PIL import Image, ImageDraw

from checks.images import family, output_tokens, parse_size
from checks.prices import PUBLISHED, usage_cost
from checks.streaming import PARTIAL_IMAGE_TOKENS
from monitor.simulator.state import AccountState


def answered_size(spec: dict[str, Any]) -> str:
    """The size the answer has: `auto` is answered at 1024x1024."""
    return str(spec["size"]) if spec["size"] != "auto" else "1024x1024"


def expected_tokens(spec: dict[str, Any]) -> int:
    """Output tokens the request will use, counted against the tokens-per-minute limit."""
    per_image = output_tokens(str(spec["model"]), answered_size(spec), str(spec["quality"])) or 0
    return per_image * int(spec["n"])


def input_image_tokens(width: int, height: int) -> int:
    """Input image tokens: 65 base plus 129 per 512-pixel tile of the image scaled to fit
    1024 on its short side (an approximation: no table is published for inputs)."""
    scale = min(1.0, 1024 / min(width, height), 2048 / max(width, height))
    tiles = math.ceil(width * scale / 512) * math.ceil(height * scale / 512)
    return 65 + 129 * tiles


def make_images(account: AccountState, spec: dict[str, Any], image_inputs: int) -> dict[str, Any]:
    """The body of a successful image answer; bills the account for it as the API would.

    `image_inputs` is the input image tokens of an edit's uploads (0 for a generation); a
    streamed answer's partial images are billed as extra output tokens."""
    size = answered_size(spec)
    quality = spec["quality"] if spec["quality"] != "auto" else "medium"
    width, height = parse_size(size) or (1024, 1024)
    per_image = output_tokens(spec["model"], size, quality) or 0
    partials = (
        PARTIAL_IMAGE_TOKENS * int(spec.get("partial_images", 0)) if spec.get("stream") else 0
    )
    text_tokens = max(1, math.ceil(len(spec["prompt"]) / 4))
    usage = {
        "input_tokens": text_tokens + image_inputs,
        "output_tokens": per_image * spec["n"] + partials,
        "total_tokens": text_tokens + image_inputs + per_image * spec["n"] + partials,
        "input_tokens_details": {
            "text_tokens": text_tokens,
            "image_tokens": image_inputs,
        },
    }
    prices = PUBLISHED.get(family(spec["model"]), {})
    account.spend_usd += usage_cost(usage, prices).total
    account.billed_images += spec["n"]
    transparent = spec["background"] == "transparent" and not account.scenario.opaque_backgrounds
    encoded = render_image(
        width,
        height,
        spec["output_format"],
        transparent=transparent,
        compression=spec["output_compression"],
    )
    background = "transparent" if transparent else "opaque"
    return {
        "created": int(time.time()),
        "data": [{"b64_json": encoded} for _ in range(spec["n"])],
        "background": background,
        "output_format": spec["output_format"],
        "quality": quality,
        "size": size,
        "usage": usage,
    }


@functools.lru_cache(maxsize=32)
def render_image(
    width: int,
    height: int,
    output_format: str,
    transparent: bool = False,
    compression: int | None = None,
) -> str:
    """Real image bytes, base64: a grey block on a light (or clear) ground, so decoders do
    real work. The same request draws the same bytes, so they are drawn once: the
    simulator stands for a service whose CPU is not the monitor's machine's."""
    mode = "RGBA" if transparent else "RGB"
    fill = (0, 0, 0, 0) if transparent else (236, 238, 241)
    image = Image.new(mode, (width, height), fill)
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4),
        fill=(180, 186, 196, 255) if transparent else (180, 186, 196),
    )
    buffer = io.BytesIO()
    quality = 100 - (compression or 0) if compression is not None else 85
    if output_format == "png":
        image.save(buffer, format="PNG", optimize=False, compress_level=1)
    elif output_format == "jpeg":
        image.convert("RGB").save(buffer, format="JPEG", quality=max(5, quality))
    else:
        image.save(buffer, format="WEBP", quality=max(5, quality))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def image_stream(
    account: AccountState, spec: dict[str, Any], image_inputs: int, prefix: str
) -> bytes:
    """A streamed image answer as server-sent events (openai-openapi.yaml ImageGenStreamEvent,
    ImageEditStreamEvent; `prefix` is `image_generation` or `image_edit`): one partial image
    per `partial_images`, then the final image with its usage."""
    body = make_images(account, spec, image_inputs)
    shared = {k: body[k] for k in ("size", "quality", "background", "output_format")}
    encoded = body["data"][0]["b64_json"]
    events: list[tuple[str, dict[str, Any]]] = [
        (
            f"{prefix}.partial_image",
            {
                "b64_json": encoded,
                "created_at": body["created"],
                **shared,
                "partial_image_index": i,
            },
        )
        for i in range(int(spec["partial_images"]))
    ]
    events.append(
        (
            f"{prefix}.completed",
            {"b64_json": encoded, "created_at": body["created"], **shared, "usage": body["usage"]},
        )
    )
    return b"".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
        for name, data in events
    )
