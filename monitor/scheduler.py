"""APScheduler 3.x wiring for `imagewatch run`: one job per (account, check, model), plus
heartbeat, alert delivery, prune and a debounced publish. It only turns the daemon's steps
into jobs; when each probe runs is `monitor.cadence`'s decision."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from monitor import cadence
from monitor.daemon import Daemon
from monitor.heartbeat import HEARTBEAT_EVERY, package_version
from monitor.plan import Probe, evidence_first
from monitor.store import StoreError

PRUNE_EVERY = 86_400.0
DELIVER_EVERY = 5.0
STOP_TIMEOUT = 30.0
PUBLISH_DEBOUNCE = 5.0  # one publish for a burst of probes, at most this late


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
        self.stalled = False

    def job_id(self, probe: Probe) -> str:
        return probe.key

    def start(self) -> list[Probe]:
        """Schedule every job at its next slot; returns the probes due now (never run, or
        their current slot not yet run), for `catch_up` to run in round order."""
        from apscheduler.triggers.interval import IntervalTrigger

        now = self.daemon.clock.now()
        due_now = []
        for probe in self.daemon.probes:
            last = self.daemon.last(probe)
            interval = cadence.next_interval(self.daemon.settings(probe), last, now)
            finished_at = None if last is None else last.finished_at
            due = cadence.due(finished_at, interval, probe.key, now)
            first = cadence.next_run(probe.key, interval, now)
            held = cadence.not_before(last)
            if held is not None and held > now:  # a restart does not skip the API's wait
                due, first = False, max(first, held)
            if due:
                due_now.append(probe)
            self.scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=interval, timezone="UTC"),
                args=[probe],
                id=self.job_id(probe),
                name=probe.label,
                # A due probe's job waits paused; its catch-up run schedules it.
                next_run_time=None if due else first,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(max(1, min(300, interval / 2))),
            )
        for job_id, every, step, what, first in (
            ("heartbeat", HEARTBEAT_EVERY, self.beat, "heartbeat", now),
            ("deliver", DELIVER_EVERY, self.daemon.deliver, "alert delivery", now),
            ("prune", PRUNE_EVERY, self.daemon.prune, "prune", now + timedelta(seconds=60)),
        ):
            self.scheduler.add_job(
                self._guarded,
                IntervalTrigger(seconds=every),
                args=[step, what],
                id=job_id,
                next_run_time=first,
                max_instances=1,
                coalesce=True,
            )
        self.scheduler.start()
        return due_now

    def beat(self) -> None:
        """The heartbeat, and one log line each time probing stops or comes back: a daemon
        that beats but stores nothing must say so."""
        self.daemon.beat()
        stalled = self.daemon.not_probing()
        if stalled and not self.stalled:
            self.log(
                "warning: running but not probing: no result stored for twice the "
                "shortest probe interval"
            )
        elif self.stalled and not stalled:
            self.log("probing again: results are being stored")
        self.stalled = stalled

    async def catch_up(self, due: list[Probe]) -> None:
        """Run due probes as a round does: the evidence first, then the checks reading it."""
        first, later = evidence_first(due)
        # _run reports its own failures; one must not keep the later probes from running
        await asyncio.gather(*(self._run(p) for p in first), return_exceptions=True)
        await asyncio.gather(*(self._run(p) for p in later), return_exceptions=True)

    async def _guarded(self, step: Callable[[], None], what: str) -> None:
        from monitor.page import PublishError

        try:
            await asyncio.to_thread(step)
        except (StoreError, PublishError) as exc:
            self.log(f"error: {what}: {exc}")
        except Exception as exc:  # a bug in one step must not end the scheduler: say it
            self.log(f"error: {what}: monitor error: {type(exc).__name__}: {exc}")

    async def _run(self, probe: Probe, confirming: bool = False) -> None:
        if self.stopping:
            return  # submitted just before shutdown: never claim a slot it cannot finish
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        try:
            probed = await self.daemon.probe(probe, confirming)
        except StoreError as exc:
            self.failures += 1
            self.log(f"error: {probe.label}: {exc}")
            return
        except Exception as exc:  # a bug in a step must not end the scheduler: say it, go on
            self.failures += 1
            self.log(f"error: {probe.label}: monitor error: {type(exc).__name__}: {exc}")
            return
        finally:
            if task is not None:
                self.in_flight.discard(task)
        with contextlib.suppress(Exception):  # the job may be gone during shutdown
            self.scheduler.modify_job(self.job_id(probe), next_run_time=probed.decision.next_run)
        result = probed.result
        if result is not None:
            await self._guarded(lambda: self.daemon.alert([result]), "alerts")
            self.schedule_publish()
            self.log(
                f"{result.finished_at:%H:%M:%S} {probe.label}: {result.status} {result.reason}"
            )
        if probed.decision.confirm:
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
    daemon: Daemon,
    log: Callable[[str], None] = print,
    stop_after: float | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM, `stop` is set or `stop_after` seconds pass, then stop
    gracefully."""
    stopping = stop or asyncio.Event()
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
