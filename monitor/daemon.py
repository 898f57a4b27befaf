"""`imagewatch run`: the daemon. The scheduler only turns config into jobs; what runs when,
what a probe may spend and who runs it are decided by plain functions (cadence, the
runner's budget guard, slot claims in the store) that the tests call directly."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from checks.base import Clock
from monitor import cadence
from monitor.alerts import Channel, deliver, process
from monitor.config import LoadedConfig
from monitor.heartbeat import HEARTBEAT_EVERY, beat, instance_name, package_version
from monitor.plan import Probe, evidence_first, plan
from monitor.retention import prune
from monitor.runner import Round
from monitor.store import ProbeResult, Store, StoreError

PRUNE_EVERY = 86_400.0
DELIVER_EVERY = 5.0
STOP_TIMEOUT = 30.0
PUBLISH_DEBOUNCE = 5.0  # one publish for a burst of probes, at most this late


@dataclasses.dataclass
class Decision:
    """What the daemon does after a probe: when it runs next, and whether the account's
    generation probe should confirm a change now."""

    next_run: datetime
    confirm: bool = False


class Daemon:
    def __init__(
        self,
        loaded: LoadedConfig,
        store: Store,
        client: httpx.AsyncClient,
        clock: Clock,
        instance: str | None = None,
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self.channels = dict(channels or {})
        self.loaded = loaded
        self.store = store
        self.client = client
        self.clock = clock
        self.instance = instance or instance_name()
        self.started_at = clock.now()
        self.probes = plan(loaded)

    def last(self, probe: Probe) -> cadence.Last | None:
        row = self.store.latest(probe.account.name, probe.check, probe.model)
        return None if row is None else cadence.Last(row.status, row.reason, row.details or {})

    def interval(self, probe: Probe, now: datetime) -> float:
        settings = self.loaded.config.check_settings(probe.check)
        return cadence.next_interval(settings, self.last(probe), now)

    def slot(self, probe: Probe, now: datetime, confirming: bool = False) -> str:
        if confirming:  # one confirmation a minute at most, whoever asks
            return f"confirm:{int(now.timestamp() // 60)}"
        return cadence.slot_at(probe.key, self.interval(probe, now), now).id

    async def run_probe(self, probe: Probe, confirming: bool = False) -> ProbeResult | None:
        """Claim the probe's slot, run it, store it. None when another instance holds the
        slot."""
        now = self.clock.now()
        if not self.store.claim(
            probe.account.name,
            probe.check,
            probe.model,
            self.slot(probe, now, confirming),
            self.instance,
            now,
        ):
            return None
        results = await Round(self.loaded, self.client, self.clock, self.store).run([probe])
        return results[0]

    def decide(
        self, probe: Probe, before: cadence.Last | None, result: ProbeResult | None
    ) -> Decision:
        """When the probe runs next; and whether a free check's status changed, so the
        account's generation probe should confirm at once (within budget)."""
        now = self.clock.now()
        next_at = cadence.next_run(probe.key, self.interval(probe, now), now)
        confirm = (
            result is not None
            and probe.kind.confirms_with is not None
            and before is not None
            and before.status != result.status
        )
        return Decision(next_run=next_at, confirm=confirm)

    def confirming_probes(self, changed: Probe) -> list[Probe]:
        """The probes that confirm a change of `changed` (the account's paid probes)."""
        return [
            p
            for p in self.probes
            if p.account.name == changed.account.name and p.check == changed.kind.confirms_with
        ]

    def beat(self) -> None:
        beat(self.store, self.instance, self.started_at, self.clock.now())

    def prune(self) -> None:
        prune(self.store, self.clock.now(), self.loaded.config.monitor.retention_days)

    def alert(self, results: list[ProbeResult]) -> None:
        """Evaluate new results into incidents and outbox rows (messages wait `group_wait`)."""
        process(self.store, self.loaded, results, self.clock.now())

    def deliver(self) -> None:
        deliver(self.store, self.loaded, self.channels, self.clock.now(), self.instance)

    def publish(self) -> None:
        from monitor.page import publish

        publish(self.store, self.loaded, self.clock.now())


