"""The store, the only place with SQL: one row per probe, on SQLite by default and
PostgreSQL with the same code. `tables` (the rows), `engine` (connecting), `rollups` (pure
arithmetic), `store` (the Store and its queries, with `alerting` and `pruning`)."""

from monitor.store.alerting import AlertWork
from monitor.store.engine import StoreError, describe, make_engine
from monitor.store.pruning import PruneReport
from monitor.store.rollups import ROLLUP_KEYS, rollup_percentile
from monitor.store.store import Store
from monitor.store.tables import (
    AlertState,
    DailySpend,
    Heartbeat,
    Incident,
    LatestResult,
    LaunchReport,
    OutboxMessage,
    ProbeResult,
    ProbeSlot,
    Rollup,
    Silence,
    UTCDateTime,
    new_message_id,
)

__all__ = [
    "ROLLUP_KEYS",
    "AlertState",
    "AlertWork",
    "DailySpend",
    "Heartbeat",
    "Incident",
    "LatestResult",
    "LaunchReport",
    "OutboxMessage",
    "ProbeResult",
    "ProbeSlot",
    "PruneReport",
    "Rollup",
    "Silence",
    "Store",
    "StoreError",
    "UTCDateTime",
    "describe",
    "make_engine",
    "new_message_id",
    "rollup_percentile",
]
