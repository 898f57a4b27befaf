"""`imagewatch demo`'s thirty days: a story told on a simulated clock, through the daemon's
own steps (probe, alert, deliver, heartbeat, prune, publish), against the bundled simulator.

Nothing is written straight into the store. Each simulated day the story changes the
simulator's scenario state (what its control route changes), the clock moves on, and the
daemon probes, stores, opens and resolves incidents as it would in production. Only time is
simulated: retry waits do not wait, the simulator's rate-limit windows read the same clock,
and its slow answers are skipped until the last day. On the last day every scenario account
is back in the state its scenario declares, so the final round is the one `demo` reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from checks.spend import Spend
from checks.usage import Usage
from monitor.clock import FrozenClock
from monitor.daemon import Daemon
from monitor.simulator.scenarios import PINNED, ROLLED, scenario
from monitor.simulator.state import SimulatorState, moved_prices, published_prices
from monitor.store import ProbeResult

DAYS = 30
ROUNDS_PER_DAY = 1
ADMIN_DAYS = 3
"""The Admin API's traffic and bill (the `usage` and `spend` checks) are read on the last
three days only: each usage read covers a day of minute buckets and each spend read a month
of days, so reading them on all thirty days made the demo 4.7 s of CPU slower (a week: 1.2
s), and what their charts draw (the last hour, the last 31 days) comes whole from the last
read."""
ADMIN_CHECKS = (Usage.name, Spend.name)
PRICES = "prices"
"""An event on the price file every account reads, not on one account."""
STORM_ACCOUNTS = ("verified", "tier1", "alias-rolled", "snapshot-withdrawn")


@dataclasses.dataclass(frozen=True)
class Event:
    """On `day`, `changes` apply to the scenario account (or to the price file)."""

    day: int
    account: str
    changes: Mapping[str, Any]
    caption: str


def _storm(day: int, share: float, caption: str) -> tuple[Event, ...]:
    return tuple(
        Event(day, name, {"error_share": share}, caption if i == 0 else "")
        for i, name in enumerate(STORM_ACCOUNTS)
    )


STORY: tuple[Event, ...] = (
    Event(0, "verified", {"verified": False}, "verified: the organization is not verified yet"),
    Event(0, "alias-rolled", {"extra_models": [], "shutdown_dates": {}}, ""),
    Event(0, "flaky", {"slow_ms": 0}, ""),
    Event(3, "verified", {"verified": True}, "verified: the organization gets verified"),
    Event(
        12,
        "verified",
        {"revoked_models": ["gpt-image-2"]},
        "verified: the project loses gpt-image-2 (allowed models edited)",
    ),
    Event(14, "verified", {"revoked_models": []}, "verified: the project regains gpt-image-2"),
    *_storm(20, 1.0, "a 5xx storm: every image request fails on four accounts"),
    *_storm(22, 0.0, "the storm is over"),
    Event(25, PRICES, {"variant": "moved"}, "the published gpt-image-2 image output price moves"),
    Event(27, PRICES, {"variant": "published"}, "the published price moves back"),
    Event(
        26,
        "alias-rolled",
        {"extra_models": [ROLLED], "shutdown_dates": {PINNED: "2027-05-05"}},
        f"alias-rolled: a new snapshot {ROLLED} appears; {PINNED} gets a shutdown date",
    ),
    Event(DAYS - 1, "flaky", {"slow_ms": scenario("flaky").slow_ms}, ""),
)


def apply(state: SimulatorState, event: Event) -> None:
    """One event, through the simulator's state API (what its control route calls)."""
    if event.account == PRICES:
        moved = event.changes["variant"] == "moved"
        state.prices = moved_prices() if moved else published_prices()
        return
    problems = state.accounts[event.account].apply(dict(event.changes))
    if problems:
        raise ValueError(f"story event on {event.account}: {'; '.join(problems)}")


def round_times(end: datetime) -> list[tuple[int, datetime]]:
    """(day, when) of every round: ROUNDS_PER_DAY a day for DAYS days, the last at `end`."""
    step = timedelta(days=1) / ROUNDS_PER_DAY
    first = end - timedelta(days=DAYS) + step
    return [
        (index // ROUNDS_PER_DAY, first + index * step) for index in range(DAYS * ROUNDS_PER_DAY)
    ]


async def replay(
    daemon: Daemon,
    state: SimulatorState,
    clock: FrozenClock,
    end: datetime,
    say: Callable[[str], None] = lambda line: None,
) -> list[ProbeResult]:
    """The story from `end` - DAYS to `end`, then the page published as of `end`. Returns
    the latest result of every probe (what the last round left)."""
    done_days: set[int] = set()
    for day, when in round_times(end):
        if day not in done_days:
            done_days.add(day)
            for event in (e for e in STORY if e.day == day):
                apply(state, event)
                if event.caption:
                    say(f"day {day + 1:>2}: {event.caption}")
        clock.advance((when - clock.now()).total_seconds())
        reads_admin = day >= DAYS - ADMIN_DAYS
        await daemon.whole_round(
            probes=[p for p in daemon.probes if reads_admin or p.check not in ADMIN_CHECKS]
        )
    daemon.prune()
    daemon.publish()
    latest = (daemon.store.latest(p.account.name, p.check, p.model) for p in daemon.probes)
    return [row for row in latest if row is not None]
