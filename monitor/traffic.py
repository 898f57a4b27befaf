"""The numbers of the `usage` and `spend` results, read once from their stored details for
everything ops see of them (the page's charts, status.json, the metrics, readiness).

A result's details are JSON from the store, written by code of any version: every value is
checked for its type here and anything unreadable becomes None (or is left out), so a reader
never trips on a field. Aggregate numbers only: no key, no API text.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from checks.base import as_mapping
from monitor.store import ProbeResult

A = TypeVar("A")
B = TypeVar("B")

SERIES_POINTS = 60
"""A usage result keeps the last hour, one point a minute."""
DAILY_POINTS = 31
"""A spend result keeps a month of days."""


def whole(value: Any) -> int | None:
    """A non-negative integer, or None (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value >= 0 else None


def amount(value: Any) -> float | None:
    """A finite number, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def moment(value: Any) -> datetime | None:
    """An ISO time as an aware UTC datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip()[:40].replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def day_of(value: Any) -> date | None:
    """A "YYYY-MM-DD" day, or None."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageFigures:
    """What the latest `usage` result of one (account, model) measured."""

    model: str
    checked_at: datetime
    limit: int | None
    """Images per minute the account may make (from the rate-limit evidence)."""
    peak_hour: int | None
    peak_day: int | None
    peak_at: datetime | None
    images: int | None
    requests: int | None
    probe_images: int | None
    probe_requests: int | None
    series: list[tuple[datetime, int]]
    """The last hour, a point a minute, oldest first."""

    @property
    def share(self) -> float | None:
        """The day's peak as a share of the limit (1.0: a minute reached it)."""
        if self.limit is None or self.peak_day is None or self.limit <= 0:
            return None
        return self.peak_day / self.limit


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpendFigures:
    """What the latest `spend` result of one account measured, in USD."""

    checked_at: datetime
    daily: list[tuple[date, float]]
    """Image line items per day, oldest first."""
    today: float | None
    today_prorated: float | None
    median_7d: float | None
    month_to_date: float | None
    forecast_month: float | None
    monthly_budget: float | None
    billed_per_image: float | None
    expected_per_image: float | None
    drift_pct: float | None

    @property
    def drift_ratio(self) -> float | None:
        """How far the billed price per image is from the expected one, as a fraction
        (0.05: billed 5 % above; negative: below)."""
        return None if self.drift_pct is None else self.drift_pct / 100


def pairs(
    raw: Any, last: int, first: Callable[[Any], A | None], second: Callable[[Any], B | None]
) -> list[tuple[A, B]]:
    """The well-formed `[x, y]` points of the last `last` of a stored list, each part read by
    its reader; a point either part of which does not read is left out."""
    out = []
    for point in (raw if isinstance(raw, list) else [])[-last:]:
        if isinstance(point, list | tuple) and len(point) == 2:
            x, y = first(point[0]), second(point[1])
            if x is not None and y is not None:
                out.append((x, y))
    return out


def daily_budget(monthly: float, day: date) -> float:
    """The month's budget spread evenly over the days of `day`'s month."""
    return monthly / calendar.monthrange(day.year, day.month)[1]


def usage_figures(row: ProbeResult) -> UsageFigures:
    """The figures of a `usage` result."""
    details = as_mapping(row.details)
    peaks = as_mapping(details.get("peak_images_per_minute"))
    series = pairs(details.get("series"), SERIES_POINTS, moment, whole)
    return UsageFigures(
        model=row.model,
        checked_at=row.finished_at,
        limit=whole(details.get("limit_images_per_minute")),
        peak_hour=whole(peaks.get("hour")),
        peak_day=whole(peaks.get("day")),
        peak_at=moment(details.get("peak_at")),
        images=whole(details.get("images")),
        requests=whole(details.get("requests")),
        probe_images=whole(details.get("probe_images")),
        probe_requests=whole(details.get("probe_requests")),
        series=series,
    )


def spend_figures(row: ProbeResult) -> SpendFigures:
    """The figures of a `spend` result."""
    details = as_mapping(row.details)
    daily = dict(pairs(details.get("daily_usd"), DAILY_POINTS, day_of, amount))
    return SpendFigures(
        checked_at=row.finished_at,
        daily=sorted(daily.items()),
        today=amount(details.get("today_usd")),
        today_prorated=amount(details.get("today_prorated_usd")),
        median_7d=amount(details.get("median_7d_usd")),
        month_to_date=amount(details.get("month_to_date_usd")),
        forecast_month=amount(details.get("forecast_month_usd")),
        monthly_budget=amount(details.get("monthly_budget_usd")),
        billed_per_image=amount(details.get("billed_per_image_usd")),
        expected_per_image=amount(details.get("expected_per_image_usd")),
        drift_pct=amount(details.get("drift_pct")),
    )
