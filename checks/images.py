"""GPT image model facts: valid sizes, output tokens per image, and decoding what came back."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import io
import math
import re

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


def family(model: str) -> str:
    """`gpt-image-2-2026-04-21` → `gpt-image-2`: a dated snapshot behaves as its family."""
    match = re.match(r"^(.*)-\d{4}-\d{2}-\d{2}$", model)
    return match.group(1) if match else model


def has_flexible_sizes(model: str) -> bool:
    return family(model) == "gpt-image-2"


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
    if has_flexible_sizes(model):
        parsed = parse_size(size)
        if parsed is None or flexible_size_error(*parsed):
            return None
        return flexible_output_tokens(*parsed, quality)
    if family(model).startswith("gpt-image-"):
        return FIXED_SIZE_TOKENS[quality].get(size)
    return None


@functools.cache
def cheapest_size(model: str, quality: str = "low") -> str:
    """The valid size with the fewest output tokens (then the fewest pixels): the cheapest
    request that still proves generation works. 1408x480 for gpt-image-2 at low quality."""
    if not has_flexible_sizes(model):
        return min(FIXED_SIZES, key=lambda size: FIXED_SIZE_TOKENS[quality][size])
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
            image.load()
            fmt = (image.format or "unknown").lower()
            width, height = image.size
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"image bytes do not decode: {exc}") from exc
    return DecodedImage(format=fmt, width=width, height=height, bytes=len(raw), has_alpha=has_alpha)
