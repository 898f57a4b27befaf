"""The simulator's Azure OpenAI face, served beside the OpenAI routes on the same port.

Routes: the deployment route (`/openai/deployments/{deployment}/images/generations|edits?
api-version=…`), the v1 route (`/openai/v1/images/generations` with the deployment name as
`model`, `/openai/v1/models`) and the data-plane catalog (`GET /openai/models?api-version=…`).
A key opens a scenario account (`azure_scenarios`) by the `api-key` header or as an Entra ID
bearer token. Answers carry Azure's error bodies and headers (`azure_answers`); a successful
image answer is the OpenAI face's, which Azure serves unchanged from the same models.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.simulator.azure_answers import (
    API_VERSIONS,
    GPT_IMAGE_SINCE,
    IMAGES_SINCE,
    V1_VERSIONS,
    api_version_not_supported,
    azure_headers,
    call_rate_limited,
    catalog_entry,
    content_filtered,
    deployment_not_found,
    invalid_subscription_key,
    invalid_token,
    model_headers,
    model_needs_newer_api_version,
    resource_blocked,
    resource_not_found,
    timestamp,
    v1_model,
)
from monitor.simulator.azure_scenarios import (
    AZURE_SCENARIOS,
    AzureDeployment,
    AzureScenario,
    CatalogModel,
)
from monitor.simulator.errors import ApiFailure
from monitor.simulator.images import expected_tokens, input_image_tokens, make_images
from monitor.simulator.scenarios import Scenario
from monitor.simulator.state import AccountState, SimulatorState
from monitor.simulator.validation import GENERATION_PARAMS, edit_params, json_params, validate

AzureReply = tuple[dict[str, Any], dict[str, str]]
AzureHandler = Callable[[Request, "AzureAccount"], Awaitable[AzureReply]]
UNDATED = ("preview", "latest")

CONTROL_FIELDS: dict[str, type] = {
    "throttled": bool,
    "content_filter": bool,
    "blocked": bool,
    "retry_after_ms": int,
    "requests_per_minute": int,
    "model_version": str,
    "retires": str,
}


@dataclasses.dataclass
class AzureAccount:
    """One Azure resource's mutable state; `backing` holds its windows and its bill."""

    scenario: AzureScenario
    deployments: dict[str, AzureDeployment]
    catalog: list[CatalogModel]
    throttled: bool
    content_filter: bool
    blocked: bool
    retry_after_ms: int
    requests_per_minute: int
    tokens_per_minute: int
    backing: AccountState
    requests: int = 0

    @classmethod
    def from_scenario(cls, scenario: AzureScenario) -> AzureAccount:
        backing = AccountState.from_scenario(
            Scenario(
                name=scenario.name,
                api_key=scenario.api_key,
                description=scenario.description,
                expect={},
                organization="",
                project="",
            )
        )
        return cls(
            scenario=scenario,
            deployments={d.name: d for d in scenario.deployments},
            catalog=list(scenario.catalog),
            throttled=scenario.throttled,
            content_filter=scenario.content_filter,
            blocked=scenario.blocked,
            retry_after_ms=scenario.retry_after_ms,
            requests_per_minute=scenario.requests_per_minute,
            tokens_per_minute=scenario.tokens_per_minute,
            backing=backing,
        )

    @property
    def name(self) -> str:
        return self.scenario.name

    def served(self) -> AzureDeployment | None:
        """The deployment the scenario's config names, when the resource has it."""
        return self.deployments.get(self.scenario.deployment)

    def apply(self, changes: dict[str, Any]) -> list[str]:
        """A control-route change; returns problems (unknown or mistyped fields)."""
        problems = [
            f"unknown field {key!r}" if key not in CONTROL_FIELDS else f"{key}: wrong type"
            for key, value in changes.items()
            if key not in CONTROL_FIELDS
            or (isinstance(value, bool) and CONTROL_FIELDS[key] is not bool)
            or not isinstance(value, CONTROL_FIELDS[key])
        ]
        if "retires" in changes and not problems:
            try:
                dt.date.fromisoformat(changes["retires"])
            except ValueError:
                problems.append("retires: expected a date (YYYY-MM-DD)")
        if problems:
            return problems
        for key, value in changes.items():
            if key == "model_version":
                self.move_version(value)
            elif key == "retires":
                self.retire(value)
            else:
                setattr(self, key, value)
        return []

    def move_version(self, version: str) -> None:
        """The configured deployment now serves `version`, which the catalog lists."""
        served = self.served()
        if served is None:
            return
        self.deployments[served.name] = dataclasses.replace(served, version=version)
        if not any(c.model == served.model and c.version == version for c in self.catalog):
            today = dt.datetime.now(dt.UTC).date().isoformat()
            self.catalog.append(CatalogModel(served.model, version, today, "2028-12-31"))

    def retire(self, day: str) -> None:
        """The served version retires on `day`."""
        served = self.served()
        if served is None:
            return
        self.catalog = [
            dataclasses.replace(c, retires=day)
            if (c.model, c.version) == (served.model, served.version)
            else c
            for c in self.catalog
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "deployments": {
                d.name: {"model": d.model, "version": d.version} for d in self.deployments.values()
            },
            "catalog": [f"{c.model}-{c.version} retires {c.retires}" for c in self.catalog],
            "throttled": self.throttled,
            "content_filter": self.content_filter,
            "blocked": self.blocked,
            "retry_after_ms": self.retry_after_ms,
            "requests_per_minute": self.requests_per_minute,
            "billed_images": self.backing.billed_images,
            "spend_usd": str(self.backing.spend_usd),
            "requests": self.requests,
        }


