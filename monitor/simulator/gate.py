"""The account gate: which scenario account a key opens, and what it refuses before work.

Keys map to scenario accounts (`SimulatorState.account_for_key`, numbered copies included);
an image request then meets the account's refusals in the order the real API gives them, so
each scenario is told apart by the same answer a real account in that situation gets.
"""

from __future__ import annotations

import asyncio
import math

from starlette.requests import Request

from checks.images import family
from monitor.simulator.errors import (
    ApiFailure,
    billing_not_active,
    invalid_key,
    model_not_found,
    moderation_blocked,
    region_blocked,
    scope_missing,
    verification_required,
)
from monitor.simulator.state import AccountState, SimulatorState, go_duration


def authenticate(state: SimulatorState, request: Request, admin: bool = False) -> AccountState:
    """The account the request's bearer key opens (an admin key for the Admin API)."""
    raw = request.headers.get("authorization", "")
    if not raw.lower().startswith("bearer ") or not raw[7:].strip():
        raise ApiFailure(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    key = raw[7:].strip()
    account = state.account_for_key(key, admin)
    if account is None:
        if admin and state.account_for_key(key) is not None:
            raise ApiFailure(
                403,
                "You have insufficient permissions for this operation. Missing scopes: "
                "api.management.read. Use an admin key for the Admin API.",
            )
        raise invalid_key(key)
    account.requests += 1
    if account.region_blocked:  # decided by the caller's address, before anything else
        raise region_blocked()
    return account


async def slow_down(account: AccountState) -> None:
    """The scenario's latency, so timeouts and slow accounts can be rehearsed."""
    if account.slow_ms:
        await asyncio.sleep(account.slow_ms / 1000)


def reserve_images(
    state: SimulatorState, account: AccountState, model: str, n: int, tokens: int
) -> dict[str, str]:
    """Account-level answers, in the order the real API gives them; when the request may
    proceed, counts its images and tokens in the window and returns the rate-limit headers."""
    if account.images_scope_missing:  # the key's scopes are checked before the request's model
        raise scope_missing()
    if not model.startswith("gpt-image") or not account.knows(model):
        raise model_not_found(model)
    if account.billing_not_active:
        raise billing_not_active()
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
        raise verification_required(model, account.unverified_status)
    if not account.allows(model):
        raise ApiFailure(
            403,
            f"Project `{account.scenario.project}` does not have access to model `{model}`",
            code="model_not_found",
        )
    if account.moderation_refuses:  # the prompt is judged once the account may generate
        raise moderation_blocked()
    if account.next_is_failure():
        # Alternate the two server errors the API gives, so both paths get exercised.
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
    now = state.monotonic()
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
            headers=rate_headers(account, now, used, used_tokens)
            | {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1000))},
        )
    account.images.add(now, n)
    account.tokens.add(now, tokens)
    return rate_headers(account, now, used + n, used_tokens + tokens)


def rate_headers(account: AccountState, now: float, used: int, used_tokens: int) -> dict[str, str]:
    """The `x-ratelimit-*` headers for a window holding `used` images and `used_tokens`."""
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
