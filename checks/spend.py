"""`spend`: what does the account really pay for images, and is it what it should be?"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from checks.admin_usage import (
    Cost,
    ImageUsage,
    UsageUnavailable,
    costs,
    image_usage,
    unix,
)
from checks.base import Account, FreeCheck, Outcome, ProbeContext
from checks.images import family, image_family, output_tokens
from checks.prices import MILLION, PUBLISHED
from checks.reasons import REASONS
from checks.settings import CheckSettings, SpendSettings

DAYS_READ = 31
MEDIAN_DAYS = 7
DRIFT_DAYS = 7
"""Billed and expected per image are compared over the last whole days: today's costs are
still coming in."""
MIN_DAY_SHARE = 1 / 96
"""Today's spend is pro-rated by the elapsed share of the UTC day, but never by less than
15 minutes: the first seconds' spend multiplied by thousands is noise, not a forecast."""
IMAGE_MODEL_PREFIXES = ("gpt-image", "chatgpt-image", "dall-e")


def line_item_model(line_item: str | None) -> str | None:
    """The image model a costs line item is for (`gpt-image-2 image, output` →
    `gpt-image-2`), or None for any other line item. The names follow what public code
    reading the Costs API shows; the spec does not list them."""
    if not line_item:
        return None
    head = line_item.replace(",", " ").split(" ", 1)[0].strip().lower()
    if image_family(head) is not None or head.startswith(IMAGE_MODEL_PREFIXES):
        return head
    return None


def image_costs(rows: Iterable[Cost], project: str | None) -> list[Cost]:
    """The image models' line items in USD (of `project` when set)."""
    return [
        row
        for row in rows
        if line_item_model(row.line_item) is not None
        and row.currency == "usd"
        and (not project or row.project_id in (None, project))
    ]


def daily(rows: Iterable[Cost], first: date, today: date) -> list[tuple[date, float]]:
    """USD per day from `first` to `today`, zeros for the days without costs."""
    totals: dict[date, float] = {}
    for row in rows:
        day = datetime.fromtimestamp(row.start, UTC).date()
        totals[day] = totals.get(day, 0.0) + row.usd
    days = (today - first).days + 1
    return [(d, round(totals.get(d, 0.0), 6)) for d in (first + timedelta(i) for i in range(days))]


