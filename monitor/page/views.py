"""What the status page shows, as plain view objects: the templates get these, never ORM
rows, and every one is built with keyword arguments. Every piece of API text stays a plain
string here; the templates escape it. No store access here."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from checks.base import Status
from monitor.traffic import SpendFigures, UsageFigures

NO_DATA = "none"
"""A cell's status before its first result: not a probe status, so never in the store."""
SYMBOL = {
    Status.PASS: "✓",
    Status.WARN: "!",
    Status.FAIL: "✗",
    Status.UNKNOWN: "?",
    Status.SKIPPED: "-",
    NO_DATA: "·",
}
LABEL = {
    Status.PASS: "Pass",
    Status.WARN: "Warn",
    Status.FAIL: "Fail",
    Status.UNKNOWN: "Unknown",
    Status.SKIPPED: "Skipped",
    NO_DATA: "No data",
}


def utc_text(moment: datetime) -> str:
    """A moment as the page prints it: absolute, in UTC (a static page must not say "1 s
    ago" for ever; the page's small script adds the relative time in the reader's browser)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def iso(moment: datetime) -> str:
    """A UTC moment as the page and the feed write it: seconds, with a Z."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class Marked:
    """A view showing a status: the symbol and the word the templates print for it."""

    status: str

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]

    @property
    def label(self) -> str:
        return LABEL[self.status]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cell(Marked):
    """The latest result of one (account, check, model), or its absence."""

    account: str
    check: str
    model: str
    status: str
    reason: str
    words: str
    advice: str
    summary: str
    checked_at: datetime | None
    checked_text: str
    stale: bool
    http_status: int | None = None
    request_id: str | None = None
    azure: str | None = None
    """Azure's region and apim-request-id of the answer (what Microsoft support asks for)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "model": self.model,
            "status": self.status,
            "reason": self.reason,
            "words": self.words,
            "summary": self.summary,
            "checked_at": iso(self.checked_at) if self.checked_at else None,
            "stale": self.stale,
            "http_status": self.http_status,
            "request_id": self.request_id,
        }


class DayBar(NamedTuple):
    """One UTC day of one pair's history: its worst status and its counts (a tuple: a
    publish makes hundreds of thousands)."""

    day: date
    status: str
    total: int
    failed: int

    @property
    def label(self) -> str:
        if self.status == NO_DATA:
            return f"{self.day}: no probes"
        return f"{self.day}: {LABEL[self.status]} ({self.total} probes, {self.failed} failed)"


BAR_STATUS, BAR_TOTAL, BAR_FAILED = map(operator.attrgetter, ("status", "total", "failed"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class History:
    """The day bars of one (check, model) over the history window."""

    check: str
    model: str
    bars: list[DayBar]
    probes: int
    passing: int
    """Probes that passed or warned."""

    @property
    def passing_share(self) -> float | None:
        return self.passing / self.probes if self.probes else None

    @property
    def summary(self) -> str:
        if not self.probes or self.passing_share is None:
            return "no probes in 90 days"
        return f"{self.passing_share:.1%} pass or warn over {self.probes:,} probes in 90 days"

    @property
    def uptime(self) -> str:
        """The passing share, as the index prints it ("99.8%", or "—" without probes)."""
        if self.passing_share is None:
            return "—"
        return f"{self.passing_share:.1%}"

    def runs(self) -> list[tuple[int, int, str, str]]:
        """Consecutive days of one status as (first index, length, status, label): one
        shape per run keeps a thousand accounts' bars small. Grouped and summed in C
        (`groupby`, `map`): a thousand accounts' pages hold half a million bars."""
        out: list[tuple[int, int, str, str]] = []
        start = 0
        for status, group in itertools.groupby(self.bars, key=BAR_STATUS):
            run = list(group)
            length = len(run)
            days = str(run[0].day) if length == 1 else f"{run[0].day} to {run[-1].day}"
            label = (
                f"{days}: no probes"
                if status == NO_DATA
                else f"{days}: {LABEL[status]} "
                f"({sum(map(BAR_TOTAL, run))} probes, {sum(map(BAR_FAILED, run))} failed)"
            )
            out.append((start, length, status, label))
            start += length
        return out


class Point(NamedTuple):
    """One day of a chart (a tuple: a publish makes hundreds of thousands)."""

    day: date
    value: float | None


