"""APScheduler 3.x wiring for `imagewatch run`: one job per (account, check, model), plus
heartbeat, alert delivery, prune and a debounced publish. It only turns the daemon's steps
into jobs; when each probe runs is `monitor.cadence`'s decision."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import signal
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from monitor import cadence
from monitor.daemon import Daemon, Probed
from monitor.heartbeat import HEARTBEAT_EVERY, package_version
from monitor.plan import Probe
from monitor.store import StoreError

PRUNE_EVERY = 86_400.0
DELIVER_EVERY = 5.0
# How long a stop waits for the probes in flight: past their own deadlines (a request's
# `timeout`, 60 s by default, twice with a retry wait of up to 30 s between).
STOP_TIMEOUT = 180.0
PUBLISH_DEBOUNCE = 5.0  # one publish for a burst of probes, at most this late


def give_back() -> None:
    """Return the allocator's free memory to the system. glibc keeps what was freed for
    reuse, in an arena per thread that used it: the catch-up's peak, and each short-lived
    thread of a publish, otherwise stay in the daemon's RSS for good."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Scheduler:
    """APScheduler 3.x glue: one job per (account, model, check), plus heartbeat and prune."""

    def __init__(
        self, daemon: Daemon, log: Callable[[str], None] = print, own_process: bool = False
    ) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.daemon = daemon
        self.log = log
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self.failures = 0
        self.stalled = False
        self.own_process = own_process
        """The daemon has the process to itself: it may tune the whole heap (freeze it out
        of the garbage collector, give free memory back to the system), never a caller's."""

    def job_id(self, probe: Probe) -> str:
        return probe.key

    def start(self) -> list[Probe]:
        """Schedule every job at its next slot; returns the probes due now (never run, or
        their current slot not yet run), for `catch_up` to run in round order."""
        from apscheduler.triggers.interval import IntervalTrigger

        now = self.daemon.clock.now()
        due_now = []
        lasts = self.daemon.lasts()  # one query, not one per probe
        for probe in self.daemon.probes:
            last = lasts.get(probe.key)
            interval = cadence.next_interval(self.daemon.settings(probe), last, now)
            due, first = cadence.on_start(probe.key, interval, last, now)
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
                self._step,
                IntervalTrigger(seconds=every),
                args=[step, what],
                id=job_id,
                next_run_time=first,
                max_instances=1,
                coalesce=True,
                # Started late by a busy start-up, a step still runs (APScheduler's default
                # grace of 1 s skipped the first heartbeat and delivery at 1,000 accounts).
                misfire_grace_time=int(every),
            )
        self.scheduler.start()
        return due_now

    def beat(self) -> None:
        """The heartbeat, and one log line each time probing stops or comes back: a daemon
        that beats but stores nothing must say so."""
        self.daemon.beat()
        if self.own_process:
            give_back()
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
        """Run the due probes in rounds of whole accounts, one after another, each holding
        at most `cadence.catch_up_share` of the gates: the probes whose slots come
        meanwhile find a place free, and each round reads and stores in batches. In a
        daemon's own process, what lives as long as it (the config, the plan, the jobs;
        then what the catch-up left) is frozen out of the garbage collector's scans,
        before and after: during the catch-up a full collection over all of it held the
        loop for 0.3-1 s every few seconds on a busy machine, and every late probe had
        waited for one."""
        self._settle()  # the config, the plan and the jobs, before the catch-up
        monitor = self.daemon.loaded.config.monitor
        limit = cadence.catch_up_share(monitor.concurrency, monitor.per_host_concurrency)
        for batch in cadence.in_batches(due, lambda probe: probe.account.name, limit):
            if self.stopping:
                break
            with self._tracked("the catch-up on start"):
                await self._catch_up(batch, limit)
        self.daemon.first_round_at = self.daemon.clock.now()
        self._settle()

    def _settle(self) -> None:
        if self.own_process:
            gc.collect()
            gc.freeze()
            give_back()

    async def _catch_up(self, batch: list[Probe], share: int) -> None:
        try:
            probed = await self.daemon.probe_all(batch, share, self._after)
        except Exception as exc:  # _probe's reasons: say it, leave them to their next slot
            self.failures += 1
            what = str(exc) if isinstance(exc, StoreError) else f"monitor error: {exc!r}"
            self.log(f"error: catch-up of {len(batch)} probe(s): {what}")
            for probe in batch:
                job = self.scheduler.get_job(self.job_id(probe))
                if job is not None and job.next_run_time is None:  # not scheduled as it ended
                    self.scheduler.resume_job(job.id)
            return
        results = [one.result for one in probed if one.result is not None]
        if results:
            await self._guarded(lambda: self.daemon.alert(results), "alerts")

    @contextlib.contextmanager
    def _tracked(self, what: str) -> Iterator[None]:
        """The current task counts as in flight: `stop` waits for it. Cancelled only when
        a stop gave up waiting; then it ends quietly (a traceback would say nothing)."""
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            self.log(f"stopping: {what} abandoned before it finished")
        finally:
            if task is not None:
                self.in_flight.discard(task)

    async def _guarded(self, step: Callable[[], None], what: str) -> None:
        from monitor.page import PublishError

        try:
            await asyncio.to_thread(step)
        except (StoreError, PublishError) as exc:
            self.log(f"error: {what}: {exc}")
        except Exception as exc:  # a bug in one step must not end the scheduler: say it
            self.log(f"error: {what}: monitor error: {type(exc).__name__}: {exc}")

    async def _step(self, step: Callable[[], None], what: str) -> None:
        """A job running one of the daemon's steps (heartbeat, delivery, prune, publish)."""
        if self.stopping:
            return
        with self._tracked(what):
            await self._guarded(step, what)

    async def _run(self, probe: Probe, confirming: bool = False) -> None:
        if self.stopping:
            return  # submitted just before the stop: never claim a slot it cannot finish
        with self._tracked(probe.label):
            await self._probe(probe, confirming)

    async def _probe(self, probe: Probe, confirming: bool) -> None:
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
        result = probed.result
        if result is not None:
            await self._guarded(lambda: self.daemon.alert([result]), "alerts")
        self._after(probe, probed)

    def _after(self, probe: Probe, probed: Probed) -> None:
        """What follows a probe: its next run, the page, its log line, the probes its
        change or recovery asks for."""
        with contextlib.suppress(Exception):  # the job may be gone during shutdown
            self.scheduler.modify_job(self.job_id(probe), next_run_time=probed.decision.next_run)
        result = probed.result
        if result is not None:
            self.schedule_publish()
            self.log(
                f"{result.finished_at:%H:%M:%S} {probe.label}: {result.status} {result.reason}"
            )
        if probed.decision.confirm:
            for confirmer in self.daemon.confirming_probes(probe):
                self.log(f"{probe.label} changed: confirming with {confirmer.label}")
                self.run_now(confirmer)
        if probed.decision.follow:
            for follower in self.daemon.following_probes(probe):
                self.log(f"{probe.label} passes again: probing {follower.label} now")
                self.run_now(follower)

    def run_now(self, probe: Probe) -> None:
        """Run the probe off its slot, within its claim window (never twice in it)."""
        self.scheduler.add_job(
            self._run,
            args=[probe, True],
            id=f"confirm:{self.job_id(probe)}",
            replace_existing=True,
            max_instances=1,
        )

    def schedule_publish(self) -> None:
        """Debounced: the first probe of a burst schedules one publish a few seconds later;
        the rest of the burst joins it."""
        if self.scheduler.get_job("publish") is None:
            wait = cadence.publish_wait(PUBLISH_DEBOUNCE, self.daemon.publish_took)
            self.scheduler.add_job(
                self._step,
                args=[self.daemon.publish, "publish"],
                id="publish",
                next_run_time=self.daemon.clock.now() + timedelta(seconds=wait),
                max_instances=1,
            )

    async def stop(self, hurry: asyncio.Event | None = None) -> None:
        """Start nothing new; let what is in flight finish and store its result (up to
        `STOP_TIMEOUT`, or until `hurry` is set), then shut the scheduler down. The
        scheduler's shutdown cancels the jobs still running, so it comes last."""
        self.stopping = True
        self.scheduler.pause()
        await asyncio.sleep(0)  # job tasks submitted before the pause start, and see it
        pending = [t for t in self.in_flight if not t.done()]
        if pending:
            self.log(
                f"stopping: waiting for {len(pending)} probe(s) or step(s) in flight "
                "(signal again to abandon them)"
            )
            waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(asyncio.wait(pending))}
            if hurry is not None:
                waiters.add(asyncio.ensure_future(hurry.wait()))
            await asyncio.wait(waiters, timeout=STOP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            still = [t for t in pending if not t.done()]
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)
        self.scheduler.shutdown(wait=False)


