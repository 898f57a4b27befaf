"""When an incident opens, updates, reminds and resolves: a pure function of (previous
state, new outcome, policy, now). The store and the outbox only apply what it decides."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from checks.reasons import REASONS, is_dependent, is_structural


@dataclasses.dataclass(frozen=True)
class Policy:
    failure_threshold: int = 2
    success_threshold: int = 1
    remind_every: float = 21600.0


@dataclasses.dataclass(frozen=True)
class Observation:
    status: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Open:
    reason: str
    opened_at: datetime
    last_notified_at: datetime


@dataclasses.dataclass(frozen=True)
class State:
    failures: int = 0
    successes: int = 0
    open: Open | None = None


def failing(seen: Observation) -> bool:
    """Fail, unknown, or a rate limit: what can open an incident."""
    return seen.status in ("fail", "unknown") or seen.reason == "rate_limited"


def structural(seen: Observation) -> bool:
    known = REASONS.get(seen.reason)
    return is_structural(seen.reason) or (
        seen.status == "fail" and known is not None and not known.transient
    )


def evaluate(
    state: State, seen: Observation, policy: Policy, now: datetime
) -> tuple[State, list[str]]:
    """The next state, and the events to announce: `opened`, `updated` (another reason on
    the open incident), `reminder`, `resolved`."""
    if seen.status == "skipped" or is_dependent(seen.reason):
        # Nothing was asked, or only another check's failure is known: its incident speaks.
        return state, []
    if failing(seen):
        failures = state.failures + 1
        if state.open is None:
            if structural(seen) or failures >= policy.failure_threshold:
                opened = Open(seen.reason, now, now)
                return State(failures, 0, opened), ["opened"]
            return State(failures, 0, None), []
        events = []
        current = state.open
        if seen.reason != current.reason:
            current = dataclasses.replace(current, reason=seen.reason)
            events.append("updated")
        if (now - current.last_notified_at).total_seconds() >= policy.remind_every:
            current = dataclasses.replace(current, last_notified_at=now)
            events.append("reminder")
        return State(failures, 0, current), events
    successes = state.successes + 1
    if state.open is not None and successes >= policy.success_threshold:
        return State(0, successes, None), ["resolved"]
    return State(0, successes, state.open), []
