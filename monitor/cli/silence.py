"""`imagewatch silence`: record an account's incidents without sending their messages."""

from __future__ import annotations

import click

from monitor.cli.helpers import exits, open_config, report_error
from monitor.cli.options import config_option, list_option


@click.command()
@config_option
@click.option("--account", metavar="NAME", help="The account to silence.")
@click.option("--check", "check_name", metavar="CHECK", help="Only this check.")
@click.option("--for", "duration", metavar="DURATION", help="How long: 30m, 2h, 1d.")
@click.option("--reason", default="", help="Why (shown on the page and kept).")
@list_option("List the silences in force.")
@exits
def silence(
    config_path: str | None,
    account: str | None,
    check_name: str | None,
    duration: str | None,
    reason: str,
    list_only: bool,
) -> int:
    """Record incidents of an account (or one check) without sending their messages."""
    from checks import REGISTRY
    from checks.base import SystemClock
    from checks.durations import parse_duration
    from monitor.alerts import silence as add_silence
    from monitor.config import ConfigError
    from monitor.store import StoreError

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    now = SystemClock().now()
    try:
        if list_only:
            rows = store.silences_in_force(now)
            for row in rows:
                click.echo(
                    f"#{row.id} {row.account} · {row.check or 'every check'} until "
                    f"{row.until:%Y-%m-%d %H:%M} UTC: {row.reason}"
                )
            if not rows:
                click.echo("no silence in force")
            return 0
        problems = []
        if not account:
            problems.append("--account: required")
        elif account not in {a.name for a in loaded.accounts}:
            problems.append(f"--account: no account named {account!r}")
        if check_name and check_name not in REGISTRY:
            problems.append(f"--check: unknown check {check_name!r}")
        seconds = 0.0
        try:
            seconds = parse_duration(duration or "")
        except ValueError:
            problems.append(f"--for: {duration!r} is not a duration such as 30m, 2h or 1d")
        if problems:
            return report_error(problems)
        assert account is not None
        row = add_silence(
            store, account, check_name, seconds, reason or "silenced from the command line", now
        )
        click.echo(
            f"silenced {account} · {check_name or 'every check'} until "
            f"{row.until:%Y-%m-%d %H:%M} UTC (#{row.id})"
        )
        return 0
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()
