"""`imagewatch prune`: roll old raw results up, then delete them."""

from __future__ import annotations

import click

from monitor.cli.helpers import exits, open_config, report_error
from monitor.cli.options import config_option


@click.command()
@config_option
@exits
def prune(config_path: str | None) -> int:
    """Roll raw results older than retention_days into hourly and daily rows, delete them."""
    from checks.base import SystemClock
    from monitor.config import ConfigError
    from monitor.retention import prune as prune_results
    from monitor.store import StoreError

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        report = prune_results(store, SystemClock().now(), loaded.config.monitor.retention_days)
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()
    click.echo(
        f"rolled up {report.rolled_up} results older than {report.cutoff:%Y-%m-%d} "
        f"into {report.rollup_rows} rollup rows; deleted {report.deleted}, kept "
        f"{report.kept_state_changes} state changes; freed {report.slots_deleted} slots"
    )
    return 0
