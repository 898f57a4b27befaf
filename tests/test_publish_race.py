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


def test_the_first_ownership_check_waits_for_a_swap_in_progress(tmp_path: Path) -> None:
    """Mid-swap a site folder can look foreign for an instant (the marker gone, the folder
    not yet empty of the next site's files). The check before rendering waits for the swap
    lock instead of reading that instant and refusing a folder publish owns."""
    import threading
    import time

    from monitor.page.publish import swap_lock

    site = tmp_path / "public"
    write_atomically({"index.html": b"first"}, site)
    errors: list[Exception] = []
    with swap_lock(tmp_path):
        (site / ".imagewatch-site").rename(tmp_path / "marker-aside")  # the instant mid-swap

        def second() -> None:
            try:
                write_atomically({"index.html": b"second"}, site)
            except PublishError as exc:
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        (tmp_path / "marker-aside").rename(site / ".imagewatch-site")  # the swap ends
    thread.join(timeout=10)
    assert errors == []
    assert (site / "index.html").read_text() == "second"
