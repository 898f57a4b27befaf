"""The top of the index, what ops read first: the banner (the state in words, the newest
result, the monitor's own state), the open incidents and the silences in force, and the
accounts grouped by tag for a page that stays readable with a thousand of them. Pure: views
and rows in, views out, as of `now`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from monitor.heartbeat import latest, not_probing, running
from monitor.page.views import AccountView, Change, FeedEntry, IncidentView, utc_text
from monitor.store import Heartbeat, Silence

UNTAGGED = "untagged"
STATE_ORDER = {"not_ready": 0, "unknown": 1, "ready": 2}
"""Not-ready accounts first, then those nobody can vouch for, then the ready ones."""
MONITOR_WORDS = {
    "running": "Monitor running",
    "not_probing": "Monitor running but not probing",
    "stopped": "Monitor stopped",
    "none": "No monitor has run",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class MonitorView:
    """The monitor's own state, from the heartbeats, as of the publish."""

    state: str
    """"running", "not_probing", "stopped" (no daemon beat recently, or it said it stopped)
    or "none" (no heartbeat at all: results came from `check` or `run --once`)."""
    words: str
    text: str
    last_beat_at: datetime | None = None
    instances: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Banner:
    """The overall state in one line, and the time of the newest result."""

    state: str
    """"ready", "not_ready", "unknown" or "none" (no accounts)."""
    headline: str
    newest_result_at: datetime | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SilenceView:
    account: str
    check: str | None
    reason: str
    since: datetime
    until: datetime

    @property
    def scope(self) -> str:
        return f"{self.account} · {self.check}" if self.check else f"{self.account} · all checks"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Group:
    """The accounts carrying one tag, worst first; collapsed when all are ready."""

    name: str
    anchor: str
    accounts: list[AccountView]
    not_ready: int
    unknown: int

    @property
    def all_ready(self) -> bool:
        return not self.not_ready and not self.unknown

    @property
    def summary(self) -> str:
        count = len(self.accounts)
        if self.all_ready:
            return f"all {count} ready" if count != 1 else "ready"
        parts = [f"{self.not_ready} of {count} not ready"] if self.not_ready else []
        if self.unknown:
            parts.append(f"{self.unknown} unknown")
        return ", ".join(parts)


def monitor_view(
    beats: Sequence[Heartbeat], newest_result_at: datetime | None, shortest: float, now: datetime
) -> MonitorView:
    """Running while a daemon beats (one-shot rounds and stopped daemons never count), and
    whether it still stores results; stopped otherwise, said with when it last beat."""
    alive = running(beats, now)
    if alive:
        newest = alive[0]
        count = f"{len(alive)} instance{'s' if len(alive) != 1 else ''}"
        beat = f"last heartbeat {utc_text(newest.beat_at)}"
        if not_probing(newest_result_at, newest.started_at, shortest, now):
            stored = f"since {utc_text(newest_result_at)}" if newest_result_at else "yet"
            return MonitorView(
                state="not_probing",
                words=MONITOR_WORDS["not_probing"],
                text=f"Monitor running but not probing: no result stored {stored} "
                f"({beat}, {count}).",
                last_beat_at=newest.beat_at,
                instances=len(alive),
            )
        return MonitorView(
            state="running",
            words=MONITOR_WORDS["running"],
            text=f"Monitor running: {beat} ({count}).",
            last_beat_at=newest.beat_at,
            instances=len(alive),
        )
    last = latest(beats)
    if last is None:
        return MonitorView(
            state="none",
            words=MONITOR_WORDS["none"],
            text="No monitor has run: results come from `imagewatch check` or `run --once`.",
        )
    return MonitorView(
        state="stopped",
        words=MONITOR_WORDS["stopped"],
        text=f"Monitor stopped: last heartbeat {utc_text(last.beat_at)}. No daemon is "
        "refreshing results (`run --once` rounds stop as soon as they have published).",
        last_beat_at=last.beat_at,
    )


def banner(accounts: Sequence[AccountView], newest_result_at: datetime | None) -> Banner:
    """ "All 12 accounts ready for gpt-image-2" or "3 of 12 accounts not ready"."""
    total = len(accounts)
    if not total:
        return Banner(state="none", headline="No accounts configured.", newest_result_at=None)
    not_ready = sum(a.ready == "not_ready" for a in accounts)
    unknown = sum(a.ready == "unknown" for a in accounts)
    noun = "account" if total == 1 else "accounts"
    if not_ready:
        state, headline = "not_ready", f"{not_ready} of {total} {noun} not ready"
        if unknown:
            headline += f", {unknown} unknown"
    elif unknown:
        state, headline = "unknown", f"{unknown} of {total} {noun} unknown"
    else:
        models = sorted({m for a in accounts for m in a.models})
        state, headline = "ready", f"All {total} {noun} ready for {', '.join(models)}"
        if total == 1:
            headline = f"The account is ready for {', '.join(models)}"
    return Banner(state=state, headline=headline, newest_result_at=newest_result_at)


def silence_view(row: Silence) -> SilenceView:
    return SilenceView(
        account=row.account,
        check=row.check,
        reason=row.reason,
        since=row.created_at,
        until=row.until,
    )


def open_incidents(incidents: Sequence[IncidentView]) -> list[IncidentView]:
    """The open ones, the longest open first."""
    return sorted((i for i in incidents if i.state == "open"), key=lambda i: (i.opened_at, i.id))


def worst_first(accounts: Sequence[AccountView]) -> list[AccountView]:
    return sorted(accounts, key=lambda a: (STATE_ORDER.get(a.ready, 1), a.name))


def groups(accounts: Sequence[AccountView]) -> list[Group]:
    """One group per tag (an account with two tags is in both), untagged accounts last; the
    groups with accounts not ready first. Without any tag, one group of all accounts."""
    by_tag: dict[str, list[AccountView]] = {}
    for account in accounts:
        for tag in account.tags or [UNTAGGED]:
            by_tag.setdefault(tag, []).append(account)
    if list(by_tag) == [UNTAGGED]:
        by_tag = {"all accounts": list(accounts)} if accounts else {}
    made = [
        Group(
            name=name,
            anchor=f"group-{index}",
            accounts=worst_first(members),
            not_ready=sum(a.ready == "not_ready" for a in members),
            unknown=sum(a.ready == "unknown" for a in members),
        )
        for index, (name, members) in enumerate(sorted(by_tag.items()))
    ]
    return sorted(
        made,
        key=lambda g: (not g.not_ready, not g.unknown, g.name == UNTAGGED, g.name),
    )


@dataclasses.dataclass(kw_only=True)
class SiteView:
    """Everything the site shows, as of `generated_at`."""

    title: str
    generated_at: datetime
    verdict: str
    banner: Banner
    heartbeat: MonitorView
    checks: list[str]
    accounts: list[AccountView]
    groups: list[Group]
    open_incidents: list[IncidentView]
    silences: list[SilenceView]
    public_url: str | None
    changes: list[Change]
    feed: list[FeedEntry]
    capabilities_probed: bool | None = None
    """Whether any account probes a capability (the matrix shows then); None: any of
    `accounts` does."""
