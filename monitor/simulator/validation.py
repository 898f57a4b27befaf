"""Request validation for the image routes, as the real API does it.

The real API validates parameters before it looks at the account, so an unverified or
out-of-quota account still gets the 400 for a bad parameter; the routes keep that order by
validating first and passing the result to the account gate.
"""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from checks.images import FIXED_SIZES, flexible_size_error, has_flexible_sizes, parse_size
from monitor.simulator.errors import ApiFailure, invalid_value

GENERATION_PARAMS = {
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "stream",
    "partial_images",
    "user",
}
EDIT_PARAMS = GENERATION_PARAMS | {"image", "image[]", "mask", "input_fidelity"}
MAX_PROMPT = 32_000
MAX_EDIT_IMAGES = 16
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def json_params(raw: bytes) -> dict[str, Any]:
    """A generation request's JSON body, which must be an object."""
    try:
        params = json.loads(raw)
    except ValueError:
        raise ApiFailure(
            400,
            "We could not parse the JSON body of your request. "
            "(HINT: This likely means you aren't using your HTTP library "
            "correctly.)",
        ) from None
    if not isinstance(params, dict):
        raise ApiFailure(400, "The request body must be a JSON object.")
    return params


def validate(params: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The API's parameter validation, which runs before any account check."""
    for key in params:
        if key not in allowed:
            raise ApiFailure(
                400, f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter"
            )
    model = params.get("model", "dall-e-2")
    if not isinstance(model, str) or not model:
        raise ApiFailure(
            400,
            "Invalid type for 'model': expected a string.",
            param="model",
            code="invalid_type",
        )
    prompt = params.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApiFailure(
            400,
            "Missing required parameter: 'prompt'.",
            param="prompt",
            code="missing_required_parameter",
        )
    if len(prompt) > MAX_PROMPT:
        raise ApiFailure(
            400,
            f"Invalid 'prompt': string too long. Expected a string with maximum "
            f"length {MAX_PROMPT}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    n = bounded_int(params, "n", 1, 10)
    quality = params.get("quality", "auto")
    if quality not in ("low", "medium", "high", "auto"):
        raise invalid_value("quality", quality, ["low", "medium", "high", "auto"])
    output_format = params.get("output_format", "png")
    if output_format not in ("png", "jpeg", "webp"):
        raise invalid_value("output_format", output_format, ["png", "jpeg", "webp"])
    background = params.get("background", "auto")
    if background not in ("transparent", "opaque", "auto"):
        raise invalid_value("background", background, ["transparent", "opaque", "auto"])
    if params.get("moderation", "auto") not in ("low", "auto"):
        raise invalid_value("moderation", params.get("moderation"), ["low", "auto"])
    compression = params.get("output_compression")
    if compression is not None:
        if isinstance(compression, str) and compression.isdigit():
            compression = int(compression)
        if not isinstance(compression, int) or not 0 <= compression <= 100:
            raise ApiFailure(
                400,
                "Invalid 'output_compression': expected an integer between 0 and 100.",
                param="output_compression",
                code="invalid_value",
            )
    size = params.get("size", "auto")
    if not isinstance(size, str):
        raise ApiFailure(
            400,
            "Invalid type for 'size': expected a string.",
            param="size",
            code="invalid_type",
        )
    if model.startswith("gpt-image") and size != "auto":
        if has_flexible_sizes(model):
            parsed = parse_size(size)
            if parsed is None:
                raise ApiFailure(
                    400,
                    f"Invalid size '{size}'. Expected WIDTHxHEIGHT, e.g. '1024x1024'.",
                    param="size",
                    code="invalid_value",
                )
            problem = flexible_size_error(*parsed)
            if problem:
                raise ApiFailure(400, problem, param="size", code="invalid_value")
        elif size not in FIXED_SIZES:
            raise invalid_value("size", size, [*FIXED_SIZES, "auto"])
    if background == "transparent":
        if has_flexible_sizes(model):
            raise ApiFailure(
                400,
                "Transparent background is not supported for this model.",
                param="background",
                code="invalid_value",
            )
        if output_format == "jpeg":
            raise ApiFailure(
                400,
                "Transparent background requires output_format 'png' or 'webp'.",
                param="background",
                code="invalid_value",
            )
    stream = params.get("stream", False)
    if stream in ("true", "false"):  # a multipart (edit) field
        stream = stream == "true"
    if not isinstance(stream, bool):
        raise ApiFailure(
            400,
            "Invalid type for 'stream': expected a boolean.",
            param="stream",
            code="invalid_type",
        )
    partials = bounded_int(params, "partial_images", 0, 3)
    return {
        "stream": stream,
        "partial_images": partials,
        "model": model,
        "prompt": prompt,
        "n": n,
        "quality": quality,
        "size": size,
        "output_format": output_format,
        "background": background,
        "output_compression": compression,
    }


def bounded_int(params: dict[str, Any], name: str, low: int, high: int) -> int:
    """An integer parameter within [low, high] (default `low`), in the API's wordings."""
    value = params.get(name, low)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiFailure(
            400, f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type"
        )
    if value < low:
        raise ApiFailure(
            400,
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but "
            f"got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if value > high:
        raise ApiFailure(
            400,
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but "
            f"got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return value


async def edit_params(
    request: Request, model: str | None = None
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """An edit request's multipart form, checked: the validated parameters and the size
    of each input image (the mask must match the first). `model` overrides the form's, as
    an Azure deployment's model does."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiFailure(
            400,
            "Invalid Content-Type header (application/json), expected multipart/form-data.",
        )
    # Two files over the image limit: room for a mask and for one image too many, so a
    # request with 17 images gets the API's own "too many images" answer.
    async with request.form(max_files=MAX_EDIT_IMAGES + 2, max_part_size=MAX_UPLOAD_BYTES) as form:
        images = [v for k, v in form.multi_items() if k in ("image", "image[]")]
        masks = [v for k, v in form.multi_items() if k == "mask"]
        params: dict[str, Any] = {
            k: v for k, v in form.multi_items() if k not in ("image", "image[]", "mask")
        }
        if model is not None:
            params["model"] = model
        spec = validate(params, EDIT_PARAMS)
        if not images:
            raise ApiFailure(
                400,
                "Missing required parameter: 'image'.",
                param="image",
                code="missing_required_parameter",
            )
        if len(images) > MAX_EDIT_IMAGES:
            raise ApiFailure(
                400,
                f"Invalid 'image': too many images. Expected at most {MAX_EDIT_IMAGES}.",
                param="image",
                code="invalid_value",
            )
        sizes = [await image_size(item, "image") for item in images]
        if masks:
            mask_size = await image_size(masks[0], "mask", png_only=True)
            if mask_size != sizes[0]:
                raise ApiFailure(
                    400,
                    "Invalid mask image: the mask and the image must have the same dimensions.",
                    param="mask",
                    code="invalid_value",
                )
    return spec, sizes


async def image_size(item: Any, param: str, png_only: bool = False) -> tuple[int, int]:
    """An uploaded image's (width, height), once it is known to be a PNG, JPEG or WebP."""
    if not isinstance(item, UploadFile):
        raise ApiFailure(
            400, f"Invalid '{param}': expected a file upload.", param=param, code="invalid_value"
        )
    raw = await item.read()
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            fmt = (image.format or "").upper()
            size = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ApiFailure(
            400,
            f"Invalid image file or mode for '{param}'. Please check that the "
            "file is a valid PNG, JPEG or WebP.",
            param=param,
            code="invalid_image_file",
        ) from exc
    if (png_only and fmt != "PNG") or fmt not in ("PNG", "JPEG", "WEBP"):
        raise ApiFailure(
            400,
            f"Invalid file format for '{param}'. Supported formats are "
            "'png', 'jpeg' and 'webp'" + (" (mask: 'png')" if png_only else "") + ".",
            param=param,
            code="invalid_image_format",
        )
    return size