POINT_VALUE = operator.itemgetter(1)
IS_VALUE = functools.partial(operator.is_not, None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Series:
    name: str
    points: list[Point]

    @property
    def maximum(self) -> float:
        return max(self.values(), default=0.0)

    def values(self) -> Iterator[float]:
        """The days' values, the days without one left out (mapped and filtered in C)."""
        return filter(IS_VALUE, map(POINT_VALUE, self.points))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Chart:
    """A daily line chart (drawn as inline SVG), with a sentence for screen readers."""

    title: str
    unit: str
    series: list[Series]
    description: str

    # cached: each series' line and the template read them again
    @functools.cached_property
    def maximum(self) -> float:
        return max((s.maximum for s in self.series), default=0.0) or 1.0

    @functools.cached_property
    def enough(self) -> bool:
        """Two days with a value draw a line; fewer say "not enough data yet"."""
        second = (next(itertools.islice(s.values(), 1, None), None) for s in self.series)
        return any(value is not None for value in second)


class Bar(NamedTuple):
    """One bar of a `LimitChart`: a minute's images or a day's spend, and the limit line's
    value there (None where there is no limit)."""

    label: str
    value: float
    limit: float | None

    @property
    def over(self) -> bool:
        """The bar reached its limit."""
        return self.limit is not None and self.value >= self.limit


@dataclasses.dataclass(frozen=True, kw_only=True)
class LimitChart:
    """Bars against a limit line (images per minute against the rate limit, daily spend
    against the budget), drawn as inline SVG with a sentence for screen readers."""

    title: str
    unit: str
    bars: list[Bar]
    limit_name: str
    """What the dashed line is ("limit", "daily budget"), or "" when there is none."""
    first: str
    """The left end's label."""
    last: str
    description: str
    empty: str
    """Why there is nothing to draw yet."""

    @property
    def maximum(self) -> float:
        """The top of the scale: the highest bar or limit, a tenth above it."""
        top = max((max(b.value, b.limit or 0.0) for b in self.bars), default=0.0)
        return top * 1.1 or 1.0

    @property
    def enough(self) -> bool:
        """Two bars make a chart; fewer say "not enough data yet"."""
        return len(self.bars) >= 2


@dataclasses.dataclass(frozen=True, kw_only=True)
class Window:
    """One rate-limit window as recorded (untrusted values, shown as they came)."""

    dimension: str
    limit: Any
    remaining: Any
    reset: Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class Headroom:
    """The latest rate-limit evidence for one model."""

    model: str
    images_per_minute: Any
    tier: Any
    source: Any
    windows: list[Window]
    checked_at: datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class PriceRow:
    category: str
    baseline: str
    published: str
    moved: bool
    change: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Prices:
    """The latest baseline-against-published price table for one model."""

    model: str
    source: str
    rows: list[PriceRow]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Change(Marked):
    """A result whose status differed from the one before it."""

    account: str
    at: datetime
    at_text: str
    check: str
    model: str
    status: str
    reason: str
    words: str
    summary: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class IncidentView:
    id: int
    account: str
    check: str
    model: str
    state: str
    reason: str
    words: str
    summary: str
    request_id: str | None
    opened_at: datetime
    opened_text: str
    resolved_at: datetime | None
    resolved_text: str | None
    duration: str
    silenced: str | None
    resolution: str | None

    @property
    def label(self) -> str:
        return "Open" if self.state == "open" else "Resolved"

    @property
    def css(self) -> str:
        return Status.FAIL.value if self.state == "open" else Status.PASS.value

    @property
    def symbol(self) -> str:
        return SYMBOL[self.css]


@dataclasses.dataclass(frozen=True, kw_only=True)
class FeedEntry:
    """One Atom entry: an incident opened, or resolved."""

    id: str
    at_text: str
    title: str
    summary: str
    account: str


@dataclasses.dataclass(kw_only=True)
class AccountView:
    """One account: its matrix row on the index, and its own page."""

    name: str
    ready: str
    """The page's state: "ready", "not_ready" or "unknown"."""
    tags: list[str] = dataclasses.field(default_factory=list)
    ready_words: str
    models: dict[str, str]
    cells: list[Cell]
    problems: list[Cell]
    overall: History | None = None
    """All of the account's probes, day by day: the index's 90-day bar and uptime."""
    histories: list[History] = dataclasses.field(default_factory=list)
    charts: list[Chart] = dataclasses.field(default_factory=list)
    traffic: list[LimitChart] = dataclasses.field(default_factory=list)
    """Images per minute against the limit (per model), then daily spend against the
    budget: from the latest `usage` and `spend` results, for an account with an Admin key."""
    usage: list[UsageFigures] = dataclasses.field(default_factory=list)
    """The latest `usage` figures, per model (status.json writes them)."""
    spend: SpendFigures | None = None
    """The latest `spend` figures."""
    headroom: list[Headroom] = dataclasses.field(default_factory=list)
    prices: list[Prices] = dataclasses.field(default_factory=list)
    changes: list[Change] = dataclasses.field(default_factory=list)
    incidents: list[IncidentView] = dataclasses.field(default_factory=list)
    launch: dict[str, Any] | None = None
    """The latest `imagewatch readiness` report for this account."""
    spend_today: float = 0.0
    budget: str = ""

    def cells_for(self, check: str) -> list[Cell]:
        return [c for c in self.cells if c.check == check]
