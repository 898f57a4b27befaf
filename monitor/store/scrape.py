"""What one `/metrics` scrape reads: the latest result of every pair, the all-time counts
per pair (summed from the daily rollups, which retention keeps, so counters survive
restarts and pruning), today's spend, open incidents and the outbox backlog. A handful of
queries, each over small tables, whatever the number of results kept."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from monitor.store.rollups import COUNTERS
from monitor.store.store import Store
from monitor.store.tables import DailySpend, Incident, OutboxMessage, ProbeResult, Rollup

# Messages not delivered yet: waiting for their first attempt or a retry, or being sent.
UNDELIVERED = ("pending", "sending")


@dataclasses.dataclass(frozen=True)
class PairTotals:
    """All-time counts of one (account, check, model): results per status, cost, and the
    latency histogram's bucket counts (`rollups.LATENCY_BOUNDS`, then the overflow)."""

    account: str
    check: str
    model: str
    counts: dict[str, float]


@dataclasses.dataclass(frozen=True)
class Scrape:
    latest: list[ProbeResult]
    totals: list[PairTotals]
    spent_today: dict[str, float]
    open_incidents: dict[str, int]
    outbox_pending: int


def read_scrape(store: Store, today: date) -> Scrape:
    """Everything a scrape shows, read in one session (StoreError-free: a failing read
    raises SQLAlchemy's error, which the collector reports as a scrape error)."""
    rollups = Rollup.__table__  # type: ignore[attr-defined]
    keys = (rollups.c.account, rollups.c.check, rollups.c.model)
    totals_query = (
        select(*keys, *(func.sum(rollups.c[name]).label(name) for name in COUNTERS))
        .where(rollups.c.period == "day")
        .group_by(*keys)
    )
    incidents_query = (
        select(col(Incident.account), func.count())
        .where(col(Incident.state) == "open")
        .group_by(col(Incident.account))
    )
    outbox_query = select(func.count()).where(col(OutboxMessage.state).in_(UNDELIVERED))
    spend_query = select(col(DailySpend.account), col(DailySpend.usd)).where(
        col(DailySpend.day) == today
    )
    with Session(store.engine) as session:
        totals = [_totals(row) for row in session.execute(totals_query)]
        incidents = {str(a): int(n) for a, n in session.execute(incidents_query)}
        pending = int(session.scalar(outbox_query) or 0)
        spent = {str(a): float(usd) for a, usd in session.execute(spend_query)}
    return Scrape(
        latest=store.latest_per_pair(),
        totals=totals,
        spent_today=spent,
        open_incidents=incidents,
        outbox_pending=pending,
    )


def _totals(row: Any) -> PairTotals:
    mapping = row._mapping
    return PairTotals(
        account=mapping["account"],
        check=mapping["check"],
        model=mapping["model"],
        counts={name: float(mapping[name] or 0) for name in COUNTERS},
    )
