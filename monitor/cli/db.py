"""`imagewatch db …`: the database's schema version. Every command that opens the store
upgrades it first; these say where it stands and upgrade it on purpose (before starting
several instances, say)."""

from __future__ import annotations

import click

from monitor.cli.helpers import exits, report_error
from monitor.cli.options import config_option


@click.group()
def db() -> None:
    """The database schema: its version, and upgrading it."""


@db.command("upgrade")
@config_option
@exits
def db_upgrade(config_path: str | None) -> int:
    """Upgrade the database to this imagewatch's schema (rows are kept)."""
    from monitor.config import ConfigError, load
    from monitor.store import Store, StoreError, make_engine

    try:
        store = Store(make_engine(load(config_path).config.monitor.database_url))
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        change = store.upgrade_schema()
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()
    if not change.changed:
        click.echo(f"database schema {change.after}: up to date")
    elif change.before is None:
        click.echo(f"database schema {change.after}: created")
    else:
        click.echo(f"database schema upgraded from {change.before} to {change.after}")
    return 0


@db.command("current")
@config_option
@exits
def db_current(config_path: str | None) -> int:
    """Print the database's schema version, and whether this imagewatch would upgrade it."""
    from monitor.config import ConfigError, load
    from monitor.store import StoreError, make_engine
    from monitor.store.schema import HEAD, current, known, newer

    try:
        engine = make_engine(load(config_path).config.monitor.database_url)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        found = current(engine)
        if found is not None and not known(found):
            raise newer(found)
    except StoreError as exc:
        return report_error(exc)
    finally:
        engine.dispose()
    if found == HEAD:
        click.echo(f"database schema {found}: up to date")
    else:
        was = "none (an empty database, or one made by imagewatch 0.1)" if found is None else found
        click.echo(f"database schema {was}: this imagewatch upgrades it to {HEAD}")
    return 0
