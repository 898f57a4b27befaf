"""What an alert says: account, model, check, the reason in words, what to do, the request
id, a link to the page. The payload is imagewatch's versioned webhook JSON. Nothing here
comes from a secret: summaries were redacted when stored."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from checks.durations import format_duration
from checks.reasons import REASONS, words
from monitor.store import Incident, new_message_id

PAYLOAD_VERSION = 1
HEADLINE = {
    "opened": "OPENED",
    "reminder": "STILL OPEN",
    "resolved": "RESOLVED",
    "provider_wide": "PROVIDER-WIDE",
    "test": "TEST",
}


@dataclasses.dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    payload: dict[str, Any]
    id: str | None = None
    """The outbox row's `message_id` (None until written there): the same on every attempt,
    for a receiver to de-duplicate on."""


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def link(public_url: str | None, account: str | None = None) -> str | None:
    if not public_url:
        return None
    base = public_url if public_url.endswith("/") else public_url + "/"
    return f"{base}accounts/{account}.html" if account else f"{base}index.html"


def incident_message(
    kind: str, incident: Incident, now: datetime, public_url: str | None
) -> Message:
    reason = REASONS.get(incident.reason)
    advice = reason.advice if reason else ""
    page = link(public_url, incident.account)
    where = f"{incident.account} · {incident.check} · {incident.model}"
    title = f"[imagewatch] {HEADLINE[kind]} {where}: {words(incident.reason)}"
    lines = [f"{words(incident.reason)} ({incident.reason})"]
    duration = None
    if kind == "resolved" and incident.resolved_at is not None:
        duration = (incident.resolved_at - incident.opened_at).total_seconds()
        lines = [
            f"Resolved after {format_duration(max(duration, 1))}: was "
            f"{words(incident.reason)} ({incident.reason})."
        ]
        if incident.resolution:
            lines.append(
                f"Cleared by: {incident.resolution}"
                + (f" [{incident.resolution_request_id}]" if incident.resolution_request_id else "")
            )
    else:
        if advice:
            lines.append(f"What to do: {advice}")
        lines.append(f"Evidence: {incident.summary}")
        if incident.request_id:
            lines.append(f"Request id: {incident.request_id}")
        lines.append(f"Open since {iso(incident.opened_at)}.")
    if page:
        lines.append(page)
    payload = {
        "version": PAYLOAD_VERSION,
        "event": kind,
        "incident": {
            "id": incident.id,
            "account": incident.account,
            "check": incident.check,
            "model": incident.model,
            "reason": incident.reason,
            "words": words(incident.reason),
            "advice": advice,
            "summary": incident.summary,
            "request_id": incident.request_id,
            "http_status": incident.http_status,
            "state": incident.state,
            "opened_at": iso(incident.opened_at),
            "resolved_at": iso(incident.resolved_at),
            "duration_seconds": duration,
            "resolution": incident.resolution,
        },
        "link": page,
        "created_at": iso(now),
    }
    return Message(kind, title, "\n".join(lines), payload)


def provider_wide_message(
    reason: str, incidents: list[Incident], now: datetime, public_url: str | None
) -> Message:
    accounts = sorted({i.account for i in incidents})
    known = REASONS.get(reason)
    title = f"[imagewatch] PROVIDER-WIDE {words(reason)} on all {len(accounts)} accounts"
    lines = [
        f"{words(reason)} ({reason}) opened on every account at once: {', '.join(accounts)}.",
        "This looks like the provider, not one account.",
    ]
    if known and known.advice:
        lines.append(f"What to do: {known.advice}")
    lines.append(f"Evidence: {incidents[0].summary}")
    page = link(public_url)
    if page:
        lines.append(page)
    payload = {
        "version": PAYLOAD_VERSION,
        "event": "provider_wide",
        "reason": reason,
        "words": words(reason),
        "accounts": accounts,
        "incidents": [i.id for i in incidents],
        "link": page,
        "created_at": iso(now),
    }
    return Message("provider_wide", title, "\n".join(lines), payload)


def trial_message(channel: str, now: datetime) -> Message:
    return Message(
        "test",
        f"[imagewatch] TEST message to {channel}",
        f"imagewatch can reach the channel {channel!r}. No action needed.",
        {"version": PAYLOAD_VERSION, "event": "test", "channel": channel, "created_at": iso(now)},
        new_message_id(),
    )
