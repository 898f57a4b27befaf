"""The simulator's HTTP surface: the OpenAI routes imagewatch probes, plus a control route.

Answers carry the real error bodies, the real headers (`x-request-id`, `openai-*`,
`x-ratelimit-*` with Go durations) and real image bytes at the requested size. What each
route checks lives beside it: `validation` (parameters), `gate` (the key's account and its
refusals), `images` (the image answer) and `errors` (the error bodies).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checks.prices import LITELLM_KEYS
from monitor.simulator.errors import ApiFailure, model_not_found, unknown_route
from monitor.simulator.gate import authenticate, reserve_images, slow_down
from monitor.simulator.images import (
    expected_tokens,
    image_stream,
    input_image_tokens,
    make_images,
)
from monitor.simulator.responses import create_response
from monitor.simulator.scenarios import IMAGE_MODELS, PRICE_FILES
from monitor.simulator.state import AccountState, SimulatorState, moved_prices, request_id
from monitor.simulator.usage import Clock, UsageApi, wall_clock
from monitor.simulator.validation import GENERATION_PARAMS, edit_params, json_params, validate

# An account route's answer: the JSON body and the headers it adds to the usual ones, or a
# whole response (a stream of server-sent events).
Reply = tuple[dict[str, Any], dict[str, str]] | Response
AccountHandler = Callable[[Request, AccountState], Awaitable[Reply]]
Endpoint = Callable[[Request], Awaitable[Response]]
AdminHandler = Callable[[Request, AccountState], Awaitable[dict[str, Any]]]


def api_headers(account: AccountState | None, started: float) -> dict[str, str]:
    """The headers every API answer carries; the account's ids once the key is known."""
    headers = {
        "x-request-id": request_id(),
        "openai-version": "2020-10-01",
        "openai-processing-ms": str(max(1, round((time.perf_counter() - started) * 1000))),
    }
    if account is not None:
        headers["openai-organization"] = account.scenario.organization
        headers["openai-project"] = account.scenario.project
    return headers


def failure(exc: ApiFailure, account: AccountState | None, started: float) -> Response:
    headers = api_headers(account, started) | exc.headers
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


def model_object(account: AccountState, model: str, created: int) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": created,
        "owned_by": "system"
        if model in IMAGE_MODELS or model.startswith("gpt-image")
        else "openai",
        "shutdown_date": account.shutdown_dates.get(model),
    }


def sse(body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, media_type="text/event-stream", headers=headers)


def refuse_stream(account: AccountState, spec: dict[str, Any]) -> None:
    """A scenario whose account may not stream images. The wording is ours: no real refusal
    of an image stream is published; it names `stream`, as the API names the parameter it
    refuses."""
    if spec["stream"] and account.scenario.streaming_refused:
        raise ApiFailure(
            400,
            f"Streaming is not supported for model '{spec['model']}' on this account.",
            param="stream",
            code="unsupported_value",
        )


class Simulator:
    """The routes, all answering from one `SimulatorState`."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def account_route(self, handle: AccountHandler) -> Endpoint:
        """An API route behind the gate: the key must open an account (which then answers
        at its scenario's speed), and any refusal becomes the API's error answer."""

        @functools.wraps(handle)  # keeps the handler's name as the route's name
        async def route(request: Request) -> Response:
            started = time.perf_counter()
            account = None
            try:
                account = authenticate(self.state, request)
                await slow_down(account)
                reply = await handle(request, account)
                if isinstance(reply, Response):
                    reply.headers.update(api_headers(account, started))
                    return reply
                body, headers = reply
                return JSONResponse(body, headers=api_headers(account, started) | headers)
            except ApiFailure as exc:
                return failure(exc, account, started)

        return route

    # --- models -------------------------------------------------------------------------

    async def list_models(self, request: Request, account: AccountState) -> Reply:
        data = [model_object(account, m, c) for m, c in account.models()]
        return {"object": "list", "data": data}, {}

    async def get_model(self, request: Request, account: AccountState) -> Reply:
        model = request.path_params["model"]
        for listed, created in account.models():
            if listed == model:
                return model_object(account, model, created), {}
        raise model_not_found(model)

    # --- images -------------------------------------------------------------------------
    # Parameters are validated before the gate's account refusals, in the API's order.

    async def generate(self, request: Request, account: AccountState) -> Reply:
        spec = validate(json_params(await request.body()), GENERATION_PARAMS)
        expected = expected_tokens(spec)
        refuse_stream(account, spec)
        headers = reserve_images(self.state, account, spec["model"], spec["n"], expected)
        if spec["stream"]:
            return sse(image_stream(account, spec, 0, "image_generation"), headers)
        return make_images(account, spec, 0), headers

    async def edit(self, request: Request, account: AccountState) -> Reply:
        spec, sizes = await edit_params(request)
        input_tokens = sum(input_image_tokens(w, h) for w, h in sizes)
        expected = expected_tokens(spec)
        refuse_stream(account, spec)
        headers = reserve_images(
            self.state, account, spec["model"], spec["n"], expected + input_tokens
        )
        if spec["stream"]:
            return sse(image_stream(account, spec, input_tokens, "image_edit"), headers)
        return make_images(account, spec, input_tokens), headers

    async def responses(self, request: Request, account: AccountState) -> Reply:
        return create_response(self.state, account, json_params(await request.body()))

    # --- Admin API ----------------------------------------------------------------------

    def admin_route(self, handle: AdminHandler) -> Endpoint:
        """An Admin API route: the admin key opens its organization's account."""

        @functools.wraps(handle)
        async def route(request: Request) -> Response:
            started = time.perf_counter()
            admin = None
            try:
                admin = authenticate(self.state, request, admin=True)
                body = await handle(request, admin)
                return JSONResponse(body, headers=api_headers(admin, started))
            except ApiFailure as exc:
                return failure(exc, admin, started)

        return route

    async def project_rate_limits(self, request: Request) -> Response:
        started = time.perf_counter()
        account = None
        try:
            admin = authenticate(self.state, request, admin=True)
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
            return JSONResponse(body, headers=api_headers(admin, started))
        except ApiFailure as exc:
            return failure(exc, account, started)

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
        account = self.state.account_named(request.path_params["name"])
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


def create_app(state: SimulatorState | None = None, *, clock: Clock = wall_clock) -> Starlette:
    """The simulator over `state`; `clock` (UTC) dates the Admin API's usage and costs."""
    sim = Simulator(state or SimulatorState())
    gated = sim.account_route
    usage = UsageApi(sim.state, clock)
    routes = [
        Route("/v1/models", gated(sim.list_models), methods=["GET"]),
        Route("/v1/models/{model:path}", gated(sim.get_model), methods=["GET"]),
        Route("/v1/images/generations", gated(sim.generate), methods=["POST"]),
        Route("/v1/images/edits", gated(sim.edit), methods=["POST"]),
        Route("/v1/responses", gated(sim.responses), methods=["POST"]),
        Route(
            "/v1/organization/projects/{project_id}/rate_limits",
            sim.project_rate_limits,
            methods=["GET"],
        ),
        Route("/v1/organization/usage/images", sim.admin_route(usage.images), methods=["GET"]),
        Route("/v1/organization/costs", sim.admin_route(usage.costs), methods=["GET"]),
        Route(
            "/v1/organization/projects/{project_id}/api_keys",
            sim.admin_route(usage.api_keys),
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
