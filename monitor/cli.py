"""`imagewatch`: the command line. Heavy modules are imported inside commands, so that
`imagewatch --help` starts fast."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def config_option(function: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="PATH",
        help="Config file (default: $IMAGEWATCH_CONFIG or ./imagewatch.toml).",
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="imagewatch", prog_name="imagewatch")
def main() -> None:
    """Can each OpenAI account really use the GPT Image models it depends on?"""


@main.command()
@config_option
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option(
    "--check",
    "check_names",
    multiple=True,
    metavar="CHECK",
    help="Only this check (model_listing, snapshot, generation, rate_limits, pricing).",
)
@click.option("--model", "models", multiple=True, metavar="MODEL", help="Only this model.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def check(
    config_path: str | None,
    accounts: tuple[str, ...],
    check_names: tuple[str, ...],
    models: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run the checks now, store and print the results.

    Exit codes: 0 ready, 1 not ready (a fail), 2 usage or config error, 3 inconclusive.
    """
    import monitor.commands as commands

    sys.exit(commands.check(config_path, accounts, check_names, models, as_json))


@main.command()
@config_option
@click.option(
    "--profile",
    "profile_path",
    required=True,
    metavar="PATH",
    help="The launch profile (TOML with a [launch] table).",
)
@click.option("--account", "accounts", multiple=True, metavar="NAME", help="Only this account.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print Markdown for a launch doc.")
@click.option("--max-spend", metavar="USD", help="Spend at most this much on paid probes.")
@click.option("--dry-run", is_flag=True, help="List the probes and their costs; call nothing.")
def readiness(
    config_path: str | None,
    profile_path: str,
    accounts: tuple[str, ...],
    as_json: bool,
    as_markdown: bool,
    max_spend: str | None,
    dry_run: bool,
) -> None:
    """Go/no-go before a launch: can each account carry it, and why not?

    Exit codes: 0 GO, 1 NO-GO, 2 usage or profile error, 3 INCONCLUSIVE.
    """
    import monitor.commands as commands

    sys.exit(
        commands.readiness(
            config_path, profile_path, accounts, as_json, as_markdown, max_spend, dry_run
        )
    )


@main.command()
@config_option
@click.option("--once", is_flag=True, help="Run one full round of every check, then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print results as JSON.")
def run(config_path: str | None, once: bool, as_json: bool) -> None:
    """Keep watching: scheduled probes, cost-aware cadence, budgets, retention.

    Stops gracefully on SIGINT/SIGTERM. With --once, exits with the check exit codes.
    """
    import monitor.commands as commands

    sys.exit(commands.run(config_path, once, as_json))


@main.command()
@config_option
@click.option("--site-dir", metavar="DIR", help="Where to write the site (default: site_dir).")
def publish(config_path: str | None, site_dir: str | None) -> None:
    """Render the status page from the store."""
    import monitor.commands as commands

    sys.exit(commands.publish(config_path, site_dir))


@main.command()
@config_option
@click.option("--account", metavar="NAME", help="The account to silence.")
@click.option("--check", "check_name", metavar="CHECK", help="Only this check.")
@click.option("--for", "duration", metavar="DURATION", help="How long: 30m, 2h, 1d.")
@click.option("--reason", default="", help="Why (shown on the page and kept).")
@click.option("--list", "list_only", is_flag=True, help="List the silences in force.")
def silence(
    config_path: str | None,
    account: str | None,
    check_name: str | None,
    duration: str | None,
    reason: str,
    list_only: bool,
) -> None:
    """Record incidents of an account (or one check) without sending their messages."""
    import monitor.commands as commands

    sys.exit(commands.silence(config_path, account, check_name, duration, reason, list_only))


@main.group()
def alerts() -> None:
    """Alert channels."""


@alerts.command("test")
@config_option
@click.option(
    "--channel", "channel_names", multiple=True, metavar="NAME", help="Only this channel."
)
def alerts_test(config_path: str | None, channel_names: tuple[str, ...]) -> None:
    """Send a test message to each channel and report each result."""
    import monitor.commands as commands

    sys.exit(commands.alerts_test(config_path, channel_names))


@main.command()
@config_option
def prune(config_path: str | None) -> None:
    """Roll raw results older than retention_days into hourly and daily rows, delete them."""
    import monitor.commands as commands

    sys.exit(commands.prune(config_path))


@main.command()
@click.option(
    "--path",
    default="imagewatch.toml",
    show_default=True,
    metavar="PATH",
    help="Where to write the example config.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented example config."""
    import monitor.commands as commands

    sys.exit(commands.init(path, force))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535))
@click.option("--list", "list_only", is_flag=True, help="Print the scenarios and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.")
def simulate(host: str, port: int, list_only: bool, as_json: bool) -> None:
    """Serve the OpenAI simulator (scenario accounts, one per API key) for rehearsals."""
    import monitor.commands as commands

    sys.exit(commands.simulate(host, port, list_only, as_json))


@main.command()
@click.option(
    "--dir",
    "workdir",
    default="imagewatch-demo",
    show_default=True,
    metavar="DIR",
    help="Where the demo keeps its database and site.",
)
@click.option("--serve", is_flag=True, help="Keep the simulator up until Ctrl-C.")
def demo(workdir: str, serve: bool) -> None:
    """Run every check against the bundled simulator: no key, no network."""
    import monitor.commands as commands

    sys.exit(commands.demo(workdir, serve))
