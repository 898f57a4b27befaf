"""`rate_limits`: how many images per minute can this account really send?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from checks.base import Account, FreeCheck, Outcome, ProbeContext, Status
from checks.generation import Generation
from checks.http import call, failure_outcome
from checks.images import family
from checks.reasons import REASONS
from checks.settings import CheckSettings, RateLimitsSettings

# gpt-image-2 usage tiers: (tier, images per minute, tokens per minute).
TIERS: tuple[tuple[int, int, int], ...] = (
    (1, 5, 100_000),
    (2, 20, 250_000),
    (3, 50, 800_000),
    (4, 150, 3_000_000),
    (5, 250, 8_000_000),
)
MAX_ADMIN_PAGES = 20


def tier_for(images_per_minute: int | None, tokens_per_minute: int | None = None) -> int | None:
    """The highest tier whose published limit the observed limit reaches; images per minute
    decide when known, tokens per minute otherwise."""
    found = None
    for tier, images, tokens in TIERS:
        observed, published = (
            (images_per_minute, images)
            if images_per_minute is not None
            else (tokens_per_minute, tokens)
        )
        if observed is not None and observed >= published:
            found = tier
    return found


def tier_images(tier: int) -> int:
    return next(images for t, images, _ in TIERS if t == tier)


def next_tier_for(images_per_minute: int) -> int | None:
    """The lowest tier whose limit covers a need, or None when no tier does."""
    return next((tier for tier, images, _ in TIERS if images >= images_per_minute), None)


class RateLimits(FreeCheck):
    """Reads the `x-ratelimit-*` headers this round's (or the latest) generation probe
    recorded, and, when `admin_key_env` is set, calls the Admin API
    GET /v1/organization/projects/{project}/rate_limits (free).

    Passes `headroom_ok`. Fails `below_required` when `required_images_per_minute` is above
    the images-per-minute limit. Warns `headroom_low` when any window's remaining share is
    under `headroom_warn`, `limit_decreased` when the limit fell since the last run.
    `unknown: generation_failed` when neither source says anything because the generation
    probe it reads failed (that incident speaks for both; this one opens none),
    `unknown: rate_limit_unavailable` when neither source says anything otherwise. Costs
    nothing.
    """

    name: ClassVar[str] = "rate_limits"
    reads_evidence: ClassVar[str | None] = Generation.name
    confirms_with: ClassVar[str | None] = Generation.name
    settings_type: ClassVar[type[CheckSettings]] = RateLimitsSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    async def run(self, ctx: ProbeContext) -> Outcome:
        details: dict[str, Any] = {}
        windows: dict[str, Mapping[str, Any]] = {}
        generation = ctx.evidence.generation or {}
        header_limits = (generation.get("headers") or {}).get("rate_limits") or {}
        if isinstance(header_limits, Mapping):
            windows = {str(k): v for k, v in header_limits.items() if isinstance(v, Mapping)}
        if windows:
            details["headers"] = windows
            details["headers_observed_at"] = generation.get("finished_at")
        admin_entry: Mapping[str, Any] | None = None
        admin_outcome: Outcome | None = None
        if ctx.account.admin_key and ctx.account.project:
            admin_entry, admin_outcome = await self._admin_limits(ctx)
            if admin_entry is not None:
                details["admin"] = dict(admin_entry)
            elif admin_outcome is not None:
                details["admin_error"] = admin_outcome.summary
        images_limit, tokens_limit, source = _limits(windows, admin_entry)
        if images_limit is None and tokens_limit is None:
            if admin_outcome is not None and admin_outcome.status == Status.FAIL:
                return admin_outcome.with_details(**details)
            failed = generation_failure(generation)
            if failed is not None:
                details["generation_reason"] = failed
                return Outcome(
                    Status.UNKNOWN,
                    "generation_failed",
                    f"no headers because generation failed ({failed})",
                    details,
                )
            reason = REASONS["rate_limit_unavailable"]
            return Outcome(
                reason.status,
                reason.code,
                "No rate-limit headers recorded and no Admin API answer",
                details,
            )
        tier = tier_for(images_limit, tokens_limit)
        if images_limit is None and tier is not None:
            images_limit, source = tier_images(tier), "tier inferred from tokens per minute"
        details.update(
            images_per_minute=images_limit,
            tokens_per_minute=tokens_limit,
            limit_source=source,
            tier=tier,
        )
        required = ctx.account.required_images_per_minute
        findings: list[tuple[str, str]] = []
        if required is not None and images_limit is not None and required > images_limit:
            needed = next_tier_for(required)
            tier_text = f"tier {needed} or above" if needed else "a custom limit above tier 5"
            details["tier_needed"] = needed
            findings.append(
                (
                    "below_required",
                    f"{images_limit} images/min (tier {tier or '?'}) is below the "
                    f"required {required}; needs {tier_text}",
                )
            )
        previous = (ctx.evidence.previous or {}).get("images_per_minute")
        if isinstance(previous, int) and images_limit is not None and images_limit < previous:
            details["previous_images_per_minute"] = previous
            findings.append(
                ("limit_decreased", f"images/min limit fell from {previous} to {images_limit}")
            )
        warn_at = float(ctx.settings.get("headroom_warn", 0.2))
        low = []
        for dimension, window in sorted(windows.items()):
            limit, remaining = window.get("limit"), window.get("remaining")
            if isinstance(limit, int) and isinstance(remaining, int) and limit > 0:
                share = remaining / limit
                if share < warn_at:
                    low.append(f"{dimension} {remaining}/{limit} left")
        if low:
            findings.append(("headroom_low", "headroom low: " + ", ".join(low)))
        details["findings"] = [code for code, _ in findings]
        order = {"below_required": 0, "limit_decreased": 1, "headroom_low": 2}
        findings.sort(key=lambda item: order[item[0]])
        if findings:
            code, summary = findings[0]
            return Outcome(REASONS[code].status, code, summary, details)
        tier_text = f" (tier {tier})" if tier else ""
        return Outcome(
            Status.PASS,
            "headroom_ok",
            f"{images_limit} images/min{tier_text}, headroom fine",
            details,
        )

    async def _admin_limits(
        self, ctx: ProbeContext
    ) -> tuple[Mapping[str, Any] | None, Outcome | None]:
        path = f"organization/projects/{ctx.account.project}/rate_limits"
        after: str | None = None
        entries: list[Mapping[str, Any]] = []
        for _ in range(MAX_ADMIN_PAGES):
            params = {"limit": "100"} | ({"after": after} if after else {})
            answer = await call(ctx, "GET", path, params=params, admin=True)
            if not answer.ok:
                return None, failure_outcome(answer, ctx.account.called("GET", path))
            payload = answer.json()
            data = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(data, list):
                return None, None
            entries.extend(item for item in data if isinstance(item, Mapping))
            if not (isinstance(payload, dict) and payload.get("has_more") is True and data):
                break
            last = data[-1].get("id") if isinstance(data[-1], Mapping) else None
            if not isinstance(last, str) or last == after:
                break
            after = last
        for wanted in (ctx.model, family(ctx.model)):
            for entry in entries:
                if entry.get("model") == wanted:
                    return entry, None
        return None, None


def generation_failure(generation: Mapping[str, Any]) -> str | None:
    """The reason the generation probe's last attempt failed with, or None when it passed
    or made no attempt (skipped, never run)."""
    attempts = generation.get("attempts")
    if not isinstance(attempts, list) or not attempts or not isinstance(attempts[-1], Mapping):
        return None
    reason = attempts[-1].get("reason")
    return reason if isinstance(reason, str) and reason != "ok" else None


def _limits(
    windows: Mapping[str, Mapping[str, Any]], admin: Mapping[str, Any] | None
) -> tuple[int | None, int | None, str | None]:
    def number(value: object) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    if admin is not None:
        images = number(admin.get("max_images_per_1_minute"))
        tokens = number(admin.get("max_tokens_per_1_minute"))
        if images is not None or tokens is not None:
            return images, tokens, "admin API"
    tokens = number((windows.get("tokens") or {}).get("limit"))
    for dimension in ("images", "requests"):
        # For the images endpoints one request with n=1 is one image: the request limit is
        # the images-per-minute limit when no images-specific header is sent.
        images = number((windows.get(dimension) or {}).get("limit"))
        if images is not None:
            return images, tokens, f"x-ratelimit-limit-{dimension} header"
    return None, tokens, "x-ratelimit-limit-tokens header" if tokens is not None else None
