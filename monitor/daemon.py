"""`imagewatch run`'s steps: probe one (account, check, model) in its slot, run one whole
round, beat, deliver alerts, prune, publish. Each step reads the clock and the store once,
then leaves every decision to `monitor.cadence`; `monitor.scheduler` only says when each
step runs, and `run --once` runs `round_once`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from checks.base import Clock, Sleep
from checks.settings import CheckSettings
from monitor import cadence
from monitor.alerts import Channel, Delivery, deliver, process
from monitor.config import LoadedConfig
from monitor.heartbeat import beat, instance_name, live_instances, not_probing
from monitor.plan import Probe, plan, shortest_every
from monitor.redact import Redactor
from monitor.retention import prune
from monitor.runner import ProgressCallback, Round, make_gates
from monitor.store import ProbeResult, Store
from monitor.transport import Gates

if TYPE_CHECKING:
    from monitor.page import PublishReport


class Share(Gates):
    """At most `limit` of `within`'s places at once, the rest left to other rounds."""

    def __init__(self, within: Gates, limit: int) -> None:
        super().__init__(limit, limit)
        self.within = within

    @contextlib.asynccontextmanager
    async def enter(self, base_url: str) -> AsyncIterator[None]:
        async with self.everything, self.within.enter(base_url):
            yield


@dataclasses.dataclass(frozen=True)
class Probed:
    """One probe step: its result (None when another instance held the slot) and what
    follows from it."""

    result: ProbeResult | None
    decision: cadence.Decision


@dataclasses.dataclass(frozen=True)
class RoundReport:
    """One whole round: every result, what alert delivery did, and the page published."""

    results: list[ProbeResult]
    delivery: Delivery
    published: PublishReport


def last_of(row: ProbeResult | None) -> cadence.Last | None:
    """What cadence needs of a stored result."""
    if row is None:
        return None
    return cadence.Last(row.status, row.reason, row.details or {}, row.finished_at)


