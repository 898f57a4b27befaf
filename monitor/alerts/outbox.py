"""Incidents into the outbox, and the outbox to the channels.

`process` applies the incident function to stored results and writes every message as an
outbox row in the same transaction as the incident. `deliver` claims due rows with an
atomic conditional UPDATE (so two daemons never send one message twice), sends outside any
transaction, and records the attempt; failures back off exponentially and survive restarts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from checks.base import Status
from checks.reasons import REASONS
from monitor.alerts.channels import Channel, ChannelError
from monitor.alerts.incidents import (
    ACCOUNT_LEVEL,
    STRUCTURAL,
    Observation,
    Open,
    Policy,
    State,
    evaluate,
)
from monitor.alerts.messages import Message, incident_message, provider_wide_message
from monitor.config import LoadedConfig
from monitor.store import (
    AlertState,
    Incident,
    OutboxMessage,
    ProbeResult,
    Silence,
    Store,
    StoreError,
    describe,
)

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


def silence_reason(
    session: Session, loaded: LoadedConfig, incident: Incident, now: datetime
) -> str | None:
    """Why this incident's messages must not be sent, or None."""
    statement = select(Silence).where(
        col(Silence.account) == incident.account,
        col(Silence.until) > now,
        or_(col(Silence.check).is_(None), col(Silence.check) == incident.check),
    )
    silence = session.scalars(statement).first()
    if silence is not None:
        return f"silenced until {silence.until:%Y-%m-%d %H:%M} UTC: {silence.reason}"
    for window in loaded.config.alerts.maintenance:
        if window.covers(incident.account, incident.check, now):
            return f"maintenance window {window.name!r}"
    others = session.scalars(
        select(Incident).where(
            col(Incident.account) == incident.account,
            col(Incident.state) == "open",
            col(Incident.id) != incident.id,
            col(Incident.reason).in_(ACCOUNT_LEVEL),
        )
    ).all()
    muting = [
        o
        for o in others
        if (o.id or 0) < (incident.id or 0) or incident.reason not in ACCOUNT_LEVEL
    ]
    if muting:
        first = min(muting, key=lambda o: o.id or 0)
        return f"muted: account-level incident #{first.id} ({first.reason}) is open"
    known = REASONS.get(incident.reason)
    if known is not None and known.status == Status.UNKNOWN:
        # "Could not tell" on an account already known broken is a symptom, not news:
        # no generation headers means no rate limits while verification is missing.
        explaining = session.scalars(
            select(Incident)
            .where(
                col(Incident.account) == incident.account,
                col(Incident.state) == "open",
                col(Incident.id) != incident.id,
                col(Incident.reason).in_(STRUCTURAL),
            )
            .order_by(col(Incident.id))
        ).first()
        if explaining is not None:
            return f"muted: incident #{explaining.id} ({explaining.reason}) explains it"
    return None


def enqueue(
    session: Session,
    message: Message,
    channels: Sequence[str],
    key: str,
    now: datetime,
    incident_id: int | None,
    suppressed: str | None,
    delay: float = 0.0,
) -> None:
    for channel in channels:
        session.add(
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
    try:
        with Session(store.engine, expire_on_commit=False) as session:
            for row in sorted(results, key=lambda r: (r.finished_at, r.id or 0)):
                _one(session, row, policy, channels, wait, public_url, loaded, now, done)
            session.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"database: could not record incidents: {describe(exc)}") from None
    return done


def _one(
    session: Session,
    row: ProbeResult,
    policy: Policy,
    channels: list[str],
    wait: float,
    public_url: str | None,
    loaded: LoadedConfig,
    now: datetime,
    done: Processed,
) -> None:
    key = (row.account, row.check, row.model)
    pair = session.get(AlertState, key) or AlertState(
        account=row.account, check=row.check, model=row.model
    )
    if pair.last_result_id is not None and row.id is not None and row.id <= pair.last_result_id:
        return
    incident = session.get(Incident, pair.incident_id) if pair.incident_id else None
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
            session.add(incident)
            session.flush()
            incident.silenced = silence_reason(session, loaded, incident, now)
            done.opened.append(incident.id or 0)
        assert incident is not None
        if event in ("updated", "reminder"):
            incident.reason, incident.summary = row.reason, row.summary
            incident.request_id, incident.http_status = row.request_id, row.http_status
            incident.updated_at = now
            if event == "reminder":
                incident.last_notified_at = now
                incident.silenced = silence_reason(session, loaded, incident, now)
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
                session,
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
    session.add(pair)


def group_provider_wide(session: Session, loaded: LoadedConfig, now: datetime) -> int:
    """Pending `opened` messages whose reason opened on every account become one message."""
    accounts = {a.name for a in loaded.accounts}
    if len(accounts) < 2:
        return 0
    pending = session.scalars(
        select(OutboxMessage).where(
            col(OutboxMessage.state) == "pending", col(OutboxMessage.kind) == "opened"
        )
    ).all()
    incidents = {m.incident_id: session.get(Incident, m.incident_id) for m in pending}
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
            session,
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
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def _claim(session: Session, message_id: int, instance: str, now: datetime) -> bool:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    due = and_(table.c.state == "pending", table.c.next_attempt_at <= now)
    abandoned = and_(table.c.state == "sending", table.c.claimed_at < now - STALE_CLAIM)
    result = session.execute(
        update(table)
        .where(table.c.id == message_id, or_(due, abandoned))
        .values(state="sending", claimed_by=instance, claimed_at=now)
    )
    session.commit()
    return int(cast(CursorResult[Any], result).rowcount) == 1


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
    try:
        with Session(store.engine, expire_on_commit=False) as session:
            group_provider_wide(session, loaded, now)
            session.commit()
            table = OutboxMessage.__table__  # type: ignore[attr-defined]
            due = or_(
                and_(table.c.state == "pending", table.c.next_attempt_at <= now),
                and_(table.c.state == "sending", table.c.claimed_at < now - STALE_CLAIM),
            )
            ids = list(
                session.scalars(
                    select(OutboxMessage.id).where(due).order_by(col(OutboxMessage.id)).limit(limit)
                )
            )
            for message_id in ids:
                if message_id is None or not _claim(session, message_id, instance, now):
                    continue
                _send(session, message_id, channels, now, report)
    except SQLAlchemyError as exc:
        raise StoreError(f"database: alert delivery failed: {describe(exc)}") from None
    return report


def _send(
    session: Session,
    message_id: int,
    channels: Mapping[str, Channel],
    now: datetime,
    report: Delivery,
) -> None:
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    session.refresh(row)
    channel = channels.get(row.channel)
    row.attempts += 1
    try:
        if channel is None:
            raise ChannelError(f"channel {row.channel!r} is no longer configured")
        channel.send(Message(row.kind, row.title, row.body, row.payload))
    except ChannelError as exc:
        row.last_error = str(exc)
        report.errors.append(f"{row.channel}: {exc}")
        if row.attempts >= MAX_ATTEMPTS or channel is None:
            row.state = "failed"
            report.failed += 1
        else:
            row.state = "pending"
            row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts))
            report.retrying += 1
    else:
        row.state, row.sent_at, row.last_error = "sent", now, None
        report.sent += 1
    session.add(row)
    session.commit()


def silence(
    store: Store, account: str, check: str | None, seconds: float, reason: str, now: datetime
) -> Silence:
    row = Silence(
        account=account,
        check=check,
        reason=reason,
        created_at=now,
        until=now + timedelta(seconds=seconds),
    )
    try:
        with Session(store.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"database: could not record the silence: {describe(exc)}") from None
    return row
