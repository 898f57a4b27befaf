"""What the command bodies share: one way to report a user's error, to open the config and
its store, and to print results. Heavy modules are imported where they are used, so that a
command's `--help` stays fast."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

if TYPE_CHECKING:
    import asyncio

    from monitor.config import LoadedConfig
    from monitor.store import ProbeResult, Store

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C

P = ParamSpec("P")
T = TypeVar("T")


def exits(body: Callable[P, int]) -> Callable[P, None]:
    """A command whose body returns its exit code: the command exits with it. Click reads
    the body's name, docstring and parameters as if it were the command. Ctrl-C that the
    body does not handle itself ends it with "interrupted" and 130, not a traceback."""

    @functools.wraps(body)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            code = body(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            code = EXIT_INTERRUPTED
        sys.exit(code)

    return command


def run_interruptible(
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
) -> tuple[T, bool]:
    """Run `main(stop)` on a new event loop; returns its result and whether Ctrl-C came.

    The first Ctrl-C sets `stop`: no new probe starts, and those in flight finish (or meet
    their own deadline) and are stored. A second Ctrl-C abandons them: KeyboardInterrupt.
    """
    import asyncio
    import signal

    async def interruptible() -> tuple[T, bool]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def interrupt() -> None:
            if stop.is_set():
                task.cancel()
                return
            stop.set()
            click.echo(
                "\ninterrupted: no new probe starts; waiting for those in flight "
                "(Ctrl-C again to abandon them)",
                err=True,
            )

        loop.add_signal_handler(signal.SIGINT, interrupt)
        try:
            return await main(stop), stop.is_set()
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(interruptible())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


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


def interrupted(results: Sequence[ProbeResult]) -> int:
    """The last line of a round stopped by Ctrl-C; exit code 130."""
    click.echo(
        f"interrupted: {len(results)} result(s) stored; probes not yet started were not run",
        err=True,
    )
    return EXIT_INTERRUPTED


def print_results(results: Sequence[ProbeResult], as_json: bool) -> None:
    """The results as JSON on stdout, or as a table that fits the terminal, its notes and a
    verdict line per account."""
    from monitor import console
    from monitor.cli import table

    if as_json:
        click.echo(console.as_json(results))
    else:
        table.render(results, console.terminal())
