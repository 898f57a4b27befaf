"""The types every check shares: what a probe gets (ProbeContext) and what it gives (Outcome)."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from checks.settings import CheckSettings

T = TypeVar("T")


class Status(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"

    @property
    def severity(self) -> int:
        """How bad, for sorting and for the worst of several: a fail over a could-not-tell
        over a warning over a skipped probe over a pass."""
        return _SEVERITY[self]

    @staticmethod
    def worst(statuses: Iterable[str]) -> Status:
        """The most severe of `statuses` (plain strings from the store are welcome); PASS
        when there are none."""
        return max((Status(s) for s in statuses), key=_SEVERITY.__getitem__, default=Status.PASS)


_SEVERITY = {
    Status.PASS: 0,
    Status.SKIPPED: 1,
    Status.WARN: 2,
    Status.UNKNOWN: 3,
    Status.FAIL: 4,
}


class Verdict(enum.StrEnum):
    """What a set of results says about readiness. The one rule behind the exit codes, an
    account's state on the page and the go/no-go."""

    READY = "ready"
    NOT_READY = "not_ready"
    INCONCLUSIVE = "inconclusive"

    @staticmethod
    def of(statuses: Iterable[str]) -> Verdict:
        """Any fail: not ready. Otherwise any unknown or skipped probe (what was not asked
        was not proven): inconclusive. Otherwise (passes and warnings): ready."""
        found = {Status(s) for s in statuses}
        if Status.FAIL in found:
            return Verdict.NOT_READY
        if found & {Status.UNKNOWN, Status.SKIPPED}:
            return Verdict.INCONCLUSIVE
        return Verdict.READY

    @property
    def exit_code(self) -> int:
        return {Verdict.READY: 0, Verdict.NOT_READY: 1, Verdict.INCONCLUSIVE: 3}[self]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def fingerprint(secret: str) -> str:
    """What may be shown of a key: its last four characters, and only when the key is long
    enough that four characters do not give it away."""
    return "…" + secret[-4:] if len(secret) >= 8 else "…"


OPENAI = "openai"
AZURE = "azure"
GATEWAY = "openai-compatible"
PROVIDERS = (OPENAI, AZURE, GATEWAY)
"""The kinds of account (`provider` in the config): OpenAI itself, an Azure OpenAI resource,
and an OpenAI-compatible gateway (a LiteLLM proxy, one-api/new-api, OpenRouter)."""

TokenProvider = Callable[[], str]
"""Gives a fresh Microsoft Entra ID bearer token (azure-identity's `get_bearer_token_provider`
has this shape); it may block while it fetches one."""


@dataclasses.dataclass(frozen=True)
class Account:
    """One account as the checks see it: where to call, with which credentials.

    An Azure account's `base_url` is its resource endpoint; its requests go to the
    deployment route `/openai/deployments/{deployment}/…?api-version=…` or to the v1 route
    `/openai/v1/…`, with the deployment as `model` either way (as the official SDK's
    `AzureOpenAI` client sends it)."""

    name: str
    base_url: str
    api_key: str
    organization: str | None = None
    project: str | None = None
    admin_key: str | None = None
    models: tuple[str, ...] = ("gpt-image-2",)
    snapshots: tuple[str, ...] = ()
    required_images_per_minute: int | None = None
    capabilities: tuple[str, ...] = ()
    """The capability checks the account opts in to (`edit`, `transparency`, `streaming`,
    `responses_tool`); the others never run for it."""
    responses_model: str | None = None
    """The mainline model the `responses_tool` probe calls the Responses API with."""
    provider: str = OPENAI
    deployment: str | None = None
    api_version: str | None = None
    route: str = "deployment"
    """Azure's URL style: `deployment` or `v1`."""
    token_provider: TokenProvider | None = dataclasses.field(default=None, compare=False)
    """Azure with `auth = "entra"`: the bearer token's source, in place of the `api-key`."""
    model_version: str | None = None
    """The model version an Azure deployment runs (`2025-04-15`), when the config says it."""
    price_source: str | None = None
    """A gateway's own price source (LiteLLM-shaped); without one its prices are unknown."""
    monthly_budget_usd: Decimal | None = None
    """What the account's image spend may reach in a calendar month (the `spend` check)."""

    def headers(self, *, admin: bool = False) -> dict[str, str]:
        """The request's auth headers. For an Entra account this asks `token_provider`,
        which may block: call it off the event loop."""
        if self.provider == AZURE:
            if self.token_provider is not None:
                return {"Authorization": f"Bearer {self.token_provider()}"}
            return {"api-key": self.api_key}
        key = self.admin_key if admin else self.api_key
        headers = {"Authorization": f"Bearer {key}"}
        if self.organization and not admin:
            headers["OpenAI-Organization"] = self.organization
        if self.project and not admin:
            headers["OpenAI-Project"] = self.project
        return headers

    def url(self, path: str) -> str:
        """The URL of an API path given as OpenAI names it (`images/generations`,
        `models`)."""
        path = path.lstrip("/")
        base = self.base_url.rstrip("/")
        if self.provider != AZURE:
            return base + "/" + path
        # The config refuses a deployment or api_version that would change the path or the
        # query; percent-encoded here all the same, so that an Account built any other way
        # still calls one deployment (`a/../b` is one segment, `a%2F..%2Fb`).
        version = quote(self.api_version or "", safe="")
        if self.route == "v1":
            # The v1 API takes no dated api-version: `v1` is its default, `preview` opts in.
            query = "" if self.api_version in (None, "v1") else f"?api-version={version}"
            return f"{base}/openai/v1/{path}{query}"
        if path == "models":
            # The dated data-plane list: it alone says each version's lifecycle and retirement
            # (`deprecation.inference`).
            return f"{base}/openai/models?api-version={version}"
        deployment = quote(self.deployment or "", safe="")
        return f"{base}/openai/deployments/{deployment}/{path}?api-version={version}"

    def called(self, method: str, path: str) -> str:
        """What a summary names for a call: the method and the path actually called, without
        the query (an `api-version` today, a proxy's key tomorrow) or the host."""
        return f"{method} {urlsplit(self.url(path)).path}"

    def request_model(self, model: str) -> str:
        """The `model` a request body names: Azure routes by deployment name."""
        return self.deployment or model if self.provider == AZURE else model

    @property
    def key_fingerprint(self) -> str:
        return fingerprint(self.api_key)

    def __repr__(self) -> str:  # keys must never leak through a repr in a log or traceback
        return (
            f"Account(name={self.name!r}, provider={self.provider!r}, "
            f"base_url={self.base_url!r}, key={self.key_fingerprint})"
        )


