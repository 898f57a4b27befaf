"""The simulator's gateway face: an OpenAI-compatible gateway (a LiteLLM proxy, or OpenRouter)
in front of OpenAI, at `/gateway/v1` on the same port as the OpenAI face.

Bearer keys `sk-gw-sim-<scenario>` open gateway scenario accounts. The OpenAI paths the
monitor probes answer as the gateway really sends them: the upstream's image answer with the
gateway's own headers, and the gateway's envelopes for what it refuses itself (LiteLLM's
`litellm.RateLimitError: …` with the status as a string `code`, OpenRouter's numeric 402).
A gateway has no Admin API and no `/models/{snapshot}`: those paths get its unknown-route
answer. Bodies follow the corpus of real answers (tests/fixtures/openai_answers/).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.simulator.errors import ApiFailure
from monitor.simulator.gate import reserve_images
from monitor.simulator.images import expected_tokens, make_images
from monitor.simulator.scenarios import Scenario, face_expect
from monitor.simulator.state import AccountState, SimulatorState
from monitor.simulator.validation import GENERATION_PARAMS, json_params, validate

LITELLM = "litellm"
OPENROUTER = "openrouter"
# LiteLLM's /v1/models lists every model of its config with this `created` and owner
# (litellm/proxy/proxy_server.py, model_list).
LISTED_CREATED = 1677610602
LITELLM_VERSION = "1.74.9"


@dataclasses.dataclass(frozen=True)
class GatewayScenario:
    name: str
    api_key: str
    description: str
    expect: dict[str, str]
    gateway: str = LITELLM
    models: tuple[str, ...] = ("gpt-image-2", "gpt-image-1")
    images_per_minute: int = 50
    """The upstream OpenAI account's images per minute."""
    background_images: int = 0
    """Images other clients of the upstream account use each minute."""
    out_of_credits: bool = False
    """OpenRouter refuses every paid call with 402: the account has no credits."""
    registered: bool = True

    def listing(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "api_key": self.api_key,
            "description": self.description,
            "expect": dict(self.expect),
            "gateway": self.gateway,
        }


def _gateway(
    short: str, description: str, expect: dict[str, str], **fields: Any
) -> GatewayScenario:
    return GatewayScenario(
        name=f"gateway-{short}",
        api_key=f"sk-gw-sim-{short}",
        description=description,
        expect=expect,
        **fields,
    )


GATEWAY_SCENARIOS: tuple[GatewayScenario, ...] = (
    _gateway(
        "ready",
        "A LiteLLM proxy in front of a verified OpenAI account: images come back with the "
        "proxy's x-litellm-* headers and the upstream's rate-limit headers.",
        face_expect(),
    ),
    _gateway(
        "rate-limited",
        "A LiteLLM proxy whose upstream account is rate limited: 429 'litellm.RateLimitError: "
        '…\' with code "429" (a string) and type throttling_error.',
        face_expect(generation="rate_limited"),
        images_per_minute=5,
        background_images=5,
    ),
    _gateway(
        "no-credits",
        "An OpenRouter account that never bought credits: 402 'Insufficient credits' with the "
        "numeric code 402.",
        face_expect(generation="credits_exhausted"),
        gateway=OPENROUTER,
        out_of_credits=True,
    ),
    _gateway(
        "wrong-key",
        "A virtual key the LiteLLM proxy does not know: every call answers 401 'Authentication "
        "Error, Invalid proxy server token passed'.",
        face_expect(model_listing="invalid_api_key", generation="invalid_api_key"),
        registered=False,
    ),
)


