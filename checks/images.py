"""Image model facts: what each family accepts, valid sizes, output tokens per image, the
cheapest probe, retirements, and decoding what came back."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import io
import math
import re
from datetime import date

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")

QUALITY_FACTOR = {"low": 16, "medium": 48, "high": 96}

# gpt-image-1 / 1.5 (and -mini, billed on the same grid): square, portrait, landscape.
FIXED_SIZE_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
FIXED_SIZES = ("1024x1024", "1536x1024", "1024x1536")
# Input image tokens of the edit probe's 512x512 PNG (65 base + 129 per 512-pixel tile). No
# table is published for inputs: an approximation, kept where every image-token fact lives.
EDIT_INPUT_TOKENS = 65 + 129

FLEXIBLE_MIN_PIXELS = 655_360
FLEXIBLE_MAX_PIXELS = 8_294_400
FLEXIBLE_MAX_LONG = 3840
FLEXIBLE_MAX_SHORT = 2160
FLEXIBLE_STEP = 16


OPENAPI = "openai-openapi.yaml (2026-08-21), CreateImageRequest"
DEPRECATIONS = "https://developers.openai.com/api/docs/deprecations"
GPT_IMAGE_2_5 = (
    "https://apifox.com/apiskills/gpt-image-2-5-api-cn/ (OpenAI docs read 2026-09-09: custom "
    "sizes in multiples of 16, 1:3 to 3:1, up to 4K; quality low…max)",
    "https://docs.apiyi.com/en/news/gpt-image-2-5-launch.md",
)


@dataclasses.dataclass(frozen=True)
class ImageFamily:
    """What one model family's Images API accepts, and so what its cheapest valid probe is:
    a parameter the model refuses would answer 400 and hide the 403 the probe exists for."""

    name: str
    sizes: tuple[str, ...] | None
    """The sizes accepted; None: any WIDTHxHEIGHT within the flexible limits below."""
    qualities: tuple[str, ...]
    """Accepted `quality` values; empty: the parameter is not sent."""
    probe_quality: str | None
    """The quality sent when the configured one is not accepted (dall-e-3: standard)."""
    output_format: bool
    """Accepts `output_format` and `output_compression` (the GPT image models only)."""
    response_format: str | None
    """Sent to the DALL·E models, whose default answer is a URL, not base64."""
    tokens: str | None
    """How output tokens are known: "formula" (gpt-image-2's calculator), "table" (the
    published per-size table) or None (no published grid: the probe records what is billed)."""
    probe_size: str | None
    """The probe's size where output tokens cannot pick the cheapest."""
    sources: tuple[str, ...]
    retired_on: date | None = None