@dataclasses.dataclass
class Evidence:
    """What earlier probes of this round (or the latest stored ones) observed for one
    (account, model): generation headers and usage feed `rate_limits` and `pricing`."""

    generation: Mapping[str, Any] | None = None
    previous: Mapping[str, Any] | None = None
    """Details of the latest stored result of this same check for this pair."""


Sleep = Callable[[float], Awaitable[None]]


async def no_sleep(seconds: float) -> None:
    return None


@dataclasses.dataclass
class ProbeContext:
    client: httpx.AsyncClient
    account: Account
    model: str
    settings: Mapping[str, Any]
    clock: Clock
    evidence: Evidence = dataclasses.field(default_factory=Evidence)
    shared: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Per-round cache shared by every probe of the round (e.g. the fetched price file)."""
    sleep: Sleep = no_sleep


async def once_per_round(ctx: ProbeContext, key: str, make: Callable[[], Awaitable[T]]) -> T:
    """`make()`'s result, awaited once per round for `key` however many probes ask for it
    (`ProbeContext.shared`); its exception, if it raises, for each of them."""
    task = ctx.shared.get(key)
    if task is None:
        task = asyncio.ensure_future(make())
        ctx.shared[key] = task
    result: T = await asyncio.shield(task)
    return result


@dataclasses.dataclass
class Outcome:
    status: Status
    reason: str
    summary: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    http_status: int | None = None
    request_id: str | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None

    def with_details(self, **extra: Any) -> Outcome:
        return dataclasses.replace(self, details={**self.details, **extra})


class Check(Protocol):
    """Everything the monitor needs to know about a check lives on its class, so that no
    code outside `checks/` names a check to decide how to run it."""

    name: ClassVar[str]
    paid: ClassVar[bool]
    scheduled: ClassVar[bool]
    """Part of every round and of the daemon's schedule. An unscheduled check runs only when
    asked for by name (`--check`, a launch profile)."""
    reads_evidence: ClassVar[str | None]
    """The check whose latest evidence this one reads; it runs after that one in a round."""
    confirms_with: ClassVar[str | None]
    """The (paid) check that confirms at once a change of this check's status."""
    settings_type: ClassVar[type[CheckSettings]]
    """The typed `[checks.<name>]` section."""
    opt_in: ClassVar[bool]
    """A capability: runs only for the accounts that list it in `capabilities`."""
    follows_recovery_of: ClassVar[str | None]
    """The check whose turn from fail to pass makes this one run at once (the door it
    shares with it has just opened)."""

    def targets(self, account: Account) -> tuple[str, ...]:
        """The model ids this check probes for the account."""
        ...

    def expected_cost(self, model: str, settings: Mapping[str, Any]) -> Decimal | None:
        """What one probe should cost before it is sent (None: free, or not priced)."""
        ...

    async def run(self, ctx: ProbeContext) -> Outcome: ...


def as_mapping(value: object) -> Mapping[str, Any]:
    """Untrusted JSON (an answer, stored details): a mapping, or nothing."""
    return value if isinstance(value, Mapping) else {}


class FreeCheck:
    """Defaults for a check that costs nothing and runs in every round; a check class
    states only where it differs."""

    paid: ClassVar[bool] = False
    scheduled: ClassVar[bool] = True
    reads_evidence: ClassVar[str | None] = None
    confirms_with: ClassVar[str | None] = None
    opt_in: ClassVar[bool] = False
    follows_recovery_of: ClassVar[str | None] = None

    def expected_cost(self, model: str, settings: Mapping[str, Any]) -> Decimal | None:
        return None


class Stopwatch:
    """Monotonic latency in milliseconds; wall clocks jump, latencies must not."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self._start) * 1000, 1)
