"""Alert bookkeeping queries. An incident and its outbox rows are written through one
`AlertWork`, so they land together or not at all; a message is claimed by one atomic
conditional UPDATE, so however many deliverers run, exactly one sends it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, and_, func, or_, tuple_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from monitor.store.engine import insert_missing, transaction
from monitor.store.tables import AlertState, Incident, OutboxMessage, Silence

DELIVERY_FAILED = "alert delivery failed"
PAIRS_PER_STATEMENT = 500
"""Pairs locked by one statement: three bound values each, well under SQLite's limit."""


class AlertWork:
    """One transaction of alert bookkeeping, from `Store.alert_work`. Rows read or added
    through it stay tracked: what the caller changes on them is saved with everything else
    when the block ends, or none of it is."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._pairs: dict[tuple[str, str, str], AlertState] = {}

    def lock_pairs(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """Make and lock the pairs of a batch of results in a few statements rather than two
        per result (a thousand accounts' round is thousands of results), in key order, so
        two instances locking overlapping batches cannot deadlock."""
        wanted = sorted(set(keys) - set(self._pairs))
        for start in range(0, len(wanted), PAIRS_PER_STATEMENT):
            chunk = wanted[start : start + PAIRS_PER_STATEMENT]
            rows = [
                {"account": a, "check": c, "model": m, "failures": 0, "successes": 0}
                for a, c, m in chunk
            ]
            insert_missing(self._session, AlertState, rows, ["account", "check", "model"])
            columns = (col(AlertState.account), col(AlertState.check), col(AlertState.model))
            statement = (
                select(AlertState)
                .where(tuple_(*columns).in_(chunk))
                .order_by(*columns)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            for row in self._session.scalars(statement):
                self._pairs[(row.account, row.check, row.model)] = row

    def pair(self, account: str, check: str, model: str) -> AlertState:
        """The run of failures or passes of one (account, check, model), locked until the
        transaction ends: of instances evaluating results of one pair at once, one goes
        first and the other sees what it did (the row is made first if missing, so there
        is always a row to lock; on SQLite that write takes the database's write lock)."""
        key = (account, check, model)
        self.lock_pairs([key])  # nothing to do when the batch's lock already holds it
        return self._pairs[key]

    def incident(self, incident_id: int | None) -> Incident | None:
        return None if incident_id is None else self._session.get(Incident, incident_id)

    def add_incident(self, incident: Incident) -> None:
        """Adds it and gives it its id at once, for the messages that name it."""
        self._session.add(incident)
        self._session.flush()

    def add(self, *rows: AlertState | OutboxMessage) -> None:
        self._session.add_all(rows)

    def add_messages(self, messages: list[OutboxMessage]) -> None:
        """Write messages to the outbox; one another deliverer already wrote (the same
        channel and dedupe key: a provider-wide message grouped by two at once) is kept."""
        rows = [m.model_dump(exclude={"id"}) for m in messages]
        insert_missing(self._session, OutboxMessage, rows, ["channel", "dedupe_key"])

    def silences(self, account: str, now: datetime) -> list[Silence]:
        """The account's silences that have not ended."""
        return list(self._session.scalars(in_force(now, account)))

    def open_incidents(self, account: str) -> list[Incident]:
        """The account's open incidents, oldest first, those of this transaction included."""
        statement = (
            select(Incident)
            .where(col(Incident.account) == account, col(Incident.state) == "open")
            .order_by(col(Incident.id))
        )
        return list(self._session.scalars(statement))

    def pending(self, kind: str) -> list[OutboxMessage]:
        """Messages of a kind not sent yet (nor claimed)."""
        statement = select(OutboxMessage).where(
            col(OutboxMessage.state) == "pending", col(OutboxMessage.kind) == kind
        )
        return list(self._session.scalars(statement))


def in_force(now: datetime, account: str | None = None) -> SelectOfScalar[Silence]:
    statement = select(Silence).where(col(Silence.until) > now)
    if account is not None:
        statement = statement.where(col(Silence.account) == account)
    return statement.order_by(col(Silence.until), col(Silence.id))


def _deliverable(now: datetime, stale_before: datetime) -> ColumnElement[bool]:
    """Due and unclaimed, or claimed by a deliverer that died mid-send."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    return or_(
        and_(table.c.state == "pending", table.c.next_attempt_at <= now),
        and_(table.c.state == "sending", table.c.claimed_at < stale_before),
    )


class AlertQueries:
    engine: Engine

    @contextlib.contextmanager
    def alert_work(self, failure: str) -> Iterator[AlertWork]:
        """One transaction for incidents and their messages; a database error becomes a
        StoreError saying `database: <failure>: …`."""
        with transaction(self.engine, failure) as session:
            yield AlertWork(session)

    def add_silence(self, row: Silence) -> Silence:
        with transaction(self.engine, "could not record the silence") as session:
            session.add(row)
        return row

    def silences_in_force(self, now: datetime) -> list[Silence]:
        """Every silence that has not ended, the first to end first."""
        with Session(self.engine) as session:
            return list(session.scalars(in_force(now)))

    def end_silence(self, silence_id: int, now: datetime) -> Silence | None:
        """End a silence in force now (its `until` becomes `now`, so it stays on record);
        None when no silence with that id is in force."""
        with transaction(self.engine, "could not end the silence") as session:
            row = session.scalars(in_force(now).where(col(Silence.id) == silence_id)).first()
            if row is None:
                return None
            row.until = now
            session.add(row)
        return row

    def waiting_messages(self) -> dict[str, int]:
        """Per channel, the messages still to send (held by `group_wait`, or waiting for
        their next attempt)."""
        statement = (
            select(OutboxMessage.channel, func.count())
            .where(col(OutboxMessage.state).in_(("pending", "sending")))
            .group_by(col(OutboxMessage.channel))
        )
        with Session(self.engine) as session:
            return {str(channel): int(count) for channel, count in session.exec(statement).all()}

    def deliverable_messages(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        """Ids of the messages to send now, oldest first: due ones, and those whose claim is
        older than `stale_before`."""
        statement = (
            select(OutboxMessage.id)
            .where(_deliverable(now, stale_before))
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
        with transaction(self.engine, DELIVERY_FAILED) as session:
            return [i for i in session.scalars(statement) if i is not None]

    def claim_message(
        self, message_id: int, instance: str, now: datetime, stale_before: datetime
    ) -> OutboxMessage | None:
        """The message, now `sending` on behalf of `instance`; None when another deliverer
        holds it or it went out meanwhile. Of racing deliverers, only one UPDATE matches."""
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        claim = (
            update(table)
            .where(table.c.id == message_id, _deliverable(now, stale_before))
            .values(state="sending", claimed_by=instance, claimed_at=now)
        )
        with transaction(self.engine, DELIVERY_FAILED) as session:
            if int(cast(CursorResult[Any], session.execute(claim)).rowcount) != 1:
                return None
            return session.get(OutboxMessage, message_id)

    def record_attempt(self, message: OutboxMessage) -> None:
        """Save how a claimed message's attempt went (state, attempts, next try, error)."""
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        with transaction(self.engine, DELIVERY_FAILED) as session:
            session.execute(
                update(table)
                .where(table.c.id == message.id)
                .values(
                    state=message.state,
                    attempts=message.attempts,
                    next_attempt_at=message.next_attempt_at,
                    sent_at=message.sent_at,
                    last_error=message.last_error,
                )
            )
