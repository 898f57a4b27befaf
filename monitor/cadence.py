"""When each probe runs next: plain functions of (check config, last outcome, now). The
daemon and the scheduler read the clock and the store, then ask these; nothing here does.

The paid generation probe runs at `every` while it passes and at `every_when_failing` while
it fails with an answer that is not billed (verification, allow-list, key, quota…), so that
access arriving after organization verification (about 15 minutes to propagate) is seen
within minutes; a `rate_limited` answer backs off as `retry-after` says.

Runs are aligned to slots, the same on every instance. Instances sharing a database agree
on one probe per window whatever each knows of the probe's state: before it runs, a probe
claims the window of its shortest possible interval (`claim_slot`, from the config alone)
with a unique row, and a run whose slot the latest stored result already covers is not due
(`due`). A change of a free check's status asks its confirming (paid) check to run at once,
within the same one-per-window claim.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from checks import REGISTRY
from checks.base import Check, Status
from checks.reasons import REASONS
from checks.retries import requested_wait
from checks.settings import CheckSettings, GenerationSettings

MIN_INTERVAL = 1.0
FOLLOWED = {c.follows_recovery_of for c in REGISTRY.values() if c.follows_recovery_of}
"""The checks whose recovery others follow at once."""
MAX_JITTER = 300.0
# How long an instance that is not first in line for a probe waits before it claims the
# slot: long enough for the first in line to win it, short enough that a dead one (its
# heartbeat not yet stale) delays the probe by no more than this.
CLAIM_GRACE = 0.5

T = TypeVar("T")


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
    follow: bool = False
    """The checks that follow this one's recovery (the capabilities after `generation`)
    should run now."""


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
    # A failure that was billed anyway (an opaque image where a transparent one was asked
    # for) would be paid for again at every fast re-probe: it waits its usual interval.
    if unbilled_failure(last.reason) and "cost" not in last.details:
        return max(MIN_INTERVAL, min(settings.every_when_failing, every))
    return every


def offset(key: str, interval: float) -> float:
    """A stable jitter within the interval, the same on every instance, so accounts do not
    probe in lockstep and instances agree on slots."""
    spread = min(interval, MAX_JITTER)
    return (zlib.crc32(key.encode()) / 2**32) * spread


@dataclasses.dataclass(frozen=True)
class Slot:
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
    return Slot(start=start, next_start=start + step * MICROSECOND)


def next_run(key: str, interval: float, now: datetime) -> datetime:
    """The start of the first slot after `now` for this interval."""
    return slot_at(key, interval, now).next_start


def shortest_interval(settings: CheckSettings) -> float:
    """The shortest interval the config lets a probe have; a paid probe's is the interval
    while it fails (a `retry-after` or a new UTC day may ask for less: then the probe waits
    for the next window)."""
    if isinstance(settings, GenerationSettings):
        return max(MIN_INTERVAL, min(settings.every, settings.every_when_failing))
    return max(MIN_INTERVAL, settings.every)


def claim_slot(key: str, settings: CheckSettings, now: datetime) -> str:
    """What a run at `now` claims: the start of the window of the probe's shortest interval
    that `now` falls in. It depends on the config and the clock alone, never on what an
    instance knows of the probe's state, so every instance names the same window and a
    probe runs at most once in it: scheduled, confirming, or started on a stale view."""
    return slot_at(key, shortest_interval(settings), now).start.isoformat()


def due(last_finished_at: datetime | None, interval: float, key: str, now: datetime) -> bool:
    """A probe never run, or whose current slot has not run yet, runs now; any other waits
    for its next slot. Asked at start, and again when a scheduled run fires, of the latest
    stored result: a run planned on what another instance has since changed is dropped."""
    return last_finished_at is None or last_finished_at < slot_at(key, interval, now).start


def not_before(last: Last | None) -> datetime | None:
    """The earliest moment the API allows this account's next request, from what the last
    answer asked (retry-after, a wait in the message, an exhausted window's reset)."""
    if last is None or last.finished_at is None:
        return None
    wait = requested_wait(last.details)
    return None if wait is None else last.finished_at + timedelta(seconds=wait)


def in_flight(
    last_claim: datetime | None, last: Last | None, timeout: float, now: datetime
) -> bool:
    """Another run holds the probe: its claim is newer than the latest result, and younger
    than twice the check's timeout (past that, its instance died mid-run)."""
    if last_claim is None:
        return False
    if last is not None and last.finished_at is not None and last_claim <= last.finished_at:
        return False
    return (now - last_claim).total_seconds() < 2 * timeout


def runs_now(
    key: str,
    settings: CheckSettings,
    last: Last | None,
    last_claim: datetime | None,
    now: datetime,
    *,
    confirming: bool = False,
) -> bool:
    """Whether a run starting now goes ahead (it must still win its claim window): never
    while another run is in flight, whose result it would only repeat; and, unless it
    confirms a change, only while the latest stored result has not covered its slot under
    the cadence that result sets. So a run scheduled on a view another instance has since
    changed is dropped, and the next one follows the latest result."""
    if in_flight(last_claim, last, settings.timeout, now):
        return False
    if confirming:
        return True
    finished_at = None if last is None else last.finished_at
    return due(finished_at, next_interval(settings, last, now), key, now)


def on_start(key: str, interval: float, last: Last | None, now: datetime) -> tuple[bool, datetime]:
    """When a starting daemon first runs a probe: at once when it is due (never run, or its
    current slot not run), else at its next slot; never before the wait the API asked for,
    which a restart does not skip."""
    due_now = due(None if last is None else last.finished_at, interval, key, now)
    first = next_run(key, interval, now)
    held = not_before(last)
    if held is not None and held > now:
        return False, max(first, held)
    return due_now, first


def recovered(before: Last | None, after: Last | None) -> bool:
    """A probe that failed now passes: the door it proves has just opened."""
    return (
        before is not None
        and after is not None
        and before.status == Status.FAIL
        and after.status == Status.PASS
    )


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
    follow = check.name in FOLLOWED and recovered(before, after)
    return Decision(
        next_run=max(next_at, held) if held else next_at, confirm=confirm, follow=follow
    )


def first_in_line(key: str, instances: Sequence[str], instance: str) -> bool:
    """Whether `instance` goes first for the probe among the live `instances` sharing the
    database: each probe ranks them by a hash of both names (rendezvous hashing), the
    same on every instance, so N instances share the probes about evenly instead of the
    fastest claiming most, and when one stops its probes spread over the rest. An instance
    not first in line waits `CLAIM_GRACE` before it claims; the claim still decides."""
    others = [name for name in instances if name != instance]
    if not others:
        return True
    rank = {name: zlib.crc32(f"{name}\0{key}".encode()) for name in [*others, instance]}
    return max(rank, key=lambda name: (rank[name], name)) == instance


# Publishing may take this share of the daemon's time at most: at a thousand accounts a
# publish takes seconds, and back-to-back publishes would starve the probes of CPU.
PUBLISH_SHARE = 0.2


def publish_wait(debounce: float, last_took: float) -> float:
    """Seconds from the first result of a burst to the publish that shows it: the
    debounce, or longer when the last publish took long enough to need it."""
    return max(debounce, last_took * (1 - PUBLISH_SHARE) / PUBLISH_SHARE)


def catch_up_share(concurrency: int, per_host: int) -> int:
    """How many probes the catch-up on start may have in flight: half of what the gates
    let through, so that a probe whose slot comes during the catch-up finds a place free
    at once instead of queueing behind a thousand accounts' first round."""
    return max(1, min(concurrency, per_host) // 2)


def in_batches(items: Sequence[T], account: Callable[[T], str], limit: int) -> list[list[T]]:
    """`items` in batches of whole accounts (a round hands an account's evidence over in
    memory), each of at most `limit` items unless one account alone has more; accounts in
    the order they first appear."""
    by_account: dict[str, list[T]] = {}
    for item in items:
        by_account.setdefault(account(item), []).append(item)
    batches: list[list[T]] = []
    batch: list[T] = []
    for group in by_account.values():
        if batch and len(batch) + len(group) > limit:
            batches.append(batch)
            batch = []
        batch += group
    if batch:
        batches.append(batch)
    return batches
