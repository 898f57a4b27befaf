"""`imagewatch`: the command group. Each command lives in its own module of `monitor.cli`,
imported only when that command runs or shows its help, so that `imagewatch --help` lists
every command without importing any of them and starts fast."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping

import click

from monitor.cli.options import config_option


@dataclasses.dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (`module:attribute`), and the line `imagewatch --help` shows
    for it: the first paragraph of its docstring (tests/test_cli.py keeps the two equal)."""

    target: str
    summary: str

    def load(self) -> click.Command:
        module, attribute = self.target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


COMMANDS: Mapping[str, LazyCommand] = {
    "alerts": LazyCommand("monitor.cli.alerts:alerts", "Alert channels."),
    "check": LazyCommand(
        "monitor.cli.check:check", "Run the checks now, store and print the results."
    ),
    "db": LazyCommand("monitor.cli.db:db", "The database schema: its version, and upgrading it."),
    "demo": LazyCommand(
        "monitor.cli.demo:demo",
        "Replay 30 days against the bundled simulator and publish the page: no key, no network.",
    ),
    "explain": LazyCommand(
        "monitor.cli.explain:explain",
        "Print the error rules, or say which rule decides one answer and whether it is retried.",
    ),
    "export": LazyCommand(
        "monitor.cli.export:export",
        "Print Prometheus alerting rules or a Grafana dashboard for the daemon's /metrics.",
    ),
    "init": LazyCommand("monitor.cli.init:init", "Write a commented example config."),
    "prune": LazyCommand(
        "monitor.cli.prune:prune",
        "Roll raw results older than retention_days into hourly and daily rows, delete them.",
    ),
    "publish": LazyCommand("monitor.cli.publish:publish", "Render the status page from the store."),
    "readiness": LazyCommand(
        "monitor.cli.readiness:readiness",
        "Go/no-go before a launch: can each account carry it, and why not?",
    ),
    "run": LazyCommand(
        "monitor.cli.run:run",
        "Keep watching: scheduled probes, cost-aware cadence, budgets, retention.",
    ),
    "silence": LazyCommand(
        "monitor.cli.silence:silence",
        "Record incidents of an account (or one check) without sending their messages.",
    ),
    "simulate": LazyCommand(
        "monitor.cli.simulate:simulate",
        "Serve the OpenAI simulator (scenario accounts, one per API key) for rehearsals.",
    ),
}


def short_help(summary: str, limit: int) -> str:
    """A summary cut at a word to fit `limit`, as click cuts a command's help (click 8.5
    deprecates its own helper for this)."""
    if len(summary) <= limit:
        return summary
    words: list[str] = []
    for word in summary.split():
        if len(" ".join([*words, word])) + 3 > limit:
            break
        words.append(word)
    return " ".join(words) + "..."


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, listed from `COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = COMMANDS.get(cmd_name)
        return None if lazy is None else lazy.load()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, from the summaries: no command module is imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, short_help(COMMANDS[name].summary, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.version_option(package_name="imagewatch", prog_name="imagewatch")
def main(config_path: str | None) -> None:
    """Can each OpenAI account really use the GPT Image models it depends on?"""
