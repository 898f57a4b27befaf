"""The account page's traffic charts, from the latest `usage` and `spend` results: images per
minute over the last hour against the images-per-minute limit, and image spend per day
against the monthly budget spread over the month's days. Pure: figures in, charts out.

The usage chart draws the latest result's own last hour (`series`), not a history of peaks:
the hour is what the limit is about (a minute at the limit is refused), each result carries
it whole, and its caption gives the day's peak beside it, so no query beyond the latest
results is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.page.views import Bar, LimitChart
from monitor.traffic import SpendFigures, UsageFigures, daily_budget


def nothing_read(title: str, unit: str, description: str, empty: str) -> LimitChart:
    """A chart before its check's first result: no bars, and why."""
    return LimitChart(
        title=title,
        unit=unit,
        bars=[],
        limit_name="",
        first="",
        last="",
        description=description,
        empty=empty,
    )


def minute_label(figures: UsageFigures, index: int) -> str:
    return figures.series[index][0].strftime("%H:%M UTC")


def usage_chart(model: str, figures: UsageFigures | None) -> LimitChart:
    """Images per minute over the last hour of the latest `usage` result, against the
    limit; its caption says the hour's and the day's peaks."""
    title = f"Images per minute — {model}"
    if figures is None:
        return nothing_read(
            title,
            "images/min",
            f"No traffic read for {model} yet.",
            "the usage check has not read the account's traffic yet.",
        )
    limit = None if figures.limit is None else float(figures.limit)
    bars = [
        Bar(label=f"{at.strftime('%H:%M UTC')}: {images} images", value=float(images), limit=limit)
        for at, images in figures.series
    ]
    peaks = (
        f"peak {figures.peak_hour} in the last hour and {figures.peak_day} in the last day"
        if figures.peak_hour is not None and figures.peak_day is not None
        else "peaks unknown"
    )
    if figures.peak_at is not None and figures.peak_day:
        peaks += f" (at {figures.peak_at.strftime('%H:%M UTC')})"
    if figures.limit is not None:
        share = figures.share
        against = f"limit {figures.limit} images/min" + (
            f", the day's peak at {share:.0%} of it" if share is not None else ""
        )
    else:
        against = "limit unknown (no rate-limit evidence yet)"
    return LimitChart(
        title=title,
        unit="images/min",
        bars=bars,
        limit_name="limit" if limit is not None else "",
        first=minute_label(figures, 0) if bars else "",
        last=minute_label(figures, -1) if bars else "",
        description=f"Images per minute for {model} over the last hour: {peaks}; {against}.",
        empty="the last hour has fewer than two minutes of traffic read.",
    )


def spend_chart(figures: SpendFigures | None) -> LimitChart:
    """Image spend per UTC day against the daily share of `monthly_budget_usd`; its caption
    says today's spend and the month's forecast."""
    title = "Daily image spend"
    if figures is None:
        return nothing_read(
            title,
            "USD",
            "No spend read yet.",
            "the spend check has not read the account's costs yet.",
        )
    budget = figures.monthly_budget
    bars = [
        Bar(
            label=f"{day}: ${usd:,.2f}",
            value=usd,
            limit=None if budget is None else daily_budget(budget, day),
        )
        for day, usd in figures.daily
    ]
    parts = [f"Image spend per UTC day over {len(bars)} days"]
    if figures.today is not None:
        parts.append(f"today ${figures.today:,.2f}")
    if figures.forecast_month is not None:
        parts.append(f"forecast ${figures.forecast_month:,.2f} this month")
    parts.append(
        f"budget ${budget:,.2f} a month" if budget is not None else "no monthly budget set"
    )
    if figures.drift_pct is not None:
        parts.append(f"billed per image {figures.drift_pct:+.1f}% against the published price")
    return LimitChart(
        title=title,
        unit="USD",
        bars=bars,
        limit_name="daily budget" if budget is not None else "",
        first=str(figures.daily[0][0]) if bars else "",
        last=str(figures.daily[-1][0]) if bars else "",
        description=parts[0] + ": " + "; ".join(parts[1:]) + ".",
        empty="fewer than two days of costs read.",
    )


def traffic_charts(
    models: Sequence[str],
    usage: Sequence[UsageFigures | None],
    spend: SpendFigures | None,
) -> list[LimitChart]:
    """A usage chart per model (`usage` in the same order), then the spend chart."""
    return [
        *(usage_chart(model, figures) for model, figures in zip(models, usage, strict=True)),
        spend_chart(spend),
    ]
