"""What the command bodies share: one way to report a user's error, to open the config and
its store, and to print results. Heavy modules are imported where they are used, so that a
command's `--help` stays fast."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec

import click

if TYPE_CHECKING:
    from monitor.config import LoadedConfig
    from monitor.store import ProbeResult, Store

EXIT_USAGE = 2

P = ParamSpec("P")


def exits(body: Callable[P, int]) -> Callable[P, None]:
    """A command whose body returns its exit code: the command exits with it. Click reads
    the body's name, docstring and parameters as if it were the command."""

    @functools.wraps(body)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        sys.exit(body(*args, **kwargs))

    return command


def report_error(problem: Sequence[str] | Exception) -> int:
    """Print each problem as one `error:` line; exit code 2. A ConfigError gives its lines,
    any other error its message."""
    from monitor.config import ConfigError

    if isinstance(problem, ConfigError):
        lines: Sequence[str] = problem.problems
    elif isinstance(problem, Exception):
        lines = [str(problem)]
    else:
        lines = problem
    for line in lines:
        click.echo(f"error: {line}", err=True)
    return EXIT_USAGE


def open_config(config_path: str | None) -> tuple[LoadedConfig, Store]:
    """The config, and the store it names (ConfigError, StoreError)."""
    from monitor.config import load
    from monitor.store import Store

    loaded = load(config_path)
    return loaded, Store.open(loaded.config.monitor.database_url)


def print_results(results: Sequence[ProbeResult], as_json: bool) -> None:
    """The results as JSON on stdout, or as a table."""
    from monitor import console

    if as_json:
        click.echo(console.as_json(results))
    else:
        console.render_table(results)
