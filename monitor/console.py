"""What `imagewatch check` shows on a terminal: live progress, then (`monitor.cli.table`) a
table, or JSON."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from monitor.plan import Probe
from monitor.runner import ProgressCallback
from monitor.store import ProbeResult

STYLE = {
    "pass": "green",
    "warn": "yellow",
    "fail": "bold red",
    "unknown": "magenta",
    "skipped": "dim",
}


SUMMARY_EVERY = 100  # accounts per progress line when not on a terminal


class AccountSummary:
    """Off a terminal (a log, CI): one line each time another `SUMMARY_EVERY` accounts have
    every probe done, so a long round shows it is moving without a line per probe."""

    def __init__(
        self, probes: Sequence[Probe], out: TextIO, clock: Callable[[], float] | None = None
    ) -> None:
        self.left = Counter(p.account.name for p in probes)
        self.accounts = len(self.left)
        self.done = 0
        self.tally: Counter[str] = Counter()
        self.out = out
        self.clock = clock or time.monotonic
        self.started = self.clock()

    def __call__(self, probe: Probe, row: ProbeResult | None) -> None:
        if row is None:
            return
        self.tally[row.status] += 1
        name = probe.account.name
        self.left[name] -= 1
        if self.left[name] > 0:
            return
        self.done += 1
        if self.done % SUMMARY_EVERY == 0 or self.done == self.accounts:
            order = ("pass", "warn", "fail", "unknown", "skipped")
            statuses = ", ".join(f"{self.tally[s]} {s}" for s in order if self.tally[s])
            self.out.write(
                f"probed {self.done}/{self.accounts} accounts: {statuses} "
                f"({self.clock() - self.started:.1f} s)\n"
            )
            self.out.flush()


@contextmanager
def progress(
    total: int, stream: TextIO | None = None, *, probes: Sequence[Probe] = ()
) -> Iterator[ProgressCallback | None]:
    """A live bar on a terminal; off one, a summary line per `SUMMARY_EVERY` accounts of
    `probes` when they span that many, else nothing."""
    out = stream or sys.stderr
    if not out.isatty():
        accounts = len({p.account.name for p in probes})
        yield AccountSummary(probes, out) if accounts >= SUMMARY_EVERY else None
        return
    console = Console(file=out)
    bar = Progress(
        TextColumn("[bold]probing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("", total=total)

    def update(probe: Probe, row: ProbeResult | None) -> None:
        if row is None:
            bar.update(task, description=escape(probe.label))
        else:
            bar.advance(task)

    with bar:
        yield update


def counts(results: Sequence[ProbeResult]) -> str:
    tally = Counter(r.status for r in results)
    order = ("pass", "warn", "fail", "unknown", "skipped")
    return ", ".join(f"{tally[s]} {s}" for s in order if tally[s]) or "no probes"


def terminal(stream: TextIO | None = None) -> Console:
    """A console for tables: a pipe or a file has no width, and rich would assume 80 and
    fold every cell, so those get a wide one."""
    out = stream or sys.stdout
    return Console(file=out, highlight=False, soft_wrap=False, width=None if out.isatty() else 200)


def as_json(results: Sequence[ProbeResult]) -> str:
    payload: dict[str, Any] = {"results": [r.as_json() for r in results]}
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)