class Daemon:
    """The monitor's steps over one config, store, HTTP client and clock."""

    def __init__(
        self,
        loaded: LoadedConfig,
        store: Store,
        client: httpx.AsyncClient,
        clock: Clock,
        instance: str | None = None,
        channels: Mapping[str, Channel] | None = None,
        log: Callable[[str], None] | None = None,
        sleep: Sleep | None = None,
        publish_apart: bool = False,
    ) -> None:
        self.channels = dict(channels or {})
        self.publish_apart = publish_apart
        """Publish in a short-lived process of its own (`monitor.page.apart`): the
        long-running daemon does; a one-shot round or a replay publishes in place."""
        self.log = log
        """Where delivery's lines go (each failed attempt, each retry); None: nowhere."""
        self.sleep = sleep
        """How a probe waits before a retry; a replay on a simulated clock waits for nothing."""
        self.loaded = loaded
        self.store = store
        self.client = client
        self.clock = clock
        self.instance = instance or instance_name()
        self.started_at = clock.now()
        self.last_result_at: datetime | None = None
        """When this instance last stored a result; the heartbeat records it."""
        self.first_round_at: datetime | None = None
        """When this instance's first round (its catch-up at start) ended: `/readyz`."""
        self.publish_took = 0.0
        """How long the last publish took (the next waits in proportion)."""
        self.live: list[str] = []
        """The instances sharing the database whose heartbeat is fresh, as of the last beat."""
        self.probes = plan(loaded)
        # One bound for all the rounds this daemon runs at once (one per scheduled probe),
        # and one redactor (its pattern over every secret is built once).
        self.gates = make_gates(loaded)
        self.redactor = Redactor(loaded.secrets)

    def last(self, probe: Probe) -> cadence.Last | None:
        """The probe's latest stored result, as cadence reads it."""
        return last_of(self.store.latest(probe.account.name, probe.check, probe.model))

    def lasts(self) -> dict[str, cadence.Last]:
        """The latest stored result of every probe of the plan, by probe key."""
        found = self.store.latest_for({p.account.name for p in self.probes})
        lasts = {}
        for probe in self.probes:
            last = last_of(found.get((probe.account.name, probe.check, probe.model)))
            if last is not None:
                lasts[probe.key] = last
        return lasts

    def round(
        self,
        progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
        gates: Gates | None = None,
    ) -> Round:
        """A round on this daemon's client, store, bounds (or a share of them, `gates`) and
        redactor."""
        return Round(
            self.loaded,
            self.client,
            self.clock,
            self.store,
            progress,
            stop=stop,
            sleep=self.sleep,
            gates=gates or self.gates,
            redactor=self.redactor,
        )

    def settings(self, probe: Probe) -> CheckSettings:
        return self.loaded.config.check_settings(probe.check)

    async def probe(self, probe: Probe, confirming: bool = False) -> Probed:
        """Run the probe if `cadence.runs_now` says so and this instance wins its claim
        window; store it, and decide what follows. The result is None when the probe was
        not due, in flight elsewhere, or its window taken: the next run then follows the
        latest stored result."""
        settings = self.settings(probe)
        pair = (probe.account.name, probe.check, probe.model)
        last_claim = self.store.latest_claim(*pair)
        before = self.last(probe)
        now = self.clock.now()
        result = None
        runs = cadence.runs_now(probe.key, settings, before, last_claim, now, confirming=confirming)
        if runs and not cadence.first_in_line(probe.key, self.live, self.instance):
            await asyncio.sleep(cadence.CLAIM_GRACE)
            # What the first in line did meanwhile decides: its claim may sit in the window
            # before the one `now` has moved into, where a claim would not collide with it.
            last_claim = self.store.latest_claim(*pair)
            before = self.last(probe)
            now = self.clock.now()
            runs = cadence.runs_now(
                probe.key, settings, before, last_claim, now, confirming=confirming
            )
        claim = cadence.claim_slot(probe.key, settings, now)
        if runs and self.store.claim(*pair, claim, self.instance, now):
            result = (await self.round().run([probe]))[0]
        if result is not None:
            self.last_result_at = result.finished_at
        decision = cadence.decide(
            probe.kind,
            probe.key,
            settings,
            before,
            last_of(result),
            self.clock.now(),
            confirming=confirming,
        )
        return Probed(result, decision)

    async def probe_all(
        self,
        probes: Sequence[Probe],
        share: int,
        ended: Callable[[Probe, Probed], None] | None = None,
    ) -> list[Probed]:
        """`probe` for many probes as one round holding at most `share` of the gates' places,
        in their order: the previous results read in one query, the new ones stored in
        batches. The catch-up on start runs so; a round per probe cost a read and a
        transaction per result, minutes of CPU at a thousand accounts. A probe another
        instance goes first for takes `probe`'s path (it waits `CLAIM_GRACE` for that
        instance). Each run's next is decided as it ends, and handed to `ended` then: decided
        when the whole round ended, a run that finished just before a slot boundary missed
        the slot after it (a whole interval late)."""
        found = self.store.latest_for({p.account.name for p in probes})
        now = self.clock.now()
        claimed, apart = [], []
        for probe in probes:
            # Two queries a probe: the loop runs what is due between probes (a probe whose
            # slot comes now must not wait for a whole batch's claims).
            await asyncio.sleep(0)
            if not cadence.first_in_line(probe.key, self.live, self.instance):
                apart.append(probe)
                continue
            settings = self.settings(probe)
            pair = (probe.account.name, probe.check, probe.model)
            last_claim = self.store.latest_claim(*pair)
            before = last_of(found.get(pair))
            claim = cadence.claim_slot(probe.key, settings, now)
            if cadence.runs_now(probe.key, settings, before, last_claim, now) and self.store.claim(
                *pair, claim, self.instance, now
            ):
                claimed.append(probe)
        decided: dict[str, Probed] = {}

        def decide(probe: Probe, result: ProbeResult | None) -> Probed:
            pair = (probe.account.name, probe.check, probe.model)
            before = last_of(found.get(pair))
            now = self.clock.now()
            settings = self.settings(probe)
            decision = cadence.decide(probe.kind, probe.key, settings, before, last_of(result), now)
            return Probed(result, decision)

        def progress(probe: Probe, result: ProbeResult | None) -> None:
            if result is not None:  # None: it starts
                decided[probe.key] = decide(probe, result)
                if ended is not None:
                    ended(probe, decided[probe.key])

        ran = await self.round(progress, gates=Share(self.gates, share)).run(claimed)
        if ran:
            self.last_result_at = max(r.finished_at for r in ran)
        alone = await asyncio.gather(*(self.probe(p) for p in apart))
        for probe, one in zip(apart, alone, strict=True):
            decided[probe.key] = one
            if ended is not None:
                ended(probe, one)
        probed = []
        for probe in probes:
            if probe.key not in decided:  # not run: not due, or its window taken
                decided[probe.key] = decide(probe, None)
                if ended is not None:
                    ended(probe, decided[probe.key])
            probed.append(decided[probe.key])
        return probed

    def confirming_probes(self, changed: Probe) -> list[Probe]:
        """The probes that confirm a change of `changed` (the account's paid probes)."""
        return [
            p
            for p in self.probes
            if p.account.name == changed.account.name and p.check == changed.kind.confirms_with
        ]

    def following_probes(self, recovered: Probe) -> list[Probe]:
        """The probes that follow the recovery of `recovered` (the same account and model's
        capability probes after its generation passes again)."""
        return [
            p
            for p in self.probes
            if p.account.name == recovered.account.name
            and p.model == recovered.model
            and p.kind.follows_recovery_of == recovered.check
        ]

    async def round_once(
        self, progress: ProgressCallback | None = None, stop: asyncio.Event | None = None
    ) -> RoundReport:
        """Every probe of the plan in one round (no slot claims: asked for, not scheduled),
        then what follows the round, as of the moment it ended: heartbeat, incidents and
        their messages (sent now, not grouped), delivery, the page. Once `stop` is set no
        probe starts; what follows the round still follows it."""
        from monitor.page import publish

        results, delivery = await self.whole_round(progress, stop)
        published = publish(self.store, self.loaded, self.clock.now())
        return RoundReport(results=results, delivery=delivery, published=published)

    async def whole_round(
        self,
        progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
        probes: Sequence[Probe] | None = None,
    ) -> tuple[list[ProbeResult], Delivery]:
        """`round_once` without the page: the probes (all of them, or `probes`), heartbeat,
        incidents, delivery. A replay publishes once, after its last round."""
        results = await self.round(progress, stop).run(self.probes if probes is None else probes)
        now = self.clock.now()
        self.last_result_at = max((r.finished_at for r in results), default=None)
        # A one-shot round is over once it has stored its results: it never counts as running.
        beat(self.store, self.instance, self.started_at, now, self.last_result_at, stopped=True)
        process(self.store, self.loaded, results, now, group_wait=0)
        return results, self._deliver(now)

    def beat(self, stopped: bool = False) -> None:
        """Record that this instance lives (or, `stopped`, that it stops now)."""
        now = self.clock.now()
        beat(self.store, self.instance, self.started_at, now, self.last_result_at, stopped=stopped)
        self.live = live_instances(self.store.heartbeats(), now)

    def not_probing(self) -> bool:
        """No instance has stored a result for twice the shortest interval."""
        return not_probing(
            self.store.newest_result_at(),
            self.started_at,
            shortest_every(self.loaded),
            self.clock.now(),
        )

    def prune(self) -> None:
        prune(self.store, self.clock.now(), self.loaded.config.monitor.retention_days)

    def alert(self, results: Sequence[ProbeResult]) -> None:
        """Evaluate new results into incidents and outbox rows (messages wait `group_wait`)."""
        process(self.store, self.loaded, results, self.clock.now())

    def deliver(self) -> Delivery:
        """Send the messages that are due; each failed attempt and each retry is one line to
        `log`."""
        return self._deliver(self.clock.now())

    def _deliver(self, now: datetime) -> Delivery:
        delivery = deliver(self.store, self.loaded, self.channels, now, self.instance)
        if self.log is not None:
            for line in delivery.lines:
                self.log(line)
        return delivery

    def publish(self) -> PublishReport:
        from monitor.page import publish
        from monitor.page.apart import publish_apart

        started = time.monotonic()
        try:
            if self.publish_apart:
                return publish_apart(self.loaded, self.clock.now())
            return publish(self.store, self.loaded, self.clock.now())
        finally:
            self.publish_took = time.monotonic() - started
