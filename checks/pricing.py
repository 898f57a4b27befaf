"""`pricing`: have the published token prices moved from the baseline budgets are built on,
and are images billed the number of tokens we expect?"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx

from checks.base import (
    AZURE,
    GATEWAY,
    OPENAI,
    Account,
    FreeCheck,
    Outcome,
    ProbeContext,
    Status,
    once_per_round,
)
from checks.generation import Generation
from checks.http import BodyTooLarge, receive
from checks.images import family
from checks.prices import PUBLISHED, PriceTable, format_price, from_litellm, to_decimal
from checks.reasons import REASONS
from checks.settings import CheckSettings, PricingSettings

LITELLM_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)
MAX_SOURCE_BYTES = 32 * 1024 * 1024


class PriceSourceError(Exception):
    pass


def source_location(source: str) -> str:
    return LITELLM_URL if source == "litellm" else source


async def _fetch(client: httpx.AsyncClient, location: str, timeout: float) -> dict[str, Any]:
    try:
        if location.startswith(("http://", "https://")):
            received = await receive(
                client, "GET", location, deadline=timeout, max_bytes=MAX_SOURCE_BYTES
            )
            if received.status != 200:
                raise PriceSourceError(f"HTTP {received.status} from {location}")
            raw = received.body
        else:
            path = Path(location.removeprefix("file://")).expanduser()
            raw = await asyncio.to_thread(path.read_bytes)
    except TimeoutError as exc:
        raise PriceSourceError(f"no whole answer from {location} within {timeout:g} s") from exc
    except BodyTooLarge as exc:
        raise PriceSourceError(f"{location} is larger than {MAX_SOURCE_BYTES} bytes") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise PriceSourceError(f"{type(exc).__name__} fetching {location}") from exc
    except OSError as exc:
        raise PriceSourceError(f"cannot read {location}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SOURCE_BYTES:
        raise PriceSourceError(f"{location} is larger than {MAX_SOURCE_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PriceSourceError(f"{location} is not JSON") from exc
    if not isinstance(document, dict):
        raise PriceSourceError(f"{location} is not a JSON object of models")
    return document


async def load_source(ctx: ProbeContext, source: str | None = None) -> dict[str, Any]:
    """The price document, fetched once per round however many accounts (and checks) ask for
    it. `source` defaults to the check's own `source` setting."""
    location = source_location(source or str(ctx.settings.get("source", "litellm")))
    timeout = float(ctx.settings.get("timeout", 30))
    return await once_per_round(
        ctx, f"pricing.source:{location}", lambda: _fetch(ctx.client, location, timeout)
    )


def find_entry(
    document: Mapping[str, Any], model: str, provider: str = OPENAI
) -> tuple[str, Mapping[str, Any]] | None:
    """The model's entry in a LiteLLM-shaped map. Azure's prices are Azure's own
    (`azure/<model>` keys: a Global Standard and a regional deployment need not cost what
    OpenAI charges), so an Azure model never falls back to OpenAI's entry."""
    keys: tuple[str, ...] = (model, f"openai/{model}", family(model), f"openai/{family(model)}")
    if provider == AZURE:
        keys = (f"azure/{model}", f"azure/{family(model)}")
    for key in keys:
        entry = document.get(key)
        if isinstance(entry, Mapping):
            return key, entry
    return None


def compare(
    baseline: PriceTable, published: PriceTable, tolerance_pct: Decimal
) -> list[dict[str, str]]:
    """Every category whose published price moved beyond tolerance from the baseline."""
    moved = []
    for category, base in sorted(baseline.items()):
        now = published.get(category)
        if now is None:
            continue
        if base == 0:
            beyond = now != 0
            change = "new charge" if beyond else "0"
        else:
            pct = (now - base) / base * 100
            beyond = abs(pct) > tolerance_pct
            change = f"{pct:+.2f}%"
        if beyond:
            moved.append(
                {
                    "category": category,
                    "baseline": format_price(base),
                    "published": format_price(now),
                    "change": change,
                }
            )
    return moved


