"""Mutable simulator state: one AccountState per scenario, sliding-window rate limits, prices."""

from __future__ import annotations

import collections
import copy
import dataclasses
import math
import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from checks.prices import LITELLM_KEYS, PUBLISHED
from monitor.simulator.azure_prices import AZURE_ROWS
from monitor.simulator.scenarios import (
    BASE_MODELS,
    MOVED_IMAGE_OUTPUT_PER_MILLION,
    SCENARIOS,
    TIERS,
    UNVERIFIED_STATUSES,
    Scenario,
    numbered_for,
)

WINDOW_SECONDS = 60.0


def go_duration(seconds: float) -> str:
    """How the API writes reset times: `12ms`, `1.5s`, `6m0s`, `1h2m3s`."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}s"


class SlidingWindow:
    """Events in the last minute: each (time, amount) leaves the window 60 s after it came."""

    def __init__(self) -> None:
        self.events: collections.deque[tuple[float, int]] = collections.deque()

    def used(self, now: float) -> int:
        while self.events and self.events[0][0] <= now - WINDOW_SECONDS:
            self.events.popleft()
        return sum(amount for _, amount in self.events)

    def add(self, now: float, amount: int) -> None:
        self.events.append((now, amount))

    def reset_in(self, now: float) -> float:
        self.used(now)
        return (self.events[0][0] + WINDOW_SECONDS - now) if self.events else 0.0


CONTROL_FIELDS: dict[str, type | tuple[type, ...]] = {
    "verified": bool,
    "unverified_status": int,
    "quota_exhausted": bool,
    "billing_hard_limit": bool,
    "billing_not_active": bool,
    "region_blocked": bool,
    "images_scope_missing": bool,
    "moderation_refuses": bool,
    "allowed_models": (list, type(None)),
    "revoked_models": list,
    "withdrawn": list,
    "extra_models": list,
    "shutdown_dates": dict,
    "error_share": (int, float),
    "slow_ms": int,
    "background_images": int,
    "tier": int,
    "images_per_minute": int,
    "tokens_per_minute": int,
}


@dataclasses.dataclass
class AccountState:
    scenario: Scenario
    verified: bool
    unverified_status: int
    quota_exhausted: bool
    billing_hard_limit: bool
    billing_not_active: bool
    region_blocked: bool
    images_scope_missing: bool
    moderation_refuses: bool
    allowed_models: list[str] | None
    revoked_models: list[str]
    withdrawn: list[str]
    extra_models: list[tuple[str, int]]
    shutdown_dates: dict[str, str]
    error_share: float
    slow_ms: int
    background_images: int
    images_per_minute: int
    tokens_per_minute: int
    images: SlidingWindow = dataclasses.field(default_factory=SlidingWindow)
    tokens: SlidingWindow = dataclasses.field(default_factory=SlidingWindow)
    image_requests: int = 0
    failures_sent: int = 0
    spend_usd: Decimal = Decimal(0)
    billed_images: int = 0
    requests: int = 0

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> AccountState:
        images, tokens = TIERS[scenario.tier]
        return cls(
            scenario=scenario,
            verified=scenario.verified,
            unverified_status=scenario.unverified_status,
            quota_exhausted=scenario.quota_exhausted,
            billing_hard_limit=False,
            billing_not_active=scenario.billing_not_active,
            region_blocked=scenario.region_blocked,
            images_scope_missing=scenario.images_scope_missing,
            moderation_refuses=scenario.moderation_refuses,
            allowed_models=list(scenario.allowed_models) if scenario.allowed_models else None,
            revoked_models=[],
            withdrawn=list(scenario.withdrawn),
            extra_models=list(scenario.extra_models),
            shutdown_dates=dict(scenario.shutdown_dates),
            error_share=scenario.error_share,
            slow_ms=scenario.slow_ms,
            background_images=scenario.background_images,
            images_per_minute=images,
            tokens_per_minute=tokens,
        )

    @property
    def name(self) -> str:
        return self.scenario.name

    def models(self) -> list[tuple[str, int]]:
        listed = [(m, c) for m, c in BASE_MODELS if m not in self.withdrawn]
        return listed + [(m, c) for m, c in self.extra_models if m not in self.withdrawn]

    def knows(self, model: str) -> bool:
        return any(m == model for m, _ in self.models())

    def allows(self, model: str) -> bool:
        if model in self.revoked_models:
            return False
        return self.allowed_models is None or model in self.allowed_models

    def next_is_failure(self) -> bool:
        """Spread failures evenly at `error_share` (deterministic, so tests can rely on it)."""
        self.image_requests += 1
        expected = math.floor(self.image_requests * self.error_share + 1e-9)
        if expected > self.failures_sent:
            self.failures_sent += 1
            return True
        return False

    def apply(self, changes: dict[str, Any]) -> list[str]:
        """Apply a control-route change; returns problems (unknown or mistyped fields)."""
        problems = []
        for key, value in changes.items():
            kind = CONTROL_FIELDS.get(key)
            if kind is None:
                problems.append(f"unknown field {key!r}")
            elif (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
                problems.append(f"{key}: wrong type")
        if problems:
            return problems
        for key, value in changes.items():
            if key == "tier":
                if value not in TIERS:
                    return [f"tier: must be one of {sorted(TIERS)}"]
                self.images_per_minute, self.tokens_per_minute = TIERS[value]
            elif key == "unverified_status":
                if value not in UNVERIFIED_STATUSES:
                    return [f"unverified_status: must be one of {list(UNVERIFIED_STATUSES)}"]
                self.unverified_status = value
            elif key == "extra_models":
                self.extra_models = [(str(m), int(time.time())) for m in value]
            elif key == "error_share":
                self.error_share = min(1.0, max(0.0, float(value)))
                self.image_requests = self.failures_sent = 0
            else:
                setattr(self, key, value)
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verified": self.verified,
            "unverified_status": self.unverified_status,
            "quota_exhausted": self.quota_exhausted,
            "billing_hard_limit": self.billing_hard_limit,
            "billing_not_active": self.billing_not_active,
            "region_blocked": self.region_blocked,
            "images_scope_missing": self.images_scope_missing,
            "moderation_refuses": self.moderation_refuses,
            "allowed_models": self.allowed_models,
            "revoked_models": self.revoked_models,
            "withdrawn": self.withdrawn,
            "extra_models": [m for m, _ in self.extra_models],
            "shutdown_dates": self.shutdown_dates,
            "error_share": self.error_share,
            "slow_ms": self.slow_ms,
            "background_images": self.background_images,
            "images_per_minute": self.images_per_minute,
            "tokens_per_minute": self.tokens_per_minute,
            "spend_usd": str(self.spend_usd),
            "billed_images": self.billed_images,
            "requests": self.requests,
        }


def published_prices() -> dict[str, dict[str, Any]]:
    """A LiteLLM-shaped cost map (USD per token) for the GPT image models, with LiteLLM's own
    `azure/…` rows for them."""
    document: dict[str, dict[str, Any]] = {}
    for model, table in PUBLISHED.items():
        entry: dict[str, Any] = {
            LITELLM_KEYS[category]: float(price / 1_000_000) for category, price in table.items()
        }
        entry.update(
            output_cost_per_token=1e-05,
            litellm_provider="openai",
            mode="image_generation",
            supported_endpoints=["/v1/images/generations", "/v1/images/edits"],
        )
        document[model] = entry
    # LiteLLM's own Azure rows, so an Azure account prices as in the real file (a copy each: the
    # control route changes rows in place).
    document.update({key: copy.deepcopy(row) for key, row in AZURE_ROWS.items()})
    document["gpt-4o"] = {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "litellm_provider": "openai",
        "mode": "chat",
    }
    return document


def moved_prices() -> dict[str, dict[str, Any]]:
    document = published_prices()
    document["gpt-image-2"]["output_cost_per_image_token"] = float(
        Decimal(MOVED_IMAGE_OUTPUT_PER_MILLION) / 1_000_000
    )
    return document


class SimulatorState:
    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        scenarios: tuple[Scenario, ...] = SCENARIOS,
    ) -> None:
        self.monotonic = monotonic
        self.scenarios = scenarios
        self.reset()

    def reset(self) -> None:
        self.accounts = {s.name: AccountState.from_scenario(s) for s in self.scenarios}
        self.by_key = {s.api_key: self.accounts[s.name] for s in self.scenarios if s.registered}
        self.by_admin_key = {
            s.admin_key: self.accounts[s.name]
            for s in self.scenarios
            if s.admin_key and s.registered
        }
        self.projects = {a.scenario.project: a for a in self.accounts.values()}
        self.prices = published_prices()

    def by_project(self, project_id: str) -> AccountState | None:
        return self.projects.get(project_id)

    def account_for_key(self, key: str, admin: bool = False) -> AccountState | None:
        """The account a key opens: a scenario's own key, or a numbered copy's
        (`sk-sim-verified-0001`), made on first use."""
        found = (self.by_admin_key if admin else self.by_key).get(key)
        if found is not None:
            return found
        copy = numbered_for(key)
        if copy is not None:
            self._add(copy[0])
        return (self.by_admin_key if admin else self.by_key).get(key)

    def account_named(self, name: str) -> AccountState | None:
        """A scenario account by name, numbered copies (`verified-0001`) included."""
        found = self.accounts.get(name)
        if found is not None:
            return found
        copy = numbered_for(name, key=False)
        return None if copy is None else self._add(copy[0])

    def _add(self, scenario: Scenario) -> AccountState | None:
        existing = self.accounts.get(scenario.name)
        if existing is not None or not scenario.registered:
            return existing  # a revoked key's copies stay unknown, as its own key does
        account = AccountState.from_scenario(scenario)
        self.accounts[scenario.name] = account
        self.by_key[scenario.api_key] = account
        if scenario.admin_key:
            self.by_admin_key[scenario.admin_key] = account
        self.projects[scenario.project] = account
        return account


def request_id() -> str:
    return "req_" + secrets.token_hex(16)
