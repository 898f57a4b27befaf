"""The last 90 days of an account, from its day rollups: a bar per day for each probe, and
the latency and spend charts. Pure: rollups and `today` in, views out."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from checks.base import Status
from checks.generation import Generation
from checks.rate_limits import RateLimits
from monitor.page.views import NO_DATA, Chart, DayBar, History, Point, Series
from monitor.store import rollup_percentile

HISTORY_DAYS = 90
LATENCY_CHECKS = (Generation.name,)
"""The checks whose latency the charts show: the only day rollups read with theirs."""
FAIL, UNKNOWN, WARN, SKIPPED, PASS = (
    s.value for s in (Status.FAIL, Status.UNKNOWN, Status.WARN, Status.SKIPPED, Status.PASS)
)
SEVERITY = {status.value: status.severity for status in Status}


class DayRollup(Protocol):
    """One pair's counts for one UTC day, as the store reads them (its `DayCounts` tuple;
    the ORM `Rollup` fits as well); read-only, as a tuple's fields are."""

    @property
    def bucket(self) -> datetime: ...

    @property
    def check(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def total(self) -> int: ...

    @property
    def passed(self) -> int: ...

    @property
    def warned(self) -> int: ...

    @property
    def failed(self) -> int: ...

    @property
    def unknown(self) -> int: ...

    @property
    def skipped(self) -> int: ...

    @property
    def cost_usd(self) -> float: ...


DailyRollups = dict[tuple[str, str], dict[date, DayRollup]]


def by_pair(rollups: Sequence[DayRollup]) -> DailyRollups:
    """Day rollups of one account as {(check, model): {day: rollup}}."""
    grouped: DailyRollups = {}
    for rollup in rollups:
        grouped.setdefault((rollup.check, rollup.model), {})[rollup.bucket.date()] = rollup
    return grouped


@functools.lru_cache(maxsize=4)
def window(today: date) -> tuple[date, ...]:
    """The days of the history, oldest first, ending with `today` (computed once a publish:
    a thousand accounts ask for it)."""
    return tuple(today - timedelta(days=offset) for offset in range(HISTORY_DAYS - 1, -1, -1))


@functools.lru_cache(maxsize=4)
def empty_bars(today: date) -> tuple[DayBar, ...]:
    """A bar without probes for each day of the window, shared: bars are immutable."""
    return tuple(DayBar(day=day, status=NO_DATA, total=0, failed=0) for day in window(today))


def history(daily: DailyRollups, check: str, model: str, today: date) -> History:
    """One bar per day, coloured by the worst status seen that day."""
    by_day = daily.get((check, model), {})
    return day_bars(check, model, {day: [rollup] for day, rollup in by_day.items()}, today)


def overall(histories: Sequence[History], today: date) -> History:
    """The whole account's days, from its probes' histories: each bar the worst status of
    any probe that day, the share counted over all of them (the index's 90-day bar and
    uptime)."""
    bars = list(empty_bars(today))
    for position in range(len(bars)):
        seen = [h.bars[position] for h in histories if h.bars[position].total]
        if seen:
            worst = max(seen, key=lambda bar: SEVERITY[bar.status]).status
            bars[position] = DayBar(
                day=bars[position].day,
                status=worst,
                total=sum(bar.total for bar in seen),
                failed=sum(bar.failed for bar in seen),
            )
    return History(
        check="all checks",
        model="all models",
        bars=bars,
        probes=sum(h.probes for h in histories),
        passing=sum(h.passing for h in histories),
    )


def day_bars(check: str, model: str, by_day: dict[date, list[DayRollup]], today: date) -> History:
    """One bar per day of the window, coloured by the worst status of the day's rollups
    (`Status.severity`: fail, unknown, warn, skipped, pass). A publish builds a thousand
    accounts' worth of these, so each day is counted in one plain pass."""
    bars, probes, good = list(empty_bars(today)), 0, 0
    for position, day in enumerate(window(today)):
        rollups = by_day.get(day)
        if not rollups:
            continue
        total = failed = unknown = warned = skipped = passed = 0
        for r in rollups:
            total += r.total
            failed += r.failed
            unknown += r.unknown
            warned += r.warned
            skipped += r.skipped
            passed += r.passed
        if not total:
            continue
        worst = (
            FAIL
            if failed
            else UNKNOWN
            if unknown
            else WARN
            if warned
            else SKIPPED
            if skipped
            else PASS
        )
        bars[position] = DayBar(day=day, status=worst, total=total, failed=failed)
        probes += total
        good += passed + warned
    return History(check=check, model=model, bars=bars, probes=probes, passing=good)


def latency(name: str, share: float, by_day: dict[date, DayRollup], days: Sequence[date]) -> Series:
    """One latency percentile per day; None on a day without a rollup."""
    return Series(
        name=name,
        points=[
            Point(day=d, value=rollup_percentile(by_day[d], share) if d in by_day else None)
            for d in days
        ],
    )


def headroom_chart(daily: DailyRollups, model: str, days: Sequence[date]) -> Chart:
    """Rate-limit headroom over time, from the `rate_limits` day rollups: the share of its
    probes each day that found the limits leave enough room (pass or warn: a warning is
    still room, only tight)."""
    by_day = daily.get((RateLimits.name, model), {})
    points = []
    for d in days:
        r = by_day.get(d)
        share = (
            round(100 * (r.passed + r.warned) / r.total, 1) if r is not None and r.total else None
        )
        points.append(Point(day=d, value=share))
    latest = next((p.value for p in reversed(points) if p.value is not None), None)
    return Chart(
        title=f"Rate-limit headroom — {model}",
        unit="%",
        series=[Series(name="probes with headroom", points=points)],
        description=f"Share of rate-limit probes for {model} that found enough headroom, "
        f"per UTC day; latest {latest:.0f}%."
        if latest is not None
        else f"No rate-limit probes recorded for {model}.",
    )


def charts(daily: DailyRollups, models: Iterable[str], today: date) -> list[Chart]:
    """Generation latency (daily p50 and p95) and rate-limit headroom per model, then the
    account's daily spend."""
    days = window(today)
    out = []
    for model in models:
        by_day = daily.get((Generation.name, model), {})
        p50 = latency("p50", 0.5, by_day, days)
        p95 = latency("p95", 0.95, by_day, days)
        latest = next((p.value for p in reversed(p50.points) if p.value is not None), None)
        description = (
            f"Generation latency for {model}, daily p50 and p95 over 90 days; "
            f"latest p50 {latest:.0f} ms."
            if latest is not None
            else f"No generation latency recorded for {model}."
        )
        out.append(
            Chart(
                title=f"Generation latency — {model}",
                unit="ms",
                series=[p50, p95],
                description=description,
            )
        )
        out.append(headroom_chart(daily, model, days))
    spend: dict[date, float] = {}
    for per_day in daily.values():
        for day, rollup in per_day.items():
            spend[day] = spend.get(day, 0.0) + rollup.cost_usd
    total = sum(spend.values())
    out.append(
        Chart(
            title="Daily probe spend",
            unit="USD",
            series=[Series(name="spend", points=[Point(day=d, value=spend.get(d)) for d in days])],
            description=f"Probe spend per UTC day; ${total:.4f} over 90 days.",
        )
    )
    return out