def gateway_failure(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> ApiFailure:
    failure = ApiFailure(status, str(body), headers=headers)
    failure.body = body
    return failure


def invalid_proxy_token(key: str) -> ApiFailure:
    """LiteLLM's refusal of a virtual key it does not hold: the key's last four characters
    and its SHA-256 hash, type token_not_found_in_db, code "401"
    (https://github.com/OpenHands/OpenHands/issues/17390,
    https://github.com/continuedev/continue/issues/10768)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    message = (
        f"Authentication Error, Invalid proxy server token passed. Received API Key = "
        f"sk-...{key[-4:]}, Key Hash (Token) ={digest}. Unable to find token in cache or "
        "`LiteLLM_VerificationTokenTable`"
    )
    return gateway_failure(
        401,
        {
            "error": {
                "message": message,
                "type": "token_not_found_in_db",
                "param": "key",
                "code": "401",
            }
        },
    )


def litellm_rate_limited(upstream: ApiFailure) -> ApiFailure:
    """An upstream 429 as the proxy passes it on: the provider's message inside LiteLLM's,
    code "429", type throttling_error, and no retry-after, which the proxy sends only for its
    own limits (litellm-proxy-429-docs-error-reference.json)."""
    message = upstream.body["error"]["message"]
    return gateway_failure(
        429,
        {
            "error": {
                "message": f"litellm.RateLimitError: RateLimitError: OpenAIException - {message}",
                "type": "throttling_error",
                "param": None,
                "code": "429",
            }
        },
    )


def openrouter_no_credits() -> ApiFailure:
    """OpenRouter's 402 for an account without credits: numeric code, no type
    (openrouter-402-credits-free-claude-code-772.json)."""
    return gateway_failure(
        402,
        {
            "error": {
                "message": "Insufficient credits. This account never purchased credits. Make sure "
                "your key is on the correct account or org, and if so, purchase more at "
                "https://openrouter.ai/settings/credits",
                "code": 402,
            }
        },
    )


def litellm_headers(model: str, upstream: dict[str, str]) -> dict[str, str]:
    """The proxy's own headers, and the upstream's rate-limit headers both as they are and
    prefixed `llm_provider-` (docs.litellm.ai/docs/proxy/response_headers)."""
    headers = {
        "x-litellm-call-id": str(uuid.uuid4()),
        "x-litellm-model-id": hashlib.sha256(model.encode()).hexdigest(),
        "x-litellm-model-group": model,
        "x-litellm-version": LITELLM_VERSION,
        "x-litellm-attempted-retries": "0",
    }
    for name, value in upstream.items():
        headers[name] = value
        headers[f"llm_provider-{name}"] = value
    return headers


@dataclasses.dataclass
class GatewayAccount:
    scenario: GatewayScenario
    upstream: AccountState
    out_of_credits: bool
    requests: int = 0

    @classmethod
    def from_scenario(cls, scenario: GatewayScenario) -> GatewayAccount:
        upstream = AccountState.from_scenario(
            Scenario(
                name=scenario.name,
                api_key=scenario.api_key,
                description=scenario.description,
                expect={},
                organization=f"org-{scenario.name}",
                project=f"proj_{scenario.name.replace('-', '_')}",
            )
        )
        upstream.images_per_minute = scenario.images_per_minute
        upstream.background_images = scenario.background_images
        return cls(scenario=scenario, upstream=upstream, out_of_credits=scenario.out_of_credits)

    @property
    def name(self) -> str:
        return self.scenario.name

    def apply(self, changes: dict[str, Any]) -> list[str]:
        """A control-route change: `out_of_credits` (bool) or `images_per_minute` (int)."""
        kinds = {"out_of_credits": bool, "images_per_minute": int}
        problems = [
            f"unknown field {k!r}" if k not in kinds else f"{k}: wrong type"
            for k, v in changes.items()
            if k not in kinds or type(v) is not kinds[k]
        ]
        if problems:
            return problems
        if "out_of_credits" in changes:
            self.out_of_credits = changes["out_of_credits"]
        if "images_per_minute" in changes:
            self.upstream.images_per_minute = changes["images_per_minute"]
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "gateway": self.scenario.gateway,
            "out_of_credits": self.out_of_credits,
            "images_per_minute": self.upstream.images_per_minute,
            "billed_images": self.upstream.billed_images,
            "requests": self.requests,
        }


GatewayReply = tuple[dict[str, Any], dict[str, str]]
GatewayHandler = Callable[[Request, GatewayAccount], Awaitable[GatewayReply]]


class GatewayFace:
    """The gateway routes, answering from their own scenario accounts."""

    def __init__(
        self, state: SimulatorState, scenarios: tuple[GatewayScenario, ...] = GATEWAY_SCENARIOS
    ) -> None:
        self.state = state
        self.scenarios = scenarios
        self.reset()

    def reset(self) -> None:
        self.accounts = {s.name: GatewayAccount.from_scenario(s) for s in self.scenarios}
        self.by_key = {
            a.scenario.api_key: a for a in self.accounts.values() if a.scenario.registered
        }

    def account_named(self, name: str) -> GatewayAccount | None:
        return self.accounts.get(name)

    def authenticate(self, request: Request) -> GatewayAccount:
        raw = request.headers.get("authorization", "")
        key = raw[7:].strip() if raw.lower().startswith("bearer ") else ""
        account = self.by_key.get(key)
        if account is None:
            raise invalid_proxy_token(key or "None")
        return account

    def gated(self, handle: GatewayHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handle)
        async def route(request: Request) -> Response:
            try:
                account = self.authenticate(request)
                account.requests += 1
                body, headers = await handle(request, account)
                return JSONResponse(body, headers=headers)
            except ApiFailure as exc:
                return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

        return route

    async def list_models(self, request: Request, account: GatewayAccount) -> GatewayReply:
        data = [
            {"id": m, "object": "model", "created": LISTED_CREATED, "owned_by": "openai"}
            for m in account.scenario.models
        ]
        return {"data": data, "object": "list"}, {}

    async def generate(self, request: Request, account: GatewayAccount) -> GatewayReply:
        spec = validate(json_params(await request.body()), GENERATION_PARAMS)
        if account.out_of_credits:
            raise openrouter_no_credits()
        try:
            upstream = reserve_images(
                self.state, account.upstream, spec["model"], spec["n"], expected_tokens(spec)
            )
        except ApiFailure as exc:
            if exc.status == 429 and account.scenario.gateway == LITELLM:
                raise litellm_rate_limited(exc) from None
            raise
        body = make_images(account.upstream, spec, 0)
        if account.scenario.gateway != LITELLM:
            return body, {}
        return body, litellm_headers(spec["model"], upstream)

    async def not_found(self, request: Request) -> Response:
        """Paths the gateway does not serve (the Admin API, `/models/{id}`): the proxy's web
        framework's 404 (FastAPI's `{"detail": "Not Found"}`)."""
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    def routes(self) -> list[Route]:
        return [
            Route("/gateway/v1/models", self.gated(self.list_models), methods=["GET"]),
            Route("/gateway/v1/images/generations", self.gated(self.generate), methods=["POST"]),
            Route("/gateway/{rest:path}", self.not_found, methods=["GET", "POST"]),
        ]
