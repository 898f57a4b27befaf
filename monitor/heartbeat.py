"""The monitor's own liveness: which instance is running, when it last beat, and whether a
page reader should still believe it."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from monitor.store import Heartbeat, Store

HEARTBEAT_EVERY = 30.0
STALE_AFTER_BEATS = 3  # a monitor that missed this many beats may be down
NOT_PROBING_AFTER = 2  # shortest probe intervals without a stored result


def instance_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def package_version() -> str:
    try:
        return version("imagewatch")
    except PackageNotFoundError:
        return "unknown"


def beat(
    store: Store,
    instance: str,
    started_at: datetime,
    now: datetime,
    last_result_at: datetime | None = None,
    stopped: bool = False,
) -> None:
    """Record that this instance lives, and when it last stored a result (kept as it was
    when None); `stopped` when it stops now and must no longer count as running."""
    store.beat(
        instance,
        socket.gethostname(),
        os.getpid(),
        package_version(),
        started_at,
        now,
        last_result_at=last_result_at,
        stopped=stopped,
    )


def latest(beats: Sequence[Heartbeat]) -> Heartbeat | None:
    return max(beats, key=lambda b: b.beat_at, default=None)


def running(beats: Sequence[Heartbeat], now: datetime) -> list[Heartbeat]:
    """The instances running at `now`: not stopped (a `run --once` round stops as it beats,
    a daemon as it shuts down) and not silent for `STALE_AFTER_BEATS` beats (a daemon
    killed without a goodbye), newest beat first."""
    alive = [b for b in beats if b.stopped_at is None and not is_stale(b.beat_at, now)]
    return sorted(alive, key=lambda b: b.beat_at, reverse=True)


def is_stale(beat_at: datetime, now: datetime) -> bool:
    return (now - beat_at).total_seconds() > STALE_AFTER_BEATS * HEARTBEAT_EVERY


def live_instances(beats: Sequence[Heartbeat], now: datetime) -> list[str]:
    """The instances whose heartbeat is fresh at `now`."""
    return sorted(b.instance for b in beats if not is_stale(b.beat_at, now))


def not_probing(
    last_result_at: datetime | None, running_since: datetime, shortest: float, now: datetime
) -> bool:
    """A monitor that beats but stores nothing is lying: no result for twice the shortest
    probe interval (counted from its start when it has stored none) means not probing."""
    since = last_result_at if last_result_at is not None else running_since
    return (now - since).total_seconds() > NOT_PROBING_AFTER * shortest