def forecast_month(days: list[tuple[date, float]], today: date, share: float) -> float:
    """This month's spend if the rest of it goes as it has: the month so far (today's spend
    as it stands), and the rest of it (today's unelapsed `share` included) at the daily rate
    of the month's whole days and today's elapsed share, or of the last MEDIAN_DAYS whole
    days when the month has fewer (its first day would otherwise be today's first minutes
    multiplied by thirty)."""
    month = [(d, usd) for d, usd in days if (d.year, d.month) == (today.year, today.month)]
    spent = sum(usd for _, usd in month)
    today_usd = sum(usd for d, usd in month if d == today)
    whole = [usd for d, usd in days if d < today]
    month_whole = [usd for d, usd in month if d < today]
    basis = month_whole if len(month_whole) >= MEDIAN_DAYS else whole[-MEDIAN_DAYS:]
    rate = (sum(basis) + today_usd) / (len(basis) + share)
    following = (date(today.year + today.month // 12, today.month % 12 + 1, 1) - today).days - 1
    return round(spent + rate * (following + 1 - share), 6)


def price_per_image(
    model: str, size: str, quality: str, baselines: Mapping[str, Mapping[str, Decimal]]
) -> Decimal | None:
    """The published image-output cost of one image, or None when not known."""
    tokens = output_tokens(model, size, quality)
    table = baselines.get(model) or baselines.get(family(model)) or PUBLISHED.get(family(model))
    price = (table or {}).get("image_output")
    if tokens is None or price is None:
        return None
    return tokens * Decimal(price) / MILLION


def billing(
    billed_rows: Iterable[Cost],
    usage_rows: Iterable[ImageUsage],
    quality: str,
    baselines: Mapping[str, Mapping[str, Decimal]],
) -> tuple[float | None, float | None, int]:
    """(billed per image, expected per image, images): the image-output line items (all
    image line items when none says `output`) over the images the Usage API counted,
    against the published price of each model and size seen at `quality`."""
    billed_rows = list(billed_rows)
    output = [r for r in billed_rows if "output" in (r.line_item or "").lower()]
    billed = sum(r.usd for r in (output or billed_rows))
    images = 0
    expected = Decimal(0)
    for row in usage_rows:
        if row.images == 0:
            continue
        if row.model is None or row.size is None:
            return None, None, images
        price = price_per_image(row.model, row.size, quality, baselines)
        if price is None:
            return None, None, images
        images += row.images
        expected += price * row.images
    if images == 0:
        return None, None, 0
    return round(billed / images, 6), round(float(expected / images), 6), images


def judge(
    *,
    today_prorated: float,
    median: float | None,
    forecast: float,
    budget: Decimal | None,
    drift_pct: float | None,
    jump_factor: float,
    tolerance_pct: float,
) -> tuple[str, str]:
    """The reason and summary: over budget fails; a jump, then a drift, warns."""
    if budget is not None and forecast > float(budget):
        return (
            "spend_over_budget",
            f"month forecast ${forecast:.2f} is above the budget of ${budget}",
        )
    # A median at or below zero (no spend, or credits outweighing it) has nothing to jump from.
    if median is not None and median > 0 and today_prorated > jump_factor * median:
        return (
            "spend_jump",
            f"today's image spend runs at ${today_prorated:.2f}/day, "
            f"{today_prorated / median:.1f}x the 7-day median of ${median:.2f}",
        )
    if drift_pct is not None and abs(drift_pct) > tolerance_pct:
        return (
            "billing_drift",
            f"billed per image differs from the published price by {drift_pct:+.1f}%",
        )
    return "spend_ok", f"month forecast ${forecast:.2f}" + (
        f" of a ${budget} budget" if budget is not None else ""
    )


class Spend(FreeCheck):
    """Reads the Admin API's GET /v1/organization/costs (1-day buckets, grouped by project
    and line item, filtered to the account's project) and GET
    /v1/organization/usage/images (1-day buckets by model and size) with the admin key,
    free. Only for accounts with `admin_key_env`; one result per account.

    Fails `spend_over_budget` when the month's forecast is above `monthly_budget_usd`.
    Warns `spend_jump` when today's image spend, pro-rated by the elapsed share of the UTC
    day, is above `jump_factor` times the median of the 7 days before; `billing_drift`
    when the billed cost per image of the last 7 whole days differs from the published
    price of the sizes seen (at `traffic_quality`) by more than `billing_tolerance_pct`.
    Passes `spend_ok`. `unknown: usage_unavailable` when the Costs API refuses or does not
    answer. Costs nothing.
    """

    name: ClassVar[str] = "spend"
    settings_type: ClassVar[type[CheckSettings]] = SpendSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models[:1] if account.admin_key else ()

    async def run(self, ctx: ProbeContext) -> Outcome:
        now = ctx.clock.now().astimezone(UTC)
        today = now.date()
        midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
        first = today - timedelta(days=DAYS_READ - 1)
        start, end = midnight - timedelta(days=DAYS_READ - 1), midnight + timedelta(days=1)
        project = ctx.account.project
        window = {"start": start.isoformat(), "end": now.isoformat()}
        try:
            rows, _ = await costs(ctx, start=unix(start), end=unix(end), project=project)
        except UsageUnavailable as failed:
            return failed.outcome.with_details(window=window, project=project)
        spent = image_costs(rows, project)
        currencies = sorted({r.currency for r in rows if r.currency != "usd"})
        days = daily(spent, first, today)
        today_usd = days[-1][1]
        share = max((now - midnight).total_seconds() / 86400, MIN_DAY_SHARE)
        today_prorated = round(today_usd / share, 6)
        trailing = [usd for _, usd in days[-1 - MEDIAN_DAYS : -1]]
        median = round(statistics.median(trailing), 6) if trailing else None
        month = round(
            sum(usd for d, usd in days if (d.year, d.month) == (today.year, today.month)), 6
        )
        forecast = forecast_month(days, today, share)
        drift_from = midnight - timedelta(days=DRIFT_DAYS)
        billed_rows = [r for r in spent if unix(drift_from) <= r.start < unix(midnight)]
        quality = str(ctx.settings.get("traffic_quality", "medium"))
        baselines: Mapping[str, Mapping[str, Decimal]] = ctx.settings.get("baseline") or {}
        billed = expected = drift = None
        note = ""
        if currencies:
            note = f"; amounts in {', '.join(currencies)[:60]} left out (only USD is summed)"
        try:
            usage_rows, _ = await image_usage(
                ctx,
                start=unix(drift_from),
                end=unix(midnight),
                width="1d",
                group_by=("project_id", "model", "size"),
                project=project,
            )
        except UsageUnavailable as failed:
            note += f"; billed per image not compared ({failed.outcome.summary[:200]})"
        else:
            in_project = [r for r in usage_rows if not project or r.project_id in (None, project)]
            billed, expected, _ = billing(billed_rows, in_project, quality, baselines)
            if billed is not None and expected:
                drift = round((billed - expected) / expected * 100, 2)
        budget = ctx.account.monthly_budget_usd
        code, summary = judge(
            today_prorated=today_prorated,
            median=median,
            forecast=forecast,
            budget=budget,
            drift_pct=drift,
            jump_factor=float(ctx.settings.get("jump_factor", 3.0)),
            tolerance_pct=float(ctx.settings.get("billing_tolerance_pct", 5.0)),
        )
        details: dict[str, Any] = {
            "window": window,
            "project": project,
            "daily_usd": [[d.isoformat(), usd] for d, usd in days],
            "today_usd": today_usd,
            "today_prorated_usd": today_prorated,
            "median_7d_usd": median,
            "month_to_date_usd": month,
            "forecast_month_usd": forecast,
            "monthly_budget_usd": float(budget) if budget is not None else None,
            "billed_per_image_usd": billed,
            "expected_per_image_usd": expected,
            "drift_pct": drift,
        }
        reason = REASONS[code]
        return Outcome(reason.status, reason.code, summary + note, details)
