"""`imagewatch init`: write a commented example config."""

from __future__ import annotations

import click

from monitor.cli.helpers import exits, report_error


@click.command()
@click.option(
    "--path",
    default="imagewatch.toml",
    show_default=True,
    metavar="PATH",
    help="Where to write the example config.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@exits
def init(path: str, force: bool) -> int:
    """Write a commented example config."""
    from pathlib import Path

    from monitor.config import example_text

    target = Path(path)
    if target.exists() and not force:
        return report_error([f"{target} exists; pass --force to overwrite it"])
    try:
        target.write_text(example_text(), encoding="utf-8")
    except OSError as exc:
        return report_error([f"{target}: cannot write ({exc.strerror or exc})"])
    click.echo(f"wrote {target}; set OPENAI_API_KEY, then run `imagewatch check`")
    return 0
