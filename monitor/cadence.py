"""When each probe runs next: plain functions of (check config, last outcome, now). The
daemon and the scheduler read the clock and the store, then ask these; nothing here does.

The paid generation probe runs at `every` while it passes and at `every_when_failing` while
it fails with an answer that is not billed (verification, allow-list, key, quota…), so that
access arriving after organization verification (about 15 minutes to propagate) is seen
within minutes; a `rate_limited` answer backs off as `retry-after` says.

Runs are aligned to slots: every instance computes the same slot for a probe, so a unique
row per slot lets instances sharing a database run each probe once. A change of a free
check's status asks its confirming (paid) check to run at once, at most once a minute.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from checks.base import Check, Status
from checks.reasons import REASONS
from checks.retries import requested_wait
from checks.settings import CheckSettings, GenerationSettings

MIN_INTERVAL = 1.0
MAX_JITTER = 300.0


@dataclasses.dataclass(frozen=True)
class Last:
    """What cadence needs of a probe's latest result."""

    status: str
    reason: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    finished_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the daemon does after a probe: when it runs next, and whether the account's
    confirming probe should run now."""

    next_run: datetime
    confirm: bool = False


def seconds_to_midnight(now: datetime) -> float:
    utc = now.astimezone(UTC)
    midnight = (utc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - utc).total_seconds()


def unbilled_failure(reason_code: str) -> bool:
    """An answer that cost nothing and that a fix on the OpenAI side can clear."""
    reason = REASONS.get(reason_code)
    return (
        reason is not None and not reason.billed and reason.status in (Status.FAIL, Status.UNKNOWN)
    )


def next_interval(settings: CheckSettings, last: Last | None, now: datetime) -> float:
    """Seconds from now to the probe's next run."""
    every = settings.every
    if last is None:
        return every
    if last.reason == "budget_exhausted":
        return max(MIN_INTERVAL, seconds_to_midnight(now) + 1)
    if not isinstance(settings, GenerationSettings):  # only paid probes adapt
        return every
    if last.reason == "rate_limited":
        wait = requested_wait(last.details) or settings.every_when_failing
        return max(MIN_INTERVAL, min(wait, every))
    if unbilled_failure(last.reason):
        return max(MIN_INTERVAL, min(settings.every_when_failing, every))
    return every


def offset(key: str, interval: float) -> float:
    """A stable jitter within the interval, the same on every instance, so accounts do not
    probe in lockstep and instances agree on slots."""
    spread = min(interval, MAX_JITTER)
    return (zlib.crc32(key.encode()) / 2**32) * spread


@dataclasses.dataclass(frozen=True)
class Slot:
    id: str
    start: datetime
    next_start: datetime


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def slot_at(key: str, interval: float, now: datetime) -> Slot:
    # Whole microseconds, as datetimes keep time: with floats, a run at a slot's exact start
    # could land in the slot before and be scheduled again at once.
    step = max(1, round(interval * 1_000_000))
    shift = round(offset(key, interval) * 1_000_000)
    index = ((now - EPOCH) // MICROSECOND - shift) // step
    start = EPOCH + (index * step + shift) * MICROSECOND
    return Slot(id=f"{interval:g}s:{index}", start=start, next_start=start + step * MICROSECOND)


def next_run(key: str, interval: float, now: datetime) -> datetime:
    """The start of the first slot after `now` for this interval."""
    return slot_at(key, interval, now).next_start


def slot_id(key: str, interval: float, now: datetime, *, confirming: bool = False) -> str:
    """The slot a run at `now` claims. A confirmation claims the minute's confirmation slot:
    one a minute at most, whoever asks."""
    if confirming:
        return f"confirm:{int(now.timestamp() // 60)}"
    return slot_at(key, interval, now).id


def due(last_finished_at: datetime | None, interval: float, key: str, now: datetime) -> bool:
    """A probe never run, or whose current slot has not run yet, runs at once when the
    daemon starts; any other waits for its next slot."""
    return last_finished_at is None or last_finished_at < slot_at(key, interval, now).start


def not_before(last: Last | None) -> datetime | None:
    """The earliest moment the API allows this account's next request, from what the last
    answer asked (retry-after, a wait in the message, an exhausted window's reset)."""
    if last is None or last.finished_at is None:
        return None
    wait = requested_wait(last.details)
    return None if wait is None else last.finished_at + timedelta(seconds=wait)


def decide(
    check: Check,
    key: str,
    settings: CheckSettings,
    before: Last | None,
    after: Last | None,
    now: datetime,
    *,
    confirming: bool = False,
) -> Decision:
    """When the probe runs next, and whether the status of a check that has a confirming
    check changed between `before` and `after`, so that check should confirm at once.

    `after` is this run's result: None when another instance held the slot, and then the
    next run follows what was known before (that instance's result is usually in flight)."""
    interval = next_interval(settings, after if after is not None else before, now)
    confirm = (
        check.confirms_with is not None
        and before is not None
        and after is not None
        and before.status != after.status
    )
    # A confirmation runs off its slot, maybe seconds before the scheduled run: it takes
    # that run's place (the next slot at least half an interval away) instead of adding a
    # second paid probe.
    next_at = next_run(key, interval, now + timedelta(seconds=interval / 2 if confirming else 0))
    # A slot boundary can come seconds after a 429 that asked for more: the wait wins.
    held = not_before(after if after is not None else before)
    return Decision(next_run=max(next_at, held) if held else next_at, confirm=confirm)
