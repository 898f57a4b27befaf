"""Two publishers (two daemons, or a daemon and `imagewatch publish`) swapping a site into
the same `site_dir` at the same moment."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from monitor.page import PublishError, write_atomically

ROUNDS = 100


def publisher(site: Path, name: str, start: Any) -> int:
    start.wait(timeout=30)
    failed = 0
    for n in range(ROUNDS):
        try:
            write_atomically({"index.html": f"{name} {n}".encode()}, site)
        except PublishError:
            failed += 1
    return failed


def run(
    site: Path, name: str, start: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    out.put(publisher(site, name, start))


def test_two_publishes_into_one_site_dir_at_once_both_land_and_leave_no_leftovers(
    tmp_path: Path,
) -> None:
    site = tmp_path / "public"
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    processes = [context.Process(target=run, args=(site, name, start, out)) for name in "ab"]
    for process in processes:
        process.start()
    failures = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert failures == [0, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["public"]
    assert (site / "index.html").read_text().split()[1] == str(ROUNDS - 1)
