"""`imagewatch alerts …`: the alert channels."""

from __future__ import annotations

from collections.abc import Sequence

import click

from monitor.cli.helpers import exits, report_error
from monitor.cli.options import config_option


@click.group()
def alerts() -> None:
    """Alert channels."""


@alerts.command("test")
@config_option
@click.option(
    "--channel", "channel_names", multiple=True, metavar="NAME", help="Only this channel."
)
@exits
def alerts_test(config_path: str | None, channel_names: Sequence[str]) -> int:
    """Send a test message to each channel and report each result."""
    from checks.base import SystemClock
    from monitor.alerts import ChannelError, channels_from, webhook_client
    from monitor.alerts.messages import trial_message
    from monitor.config import ConfigError, load

    try:
        loaded = load(config_path)
    except ConfigError as exc:
        return report_error(exc)
    with webhook_client() as webhooks:
        channels = channels_from(loaded, webhooks, SystemClock())
        unknown = [n for n in channel_names if n not in channels]
        if unknown:
            return report_error([f"--channel: no channel named {n!r}" for n in unknown])
        if not channels:
            return report_error(["alerts.channels: no channel configured"])
        failed = 0
        now = SystemClock().now()
        for name, channel in channels.items():
            if channel_names and name not in channel_names:
                continue
            try:
                channel.send(trial_message(name, now))
            except ChannelError as exc:
                failed += 1
                click.echo(f"{name} ({channel.kind}): FAILED — {exc}")
            else:
                click.echo(f"{name} ({channel.kind}): sent")
    return 1 if failed else 0
