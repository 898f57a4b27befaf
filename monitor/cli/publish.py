"""`imagewatch publish`: render the status page from the store."""

from __future__ import annotations

import click

from monitor.cli.helpers import exits, open_config, report_error
from monitor.cli.options import config_option


@click.command()
@config_option
@click.option("--site-dir", metavar="DIR", help="Where to write the site (default: site_dir).")
@exits
def publish(config_path: str | None, site_dir: str | None) -> int:
    """Render the status page from the store."""
    from pathlib import Path

    from checks.base import SystemClock
    from monitor.config import ConfigError
    from monitor.page import PublishError
    from monitor.page import publish as publish_store
    from monitor.store import StoreError

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        report = publish_store(
            store, loaded, SystemClock().now(), Path(site_dir) if site_dir else None
        )
    except (StoreError, PublishError) as exc:
        return report_error(exc)
    finally:
        store.close()
    click.echo(f"published {report.files} files to {report.site_dir / 'index.html'}")
    return 0
