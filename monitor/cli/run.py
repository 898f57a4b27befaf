"""`imagewatch run`: the daemon (`monitor.scheduler` over `monitor.daemon`'s steps), or with
`--once` one round through the daemon's own `round_once` step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from monitor.cli.helpers import (
    exits,
    interrupted,
    open_config,
    print_results,
    report_error,
    run_interruptible,
)
from monitor.cli.options import config_option, json_option

if TYPE_CHECKING:
    import socket

    from monitor.alerts import Channel, Delivery
    from monitor.config import LoadedConfig
    from monitor.store import Store


@click.command()
@config_option
@click.option("--once", is_flag=True, help="Run one full round of every check, then exit.")
@json_option("With --once: print results as JSON.")
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Serve /metrics, /healthz, /readyz and the site here ([monitor] listen).",
)
@exits
def run(config_path: str | None, once: bool, as_json: bool, listen: str | None) -> int:
    """Keep watching: scheduled probes, cost-aware cadence, budgets, retention.

    Stops gracefully on SIGINT/SIGTERM (probes in flight finish and are stored), exit 0.
    With --once, exits with the check exit codes; 130 on Ctrl-C.
    """
    import asyncio

    from checks.base import SystemClock
    from monitor.alerts import channels_from, webhook_client
    from monitor.config import ConfigError
    from monitor.page import PublishError
    from monitor.store import StoreError

    if once and listen:
        return report_error(["--listen: the listener serves the daemon; --once runs one round"])
    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    from monitor.listener import ListenError, open_socket

    webhooks = webhook_client()
    try:
        channels = channels_from(loaded, webhooks, SystemClock())
        if once:
            return one_round(loaded, store, channels, as_json)
        address = listen or loaded.config.monitor.listen
        listening = None if address is None else open_socket(address)
        asyncio.run(watch(loaded, store, channels, listening))
        return 0
    except (ConfigError, StoreError, PublishError, ListenError) as exc:
        return report_error(exc)
    finally:
        store.close()
        webhooks.close()


def one_round(
    loaded: LoadedConfig, store: Store, channels: Mapping[str, Channel], as_json: bool
) -> int:
    """`run --once`: the daemon's round, printed as `imagewatch check` prints."""
    import asyncio

    from checks.base import SystemClock
    from monitor import console
    from monitor.daemon import Daemon, RoundReport
    from monitor.runner import exit_code, make_client

    def say(line: str) -> None:
        click.echo(line, err=True)

    async def daemon_round(stop: asyncio.Event) -> RoundReport:
        async with make_client(loaded) as client:
            daemon = Daemon(loaded, store, client, SystemClock(), channels=channels, log=say)
            with console.progress(len(daemon.probes)) as progress:
                return await daemon.round_once(progress, stop)

    report, stopped = run_interruptible(daemon_round)
    click.echo(f"published {report.published.site_dir / 'index.html'}", err=True)
    print_results(report.results, as_json)
    for line in alert_summary(loaded, report.delivery, store.waiting_messages()):
        click.echo(line, err=True)
    return interrupted(report.results) if stopped else exit_code(report.results)


def alert_summary(
    loaded: LoadedConfig, delivery: Delivery, waiting: Mapping[str, int]
) -> list[str]:
    """The round's last lines: per channel, the messages still queued (held by group_wait or
    waiting for a retry), sent and failed in this round."""
    names = [c.name for c in loaded.config.alerts.channels]
    names += sorted(set(delivery.by_channel) - set(names))  # a channel since removed
    if not names:
        return ["alerts: no channel configured"]
    lines = []
    for name in names:
        tally = delivery.by_channel.get(name)
        sent = tally.sent if tally else 0
        failed = (tally.failed + tally.retrying) if tally else 0
        retrying = f" ({tally.retrying} to retry)" if tally and tally.retrying else ""
        lines.append(
            f"alerts: {name}: {waiting.get(name, 0)} queued, {sent} sent, {failed} failed{retrying}"
        )
    return lines


async def watch(
    loaded: LoadedConfig,
    store: Store,
    channels: Mapping[str, Channel],
    listening: socket.socket | None = None,
) -> None:
    """The daemon, until SIGINT/SIGTERM; serving its listener on `listening` if given."""
    from checks.base import SystemClock
    from monitor.daemon import Daemon
    from monitor.runner import make_client
    from monitor.scheduler import serve

    async with make_client(loaded) as client:

        def say(line: str) -> None:
            click.echo(line, err=True)

        await serve(
            Daemon(
                loaded, store, client, SystemClock(), channels=channels, log=say, publish_apart=True
            ),
            log=say,
            listening=listening,
            own_process=True,
        )
