"""The flags several commands take, each declared once. A command states only its help
text where that differs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_DEST = "config_path"


def inherited_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A subcommand's own `--config` wins; without one it takes the group's, so that both
    `imagewatch --config f check` and `imagewatch check --config f` work. Neither: None,
    and the config loader falls back to $IMAGEWATCH_CONFIG, then ./imagewatch.toml."""
    if value is not None or ctx.parent is None:
        return value
    inherited = ctx.find_root().params.get(CONFIG_DEST)
    return inherited if isinstance(inherited, str) else None


def config_option(function: F) -> F:
    """`--config PATH`, on the group and on every command that reads the config."""
    return click.option(
        "--config",
        CONFIG_DEST,
        metavar="PATH",
        callback=inherited_config,
        help="Config file (default: $IMAGEWATCH_CONFIG or ./imagewatch.toml).",
    )(function)


def accounts_option(function: F) -> F:
    """`--account NAME`, repeatable: only these accounts."""
    return click.option(
        "--account", "accounts", multiple=True, metavar="NAME", help="Only this account."
    )(function)


def json_option(help: str) -> Callable[[F], F]:
    """`--json`: print JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def list_option(help: str) -> Callable[[F], F]:
    """`--list`: list instead of act."""
    return click.option("--list", "list_only", is_flag=True, help=help)