async def serve(
    daemon: Daemon,
    log: Callable[[str], None] = print,
    stop_after: float | None = None,
    stop: asyncio.Event | None = None,
    listening: socket.socket | None = None,
    own_process: bool = False,
) -> None:
    """Run until SIGINT/SIGTERM, `stop` is set or `stop_after` seconds pass, then stop
    gracefully. On a `listening` socket, `monitor.listener` serves until the daemon has
    stopped. `own_process`: see `Scheduler.own_process`."""
    stopping = stop or asyncio.Event()
    hurry = asyncio.Event()
    stopped = asyncio.Event()

    def on_signal() -> None:
        (hurry if stopping.is_set() else stopping).set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal)
    scheduler = Scheduler(daemon, log, own_process)
    catching_up = asyncio.create_task(scheduler.catch_up(scheduler.start()))
    listener = None
    if listening is not None:
        from monitor.listener import serve_daemon

        listener = asyncio.create_task(serve_daemon(daemon, listening, stopped))
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
        await scheduler.stop(hurry)
        if not catching_up.done():
            # Its probes in flight finish (stop() lets none start); past the limit, cancel.
            try:
                await asyncio.wait_for(catching_up, STOP_TIMEOUT)
            except (TimeoutError, asyncio.CancelledError):
                log("stopping: the first round did not finish in time")
        with contextlib.suppress(StoreError):
            daemon.beat(stopped=True)
        stopped.set()
        if listener is not None:
            await listener
        log("stopped")
