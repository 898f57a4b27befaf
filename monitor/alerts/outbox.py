"""Incidents into the outbox, and the outbox to the channels.

`process` applies the incident function to stored results and writes every message as an
outbox row in the same store transaction as the incident. `deliver` has the store claim due
rows one by one (an atomic conditional UPDATE: two daemons never send one message twice),
sends outside any transaction, and records the attempt; failures back off exponentially and
survive restarts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from checks.durations import format_duration
from monitor.alerts.channels import Channel, ChannelError
from monitor.alerts.incidents import Observation, Open, Policy, State, evaluate
from monitor.alerts.messages import Message, incident_message, provider_wide_message
from monitor.alerts.silencing import silence_reason
from monitor.config import LoadedConfig
from monitor.redact import Redactor
from monitor.store import AlertWork, Incident, OutboxMessage, ProbeResult, Silence, Store

MAX_ATTEMPTS = 10
BACKOFF_BASE = 10.0
BACKOFF_CAP = 1800.0
STALE_CLAIM = timedelta(minutes=5)
"""A claim older than this belongs to a deliverer that died mid-send: take it over."""
PROVIDER_WIDE = "covered by a provider-wide message"


def policy_of(loaded: LoadedConfig) -> Policy:
    alerts = loaded.config.alerts
    return Policy(alerts.failure_threshold, alerts.success_threshold, alerts.remind_every)


def backoff(attempts: int) -> float:
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


def enqueue(
    work: AlertWork,
    message: Message,
    channels: Sequence[str],
    key: str,
    now: datetime,
    incident_id: int | None,
    suppressed: str | None,
    delay: float = 0.0,
) -> None:
    work.add_messages(
        [
            OutboxMessage(
                channel=channel,
                kind=message.kind,
                incident_id=incident_id,
                dedupe_key=key,
                title=message.title,
                body=message.body,
                payload=message.payload,
                state="suppressed" if suppressed else "pending",
                last_error=suppressed,
                next_attempt_at=now + timedelta(seconds=delay),
                created_at=now,
            )
            for channel in channels
        ]
    )


@dataclasses.dataclass
class Processed:
    opened: list[int] = dataclasses.field(default_factory=list)
    resolved: list[int] = dataclasses.field(default_factory=list)
    messages: int = 0


def process(
    store: Store,
    loaded: LoadedConfig,
    results: Sequence[ProbeResult],
    now: datetime,
    group_wait: float | None = None,
) -> Processed:
    """Evaluate stored results (each once, in order) into incidents and outbox rows."""
    policy = policy_of(loaded)
    channels = [c.name for c in loaded.config.alerts.channels]
    wait = loaded.config.alerts.group_wait if group_wait is None else group_wait
    public_url = loaded.config.monitor.public_url
    done = Processed()
    with store.alert_work("could not record incidents") as work:
        work.lock_pairs((r.account, r.check, r.model) for r in results)
        for row in sorted(results, key=lambda r: (r.finished_at, r.id or 0)):
            _one(work, row, policy, channels, wait, public_url, loaded, now, done)
    return done


def _silence_reason(
    work: AlertWork, loaded: LoadedConfig, incident: Incident, now: datetime
) -> str | None:
    return silence_reason(
        incident,
        work.silences(incident.account, now),
        loaded.config.alerts.maintenance,
        work.open_incidents(incident.account),
        now,
    )


def _one(
    work: AlertWork,
    row: ProbeResult,
    policy: Policy,
    channels: list[str],
    wait: float,
    public_url: str | None,
    loaded: LoadedConfig,
    now: datetime,
    done: Processed,
) -> None:
    pair = work.pair(row.account, row.check, row.model)
    if pair.last_result_id is not None and row.id is not None and row.id <= pair.last_result_id:
        return
    incident = work.incident(pair.incident_id)
    before = State(
        pair.failures,
        pair.successes,
        None
        if incident is None
        else Open(
            incident.reason, incident.opened_at, incident.last_notified_at or incident.opened_at
        ),
    )
    after, events = evaluate(before, Observation(row.status, row.reason), policy, now)
    for event in events:
        if event == "opened":
            incident = Incident(
                account=row.account,
                check=row.check,
                model=row.model,
                reason=row.reason,
                summary=row.summary,
                request_id=row.request_id,
                http_status=row.http_status,
                opened_at=now,
                updated_at=now,
                last_notified_at=now,
            )
            work.add_incident(incident)
            incident.silenced = _silence_reason(work, loaded, incident, now)
            done.opened.append(incident.id or 0)
        assert incident is not None
        if event in ("updated", "reminder"):
            incident.reason, incident.summary = row.reason, row.summary
            incident.request_id, incident.http_status = row.request_id, row.http_status
            incident.updated_at = now
            if event == "reminder":
                incident.last_notified_at = now
                incident.silenced = _silence_reason(work, loaded, incident, now)
        if event == "resolved":
            incident.state, incident.resolved_at, incident.updated_at = "resolved", now, now
            incident.resolution, incident.resolution_request_id = row.summary, row.request_id
            done.resolved.append(incident.id or 0)
        if event in ("opened", "reminder", "resolved"):
            suppressed = incident.silenced
            if event == "resolved" and suppressed == PROVIDER_WIDE:
                suppressed = None  # each account's recovery is news of its own
            message = incident_message(event, incident, now, public_url)
            enqueue(
                work,
                message,
                channels,
                f"incident:{incident.id}:{event}:{now.timestamp():.0f}",
                now,
                incident.id,
                suppressed,
                wait if event == "opened" else 0.0,
            )
            done.messages += len(channels)
    pair.failures, pair.successes = after.failures, after.successes
    pair.incident_id = None if after.open is None or incident is None else incident.id
    pair.last_result_id = row.id
    work.add(pair)


def group_provider_wide(work: AlertWork, loaded: LoadedConfig, now: datetime) -> int:
    """Pending `opened` messages whose reason opened on every account become one message."""
    accounts = {a.name for a in loaded.accounts}
    if len(accounts) < 2:
        return 0
    pending = work.pending("opened")
    incidents = {m.incident_id: work.incident(m.incident_id) for m in pending}
    by_reason: dict[str, list[Incident]] = {}
    for incident in incidents.values():
        if incident is not None and incident.state == "open":
            by_reason.setdefault(incident.reason, []).append(incident)
    grouped = 0
    for reason, found in by_reason.items():
        if {i.account for i in found} != accounts:
            continue
        found.sort(key=lambda i: i.id or 0)
        ids = {i.id for i in found}
        for message in pending:
            if message.incident_id in ids:
                message.state, message.last_error = "suppressed", PROVIDER_WIDE
        for incident in found:
            incident.silenced = PROVIDER_WIDE
        summary = provider_wide_message(reason, found, now, loaded.config.monitor.public_url)
        enqueue(
            work,
            summary,
            [c.name for c in loaded.config.alerts.channels],
            f"provider:{reason}:{found[0].id}",
            now,
            None,
            None,
        )
        grouped += 1
    return grouped


@dataclasses.dataclass
class Tally:
    """One channel's attempts in one delivery: sent, failed for good, failed to be retried."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0


