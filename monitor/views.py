"""What the status page shows, as plain view objects built from the store: templates get
these, never ORM rows. Every piece of API text stays a plain string here; the templates
escape it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from checks import REGISTRY
from checks.base import as_mapping
from checks.durations import format_duration
from checks.reasons import REASONS, words
from monitor.config import LoadedConfig
from monitor.heartbeat import is_stale, latest
from monitor.plan import plan
from monitor.store import Heartbeat, Incident, ProbeResult, Store, rollup_percentile

HISTORY_DAYS = 90
SEVERITY = {"fail": 4, "unknown": 3, "warn": 2, "skipped": 1, "pass": 0}
SYMBOL = {"pass": "✓", "warn": "!", "fail": "✗", "unknown": "?", "skipped": "-", "none": "·"}
LABEL = {
    "pass": "Pass",
    "warn": "Warn",
    "fail": "Fail",
    "unknown": "Unknown",
    "skipped": "Skipped",
    "none": "No data",
}
READY_WORDS = {"ready": "Ready", "not_ready": "Not ready", "unknown": "Unknown"}


def ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    if seconds < 172_800:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclasses.dataclass
class Cell:
    account: str
    check: str
    model: str
    status: str
    reason: str
    words: str
    advice: str
    summary: str
    checked_at: datetime | None
    checked_ago: str
    stale: bool
    http_status: int | None = None
    request_id: str | None = None

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]

    @property
    def label(self) -> str:
        return LABEL[self.status]

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


@dataclasses.dataclass
class DayBar:
    day: date
    status: str
    total: int
    failed: int

    @property
    def label(self) -> str:
        if self.status == "none":
            return f"{self.day}: no probes"
        return f"{self.day}: {LABEL[self.status]} ({self.total} probes, {self.failed} failed)"


@dataclasses.dataclass
class History:
    check: str
    model: str
    bars: list[DayBar]
    probes: int
    passing_share: float | None

    @property
    def summary(self) -> str:
        if not self.probes or self.passing_share is None:
            return "no probes in 90 days"
        return f"{self.passing_share:.1%} pass or warn over {self.probes:,} probes in 90 days"


@dataclasses.dataclass
class Point:
    day: date
    value: float | None


@dataclasses.dataclass
class Series:
    name: str
    points: list[Point]

    @property
    def maximum(self) -> float:
        return max((p.value for p in self.points if p.value is not None), default=0.0)


@dataclasses.dataclass
class Chart:
    title: str
    unit: str
    series: list[Series]
    description: str

    @property
    def maximum(self) -> float:
        return max((s.maximum for s in self.series), default=0.0) or 1.0


@dataclasses.dataclass
class Window:
    dimension: str
    limit: Any
    remaining: Any
    reset: Any


@dataclasses.dataclass
class Headroom:
    model: str
    images_per_minute: Any
    tier: Any
    source: Any
    windows: list[Window]
    checked_ago: str


@dataclasses.dataclass
class PriceRow:
    category: str
    baseline: str
    published: str
    moved: bool
    change: str


@dataclasses.dataclass
class Prices:
    model: str
    source: str
    rows: list[PriceRow]


@dataclasses.dataclass
class Change:
    account: str
    at: datetime
    at_text: str
    check: str
    model: str
    status: str
    reason: str
    words: str
    summary: str

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]

    @property
    def label(self) -> str:
        return LABEL[self.status]


@dataclasses.dataclass
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
        return "fail" if self.state == "open" else "pass"

    @property
    def symbol(self) -> str:
        return SYMBOL[self.css]


@dataclasses.dataclass
class FeedEntry:
    id: str
    at_text: str
    title: str
    summary: str
    account: str


@dataclasses.dataclass
class AccountView:
    name: str
    ready: str
    ready_words: str
    models: dict[str, str]
    cells: list[Cell]
    problems: list[Cell]
    histories: list[History] = dataclasses.field(default_factory=list)
    charts: list[Chart] = dataclasses.field(default_factory=list)
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


@dataclasses.dataclass
class HeartbeatView:
    state: str  # "running" | "stale" | "none"
    text: str


@dataclasses.dataclass
class SiteView:
    title: str
    generated_at: datetime
    generated_text: str
    verdict: str
    checks: list[str]
    accounts: list[AccountView]
    heartbeat: HeartbeatView
    public_url: str | None
    changes: list[Change]
    feed: list[FeedEntry]


def cell_for(
    row: ProbeResult | None, account: str, check: str, model: str, interval: float, now: datetime
) -> Cell:
    if row is None:
        return Cell(
            account,
            check,
            model,
            "none",
            "no_data",
            "Not checked yet",
            "",
            "",
            None,
            "never",
            False,
        )
    reason = REASONS.get(row.reason)
    stale = (now - row.finished_at).total_seconds() > 2 * interval
    return Cell(
        account,
        check,
        model,
        row.status,
        row.reason,
        words(row.reason),
        reason.advice if reason else "",
        row.summary,
        row.finished_at,
        ago(row.finished_at, now),
        stale,
        row.http_status,
        row.request_id,
    )


def readiness(cells: Sequence[Cell]) -> str:
    statuses = {c.status for c in cells}
    if "fail" in statuses:
        return "not_ready"
    if statuses & {"unknown", "none", "skipped"} or any(c.stale for c in cells):
        return "unknown"
    return "ready"


def verdict_sentence(accounts: Sequence[AccountView]) -> str:
    models: dict[str, list[str]] = {}
    for account in accounts:
        for model, state in account.models.items():
            models.setdefault(model, []).append(state)
    parts = []
    for model, states in models.items():
        ready = states.count("ready")
        parts.append(
            f"{ready} of {len(states)} account{'s' if len(states) != 1 else ''} ready for {model}"
        )
    return "; ".join(parts) + "." if parts else "No accounts configured."


def heartbeat_view(beats: Sequence[Heartbeat], now: datetime) -> HeartbeatView:
    if not beats:
        return HeartbeatView(
            "none", "No monitor heartbeat recorded (results come from `imagewatch check`)."
        )
    newest = latest(beats)
    assert newest is not None  # beats is not empty
    if is_stale(newest.beat_at, now):
        return HeartbeatView(
            "stale",
            f"Monitor last seen {ago(newest.beat_at, now)} ({newest.instance}) — it may be down.",
        )
    return HeartbeatView(
        "running",
        f"Monitor running: last heartbeat {ago(newest.beat_at, now)} "
        f"({len(beats)} instance{'s' if len(beats) != 1 else ''}).",
    )


DailyRollups = dict[tuple[str, str], dict[date, Any]]


def by_pair(rollups: Sequence[Any]) -> DailyRollups:
    """Day rollups of one account as {(check, model): {day: rollup}}."""
    grouped: DailyRollups = {}
    for rollup in rollups:
        grouped.setdefault((rollup.check, rollup.model), {})[rollup.bucket.date()] = rollup
    return grouped


def history(daily: DailyRollups, check: str, model: str, today: date) -> History:
    by_day = daily.get((check, model), {})
    bars, probes, good = [], 0, 0
    for offset in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=offset)
        rollup = by_day.get(day)
        if rollup is None or not rollup.total:
            bars.append(DayBar(day, "none", 0, 0))
            continue
        counts = {
            "fail": rollup.failed,
            "unknown": rollup.unknown,
            "warn": rollup.warned,
            "skipped": rollup.skipped,
            "pass": rollup.passed,
        }
        worst = max((s for s, n in counts.items() if n), key=SEVERITY.__getitem__)
        bars.append(DayBar(day, worst, rollup.total, rollup.failed))
        probes += rollup.total
        good += rollup.passed + rollup.warned
    return History(check, model, bars, probes, good / probes if probes else None)


def charts(daily: DailyRollups, account: AccountView, today: date) -> list[Chart]:
    days = [today - timedelta(days=o) for o in range(HISTORY_DAYS - 1, -1, -1)]
    out = []
    for model in account.models:
        by_day = daily.get(("generation", model), {})
        p50 = Series(
            "p50",
            [Point(d, rollup_percentile(by_day[d], 0.5) if d in by_day else None) for d in days],
        )
        p95 = Series(
            "p95",
            [Point(d, rollup_percentile(by_day[d], 0.95) if d in by_day else None) for d in days],
        )
        latest = next((p.value for p in reversed(p50.points) if p.value is not None), None)
        description = (
            f"Generation latency for {model}, daily p50 and p95 over 90 days; "
            f"latest p50 {latest:.0f} ms."
            if latest is not None
            else f"No generation latency recorded for {model}."
        )
        out.append(Chart(f"Generation latency — {model}", "ms", [p50, p95], description))
    spend: dict[date, float] = {}
    for per_day in daily.values():
        for day, rollup in per_day.items():
            spend[day] = spend.get(day, 0.0) + rollup.cost_usd
    total = sum(spend.values())
    out.append(
        Chart(
            "Daily probe spend",
            "USD",
            [Series("spend", [Point(d, spend.get(d)) for d in days])],
            f"Probe spend per UTC day; ${total:.4f} over 90 days.",
        )
    )
    return out


def headroom(row: ProbeResult | None, model: str, now: datetime) -> Headroom | None:
    if row is None:
        return None
    details = row.details or {}
    windows = as_mapping(details.get("headers"))
    admin = as_mapping(details.get("admin"))
    rows = [
        Window(
            str(name),
            w.get("limit"),
            w.get("remaining"),
            w.get("reset_raw", w.get("reset_seconds")),
        )
        for name, w in sorted(windows.items())
        if isinstance(w, Mapping)
    ]
    if admin:
        rows.append(Window("admin: images/min", admin.get("max_images_per_1_minute"), None, None))
    return Headroom(
        model,
        details.get("images_per_minute"),
        details.get("tier"),
        details.get("limit_source"),
        rows,
        ago(row.finished_at, now),
    )


def prices(row: ProbeResult | None, model: str) -> Prices | None:
    if row is None:
        return None
    details = row.details or {}
    baseline = as_mapping(details.get("baseline"))
    published = as_mapping(details.get("published"))
    moved = {m.get("category"): m for m in details.get("moved", []) if isinstance(m, Mapping)}
    rows = []
    for category in sorted(set(baseline) | set(published)):
        change = moved.get(category)
        rows.append(
            PriceRow(
                str(category),
                str(baseline.get(category, "—")),
                str(published.get(category, "—")),
                change is not None,
                str(change.get("change")) if change else "",
            )
        )
    return Prices(model, str(details.get("source", "")), rows)


def incident_view(row: Incident, now: datetime) -> IncidentView:
    end = row.resolved_at or now
    return IncidentView(
        row.id or 0,
        row.account,
        row.check,
        row.model,
        row.state,
        row.reason,
        words(row.reason),
        row.summary,
        row.request_id,
        row.opened_at,
        iso(row.opened_at),
        row.resolved_at,
        iso(row.resolved_at) if row.resolved_at else None,
        format_duration(max(1.0, (end - row.opened_at).total_seconds())),
        row.silenced,
        row.resolution,
    )


def feed(incidents: Sequence[IncidentView]) -> list[FeedEntry]:
    """Incidents opened and resolved, newest first."""
    entries = []
    for incident in incidents:
        where = f"{incident.account} · {incident.check} · {incident.model}"
        entries.append(
            FeedEntry(
                f"urn:imagewatch:incident:{incident.id}:opened",
                incident.opened_text,
                f"Opened: {where}: {incident.words}",
                incident.summary,
                incident.account,
            )
        )
        if incident.resolved_text:
            entries.append(
                FeedEntry(
                    f"urn:imagewatch:incident:{incident.id}:resolved",
                    incident.resolved_text,
                    f"Resolved after {incident.duration}: {where}: {incident.words}",
                    incident.resolution or "",
                    incident.account,
                )
            )
    entries.sort(key=lambda e: (e.at_text, e.id), reverse=True)
    return entries


def change_view(row: ProbeResult) -> Change:
    return Change(
        row.account,
        row.finished_at,
        iso(row.finished_at),
        row.check,
        row.model,
        row.status,
        row.reason,
        words(row.reason),
        row.summary,
    )


def build(store: Store, loaded: LoadedConfig, now: datetime, *, detail: bool = True) -> SiteView:
    """Everything the site shows; reads the latest-result table, rollups and the kept state
    changes, never a scan of raw results."""
    latest = {(r.account, r.check, r.model): r for r in store.latest_per_pair()}
    since = (now - timedelta(days=HISTORY_DAYS)).date()
    today = now.date()
    accounts = []
    probes = plan(loaded)
    for account in loaded.accounts:
        cells = [
            cell_for(
                latest.get((p.account.name, p.check, p.model)),
                account.name,
                p.check,
                p.model,
                loaded.config.check_settings(p.check).every,
                now,
            )
            for p in probes
            if p.account.name == account.name
        ]
        models = {}
        for model in account.models:
            related = [
                c
                for c in cells
                if c.model == model or (c.check == "snapshot" and c.model.startswith(model))
            ]
            models[model] = readiness(related)
        state = readiness(cells)
        problems = [c for c in cells if c.status in ("fail", "unknown")]
        problems.sort(key=lambda c: -SEVERITY[c.status])
        view = AccountView(
            account.name,
            state,
            READY_WORDS[state],
            models,
            cells,
            problems,
            budget=str(loaded.budget(account.name)),
            spend_today=store.spend(account.name, today),
        )
        if detail:
            daily = by_pair(store.rollups_for(account.name, since))
            for p in probes:
                if p.account.name == account.name:
                    view.histories.append(history(daily, p.check, p.model, today))
            view.charts = charts(daily, view, today)
            for model in account.models:
                room = headroom(latest.get((account.name, "rate_limits", model)), model, now)
                if room:
                    view.headroom.append(room)
                table = prices(latest.get((account.name, "pricing", model)), model)
                if table:
                    view.prices.append(table)
            view.changes = [change_view(r) for r in store.state_changes(account.name, 20)]
            view.incidents = [incident_view(i, now) for i in store.incidents(account.name, 20)]
            report = store.latest_launch_report(account.name)
            view.launch = dict(report.report) if report is not None else None
        accounts.append(view)
    return SiteView(
        title=loaded.config.monitor.title,
        generated_at=now,
        generated_text=now.strftime("%Y-%m-%d %H:%M UTC"),
        verdict=verdict_sentence(accounts),
        checks=[name for name, check in REGISTRY.items() if check.scheduled],
        accounts=accounts,
        heartbeat=heartbeat_view(store.heartbeats(), now),
        public_url=loaded.config.monitor.public_url,
        changes=[change_view(r) for r in store.state_changes(None, 50)],
        feed=feed([incident_view(i, now) for i in store.incidents(None, 50)]),
    )
