"""What `imagewatch check` shows on a terminal: live progress, then (`monitor.cli.table`) a
table, or JSON."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
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


@contextmanager
def progress(total: int, stream: TextIO | None = None) -> Iterator[ProgressCallback | None]:
    """A live bar on a terminal; nothing when output goes to a file or a pipe."""
    out = stream or sys.stderr
    if not out.isatty():
        yield None
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
