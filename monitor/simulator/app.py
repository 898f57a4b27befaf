"""The simulator's HTTP surface: the OpenAI routes imagewatch probes, plus a control route.

Answers carry the real error bodies, the real headers (`x-request-id`, `openai-*`,
`x-ratelimit-*` with Go durations) and real image bytes at the requested size.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import time
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checks.images import (
    FIXED_SIZES,
    family,
    flexible_size_error,
    has_flexible_sizes,
    output_tokens,
    parse_size,
)
from checks.prices import PUBLISHED, usage_cost
from monitor.simulator.scenarios import IMAGE_MODELS, PRICE_FILES
from monitor.simulator.state import (
    AccountState,
    SimulatorState,
    go_duration,
    moved_prices,
    request_id,
)

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


class ApiFailure(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self.headers = headers or {}


def invalid_value(param: str, value: object, supported: list[str]) -> ApiFailure:
    listed = ", ".join(f"'{s}'" for s in supported[:-1]) + f", and '{supported[-1]}'"
    return ApiFailure(
        400,
        f"Invalid value: '{value}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def model_not_found(model: str) -> ApiFailure:
    return ApiFailure(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def invalid_key(key: str) -> ApiFailure:
    masked = f"{key[:6]}***{key[-4:]}" if len(key) > 10 else "***"
    return ApiFailure(
        401,
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


class Simulator:
    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    # --- plumbing -----------------------------------------------------------------------

    def headers(self, account: AccountState | None, started: float) -> dict[str, str]:
        headers = {
            "x-request-id": request_id(),
            "openai-version": "2020-10-01",
            "openai-processing-ms": str(max(1, round((time.perf_counter() - started) * 1000))),
        }
        if account is not None:
            headers["openai-organization"] = account.scenario.organization
            headers["openai-project"] = account.scenario.project
        return headers

    def failure(self, exc: ApiFailure, account: AccountState | None, started: float) -> Response:
        headers = self.headers(account, started) | exc.headers
        return JSONResponse(exc.body, status_code=exc.status, headers=headers)

    def authenticate(self, request: Request, admin: bool = False) -> AccountState:
        raw = request.headers.get("authorization", "")
        if not raw.lower().startswith("bearer ") or not raw[7:].strip():
            raise ApiFailure(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        key = raw[7:].strip()
        table = self.state.by_admin_key if admin else self.state.by_key
        account = table.get(key)
        if account is None:
            if admin and key in self.state.by_key:
                raise ApiFailure(
                    403,
                    "You have insufficient permissions for this operation. Missing scopes: "
                    "api.management.read. Use an admin key for the Admin API.",
                )
            raise invalid_key(key)
        account.requests += 1
        return account

    async def slow(self, account: AccountState) -> None:
        if account.slow_ms:
            await asyncio.sleep(account.slow_ms / 1000)

    # --- models -------------------------------------------------------------------------

    def model_object(self, account: AccountState, model: str, created: int) -> dict[str, Any]:
        return {
            "id": model,
            "object": "model",
            "created": created,
            "owned_by": "system"
            if model in IMAGE_MODELS or model.startswith("gpt-image")
            else "openai",
            "shutdown_date": account.shutdown_dates.get(model),
        }

    async def list_models(self, request: Request) -> Response:
        started = time.perf_counter()
        account = None
        try:
            account = self.authenticate(request)
            await self.slow(account)
            data = [self.model_object(account, m, c) for m, c in account.models()]
            return JSONResponse(
                {"object": "list", "data": data}, headers=self.headers(account, started)
            )
        except ApiFailure as exc:
            return self.failure(exc, account, started)

    async def get_model(self, request: Request) -> Response:
        started = time.perf_counter()
        account = None
        model = request.path_params["model"]
        try:
            account = self.authenticate(request)
            await self.slow(account)
            for listed, created in account.models():
                if listed == model:
                    return JSONResponse(
                        self.model_object(account, model, created),
                        headers=self.headers(account, started),
                    )
            raise model_not_found(model)
        except ApiFailure as exc:
            return self.failure(exc, account, started)

    # --- images -------------------------------------------------------------------------

    def validate(self, params: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
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
        n = params.get("n", 1)
        if isinstance(n, str) and n.isdigit():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool):
            raise ApiFailure(
                400, "Invalid type for 'n': expected an integer.", param="n", code="invalid_type"
            )
        if n < 1:
            raise ApiFailure(
                400,
                f"Invalid 'n': integer below minimum value. Expected a value "
                f">= 1, but got {n} instead.",
                param="n",
                code="integer_below_min_value",
            )
        if n > 10:
            raise ApiFailure(
                400,
                f"Invalid 'n': integer above maximum value. Expected a value "
                f"<= 10, but got {n} instead.",
                param="n",
                code="integer_above_max_value",
            )
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
        if params.get("stream") not in (None, False, "false"):
            raise ApiFailure(
                400,
                "Streaming is not supported by this simulator.",
                param="stream",
                code="invalid_value",
            )
        return {
            "model": model,
            "prompt": prompt,
            "n": n,
            "quality": quality,
            "size": size,
            "output_format": output_format,
            "background": background,
            "output_compression": compression,
        }

    def gate(self, account: AccountState, model: str, n: int, tokens: int) -> dict[str, str]:
        """Account-level answers, in the order the real API gives them; returns the
        rate-limit headers when the request may proceed."""
        if not model.startswith("gpt-image") or not account.knows(model):
            raise model_not_found(model)
        if account.quota_exhausted:
            raise ApiFailure(
                429,
                "You exceeded your current quota, please check your plan and billing "
                "details. For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                type_="insufficient_quota",
                code="insufficient_quota",
            )
        if account.billing_hard_limit:
            raise ApiFailure(
                400,
                "Billing hard limit has been reached",
                type_="billing_limit_user_error",
                code="billing_hard_limit_reached",
            )
        if not account.verified and family(model) == "gpt-image-2":
            raise ApiFailure(
                403,
                f"Your organization must be verified to use the model `{model}`. Please "
                "go to: https://platform.openai.com/settings/organization/general and click on "
                "Verify Organization. If you just verified, it can take up to 15 minutes for "
                "access to propagate.",
            )
        if not account.allows(model):
            raise ApiFailure(
                403,
                f"Project `{account.scenario.project}` does not have access to model `{model}`",
                code="model_not_found",
            )
        if account.next_is_failure():
            if account.failures_sent % 2:
                raise ApiFailure(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    type_="server_error",
                )
            raise ApiFailure(
                503,
                "The engine is currently overloaded, please try again later.",
                type_="server_error",
            )
        now = self.state.monotonic()
        used = account.images.used(now) + account.background_images
        used_tokens = account.tokens.used(now)
        limit = account.images_per_minute
        if used + n > limit:
            wait = max(account.images.reset_in(now), 0.001)
            raise ApiFailure(
                429,
                f"Rate limit reached for {model} in organization "
                f"{account.scenario.organization} on requests per min (RPM): Limit {limit}, "
                f"Used {min(used, limit)}, Requested {n}. Please try again in "
                f"{go_duration(wait)}. Visit https://platform.openai.com/account/rate-limits "
                "to learn more.",
                type_="requests",
                code="rate_limit_exceeded",
                headers=self.rate_headers(account, now, used, used_tokens)
                | {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1000))},
            )
        account.images.add(now, n)
        account.tokens.add(now, tokens)
        return self.rate_headers(account, now, used + n, used_tokens + tokens)

    def rate_headers(
        self, account: AccountState, now: float, used: int, used_tokens: int
    ) -> dict[str, str]:
        reset = account.images.reset_in(now)
        token_reset = account.tokens.reset_in(now)
        return {
            "x-ratelimit-limit-requests": str(account.images_per_minute),
            "x-ratelimit-remaining-requests": str(max(0, account.images_per_minute - used)),
            "x-ratelimit-reset-requests": go_duration(reset),
            "x-ratelimit-limit-tokens": str(account.tokens_per_minute),
            "x-ratelimit-remaining-tokens": str(max(0, account.tokens_per_minute - used_tokens)),
            "x-ratelimit-reset-tokens": go_duration(token_reset),
        }

    def image_answer(
        self,
        account: AccountState,
        spec: dict[str, Any],
        input_image_tokens: int,
        headers: dict[str, str],
        started: float,
    ) -> Response:
        size = spec["size"] if spec["size"] != "auto" else "1024x1024"
        quality = spec["quality"] if spec["quality"] != "auto" else "medium"
        width, height = parse_size(size) or (1024, 1024)
        per_image = output_tokens(spec["model"], size, quality) or 0
        text_tokens = max(1, math.ceil(len(spec["prompt"]) / 4))
        usage = {
            "input_tokens": text_tokens + input_image_tokens,
            "output_tokens": per_image * spec["n"],
            "total_tokens": text_tokens + input_image_tokens + per_image * spec["n"],
            "input_tokens_details": {
                "text_tokens": text_tokens,
                "image_tokens": input_image_tokens,
            },
        }
        prices = PUBLISHED.get(family(spec["model"]), {})
        account.spend_usd += usage_cost(usage, prices).total
        account.billed_images += spec["n"]
        encoded = render_image(
            width,
            height,
            spec["output_format"],
            transparent=spec["background"] == "transparent",
            compression=spec["output_compression"],
        )
        background = "transparent" if spec["background"] == "transparent" else "opaque"
        body = {
            "created": int(time.time()),
            "data": [{"b64_json": encoded} for _ in range(spec["n"])],
            "background": background,
            "output_format": spec["output_format"],
            "quality": quality,
            "size": size,
            "usage": usage,
        }
        return JSONResponse(body, headers=self.headers(account, started) | headers)

    async def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        account = None
        try:
            account = self.authenticate(request)
            await self.slow(account)
            try:
                params = json.loads(await request.body())
            except ValueError:
                raise ApiFailure(
                    400,
                    "We could not parse the JSON body of your request. "
                    "(HINT: This likely means you aren't using your HTTP library "
                    "correctly.)",
                ) from None
            if not isinstance(params, dict):
                raise ApiFailure(400, "The request body must be a JSON object.")
            spec = self.validate(params, GENERATION_PARAMS)
            expected = self.expected_tokens(spec)
            headers = self.gate(account, spec["model"], spec["n"], expected)
            return self.image_answer(account, spec, 0, headers, started)
        except ApiFailure as exc:
            return self.failure(exc, account, started)

    def expected_tokens(self, spec: dict[str, Any]) -> int:
        size = spec["size"] if spec["size"] != "auto" else "1024x1024"
        per_image = output_tokens(str(spec["model"]), str(size), str(spec["quality"])) or 0
        return per_image * int(spec["n"])

    async def edit(self, request: Request) -> Response:
        started = time.perf_counter()
        account = None
        try:
            account = self.authenticate(request)
            await self.slow(account)
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                raise ApiFailure(
                    400,
                    "Invalid Content-Type header (application/json), expected multipart/form-data.",
                )
            async with request.form(
                max_files=MAX_EDIT_IMAGES + 2, max_part_size=MAX_UPLOAD_BYTES
            ) as form:
                images = [v for k, v in form.multi_items() if k in ("image", "image[]")]
                masks = [v for k, v in form.multi_items() if k == "mask"]
                params: dict[str, Any] = {
                    k: v for k, v in form.multi_items() if k not in ("image", "image[]", "mask")
                }
                spec = self.validate(params, EDIT_PARAMS)
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
                            "Invalid mask image: the mask and the image must "
                            "have the same dimensions.",
                            param="mask",
                            code="invalid_value",
                        )
            input_tokens = sum(input_image_tokens(w, h) for w, h in sizes)
            expected = self.expected_tokens(spec)
            headers = self.gate(account, spec["model"], spec["n"], expected + input_tokens)
            return self.image_answer(account, spec, input_tokens, headers, started)
        except ApiFailure as exc:
            return self.failure(exc, account, started)

    # --- Admin API ----------------------------------------------------------------------

    async def project_rate_limits(self, request: Request) -> Response:
        started = time.perf_counter()
        account = None
        try:
            admin = self.authenticate(request, admin=True)
            project_id = request.path_params["project_id"]
            account = self.state.by_project(project_id)
            if account is None or account.scenario.organization != admin.scenario.organization:
                raise ApiFailure(404, f"No such project: {project_id}")
            entries = []
            for model in ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"):
                entries.append(
                    {
                        "object": "project.rate_limit",
                        "id": f"rl-{model}",
                        "model": model,
                        "max_requests_per_1_minute": account.images_per_minute,
                        "max_tokens_per_1_minute": account.tokens_per_minute,
                        "max_images_per_1_minute": account.images_per_minute,
                    }
                )
            try:
                limit = max(1, min(100, int(request.query_params.get("limit", "100"))))
            except ValueError:
                raise ApiFailure(
                    400, "Invalid 'limit': expected an integer.", param="limit"
                ) from None
            after = request.query_params.get("after")
            start = next((i + 1 for i, e in enumerate(entries) if e["id"] == after), 0)
            page = entries[start : start + limit]
            body = {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": start + limit < len(entries),
            }
            return JSONResponse(body, headers=self.headers(admin, started))
        except ApiFailure as exc:
            return self.failure(exc, account, started)

    # --- price files and control --------------------------------------------------------

    async def price_file(self, request: Request) -> Response:
        variant = request.path_params["variant"]
        if variant == "published":
            return JSONResponse(self.state.prices)
        if variant == "moved":
            return JSONResponse(moved_prices())
        return JSONResponse(
            {"error": f"no price file {variant!r}; try {', '.join(PRICE_FILES)}"}, status_code=404
        )

    async def control_list(self, request: Request) -> Response:
        return JSONResponse({"accounts": [a.describe() for a in self.state.accounts.values()]})

    async def control_account(self, request: Request) -> Response:
        account = self.state.accounts.get(request.path_params["name"])
        if account is None:
            return JSONResponse({"error": "no such scenario account"}, status_code=404)
        if request.method == "POST":
            try:
                changes = json.loads(await request.body() or b"{}")
            except ValueError:
                return JSONResponse({"error": "body must be JSON"}, status_code=400)
            if not isinstance(changes, dict):
                return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
            problems = account.apply(changes)
            if problems:
                return JSONResponse({"error": "; ".join(problems)}, status_code=400)
        return JSONResponse(account.describe())

    async def control_prices(self, request: Request) -> Response:
        try:
            change = json.loads(await request.body() or b"{}")
            model = change["model"]
            category = change.get("category", "image_output")
            per_million = Decimal(str(change["usd_per_million"]))
        except (ValueError, KeyError, TypeError, ArithmeticError):
            return JSONResponse(
                {"error": 'expected {"model", "usd_per_million", "category"?}'}, status_code=400
            )
        from checks.prices import LITELLM_KEYS

        if category not in LITELLM_KEYS or not isinstance(model, str):
            return JSONResponse(
                {"error": f"category must be one of {sorted(LITELLM_KEYS)}"}, status_code=400
            )
        entry = self.state.prices.setdefault(
            model, {"litellm_provider": "openai", "mode": "image_generation"}
        )
        entry[LITELLM_KEYS[category]] = float(per_million / 1_000_000)
        return JSONResponse({"model": model, category: str(per_million)})

    async def control_reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"reset": True})


async def image_size(item: Any, param: str, png_only: bool = False) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

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


def input_image_tokens(width: int, height: int) -> int:
    """Input image tokens: 65 base plus 129 per 512-pixel tile of the image scaled to fit
    1024 on its short side (an approximation: no table is published for inputs)."""
    scale = min(1.0, 1024 / min(width, height), 2048 / max(width, height))
    tiles = math.ceil(width * scale / 512) * math.ceil(height * scale / 512)
    return 65 + 129 * tiles


def render_image(
    width: int,
    height: int,
    output_format: str,
    transparent: bool = False,
    compression: int | None = None,
) -> str:
    """Real image bytes, base64: a soft gradient band, so encoders do real work."""
    from PIL import Image, ImageDraw

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


async def unknown_route(request: Request, exc: Exception) -> Response:
    body = {
        "error": {
            "message": f"Invalid URL ({request.method} {request.url.path})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    return JSONResponse(body, status_code=404, headers={"x-request-id": request_id()})


def create_app(state: SimulatorState | None = None) -> Starlette:
    sim = Simulator(state or SimulatorState())
    routes = [
        Route("/v1/models", sim.list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", sim.get_model, methods=["GET"]),
        Route("/v1/images/generations", sim.generate, methods=["POST"]),
        Route("/v1/images/edits", sim.edit, methods=["POST"]),
        Route(
            "/v1/organization/projects/{project_id}/rate_limits",
            sim.project_rate_limits,
            methods=["GET"],
        ),
        Route("/_sim/prices/{variant}.json", sim.price_file, methods=["GET"]),
        Route("/_sim/prices", sim.control_prices, methods=["POST"]),
        Route("/_sim/accounts", sim.control_list, methods=["GET"]),
        Route("/_sim/accounts/{name}", sim.control_account, methods=["GET", "POST"]),
        Route("/_sim/reset", sim.control_reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: unknown_route, 405: unknown_route})
    app.state.simulator = sim
    return app
