"""`check` over several processes: a thousand accounts' round is CPU-bound in one Python
process (httpx, the image decoding, the store), so `[monitor] workers` processes share it.

The accounts are split between the processes (an account's probes stay together: its
later checks read what its earlier ones found, in memory). Each worker is a fork of the
command, made before any event loop or thread exists; it runs its share as one ordinary
round that reads the store, and sends each probe's start and each batch of results back
over a pipe. The command is the only writer: it stores the workers' batches as they come
(two processes writing one SQLite file queue for its lock, and SQLite's wait for it
sleeps in steps of up to 100 ms), so the command's progress, table, exit code and what
is stored are those of one round. A worker ignores
Ctrl-C: the command relays its stop (no new probe starts, those in flight finish and are
stored) and its abandon, so a signal sent to the command alone reaches every worker, and
a worker whose command died stops at once. A worker that fails or dies is an error that
names it; what it stored stays stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from sqlalchemy import Engine

from checks.base import Clock
from monitor.config import LoadedConfig
from monitor.plan import Probe, probe_key
from monitor.runner import ProgressCallback, run_once
from monitor.store import ProbeResult, Store
from monitor.store.store import result_values

Connection = multiprocessing.connection.Connection
MAX_WORKERS = 16
# Below this many accounts one process is as quick: a worker's fork, its own HTTP client
# and its first store writes cost more than its share of the CPU saves.
MIN_ACCOUNTS_PER_WORKER = 50
STOP, ABANDON = "stop", "abandon"
REAP_SECONDS = 10.0
# The command's share of the accounts, against a worker's 1: it also stores every worker's
# results (about a fifth of a process's CPU in a round of a thousand results).
COMMAND_SHARE = 0.8


class WorkerError(Exception):
    """A worker process failed or died before finishing its share of the round."""


def worker_count(setting: int, accounts: int, cpus: int | None) -> int:
    """How many processes run a round of `accounts` accounts: `setting`, or for 0 (auto)
    one per CPU; never more than one per `MIN_ACCOUNTS_PER_WORKER` accounts."""
    wanted = setting or (cpus or 1)
    return max(1, min(wanted, MAX_WORKERS, accounts // MIN_ACCOUNTS_PER_WORKER))


def split(probes: Sequence[Probe], parts: int, first_share: float = 1.0) -> list[list[int]]:
    """The probes' indices in `parts` groups of whole accounts, about equal in probes, the
    first group weighted by `first_share` (the command's: it also stores every result)."""
    by_account: dict[str, list[int]] = {}
    for index, probe in enumerate(probes):
        by_account.setdefault(probe.account.name, []).append(index)
    count = max(1, min(parts, len(by_account)))
    groups: list[list[int]] = [[] for _ in range(count)]
    weights = [first_share, *([1.0] * (count - 1))]
    for indices in sorted(by_account.values(), key=len, reverse=True):
        lightest = min(range(count), key=lambda n: (len(groups[n]) + len(indices)) / weights[n])
        groups[lightest].extend(indices)
    return [sorted(group) for group in groups]


def bounded(loaded: LoadedConfig, share: float) -> LoadedConfig:
    """`loaded` for a process running `share` of the round: its part of the bounds on
    probes in flight, in all and per host (rounded down, at least 1), so that together the
    processes keep them."""
    monitor = loaded.config.monitor
    limits = {
        "concurrency": max(1, math.floor(monitor.concurrency * share)),
        "per_host_concurrency": max(1, math.floor(monitor.per_host_concurrency * share)),
    }
    config = loaded.config.model_copy(update={"monitor": monitor.model_copy(update=limits)})
    return dataclasses.replace(loaded, config=config)


Main = Callable[[asyncio.Event], Coroutine[Any, Any, list[ProbeResult]]]
Interruptible = Callable[[Main], tuple[list[ProbeResult], bool]]


@dataclasses.dataclass
class Worker:
    pid: int
    conn: Connection
    indices: list[int]
    finished: bool = False
    problem: str | None = None


def run_split(
    loaded: LoadedConfig,
    probes: Sequence[Probe],
    *,
    clock: Clock,
    store: Store,
    workers: int,
    interruptible: Interruptible,
    progress: Callable[[], contextlib.AbstractContextManager[ProgressCallback | None]],
) -> tuple[list[ProbeResult], bool]:
    """One round of `probes` over `workers` processes (this one included); the results in
    the probes' order, and whether it was stopped. `interruptible` runs the command's
    part (`cli.helpers.run_interruptible`); `progress` opens the command's progress."""
    groups = split(probes, workers, COMMAND_SHARE)
    forked: list[Worker] = []
    try:
        for group in groups[1:]:  # before any thread or loop: a fork copies only this one
            share = bounded(loaded, len(group) / len(probes))
            forked.append(_fork(share, [probes[i] for i in group], group, clock, store))
    except OSError as exc:
        _abandon(forked)
        raise WorkerError(f"could not start a worker process: {exc}") from exc
    own = [probes[i] for i in groups[0]]
    loaded = bounded(loaded, len(own) / len(probes))
    try:
        with progress() as report:

            async def main(stop: asyncio.Event) -> list[ProbeResult]:
                relay = asyncio.create_task(_relay(stop, forked))
                try:
                    mine, *theirs = await asyncio.gather(
                        run_once(loaded, own, clock=clock, store=store, progress=report, stop=stop),
                        *(_collect(worker, probes, store, report) for worker in forked),
                    )
                except BaseException:
                    _send(forked, ABANDON)
                    raise
                finally:
                    relay.cancel()
                return [*mine, *(row for rows in theirs for row in rows)]

            results, stopped = interruptible(main)
    finally:
        for worker in forked:
            _reap(worker)
    failed = [w for w in forked if w.problem]
    if failed:
        stored = len(results)
        raise WorkerError(
            "; ".join(f"worker {w.pid}: {w.problem}" for w in failed)
            + f" ({stored} of {len(probes)} results stored)"
        )
    # In the probes' order, as one round returns them (a probe's key names its result).
    order = {probe.key: n for n, probe in enumerate(probes)}
    results.sort(key=lambda row: order[probe_key(row.account, row.check, row.model)])
    return results, stopped


def _fork(
    loaded: LoadedConfig,
    probes: list[Probe],
    indices: list[int],
    clock: Clock,
    store: Store,
) -> Worker:
    ours, theirs = multiprocessing.Pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            ours.close()
            code = _work(loaded, probes, clock, store, theirs)
        finally:
            os._exit(code)
    theirs.close()
    return Worker(pid, ours, indices)


def _work(
    loaded: LoadedConfig, probes: list[Probe], clock: Clock, store: Store, conn: Connection
) -> int:
    """The worker's round; its exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command relays Ctrl-C
    # The command's pooled database connections are its own: a new pool for this process.
    store.engine.dispose(close=False)
    lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            conn.send(message)

    position = {probe.key: n for n, probe in enumerate(probes)}
    relayed = _Relayed(store.engine, send, position)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        task = asyncio.current_task()
        assert task is not None

        def progress(probe: Probe, row: ProbeResult | None) -> None:
            if row is None:  # its end is told with its batch
                send(("start", position[probe.key]))

        def listen() -> None:  # the command's orders; its end (EOF) is an abandon
            while True:
                try:
                    order = conn.recv()
                except (EOFError, OSError):
                    order = ABANDON
                try:
                    loop.call_soon_threadsafe(stop.set)
                    if order == ABANDON:
                        loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # the round is over and its loop closed
                    return
                if order == ABANDON:
                    return

        threading.Thread(target=listen, daemon=True).start()
        await run_once(loaded, probes, clock=clock, store=relayed, progress=progress, stop=stop)
        return 0

    try:
        asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        send(("failed", "abandoned"))
        return 130
    except Exception as exc:  # the worker's own failure is the command's error line
        send(("failed", f"{type(exc).__name__}: {exc}"))
        return 1
    send(("done",))
    return 0


class _Relayed(Store):
    """A worker's store: it reads the database; the results it would write go to the
    command, which stores them."""

    def __init__(
        self, engine: Engine, send: Callable[[tuple[Any, ...]], None], position: dict[str, int]
    ) -> None:
        super().__init__(engine)
        self._send = send
        self._position = position

    def add_results(self, rows: Iterable[ProbeResult]) -> None:
        batch = [
            (self._position[probe_key(r.account, r.check, r.model)], result_values(r)) for r in rows
        ]
        if batch:
            self._send(("store", batch))


async def _collect(
    worker: Worker, probes: Sequence[Probe], store: Store, report: ProgressCallback | None
) -> list[ProbeResult]:
    """A worker's results as it sends them: stored, and fed to the command's progress."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                message = ("gone",)
            try:
                loop.call_soon_threadsafe(queue.put_nowait, message)
            except RuntimeError:  # the command's round already ended (it failed)
                return
            if message[0] in ("done", "failed", "gone"):
                return

    threading.Thread(target=read, daemon=True).start()
    rows: list[ProbeResult] = []
    while True:
        kind, *rest = await queue.get()
        if kind == "start":
            if report is not None:
                report(probes[worker.indices[rest[0]]], None)
        elif kind == "store":
            batch = [(n, ProbeResult(**fields)) for n, fields in rest[0]]
            store.add_results([row for _, row in batch])
            for n, row in batch:
                rows.append(row)
                if report is not None:
                    report(probes[worker.indices[n]], row)
        elif kind == "done":
            worker.finished = True
            return rows
        elif kind == "failed":
            worker.problem = str(rest[0])
            return rows
        else:
            worker.problem = "ended without finishing its probes"
            return rows


async def _relay(stop: asyncio.Event, forked: list[Worker]) -> None:
    """Pass the command's stop on to the workers."""
    await stop.wait()
    _send(forked, STOP)


def _send(forked: list[Worker], order: str) -> None:
    for worker in forked:
        if not worker.finished and worker.problem is None:
            with contextlib.suppress(OSError):  # it already ended: _collect says how
                worker.conn.send(order)


def _reap(worker: Worker) -> None:
    """Wait for a worker to end: it was told to, or finished; one that does not end
    within `REAP_SECONDS` (a request stuck past every deadline) is killed."""
    worker.conn.close()
    deadline = time.monotonic() + REAP_SECONDS
    pid, status = os.waitpid(worker.pid, os.WNOHANG)
    while pid == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
        pid, status = os.waitpid(worker.pid, os.WNOHANG)
    if pid == 0:
        os.kill(worker.pid, signal.SIGKILL)
        _, status = os.waitpid(worker.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        worker.problem = f"{worker.problem or 'failed'} ({how})"


def _abandon(forked: list[Worker]) -> None:
    for worker in forked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)
