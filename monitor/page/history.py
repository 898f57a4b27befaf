"""The last 90 days of an account, from its day rollups: a bar per day for each probe, and
the latency and spend charts. Pure: rollups and `today` in, views out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from checks.base import Status
from checks.generation import Generation
from monitor.page.views import NO_DATA, Chart, DayBar, History, Point, Series
from monitor.store import rollup_percentile

HISTORY_DAYS = 90


class DayRollup(Protocol):
    """One pair's counts for one UTC day, as the store reads them (a plain row; the ORM
    `Rollup` fits as well)."""

    bucket: datetime
    check: str
    model: str
    total: int
    passed: int
    warned: int
    failed: int
    unknown: int
    skipped: int
    cost_usd: float


DailyRollups = dict[tuple[str, str], dict[date, DayRollup]]


def by_pair(rollups: Sequence[DayRollup]) -> DailyRollups:
    """Day rollups of one account as {(check, model): {day: rollup}}."""
    grouped: DailyRollups = {}
    for rollup in rollups:
        grouped.setdefault((rollup.check, rollup.model), {})[rollup.bucket.date()] = rollup
    return grouped


def window(today: date) -> list[date]:
    """The days of the history, oldest first, ending with `today`."""
    return [today - timedelta(days=offset) for offset in range(HISTORY_DAYS - 1, -1, -1)]


def history(daily: DailyRollups, check: str, model: str, today: date) -> History:
    """One bar per day, coloured by the worst status seen that day."""
    by_day = daily.get((check, model), {})
    bars, probes, good = [], 0, 0
    for day in window(today):
        rollup = by_day.get(day)
        if rollup is None or not rollup.total:
            bars.append(DayBar(day=day, status=NO_DATA, total=0, failed=0))
            continue
        counts = {
            Status.FAIL: rollup.failed,
            Status.UNKNOWN: rollup.unknown,
            Status.WARN: rollup.warned,
            Status.SKIPPED: rollup.skipped,
            Status.PASS: rollup.passed,
        }
        worst = Status.worst(status for status, count in counts.items() if count)
        bars.append(DayBar(day=day, status=worst.value, total=rollup.total, failed=rollup.failed))
        probes += rollup.total
        good += rollup.passed + rollup.warned
    return History(
        check=check,
        model=model,
        bars=bars,
        probes=probes,
        passing_share=good / probes if probes else None,
    )


def latency(name: str, share: float, by_day: dict[date, DayRollup], days: list[date]) -> Series:
    """One latency percentile per day; None on a day without a rollup."""
    return Series(
        name=name,
        points=[
            Point(day=d, value=rollup_percentile(by_day[d], share) if d in by_day else None)
            for d in days
        ],
    )


def charts(daily: DailyRollups, models: Iterable[str], today: date) -> list[Chart]:
    """Generation latency (daily p50 and p95) per model, then the account's daily spend."""
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