def api_version(request: Request, images: bool) -> str:
    """The deployment route's api-version: required, known, and (for images) recent enough."""
    version = request.query_params.get("api-version")
    if not version:
        raise resource_not_found()
    if version not in API_VERSIONS:
        raise api_version_not_supported()
    if images and version not in UNDATED and version < IMAGES_SINCE:
        raise resource_not_found()
    return version


def v1_version(request: Request) -> str:
    """The v1 route takes no dated api-version: a dated one is refused."""
    version = request.query_params.get("api-version") or "v1"
    if version not in V1_VERSIONS:
        raise api_version_not_supported()
    return version


class AzureFace:
    """The Azure routes, answering from their own scenario accounts."""

    def __init__(
        self, state: SimulatorState, scenarios: tuple[AzureScenario, ...] = AZURE_SCENARIOS
    ) -> None:
        self.state = state
        self.scenarios = scenarios
        self.reset()

    def reset(self) -> None:
        self.accounts = {s.name: AzureAccount.from_scenario(s) for s in self.scenarios}
        self.by_key = {
            a.scenario.api_key: a for a in self.accounts.values() if a.scenario.registered
        }

    def account_named(self, name: str) -> AzureAccount | None:
        return self.accounts.get(name)

    def authenticate(self, request: Request) -> AzureAccount:
        """The account an `api-key` header (or an Entra ID bearer token) opens."""
        key = request.headers.get("api-key")
        if key is not None:
            account = self.by_key.get(key.strip())
            if account is None:
                raise invalid_subscription_key()
            return account
        raw = request.headers.get("authorization", "")
        if raw.lower().startswith("bearer "):
            account = self.by_key.get(raw[7:].strip())
            if account is None:
                raise invalid_token()
            return account
        raise invalid_subscription_key()

    def gated(self, handle: AzureHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handle)
        async def route(request: Request) -> Response:
            headers = azure_headers()
            try:
                account = self.authenticate(request)
                account.requests += 1
                body, extra = await handle(request, account)
                return JSONResponse(body, headers=headers | extra)
            except ApiFailure as exc:
                return JSONResponse(exc.body, status_code=exc.status, headers=headers | exc.headers)

        return route

    # --- images -------------------------------------------------------------------------

    def deployment(self, account: AzureAccount, name: str, version: str) -> AzureDeployment:
        """The deployment a call names, once the resource may serve images at `version`."""
        if account.blocked:  # the whole resource, before anything about the call
            raise resource_blocked()
        found = account.deployments.get(name)
        if found is None:
            raise deployment_not_found()
        if (
            found.model.startswith("gpt-image")
            and version not in (*UNDATED, *V1_VERSIONS)
            and version < GPT_IMAGE_SINCE
        ):
            raise model_needs_newer_api_version(GPT_IMAGE_SINCE)
        return found

    def generate_images(
        self, account: AzureAccount, version: str, spec: dict[str, Any], input_tokens: int
    ) -> AzureReply:
        if account.content_filter:  # the prompt is judged once the call is valid
            raise content_filtered()
        headers = self.reserve(account, version, expected_tokens(spec) + input_tokens)
        return make_images(account.backing, spec, input_tokens), headers

    def reserve(self, account: AzureAccount, version: str, tokens: int) -> dict[str, str]:
        """Count the call against the deployment's per-minute quota (Azure counts requests),
        or refuse it with Azure's 429."""
        now = self.state.monotonic()
        calls, used_tokens = account.backing.images, account.backing.tokens
        used = calls.used(now)
        spent = used_tokens.used(now)
        if account.throttled or used + 1 > account.requests_per_minute:
            wait_ms = (
                account.retry_after_ms
                if account.throttled
                else max(1, round(calls.reset_in(now) * 1000))
            )
            remaining = model_headers(0, account.tokens_per_minute - spent)
            raise call_rate_limited(version, wait_ms, remaining)
        calls.add(now, 1)
        used_tokens.add(now, tokens)
        return model_headers(
            account.requests_per_minute - used - 1, account.tokens_per_minute - spent - tokens
        )

    async def deployment_generate(self, request: Request, account: AzureAccount) -> AzureReply:
        version = api_version(request, images=True)
        found = self.deployment(account, request.path_params["deployment"], version)
        params = json_params(await request.body())
        params["model"] = found.model  # the deployment decides the model, whatever is sent
        spec = validate(params, GENERATION_PARAMS)
        return self.generate_images(account, version, spec, 0)

    async def deployment_edit(self, request: Request, account: AzureAccount) -> AzureReply:
        version = api_version(request, images=True)
        found = self.deployment(account, request.path_params["deployment"], version)
        spec, sizes = await edit_params(request, model=found.model)
        inputs = sum(input_image_tokens(w, h) for w, h in sizes)
        return self.generate_images(account, version, spec, inputs)

    async def v1_generate(self, request: Request, account: AzureAccount) -> AzureReply:
        version = v1_version(request)
        params = json_params(await request.body())
        # `model` names the deployment; an unknown one gets the deployment route's 404 (no
        # v1 answer to a missing deployment is quoted in our sources).
        found = self.deployment(account, str(params.get("model") or ""), version)
        params["model"] = found.model
        spec = validate(params, GENERATION_PARAMS)
        return self.generate_images(account, version, spec, 0)

    # --- models -------------------------------------------------------------------------

    async def catalog(self, request: Request, account: AzureAccount) -> AzureReply:
        api_version(request, images=False)
        data = [catalog_entry(c.model, c.version, c.created, c.retires) for c in account.catalog]
        return {"data": data, "object": "list"}, {}

    async def v1_models(self, request: Request, account: AzureAccount) -> AzureReply:
        v1_version(request)
        data = [v1_model(f"{c.model}-{c.version}", timestamp(c.created)) for c in account.catalog]
        return {"object": "list", "data": data}, {}

    async def not_found(self, request: Request) -> Response:
        """Any other path under /openai: Azure's bare 404."""
        exc = resource_not_found()
        return JSONResponse(exc.body, status_code=exc.status, headers=azure_headers())

    def routes(self) -> list[Route]:
        gated = self.gated
        deployment = "/openai/deployments/{deployment}/images"
        return [
            Route(f"{deployment}/generations", gated(self.deployment_generate), methods=["POST"]),
            Route(f"{deployment}/edits", gated(self.deployment_edit), methods=["POST"]),
            Route("/openai/v1/images/generations", gated(self.v1_generate), methods=["POST"]),
            Route("/openai/v1/models", gated(self.v1_models), methods=["GET"]),
            Route("/openai/models", gated(self.catalog), methods=["GET"]),
            Route("/openai/{rest:path}", self.not_found, methods=["GET", "POST"]),
        ]
