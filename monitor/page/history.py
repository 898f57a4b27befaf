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
from monitor.store.rollups import rollup_percentiles

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
    days: dict[datetime, date] = {}  # ninety buckets, each met by every pair
    for rollup in rollups:
        bucket = rollup.bucket
        day = days.get(bucket)
        if day is None:
            day = days[bucket] = bucket.date()
        pair = (rollup.check, rollup.model)
        by_day = grouped.get(pair)
        if by_day is None:
            by_day = grouped[pair] = {}
        by_day[day] = rollup
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


@functools.lru_cache(maxsize=4)
def positions(today: date) -> dict[date, int]:
    """Each day of the window's place in it."""
    return {day: position for position, day in enumerate(window(today))}


def history(daily: DailyRollups, check: str, model: str, today: date) -> History:
    """One bar per day of the window, coloured by the worst status of the day's rollup
    (`Status.severity`: fail, unknown, warn, skipped, pass). A publish builds a thousand
    accounts' worth of these: each rollup is met once, and a day without one keeps the
    shared empty bar."""
    bars, places, probes, good = list(empty_bars(today)), positions(today), 0, 0
    new = tuple.__new__
    for day, r in daily.get((check, model), {}).items():
        position = places.get(day)
        total = r.total
        if position is None or not total:
            continue
        failed = r.failed
        worst = (
            FAIL
            if failed
            else UNKNOWN
            if r.unknown
            else WARN
            if r.warned
            else SKIPPED
            if r.skipped
            else PASS
        )
        bars[position] = new(DayBar, (day, worst, total, failed))
        probes += total
        good += r.passed + r.warned
    return History(check=check, model=model, bars=bars, probes=probes, passing=good)


def overall(histories: Sequence[History], today: date) -> History:
    """The whole account's days, from its probes' histories: each bar the worst status of
    any probe that day, the share counted over all of them (the index's 90-day bar and
    uptime)."""
    bars = list(empty_bars(today))
    new = tuple.__new__
    for position, seen in enumerate(zip(*(h.bars for h in histories), strict=True)):
        worst, severity, total, failed = NO_DATA, -1, 0, 0
        for bar in seen:
            if bar.total:
                total += bar.total
                failed += bar.failed
                # strictly worse replaces: of equally bad statuses the first stays
                if SEVERITY[bar.status] > severity:
                    worst, severity = bar.status, SEVERITY[bar.status]
        if total:
            bars[position] = new(DayBar, (bars[position].day, worst, total, failed))
    return History(
        check="all checks",
        model="all models",
        bars=bars,
        probes=sum(h.probes for h in histories),
        passing=sum(h.passing for h in histories),
    )


def latency(by_day: dict[date, DayRollup], days: Sequence[date]) -> tuple[list[Point], list[Point]]:
    """The p50 and p95 latency points of each day; None on a day without a rollup."""
    p50, p95 = [], []
    new = tuple.__new__
    for d in days:
        rollup = by_day.get(d)
        low, high = rollup_percentiles(rollup) if rollup is not None else (None, None)
        p50.append(new(Point, (d, low)))
        p95.append(new(Point, (d, high)))
    return p50, p95


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
        low, high = latency(by_day, days)
        p50, p95 = Series(name="p50", points=low), Series(name="p95", points=high)
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
