"""Retention: raw results older than `retention_days` are deleted once their hourly and daily
rollups (kept up to date as results arrive) have exact latency percentiles; state changes are
kept for good. The page reads rollups, so it costs the same with a year of history as with a
day. This module is the policy (what is old); the store does the work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.store import PruneReport, Store

SLOT_KEEP = timedelta(days=2)

__all__ = ["SLOT_KEEP", "PruneReport", "cutoff_for", "prune"]


def cutoff_for(now: datetime, retention_days: int) -> datetime:
    """Whole UTC days only, so every hourly and daily bucket is finalised in one go."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=retention_days)


def prune(store: Store, now: datetime, retention_days: int) -> PruneReport:
    return store.prune(cutoff_for(now, retention_days), slots_before=now - SLOT_KEEP)
