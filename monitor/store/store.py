"""The Store: every query the monitor runs. Results and what is kept beside them live
here; alert bookkeeping (`alerting.py`) and retention (`pruning.py`) are mixed in from
their own modules so that each area reads on its own, while callers hold one object."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from monitor.store.alerting import AlertQueries
from monitor.store.engine import StoreError, describe, make_engine, transaction, upsert
from monitor.store.pruning import PruneQueries
from monitor.store.rollups import COUNTERS, ROLLUP_KEYS, as_utc, summed_rollups, summed_spend
from monitor.store.schema import SchemaChange, upgrade
from monitor.store.tables import (
    DailySpend,
    Heartbeat,
    Incident,
    LatestResult,
    LaunchReport,
    ProbeResult,
    ProbeSlot,
    Rollup,
)

# Accounts per IN (…) list: far under SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 1000
# Every column of a stored result but its id, which the insert returns.
_RESULTS = ProbeResult.__table__  # type: ignore[attr-defined]
RESULT_COLUMNS = tuple(c.name for c in _RESULTS.columns if c.name != "id")


def result_values(row: ProbeResult) -> dict[str, Any]:
    """A result's stored values but its id: what one row of the insert takes, and what a
    `check` worker process sends of each result to the command that stores it."""
    return {name: getattr(row, name) for name in RESULT_COLUMNS}


def add_to_rollups(new: Any) -> dict[str, Any]:
    return {name: getattr(Rollup, name) + new[name] for name in COUNTERS}


def add_spend(new: Any) -> dict[str, Any]:
    return {
        "usd": DailySpend.usd + new.usd,
        "paid_probes": DailySpend.paid_probes + new.paid_probes,
        "skipped_probes": DailySpend.skipped_probes + new.skipped_probes,
    }


def beat_again(new: Any) -> dict[str, Any]:
    return {
        "beat_at": new.beat_at,
        "pid": new.pid,
        "last_result_at": func.coalesce(new.last_result_at, Heartbeat.last_result_at),
        "stopped_at": new.stopped_at,
    }


class Store(AlertQueries, PruneQueries):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, database_url: str) -> Store:
        """The store at `database_url`, its schema brought up to date (StoreError)."""
        store = cls(make_engine(database_url))
        try:
            store.upgrade_schema()
        except StoreError:
            store.close()
            raise
        return store

    def upgrade_schema(self) -> SchemaChange:
        """Migrate to this imagewatch's schema (see `monitor.store.schema`)."""
        return upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def add_result(self, row: ProbeResult) -> ProbeResult:
        self.add_results([row])
        return row

    def add_results(self, rows: Iterable[ProbeResult]) -> None:
        """Store results with their side tables (latest per pair, rollups, spend ledger) in
        one transaction: all of it lands or none of it does. A batch costs a few statements
        whatever its size; its side tables end as they would after one insert per row."""
        batch = list(rows)
        if not batch:
            return
        with transaction(self.engine, "could not store results") as session:
            self._insert(session, batch)

    def _insert(self, session: Session, rows: list[ProbeResult]) -> None:
        pairs = {(r.account, r.check, r.model) for r in rows}
        newest: dict[tuple[str, str, str], tuple[str, datetime]] = {
            (p.account, p.check, p.model): (p.status, p.finished_at)
            for p in self._latest_pointers(session, pairs)
        }
        for row in rows:  # in the order given, as inserts one by one would see them
            pair = (row.account, row.check, row.model)
            previous = newest.get(pair)
            row.state_change = previous is None or previous[0] != row.status
            if previous is None or as_utc(previous[1]) <= as_utc(row.finished_at):
                newest[pair] = (row.status, row.finished_at)
        # One multi-row INSERT … RETURNING, in the rows' order: the ids the pointers need.
        # Core, not the ORM's unit of work: the rows need no identity map, and its
        # bookkeeping cost as much as the insert itself at a thousand results a round.
        inserted = session.execute(
            insert(_RESULTS).returning(_RESULTS.c.id, sort_by_parameter_order=True),
            [result_values(row) for row in rows],
        )
        for row, (new_id,) in zip(rows, inserted, strict=True):
            row.id = new_id
        latest: dict[tuple[str, str, str], ProbeResult] = {}
        for row in rows:
            pair = (row.account, row.check, row.model)
            kept = latest.get(pair)
            if kept is None or as_utc(kept.finished_at) <= as_utc(row.finished_at):
                latest[pair] = row
        upsert(
            session,
            LatestResult,
            [
                {
                    "account": row.account,
                    "check": row.check,
                    "model": row.model,
                    "result_id": row.id,
                    "status": row.status,
                    "reason": row.reason,
                    "finished_at": row.finished_at,
                }
                for row in latest.values()
            ],
            ["account", "check", "model"],
            only_if_newer="finished_at",
        )
        upsert(session, Rollup, summed_rollups(rows), ROLLUP_KEYS, add_to_rollups)
        upsert(session, DailySpend, summed_spend(rows), ["account", "day"], add_spend)

    def _latest_pointers(
        self, session: Session, pairs: set[tuple[str, str, str]]
    ) -> list[LatestResult]:
        accounts = sorted({account for account, _, _ in pairs})
        found: list[LatestResult] = []
        for start in range(0, len(accounts), IN_CHUNK):
            statement = select(LatestResult).where(
                col(LatestResult.account).in_(accounts[start : start + IN_CHUNK])
            )
            found += [
                p for p in session.scalars(statement) if (p.account, p.check, p.model) in pairs
            ]
        return found

    def latest_for(self, accounts: Iterable[str]) -> dict[tuple[str, str, str], ProbeResult]:
        """The newest result of every pair of `accounts`, in one query per thousand
        accounts: what a round reads as the previous results of its probes."""
        names = sorted(set(accounts))
        found: dict[tuple[str, str, str], ProbeResult] = {}
        with Session(self.engine) as session:
            for start in range(0, len(names), IN_CHUNK):
                statement = (
                    select(ProbeResult)
                    .join(LatestResult, col(LatestResult.result_id) == col(ProbeResult.id))
                    .where(col(LatestResult.account).in_(names[start : start + IN_CHUNK]))
                )
                for row in session.scalars(statement):
                    found[(row.account, row.check, row.model)] = row
        return found

    def spend_on(self, day: date, accounts: Collection[str]) -> dict[str, float]:
        """USD spent by paid probes on `day`, per account of `accounts` (one query)."""
        with Session(self.engine) as session:
            statement = select(col(DailySpend.account), col(DailySpend.usd)).where(
                col(DailySpend.day) == day, col(DailySpend.account).in_(list(accounts))
            )
            return {row.account: row.usd for row in session.execute(statement)}

    def latest(self, account: str, check: str, model: str) -> ProbeResult | None:
        with Session(self.engine) as session:
            pointer = session.get(LatestResult, (account, check, model))
            return None if pointer is None else session.get(ProbeResult, pointer.result_id)

    def latest_per_pair(self) -> list[ProbeResult]:
        """The newest result of every (account, check, model)."""
        with Session(self.engine) as session:
            statement = select(ProbeResult).join(
                LatestResult, col(LatestResult.result_id) == col(ProbeResult.id)
            )
            return list(session.scalars(statement).all())

    def newest_result_at(self) -> datetime | None:
        """When any instance last stored a result (the latest-result table, one row per
        pair, so this stays cheap however many results are kept)."""
        from sqlalchemy import func

        with Session(self.engine) as session:
            statement = select(func.max(ProbeResult.finished_at)).join(
                LatestResult, col(LatestResult.result_id) == col(ProbeResult.id)
            )
            newest = session.scalar(statement)
        if newest is None:
            return None
        return newest if newest.tzinfo else newest.replace(tzinfo=UTC)

    def spend(self, account: str, day: date) -> float:
        with Session(self.engine) as session:
            row = session.get(DailySpend, (account, day))
            return row.usd if row else 0.0

    def spend_ledger(self, since: date | None = None) -> list[DailySpend]:
        with Session(self.engine) as session:
            statement = select(DailySpend).order_by(col(DailySpend.day), col(DailySpend.account))
            if since is not None:
                statement = statement.where(col(DailySpend.day) >= since)
            return list(session.scalars(statement).all())

    def latest_claim(self, account: str, check: str, model: str) -> datetime | None:
        """When the probe was last claimed, by any instance."""
        with Session(self.engine) as session:
            statement = select(func.max(col(ProbeSlot.claimed_at))).where(
                col(ProbeSlot.account) == account,
                col(ProbeSlot.check) == check,
                col(ProbeSlot.model) == model,
            )
            return session.scalar(statement)

    def claim(
        self, account: str, check: str, model: str, slot: str, instance: str, now: datetime
    ) -> bool:
        """True when this instance won the slot (a claim window, `cadence.claim_slot`);
        False when another already holds it. The unique row is the lock."""
        try:
            with Session(self.engine) as session:
                session.add(
                    ProbeSlot(
                        account=account,
                        check=check,
                        model=model,
                        slot=slot,
                        instance=instance,
                        claimed_at=now,
                    )
                )
                session.commit()
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StoreError(f"database: could not claim a probe slot: {describe(exc)}") from None
        return True

    def beat(
        self,
        instance: str,
        host: str,
        pid: int,
        version: str,
        started_at: datetime,
        now: datetime,
        *,
        last_result_at: datetime | None = None,
        stopped: bool = False,
    ) -> None:
        """Record that `instance` is alive at `now`; `last_result_at` (when it last stored a
        result) keeps its previous value when None. `stopped`: it stops now (a one-shot
        round, or a daemon shutting down), so it no longer counts as running."""
        with transaction(self.engine, "could not record the heartbeat") as session:
            upsert(
                session,
                Heartbeat,
                [
                    {
                        "instance": instance,
                        "host": host,
                        "pid": pid,
                        "version": version,
                        "started_at": started_at,
                        "beat_at": now,
                        "last_result_at": last_result_at,
                        "stopped_at": now if stopped else None,
                    }
                ],
                ["instance"],
                beat_again,
            )

    def rollups_for(self, account: str, since: date, period: str = "day") -> list[Any]:
        """Plain rows (not ORM objects: the page reads tens of thousands of them)."""
        with Session(self.engine) as session:
            start = datetime(since.year, since.month, since.day, tzinfo=UTC)
            statement = (
                select(Rollup.__table__)  # type: ignore[attr-defined]
                .where(
                    col(Rollup.period) == period,
                    col(Rollup.account) == account,
                    col(Rollup.bucket) >= start,
                )
                .order_by(col(Rollup.bucket))
            )
            return list(session.execute(statement).all())

    def state_changes(self, account: str | None, limit: int) -> list[ProbeResult]:
        """The newest results whose status differed from the one before, newest first."""
        with Session(self.engine) as session:
            statement = select(ProbeResult).where(col(ProbeResult.state_change).is_(True))
            if account is not None:
                statement = statement.where(col(ProbeResult.account) == account)
            statement = statement.order_by(
                col(ProbeResult.finished_at).desc(), col(ProbeResult.id).desc()
            ).limit(limit)
            return list(session.scalars(statement).all())

    def incidents(self, account: str | None, limit: int) -> list[Incident]:
        """Open incidents first, then the most recently opened ones."""
        with Session(self.engine) as session:
            statement = select(Incident)
            if account is not None:
                statement = statement.where(col(Incident.account) == account)
            statement = statement.order_by(
                (col(Incident.state) == "open").desc(),
                col(Incident.opened_at).desc(),
                col(Incident.id).desc(),
            ).limit(limit)
            return list(session.scalars(statement).all())

    def add_launch_reports(self, rows: Iterable[LaunchReport]) -> None:
        with transaction(self.engine, "could not store the report") as session:
            session.add_all(list(rows))

    def latest_launch_report(self, account: str) -> LaunchReport | None:
        with Session(self.engine) as session:
            statement = (
                select(LaunchReport)
                .where(col(LaunchReport.account) == account)
                .order_by(col(LaunchReport.created_at).desc(), col(LaunchReport.id).desc())
                .limit(1)
            )
            return session.scalars(statement).first()

    def heartbeats(self) -> list[Heartbeat]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Heartbeat).order_by(col(Heartbeat.beat_at).desc())))

    def rollups(self, period: str) -> list[Rollup]:
        with Session(self.engine) as session:
            statement = (
                select(Rollup)
                .where(col(Rollup.period) == period)
                .order_by(
                    col(Rollup.bucket), col(Rollup.account), col(Rollup.check), col(Rollup.model)
                )
            )
            return list(session.scalars(statement).all())

    def results(self, limit: int = 1000) -> Sequence[ProbeResult]:
        with Session(self.engine) as session:
            statement = select(ProbeResult).order_by(col(ProbeResult.id).desc()).limit(limit)
            return session.scalars(statement).all()