class Pricing(FreeCheck):
    """Reads a LiteLLM-shaped cost map (the public LiteLLM file by default, or any URL or
    path in that shape) once per round, free.

    Passes `price_unchanged`. Fails `price_changed` when a token category's published price
    differs from the baseline by more than `tolerance_pct`. Warns `model_unpriced` when the
    model is missing from the source, `token_usage_drift` when the last generation probe was
    billed a different number of output tokens than expected. `unknown:
    price_source_unavailable` when the source cannot be read. Costs nothing.

    Per provider: an Azure account reads the `azure/<model>` entry against its own baseline
    (`[pricing.baseline."azure/<model>"]`, else OpenAI's published table); a gateway warns
    `model_unpriced` unless the account names its own `price_source`.
    """

    name: ClassVar[str] = "pricing"
    reads_evidence: ClassVar[str | None] = Generation.name
    settings_type: ClassVar[type[CheckSettings]] = PricingSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    async def run(self, ctx: ProbeContext) -> Outcome:
        account = ctx.account
        if account.provider == GATEWAY and not account.price_source:
            # A gateway bills by its own price list; the LiteLLM map's OpenAI rows say
            # nothing about it.
            reason = REASONS["model_unpriced"]
            return Outcome(
                reason.status,
                reason.code,
                f"{ctx.model}: a gateway's prices are its own; set price_source on the account "
                "to watch them",
                {"provider": account.provider},
            )
        source = account.price_source or str(ctx.settings.get("source", "litellm"))
        location = source_location(source)
        try:
            document = await load_source(ctx, source)
        except PriceSourceError as exc:
            reason = REASONS["price_source_unavailable"]
            return Outcome(reason.status, reason.code, str(exc)[:300], {"source": location})
        baselines: Mapping[str, PriceTable] = ctx.settings.get("baseline") or {}
        baseline = (
            baselines.get(ctx.model)
            or baselines.get(family(ctx.model))
            or PUBLISHED.get(family(ctx.model), {})
        )
        details: dict[str, Any] = {
            "source": location,
            "baseline": {k: format_price(v) for k, v in sorted(baseline.items())},
        }
        found = find_entry(document, ctx.model, account.provider)
        if found is None:
            reason = REASONS["model_unpriced"]
            return Outcome(
                reason.status, reason.code, f"{ctx.model} is not in the price source", details
            )
        key, entry = found
        published = from_litellm(entry)
        details["source_key"] = key
        details["published"] = {k: format_price(v) for k, v in sorted(published.items())}
        tolerance = to_decimal(ctx.settings.get("tolerance_pct", 0)) or Decimal(0)
        moved = compare(baseline, published, tolerance)
        if moved:
            details["moved"] = moved
            parts = ", ".join(
                f"{m['category']} {m['baseline']} → {m['published']} ({m['change']})" for m in moved
            )
            return Outcome(
                Status.FAIL, "price_changed", f"Price moved: {parts} per 1M tokens", details
            )
        drift = _token_drift(ctx, details)
        if drift is not None:
            return Outcome(Status.WARN, "token_usage_drift", drift, details)
        if not published.get("image_output"):
            reason = REASONS["model_unpriced"]
            return Outcome(
                reason.status,
                reason.code,
                f"{ctx.model} has no image output price in the source",
                details,
            )
        return Outcome(
            Status.PASS,
            "price_unchanged",
            f"{ctx.model}: image output ${format_price(published['image_output'])}/1M tokens, "
            "as the baseline",
            details,
        )


def _token_drift(ctx: ProbeContext, details: dict[str, Any]) -> str | None:
    generation = ctx.evidence.generation or {}
    usage = generation.get("usage")
    expected = generation.get("expected_output_tokens")
    observed = usage.get("output_tokens") if isinstance(usage, Mapping) else None
    if not isinstance(expected, int) or not isinstance(observed, int) or expected <= 0:
        return None
    tolerance = float(ctx.settings.get("token_tolerance_pct", 5.0))
    change = (observed - expected) / expected * 100
    details["output_tokens"] = {
        "observed": observed,
        "expected": expected,
        "size": generation.get("size"),
        "change_pct": round(change, 2),
    }
    if abs(change) <= tolerance:
        return None
    return (
        f"{observed} output tokens billed per {generation.get('size')} image, "
        f"{expected} expected ({change:+.1f}%)"
    )
