"""`imagewatch check`: run the checks now, store and print the results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from checks import REGISTRY
from monitor.cli.helpers import (
    exits,
    interrupted,
    print_results,
    report_error,
    run_interruptible,
)
from monitor.cli.options import accounts_option, config_option, json_option

if TYPE_CHECKING:
    from monitor.config import LoadedConfig
    from monitor.plan import Probe
    from monitor.store import ProbeResult, Store

SCHEDULED = ", ".join(name for name, check in REGISTRY.items() if check.scheduled)


@click.command()
@config_option
@accounts_option
@click.option(
    "--check",
    "check_names",
    multiple=True,
    metavar="CHECK",
    help=f"Only this check ({SCHEDULED}).",
)
@click.option("--model", "models", multiple=True, metavar="MODEL", help="Only this model.")
@json_option("Print results as JSON.")
@exits
def check(
    config_path: str | None,
    accounts: Sequence[str],
    check_names: Sequence[str],
    models: Sequence[str],
    as_json: bool,
) -> int:
    """Run the checks now, store and print the results.

    Exit codes: 0 ready, 1 not ready (a fail), 2 usage or config error, 3 inconclusive,
    130 interrupted (Ctrl-C: probes in flight finish and are stored, no new one starts).
    """
    from monitor.config import ConfigError, load
    from monitor.runner import exit_code
    from monitor.store import Store, StoreError
    from monitor.workers import WorkerError

    try:
        loaded = load(config_path)
        probes = selected_probes(loaded, accounts, check_names, models)
        store = Store.open(loaded.config.monitor.database_url)  # after the selection is valid
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        results, stopped = run_round(loaded, store, probes)
    except (StoreError, WorkerError) as exc:
        return report_error(exc)
    finally:
        store.close()
    print_results(results, as_json)
    return interrupted(results) if stopped else exit_code(results)


def selected_probes(
    loaded: LoadedConfig, accounts: Sequence[str], checks: Sequence[str], models: Sequence[str]
) -> list[Probe]:
    """The probes `--account/--check/--model` select (ConfigError when none, or a name is
    unknown)."""
    from monitor.config import ConfigError
    from monitor.plan import plan

    unknown = [c for c in checks if c not in REGISTRY]
    if unknown:
        raise ConfigError(
            [f"--check: unknown check {c!r} (known: {', '.join(REGISTRY)})" for c in unknown]
        )
    probes = plan(loaded, accounts, checks, models)
    if not probes:
        raise ConfigError(["nothing to run: the selection matches no (account, check, model)"])
    return probes


def run_round(
    loaded: LoadedConfig, store: Store, probes: Sequence[Probe]
) -> tuple[list[ProbeResult], bool]:
    """One round of `probes` on the system clock, with a live bar on a terminal, over
    `[monitor] workers` processes when it is large; the results, and whether Ctrl-C
    stopped it (WorkerError when a worker process failed)."""
    import os

    from checks.base import SystemClock
    from monitor import console
    from monitor.page.forked import can_fork
    from monitor.runner import run_once
    from monitor.workers import run_split, worker_count

    accounts = len({p.account.name for p in probes})
    workers = worker_count(loaded.config.monitor.workers, accounts, os.cpu_count())
    if workers > 1 and can_fork(store):  # else one process: see `can_fork`
        return run_split(
            loaded,
            probes,
            clock=SystemClock(),
            store=store,
            workers=workers,
            interruptible=run_interruptible,
            progress=lambda: console.progress(len(probes), probes=probes),
        )
    with console.progress(len(probes), probes=probes) as progress:
        return run_interruptible(
            lambda stop: run_once(
                loaded, probes, clock=SystemClock(), store=store, progress=progress, stop=stop
            )
        )
