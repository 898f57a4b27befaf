"""`usage` and `spend` results in the stored details shape their checks write, for the
tests of what ops see of them (page, status.json, metrics, readiness)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from monitor.store import ProbeResult


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def usage_row(
    account: str,
    at: datetime,
    *,
    model: str = "gpt-image-2",
    limit: int | None = 50,
    peak_hour: int = 12,
    peak_day: int = 30,
    status: str = "pass",
    reason: str = "traffic_ok",
    minutes: int = 60,
) -> ProbeResult:
    """A usage result whose last hour rises and falls between 0 and `peak_hour`."""
    end = at.replace(second=0, microsecond=0)
    series = [
        [iso(end - timedelta(minutes=minutes - i)), (i * 7) % (peak_hour + 1)]
        for i in range(minutes)
    ]
    if series:
        series[-1][1] = peak_hour
    details: dict[str, Any] = {
        "window": {"start": iso(end - timedelta(minutes=15)), "end": iso(end)},
        "project": "proj_prod",
        "model": model,
        "limit_images_per_minute": limit,
        "peak_images_per_minute": {"hour": peak_hour, "day": peak_day},
        "peak_at": iso(end - timedelta(hours=5)),
        "images": 180,
        "requests": 175,
        "probe_images": 1,
        "probe_requests": 1,
        "series": series,
    }
    return result(account, "usage", model, status, reason, f"peak {peak_day}/min", at, details)


def spend_row(
    account: str,
    at: datetime,
    *,
    model: str = "gpt-image-2",
    days: int = 31,
    budget: float | None = 300.0,
    drift_pct: float | None = 1.5,
    status: str = "pass",
    reason: str = "spend_ok",
) -> ProbeResult:
    """A spend result of `days` days of about $8 a day, the last one today."""
    today = at.date()
    daily = [
        [str(today - timedelta(days=days - 1 - i)), round(6.0 + (i % 5) * 1.25, 2)]
        for i in range(days)
    ]
    details: dict[str, Any] = {
        "window": {"start": iso(at - timedelta(days=days)), "end": iso(at)},
        "project": "proj_prod",
        "daily_usd": daily,
        "today_usd": daily[-1][1] if daily else 0.0,
        "today_prorated_usd": 9.5,
        "median_7d_usd": 8.5,
        "month_to_date_usd": 170.25,
        "forecast_month_usd": 255.0,
        "monthly_budget_usd": budget,
        "billed_per_image_usd": 0.0406,
        "expected_per_image_usd": 0.04,
        "drift_pct": drift_pct,
    }
    return result(account, "spend", model, status, reason, "spend as usual", at, details)


def result(
    account: str,
    check: str,
    model: str,
    status: str,
    reason: str,
    summary: str,
    at: datetime,
    details: dict[str, Any],
) -> ProbeResult:
    return ProbeResult(
        account=account,
        check=check,
        model=model,
        status=status,
        reason=reason,
        summary=summary,
        details=details,
        latency_ms=80.0,
        started_at=at - timedelta(seconds=1),
        finished_at=at,
        cost_usd=0.0,
    )