_GPT_QUALITIES = ("low", "medium", "high", "auto")
_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# openapi: quality `enum: [standard, hd, low, medium, high, auto]` — "`high`, `medium` and
# `low` are supported for the GPT image models. `hd` and `standard` are supported for
# `dall-e-3`. `standard` is the only option for `dall-e-2`." size: "For `gpt-image-2` …
# arbitrary resolutions are supported as `WIDTHxHEIGHT` strings … The standard sizes
# `1024x1024`, `1536x1024`, and `1024x1536` are supported by the GPT image models … For
# `dall-e-2`, use one of `256x256`, `512x512`, or `1024x1024`. For `dall-e-3`, use one of
# `1024x1024`, `1792x1024`, or `1024x1792`." output_format `enum: [png, jpeg, webp]` — "only
# supported for the GPT image models". response_format `enum: [url, b64_json]` — "isn't
# supported for the GPT image models, which always return base64-encoded images".
_FAMILIES = (
    ImageFamily("gpt-image-2", None, _GPT_QUALITIES, None, True, None, "formula", None, (
        OPENAPI,
        "https://community.openai.com/t/gpt-image-2-output-pricing-calculator-online-and-in-your-code/1382699",
    )),
    ImageFamily("gpt-image-2.5-flare", None, (*_GPT_QUALITIES, "xhigh", "max"), None, True,
                None, None, "1024x1024", GPT_IMAGE_2_5),
    ImageFamily("gpt-image-2.5-sunburst", None, (*_GPT_QUALITIES, "xhigh", "max"), None, True,
                None, None, "1024x1024", GPT_IMAGE_2_5),
    ImageFamily("gpt-image-1.5", _GPT_SIZES, _GPT_QUALITIES, None, True, None, "table", None, (
        OPENAPI, "https://platform.openai.com/docs/guides/image-generation (cost and latency)",
    )),
    ImageFamily("gpt-image-1", _GPT_SIZES, _GPT_QUALITIES, None, True, None, "table", None, (
        OPENAPI, "https://platform.openai.com/docs/guides/image-generation (cost and latency)",
    )),
    # LiteLLM prices gpt-image-1-mini per image (low/1024-x-1024: $0.005, 1536: $0.006), which
    # does not fit gpt-image-1's token table at $8/1M: no grid is assumed for it.
    ImageFamily("gpt-image-1-mini", _GPT_SIZES, _GPT_QUALITIES, None, True, None, None,
                "1024x1024", (
        OPENAPI,
        "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json",
    )),
    # Priced per image: standard 1024x1024 is the cheapest (LiteLLM hd/standard keys).
    ImageFamily("dall-e-3", ("1024x1024", "1792x1024", "1024x1792"), ("standard", "hd"),
                "standard", False, "b64_json", None, "1024x1024", (OPENAPI, DEPRECATIONS),
                retired_on=date(2026, 5, 12)),
    # LiteLLM: 256-x-256/dall-e-2 $2.4414e-07 per pixel ($0.016), 512: $0.018, 1024: $0.020.
    ImageFamily("dall-e-2", ("256x256", "512x512", "1024x1024"), (), None, False, "b64_json",
                None, "256x256", (OPENAPI, DEPRECATIONS), retired_on=date(2026, 5, 12)),
)  # fmt: skip
FAMILIES: dict[str, ImageFamily] = {row.name: row for row in _FAMILIES}

_SNAPSHOT = re.compile(r"^(.*)-\d{4}-\d{2}-\d{2}$")

UNKNOWN_GPT_IMAGE = ImageFamily(
    "unknown", _GPT_SIZES, _GPT_QUALITIES, None, True, None, None, "1024x1024", (OPENAPI,)
)
"""A model outside the table: the request every GPT image model accepts ("The standard sizes
… are supported by the GPT image models"), at the configured quality."""


@functools.lru_cache(maxsize=1024)
def family(model: str) -> str:
    """`gpt-image-2-2026-04-21` → `gpt-image-2`: a dated snapshot behaves as its family."""
    # Cached: asked for every row of a usage read (a day of minutes), of a few model names.
    match = _SNAPSHOT.match(model)
    return match.group(1) if match else model


def image_family(model: str) -> ImageFamily | None:
    """The model's row of the family table, or None for a model the table does not know."""
    return FAMILIES.get(family(model))


def probe_family(model: str) -> ImageFamily:
    return image_family(model) or UNKNOWN_GPT_IMAGE


def probe_quality(model: str, configured: str) -> str | None:
    """The quality to send: the configured one when the family accepts it."""
    row = probe_family(model)
    if not row.qualities:
        return None
    return configured if configured in row.qualities else row.probe_quality or configured


def retired_reason(model: str, today: date) -> str | None:
    """Why the model can no longer be used (shut down, with the source), or None."""
    row = image_family(model)
    if row is None or row.retired_on is None or today < row.retired_on:
        return None
    return (
        f"{model} was shut down on {row.retired_on.isoformat()} (OpenAI deprecations, notified "
        f"2025-11-14; replacements gpt-image-1 or gpt-image-1-mini): {DEPRECATIONS}"
    )


def has_flexible_sizes(model: str) -> bool:
    return probe_family(model).sizes is None


