"""`imagewatch silence`: record an account's incidents without sending their messages; list
the silences in force, or end one early."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from monitor.cli.helpers import exits, open_config, report_error
from monitor.cli.options import config_option, list_option

if TYPE_CHECKING:
    from monitor.config import LoadedConfig
    from monitor.store import Silence, Store


@click.command()
@config_option
@click.option("--account", metavar="NAME", help="The account to silence.")
@click.option("--check", "check_name", metavar="CHECK", help="Only this check.")
@click.option(
    "--for",
    "duration",
    metavar="DURATION",
    help="How long: 30m, 2h, 1d (required; at most [alerts] max_silence, 30d by default).",
)
@click.option("--reason", default="", help="Why (shown on the page and kept).")
@list_option("List the silences in force: id, scope, until, reason.")
@click.option("--remove", "remove_id", type=int, metavar="ID", help="End silence ID now.")
@exits
def silence(
    config_path: str | None,
    account: str | None,
    check_name: str | None,
    duration: str | None,
    reason: str,
    list_only: bool,
    remove_id: int | None,
) -> int:
    """Record incidents of an account (or one check) without sending their messages.

    --list shows the silences in force; --remove ID ends one early."""
    from checks.base import SystemClock
    from monitor.config import ConfigError
    from monitor.store import StoreError

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    now = SystemClock().now()
    try:
        if list_only:
            print_silences(store.silences_in_force(now))
            return 0
        if remove_id is not None:
            ended = store.end_silence(remove_id, now)
            if ended is None:
                return report_error([f"--remove: no silence #{remove_id} is in force"])
            click.echo(f"ended silence #{ended.id} ({scope(ended)})")
            return 0
        return add(loaded, store, account, check_name, duration, reason, now)
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()


def add(
    loaded: LoadedConfig,
    store: Store,
    account: str | None,
    check_name: str | None,
    duration: str | None,
    reason: str,
    now: datetime,
) -> int:
    """Record one silence after every flag is valid; each problem is one `error:` line."""
    from checks import REGISTRY
    from monitor.alerts import silence as add_silence

    problems = []
    if not account:
        problems.append("--account: required")
    elif account not in {a.name for a in loaded.accounts}:
        problems.append(f"--account: no account named {account!r}")
    if check_name and check_name not in REGISTRY:
        problems.append(f"--check: unknown check {check_name!r}")
    seconds, problem = silence_seconds(duration, loaded.config.alerts.max_silence)
    if problem:
        problems.append(problem)
    if problems:
        return report_error(problems)
    assert account is not None
    row = add_silence(
        store, account, check_name, seconds, reason or "silenced from the command line", now
    )
    click.echo(f"silenced {scope(row)} until {row.until:%Y-%m-%d %H:%M} UTC (#{row.id})")
    return 0


def silence_seconds(duration: str | None, cap: float) -> tuple[float, str | None]:
    """`--for` in seconds, or the problem with it: missing, not a duration, not positive, or
    longer than the cap (a silence nobody remembers must still end)."""
    from checks.durations import format_duration, parse_duration

    if not duration:
        return 0.0, "--for: required: how long the silence lasts, such as 30m, 2h or 1d"
    try:
        seconds = parse_duration(duration)
    except ValueError:
        return 0.0, f"--for: {duration!r} is not a duration such as 30m, 2h or 1d"
    if seconds <= 0:
        return 0.0, f"--for: {duration!r} must be longer than zero"
    if seconds > cap:
        return 0.0, (
            f"--for: {duration} is longer than the {format_duration(cap)} cap "
            "(set [alerts] max_silence to allow more)"
        )
    return seconds, None


def scope(row: Silence) -> str:
    return f"{row.account} · {row.check or 'every check'}"


def print_silences(rows: Sequence[Silence]) -> None:
    """One line per silence: id, scope, until, reason (cleaned: it was typed by someone)."""
    from checks.text import clean

    if not rows:
        click.echo("no silence in force")
        return
    scopes = [scope(r) for r in rows]
    width = max(len(s) for s in scopes)
    click.echo(f"{'ID':<5} {'SCOPE':<{width}} {'UNTIL (UTC)':<16} REASON")
    for row, where in zip(rows, scopes, strict=True):
        ident = f"#{row.id}"
        click.echo(f"{ident:<5} {where:<{width}} {row.until:%Y-%m-%d %H:%M} {clean(row.reason)}")
