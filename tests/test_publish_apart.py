from __future__ import annotations

import asyncio
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from monitor.clock import FrozenClock
from monitor.config import LoadedConfig, parse
from monitor.daemon import Daemon
from monitor.page import PublishError
from monitor.page.publish import SPLIT_FROM
from monitor.store import Rollup, Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ACCOUNTS = 30


def config(folder: Path, count: int = ACCOUNTS) -> LoadedConfig:
    accounts = [{"name": f"acct-{a:03d}", "api_key_env": "KEY"} for a in range(count)]
    return parse(
        {
            "monitor": {
                "database_url": f"sqlite:///{folder / 'site.db'}",
                "site_dir": str(folder / "public"),
            },
            "accounts": accounts,
        },
        {"KEY": "sk-test-0000000011112222"},
    )


def filled(loaded: LoadedConfig) -> Store:
    """Ninety days of day rollups for every account's generation probe."""
    store = Store.open(loaded.config.monitor.database_url)
    with Session(store.engine) as session:
        session.add_all(
            Rollup(
                period="day",
                bucket=(NOW - timedelta(days=day)).replace(hour=0, minute=0),
                account=f"acct-{a:03d}",
                check="generation",
                model="gpt-image-2",
                total=96,
                passed=95,
                failed=1,
                latency_count=96,
                h2=40,
                h3=56,
            )
            for a in range(ACCOUNTS)
            for day in range(90)
        )
        session.commit()
    return store


def traced_publish(daemon: Daemon) -> tuple[int, int]:
    """The publish's files, and the peak of what it allocated in this process."""
    tracemalloc.start()
    try:
        files = daemon.publish().files
        return files, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_daemon_publishes_in_a_process_of_its_own_holding_none_of_the_site(
    tmp_path: Path,
) -> None:
    loaded = config(tmp_path)
    store = filled(loaded)
    client = httpx.AsyncClient()
    in_place = Daemon(loaded, store, client, FrozenClock(NOW))
    apart = Daemon(loaded, store, client, FrozenClock(NOW), publish_apart=True)
    files, peak_in_place = traced_publish(in_place)
    written = (tmp_path / "public" / "index.html").read_bytes()
    (tmp_path / "public" / "index.html").unlink()
    files_apart, peak_apart = traced_publish(apart)
    assert files_apart == files
    assert (tmp_path / "public" / "index.html").read_bytes() == written
    assert peak_apart < peak_in_place / 10
    asyncio.run(client.aclose())
    store.close()


def test_the_daemons_publish_of_a_large_site_stays_on_one_core(tmp_path: Path) -> None:
    loaded = config(tmp_path, SPLIT_FROM)
    store = Store.open(loaded.config.monitor.database_url)
    client = httpx.AsyncClient()
    report = Daemon(loaded, store, client, FrozenClock(NOW), publish_apart=True).publish()
    assert report.processes == 1  # the daemon's probes keep the other core
    assert report.files == 2 * SPLIT_FROM + 3
    asyncio.run(client.aclose())
    store.close()


def test_a_publish_apart_that_fails_says_why_in_the_daemon(tmp_path: Path) -> None:
    loaded = config(tmp_path)
    store = filled(loaded)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "notes.txt").write_text("not a site")
    client = httpx.AsyncClient()
    with pytest.raises(PublishError, match="site_dir"):
        Daemon(loaded, store, client, FrozenClock(NOW), publish_apart=True).publish()
    assert (tmp_path / "public" / "notes.txt").read_text() == "not a site"
    asyncio.run(client.aclose())
    store.close()


PARENT = """
import sys, time
from monitor.page import apart
with apart.publisher_pool() as pool:
    pool.submit(time.sleep, 120)
    print(next(iter(pool._processes)), flush=True)  # the publisher's pid
    time.sleep(120)
"""


def test_a_publisher_whose_daemon_was_killed_ends_too(tmp_path: Path) -> None:
    """SIGKILL leaves the daemon no time to end its publish process: the publisher must
    notice on its own, not run (or hang on its pool's pipe) for ever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )
    try:
        assert parent.stdout is not None
        publisher = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{publisher}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = Path(f"/proc/{publisher}").exists()
    if alive:
        os.kill(publisher, signal.SIGKILL)
    assert not alive, "the publisher outlived its killed daemon"
