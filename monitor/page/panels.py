"""The account page's panels, each shaped from recorded rows: rate-limit headroom and prices
(from the latest result's details, untrusted JSON), state changes, incidents and the feed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from checks.base import as_mapping
from checks.durations import format_duration
from checks.reasons import words
from monitor.page.views import (
    Change,
    FeedEntry,
    Headroom,
    IncidentView,
    PriceRow,
    Prices,
    Window,
    iso,
)
from monitor.store import Incident, ProbeResult


def headroom(row: ProbeResult | None, model: str) -> Headroom | None:
    """The rate-limit windows a `rate_limits` result recorded, and the Admin API's limit."""
    if row is None:
        return None
    details = row.details or {}
    windows = as_mapping(details.get("headers"))
    admin = as_mapping(details.get("admin"))
    rows = [
        Window(
            dimension=str(name),
            limit=w.get("limit"),
            remaining=w.get("remaining"),
            reset=w.get("reset_raw", w.get("reset_seconds")),
        )
        for name, w in sorted(windows.items())
        if isinstance(w, Mapping)
    ]
    if admin:
        rows.append(
            Window(
                dimension="admin: images/min",
                limit=admin.get("max_images_per_1_minute"),
                remaining=None,
                reset=None,
            )
        )
    return Headroom(
        model=model,
        images_per_minute=details.get("images_per_minute"),
        tier=details.get("tier"),
        source=details.get("limit_source"),
        windows=rows,
        checked_at=row.finished_at,
    )


def prices(row: ProbeResult | None, model: str) -> Prices | None:
    """Baseline against published prices, per category, as a `pricing` result recorded."""
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
                category=str(category),
                baseline=str(baseline.get(category, "—")),
                published=str(published.get(category, "—")),
                moved=change is not None,
                change=str(change.get("change")) if change else "",
            )
        )
    return Prices(model=model, source=str(details.get("source", "")), rows=rows)


def change_view(row: ProbeResult) -> Change:
    return Change(
        account=row.account,
        at=row.finished_at,
        at_text=iso(row.finished_at),
        check=row.check,
        model=row.model,
        status=row.status,
        reason=row.reason,
        words=words(row.reason),
        summary=row.summary,
    )


def incident_view(row: Incident, now: datetime) -> IncidentView:
    """An incident; one still open has lasted until `now`."""
    end = row.resolved_at or now
    return IncidentView(
        id=row.id or 0,
        account=row.account,
        check=row.check,
        model=row.model,
        state=row.state,
        reason=row.reason,
        words=words(row.reason),
        summary=row.summary,
        request_id=row.request_id,
        opened_at=row.opened_at,
        opened_text=iso(row.opened_at),
        resolved_at=row.resolved_at,
        resolved_text=iso(row.resolved_at) if row.resolved_at else None,
        duration=format_duration(max(1.0, (end - row.opened_at).total_seconds())),
        silenced=row.silenced,
        resolution=row.resolution,
    )


def feed(incidents: Sequence[IncidentView], changes: Sequence[Change]) -> list[FeedEntry]:
    """Incidents opened and resolved, and every (account, check, model)'s status changes,
    newest first."""
    entries = []
    for incident in incidents:
        where = f"{incident.account} · {incident.check} · {incident.model}"
        entries.append(
            FeedEntry(
                id=f"urn:imagewatch:incident:{incident.id}:opened",
                at_text=incident.opened_text,
                title=f"Incident opened: {where}: {incident.words}",
                summary=incident.summary,
                account=incident.account,
            )
        )
        if incident.resolved_text:
            entries.append(
                FeedEntry(
                    id=f"urn:imagewatch:incident:{incident.id}:resolved",
                    at_text=incident.resolved_text,
                    title=f"Incident resolved after {incident.duration}: {where}: {incident.words}",
                    summary=incident.resolution or "",
                    account=incident.account,
                )
            )
    for change in changes:
        entries.append(
            FeedEntry(
                id=f"urn:imagewatch:change:{change.account}:{change.check}:{change.model}:"
                f"{change.at_text}",
                at_text=change.at_text,
                title=f"{change.label}: {change.account} · {change.check} · {change.model}: "
                f"{change.words}",
                summary=change.summary,
                account=change.account,
            )
        )
    entries.sort(key=lambda e: (e.at_text, e.id), reverse=True)
    return entries