@dataclasses.dataclass
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    lines: list[str] = dataclasses.field(default_factory=list)
    """One log line per failed attempt and per retry, secrets redacted."""
    by_channel: dict[str, Tally] = dataclasses.field(default_factory=dict)

    def tally(self, channel: str) -> Tally:
        return self.by_channel.setdefault(channel, Tally())


def deliver(
    store: Store,
    loaded: LoadedConfig,
    channels: Mapping[str, Channel],
    now: datetime,
    instance: str,
    limit: int = 200,
) -> Delivery:
    """Send what is due, once each; returns what happened."""
    report = Delivery()
    with store.alert_work("alert delivery failed") as work:
        group_provider_wide(work, loaded, now)
    stale_before = now - STALE_CLAIM
    redactor = Redactor(loaded.secrets)
    for message_id in store.deliverable_messages(now, stale_before, limit):
        message = store.claim_message(message_id, instance, now, stale_before)
        if message is not None:
            _send(message, channels, now, report)
            store.record_attempt(message)
    report.lines = [redactor.text(line) for line in report.lines]
    report.errors = [redactor.text(line) for line in report.errors]
    return report


def _send(
    row: OutboxMessage, channels: Mapping[str, Channel], now: datetime, report: Delivery
) -> None:
    """One attempt at a claimed message; the outcome is left on the row."""
    channel = channels.get(row.channel)
    tally = report.tally(row.channel)
    row.attempts += 1
    what = f"alert delivery: {row.channel}: {row.kind} message {row.message_id}"
    try:
        if channel is None:
            raise ChannelError(f"channel {row.channel!r} is no longer configured")
        channel.send(Message(row.kind, row.title, row.body, row.payload, row.message_id))
    except ChannelError as exc:
        row.last_error = str(exc)
        report.errors.append(f"{row.channel}: {exc}")
        if row.attempts >= MAX_ATTEMPTS or channel is None:
            row.state = "failed"
            report.failed += 1
            tally.failed += 1
            then = f"giving up after {row.attempts} attempt(s)"
        else:
            row.state = "pending"
            wait = backoff(row.attempts)
            row.next_attempt_at = now + timedelta(seconds=wait)
            report.retrying += 1
            tally.retrying += 1
            then = f"retry in {format_duration(wait)}"
        report.lines.append(f"{what}: attempt {row.attempts} failed: {exc}; {then}")
    else:
        row.state, row.sent_at, row.last_error = "sent", now, None
        report.sent += 1
        tally.sent += 1
        if row.attempts > 1:
            report.lines.append(f"{what}: sent on retry (attempt {row.attempts})")


def silence(
    store: Store, account: str, check: str | None, seconds: float, reason: str, now: datetime
) -> Silence:
    return store.add_silence(
        Silence(
            account=account,
            check=check,
            reason=reason,
            created_at=now,
            until=now + timedelta(seconds=seconds),
        )
    )