def parse_size(size: str) -> tuple[int, int] | None:
    match = _SIZE.match(size.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def flexible_size_error(width: int, height: int) -> str | None:
    """Why a WIDTHxHEIGHT is refused by gpt-image-2, or None when it is valid."""
    if width % FLEXIBLE_STEP or height % FLEXIBLE_STEP:
        return f"Invalid size '{width}x{height}'. Width and height must both be divisible by 16."
    long, short = max(width, height), min(width, height)
    if short == 0 or long > 3 * short:
        return f"Invalid size '{width}x{height}'. Aspect ratio must be between 1:3 and 3:1."
    pixels = width * height
    if pixels < FLEXIBLE_MIN_PIXELS or pixels > FLEXIBLE_MAX_PIXELS:
        return (
            f"Invalid size '{width}x{height}'. Total pixels must be between "
            f"{FLEXIBLE_MIN_PIXELS} and {FLEXIBLE_MAX_PIXELS}."
        )
    if long > FLEXIBLE_MAX_LONG or short > FLEXIBLE_MAX_SHORT:
        return f"Invalid size '{width}x{height}'. Maximum size is 3840x2160."
    return None


def flexible_output_tokens(width: int, height: int, quality: str) -> int:
    """Output tokens of one gpt-image-2 image; reproduces the published calculator."""
    factor = QUALITY_FACTOR[quality]
    long, short = max(width, height), min(width, height)
    steps = (2 * factor * short + long) // (2 * long)
    return math.ceil(factor * steps * (2_000_000 + width * height) / 4_000_000)


def output_tokens(model: str, size: str, quality: str) -> int | None:
    """Expected output tokens of one image, or None when the model's grid is not known."""
    if quality == "auto":
        quality = "medium"
    if quality not in QUALITY_FACTOR:
        return None
    if size == "auto":
        size = "1024x1024"
    grid = probe_family(model).tokens
    if grid == "formula":
        parsed = parse_size(size)
        if parsed is None or flexible_size_error(*parsed):
            return None
        return flexible_output_tokens(*parsed, quality)
    if grid == "table":
        return FIXED_SIZE_TOKENS[quality].get(size)
    return None


@functools.cache
def cheapest_size(model: str, quality: str = "low") -> str:
    """The valid size with the fewest output tokens (then the fewest pixels): the cheapest
    request that still proves generation works. 1408x480 for gpt-image-2 at low quality;
    the family's probe size where no token grid is published."""
    row = probe_family(model)
    if row.tokens == "table" and quality in FIXED_SIZE_TOKENS:
        return min(FIXED_SIZES, key=lambda size: FIXED_SIZE_TOKENS[quality][size])
    if row.tokens != "formula" or quality not in QUALITY_FACTOR:
        return row.probe_size or "1024x1024"
    best: tuple[int, int, int, int] | None = None
    for long in range(FLEXIBLE_STEP, FLEXIBLE_MAX_LONG + 1, FLEXIBLE_STEP):
        for short in range(FLEXIBLE_STEP, min(long, FLEXIBLE_MAX_SHORT) + 1, FLEXIBLE_STEP):
            if flexible_size_error(long, short):
                continue
            candidate = (flexible_output_tokens(long, short, quality), long * short, long, short)
            if best is None or candidate < best:
                best = candidate
    assert best is not None
    return f"{best[2]}x{best[3]}"


@dataclasses.dataclass(frozen=True)
class DecodedImage:
    format: str
    width: int
    height: int
    bytes: int
    has_alpha: bool = False
    transparent_pixels: bool = False
    """Some pixel is at least partly see-through: an alpha channel alone (an opaque RGBA
    image) is not a transparent background."""

    def as_details(self) -> dict[str, object]:
        """What a result's details record of the image that came back."""
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "has_alpha": self.has_alpha,
            "transparent_pixels": self.transparent_pixels,
        }


class ImageDecodeError(ValueError):
    pass


def decode_b64_image(b64: str) -> DecodedImage:
    """Decode base64 image bytes fully (not just the header): a truncated or fake image fails."""
    from PIL import Image, UnidentifiedImageError  # Pillow is heavy; only the probe needs it

    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageDecodeError("b64_json is not valid base64") from exc
    if not raw:
        raise ImageDecodeError("b64_json is empty")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            fmt = (image.format or "unknown").lower()
            width, height = image.size
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            if fmt == "jpeg":
                # Every scan is still read and entropy-decoded (a truncated or corrupt
                # stream fails); only the inverse DCT runs at 1/8 scale: half the CPU.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
            transparent = False
            if has_alpha:
                lowest = image.convert("RGBA").getchannel("A").getextrema()[0]
                transparent = isinstance(lowest, int | float) and lowest < 255
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"image bytes do not decode: {exc}") from exc
    return DecodedImage(fmt, width, height, len(raw), has_alpha, transparent)
