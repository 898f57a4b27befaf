"""The daemon's publish, in a short-lived process of its own. A thousand-account site
reads 450,000 day rollups and renders 40 MB of pages: done inside the daemon, that peak
(400 MB) stayed in its heap after every publish (the allocator keeps freed memory for
reuse), and the render held the interpreter lock for seconds, so probes started late. In a
process of its own the memory goes back to the system when it ends, and the render runs
on another core."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from monitor.config import LoadedConfig
from monitor.page.publish import PublishReport, publish
from monitor.store import Store, make_engine

PARENT_POLL_SECONDS = 0.5


def publish_here(loaded: LoadedConfig, now: datetime) -> PublishReport:
    """The publish the child process runs: its own connection to the store (the daemon
    has already brought the schema up to date)."""
    store = Store(make_engine(loaded.config.monitor.database_url))
    try:
        # on one core, never split in two: the daemon's probes keep the other one
        return publish(store, loaded, now, split_from=None)
    finally:
        store.close()


def publish_apart(loaded: LoadedConfig, now: datetime) -> PublishReport:
    """`publish` as of `now`, in a fresh process (spawned, not forked: the daemon has
    threads and an event loop). Its PublishError or StoreError is raised here."""
    with publisher_pool() as pool:
        return pool.submit(publish_here, loaded, now).result()


def publisher_pool() -> ProcessPoolExecutor:
    """One spawned process for one publish, which ends itself if the daemon dies."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=end_with_parent, initargs=(os.getpid(),)
    )


def end_with_parent(parent: int) -> None:
    """In the publisher: end at once when `parent` (the daemon) is gone. A daemon that was
    SIGKILLed cannot end its pool, and the publisher would run on, or wait on the pool's
    pipe, for ever; an orphan's parent becomes another process."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