class Scheduler:
    """APScheduler 3.x glue: one job per (account, model, check), plus heartbeat and prune."""

    def __init__(self, daemon: Daemon, log: Callable[[str], None] = print) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.daemon = daemon
        self.log = log
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self.failures = 0

    def job_id(self, probe: Probe) -> str:
        return probe.key

    def start(self) -> list[Probe]:
        """Schedule every job at its next slot; returns the probes due now (never run, or
        their current slot not yet run), for `catch_up` to run in round order."""
        from apscheduler.triggers.interval import IntervalTrigger

        now = self.daemon.clock.now()
        due_now = []
        for probe in self.daemon.probes:
            interval = self.daemon.interval(probe, now)
            first = cadence.slot_at(probe.key, interval, now)
            last = self.daemon.store.latest(probe.account.name, probe.check, probe.model)
            due = last is None or last.finished_at < first.start
            if due:
                due_now.append(probe)
            self.scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=interval, timezone="UTC"),
                args=[probe],
                id=self.job_id(probe),
                name=probe.label,
                # A due probe's job waits paused; its catch-up run schedules it.
                next_run_time=None if due else first.next_start,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(max(1, min(300, interval / 2))),
            )
        self.scheduler.add_job(
            self._guarded,
            IntervalTrigger(seconds=HEARTBEAT_EVERY),
            args=[self.daemon.beat, "heartbeat"],
            id="heartbeat",
            next_run_time=now,
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._guarded,
            IntervalTrigger(seconds=DELIVER_EVERY),
            args=[self.daemon.deliver, "alert delivery"],
            id="deliver",
            next_run_time=now,
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._guarded,
            IntervalTrigger(seconds=PRUNE_EVERY),
            args=[self.daemon.prune, "prune"],
            id="prune",
            next_run_time=now + timedelta(seconds=60),
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        return due_now

    async def catch_up(self, due: list[Probe]) -> None:
        """Run due probes as a round does: the evidence first, then the checks reading it."""
        first, later = evidence_first(due)
        await asyncio.gather(*(self._run(p) for p in first))
        await asyncio.gather(*(self._run(p) for p in later))

    async def _guarded(self, step: Callable[[], None], what: str) -> None:
        from monitor.page import PublishError

        try:
            await asyncio.to_thread(step)
        except (StoreError, PublishError) as exc:
            self.log(f"error: {what}: {exc}")

    async def _run(self, probe: Probe, confirming: bool = False) -> None:
        if self.stopping:
            return  # submitted just before shutdown: never claim a slot it cannot finish
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        try:
            before = self.daemon.last(probe)
            result = await self.daemon.run_probe(probe, confirming)
            decision = self.daemon.decide(probe, before, result)
        except StoreError as exc:
            self.failures += 1
            self.log(f"error: {probe.label}: {exc}")
            return
        finally:
            if task is not None:
                self.in_flight.discard(task)
        with contextlib.suppress(Exception):  # the job may be gone during shutdown
            self.scheduler.modify_job(self.job_id(probe), next_run_time=decision.next_run)
        if result is not None:
            await self._guarded(lambda: self.daemon.alert([result]), "alerts")
            self.schedule_publish()
            self.log(
                f"{result.finished_at:%H:%M:%S} {probe.label}: {result.status} {result.reason}"
            )
        if decision.confirm:
            for confirmer in self.daemon.confirming_probes(probe):
                self.log(f"{probe.label} changed: confirming with {confirmer.label}")
                self.scheduler.add_job(
                    self._run,
                    args=[confirmer, True],
                    id=f"confirm:{self.job_id(confirmer)}",
                    replace_existing=True,
                    max_instances=1,
                )

    def schedule_publish(self) -> None:
        """Debounced: the first probe of a burst schedules one publish a few seconds later;
        the rest of the burst joins it."""
        if self.scheduler.get_job("publish") is None:
            self.scheduler.add_job(
                self._guarded,
                args=[self.daemon.publish, "publish"],
                id="publish",
                next_run_time=self.daemon.clock.now() + timedelta(seconds=PUBLISH_DEBOUNCE),
                max_instances=1,
            )

    async def stop(self) -> None:
        self.stopping = True
        self.scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # job tasks created before the shutdown start, and see it
        pending = [t for t in self.in_flight if not t.done()]
        if pending:
            self.log(f"stopping: waiting for {len(pending)} probe(s) in flight")
            _done, still = await asyncio.wait(pending, timeout=STOP_TIMEOUT)
            for task in still:
                task.cancel()


async def serve(
    daemon: Daemon, log: Callable[[str], None] = print, stop_after: float | None = None
) -> None:
    """Run until SIGINT/SIGTERM (or `stop_after` seconds), then stop gracefully."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
    scheduler = Scheduler(daemon, log)
    catching_up = asyncio.create_task(scheduler.catch_up(scheduler.start()))
    log(
        f"imagewatch {package_version()} running as {daemon.instance}: "
        f"{len(daemon.probes)} probes over {len(daemon.loaded.accounts)} accounts"
    )
    try:
        if stop_after is None:
            await stopping.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), stop_after)
    finally:
        await scheduler.stop()
        if not catching_up.done():
            # Its probes in flight finish (stop() lets none start); past the limit, cancel.
            try:
                await asyncio.wait_for(catching_up, STOP_TIMEOUT)
            except (TimeoutError, asyncio.CancelledError):
                log("stopping: the first round did not finish in time")
        with contextlib.suppress(StoreError):
            daemon.beat()
        log("stopped")
