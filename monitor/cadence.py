"""When each probe runs next: plain functions of (check config, last outcome, now).

The paid generation probe runs at `every` while it passes and at `every_when_failing` while
it fails with an answer that is not billed (verification, allow-list, key, quota…), so that
access arriving after organization verification (about 15 minutes to propagate) is seen
within minutes; a `rate_limited` answer backs off as `retry-after` says.

Runs are aligned to slots: every instance computes the same slot for a probe, so a unique
row per slot lets instances sharing a database run each probe once.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from checks.base import Status
from checks.reasons import REASONS
from checks.settings import CheckSettings, GenerationSettings

MIN_INTERVAL = 1.0
MAX_JITTER = 300.0


@dataclasses.dataclass(frozen=True)
class Last:
    """What cadence needs of the previous result."""

    status: str
    reason: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def seconds_to_midnight(now: datetime) -> float:
    utc = now.astimezone(UTC)
    midnight = (utc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - utc).total_seconds()


def retry_after(details: Mapping[str, Any]) -> float | None:
    headers = details.get("headers")
    value = headers.get("retry_after_seconds") if isinstance(headers, Mapping) else None
    return float(value) if isinstance(value, int | float) and value > 0 else None


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
        wait = retry_after(last.details) or settings.every_when_failing
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
