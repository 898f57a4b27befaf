"""`imagewatch readiness`: go/no-go before a launch, per account, with the reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from monitor.cli.helpers import EXIT_INTERRUPTED, exits, report_error, run_interruptible
from monitor.cli.options import accounts_option, config_option, json_option


@click.command()
@config_option
@click.option(
    "--profile",
    "profile_path",
    required=True,
    metavar="PATH",
    help="The launch profile (TOML with a [launch] table).",
)
@accounts_option
@json_option("Print the report as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print Markdown for a launch doc.")
@click.option("--max-spend", metavar="USD", help="Spend at most this much on paid probes.")
@click.option("--dry-run", is_flag=True, help="List the probes and their costs; call nothing.")
@exits
def readiness(
    config_path: str | None,
    profile_path: str,
    accounts: Sequence[str],
    as_json: bool,
    as_markdown: bool,
    max_spend: str | None,
    dry_run: bool,
) -> int:
    """Go/no-go before a launch: can each account carry it, and why not?

    Exit codes: 0 GO, 1 NO-GO, 2 usage or profile error, 3 INCONCLUSIVE, 130 interrupted.
    """
    import asyncio
    import json
    from decimal import Decimal

    from checks.base import SystemClock
    from checks.prices import to_decimal
    from monitor import readiness as launch
    from monitor.config import ConfigError, load
    from monitor.runner import make_client
    from monitor.store import Store, StoreError

    problems = []
    if as_json and as_markdown:
        problems.append("--json and --markdown: choose one")
    cap: Decimal | None = None
    if max_spend is not None:
        cap = to_decimal(max_spend)
        if cap is None:
            problems.append(f"--max-spend: {max_spend!r} is not an amount in USD")
    try:
        loaded = load(config_path)
        profile = launch.load_profile(profile_path)
        selected = [loaded.account(name) for name in accounts] if accounts else loaded.accounts
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        return report_error(problems)
    planned = launch.plan(profile, loaded, selected, cap)
    if dry_run:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "dry_run": [
                            {
                                "account": p.account,
                                "probe": p.name,
                                "model": p.model,
                                "cost_usd": str(p.cost_usd),
                                "sent": p.allowed,
                            }
                            for p in planned
                        ]
                    },
                    indent=2,
                )
            )
        else:
            click.echo(launch.dry_run_text(planned, cap))
        return 0
    at_most = sum((p.cost_usd for p in planned if p.allowed), Decimal(0))
    refused = sum(1 for p in planned if not p.allowed)
    click.echo(
        f"Readiness for {profile.name!r}: at most ${at_most:.4f} in paid probes across "
        f"{len(selected)} account(s)"
        + (
            f"; {refused} paid probe(s) not sent to stay within --max-spend ${cap}"
            if refused
            else ""
        ),
        err=True,
    )
    try:
        store = Store.open(loaded.config.monitor.database_url)
    except StoreError as exc:
        return report_error(exc)
    clock = SystemClock()

    async def check_all(stop: asyncio.Event) -> list[launch.AccountReport]:
        async with make_client(loaded) as client:
            runner = launch.Readiness(loaded, profile, store, client, clock, stop)
            return list(
                await asyncio.gather(
                    *(
                        runner.account(a, [p for p in planned if p.account == a.name])
                        for a in selected
                    )
                )
            )

    try:
        reports, stopped = run_interruptible(check_all)
        if stopped:  # a verdict on half the probes would mislead: the results are stored
            click.echo("interrupted: no report; the probes that ran are stored", err=True)
            return EXIT_INTERRUPTED
        now = clock.now()
        document = launch.report_json(profile, reports, planned, now)
        store.add_launch_reports(launch.to_rows(profile, document, now))
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif as_markdown:
        click.echo(launch.markdown(document))
    else:
        render_readiness(document)
    return launch.exit_code(reports)


def render_readiness(document: dict[str, Any]) -> None:
    from rich.markup import escape

    from monitor import console

    out = console.terminal()
    colours = {"GO": "bold green", "NO-GO": "bold red", "INCONCLUSIVE": "bold magenta"}
    symbols = {"met": "[green]✓[/]", "not_met": "[red]✗[/]", "unknown": "[magenta]?[/]"}
    profile = document["profile"]
    out.print(
        f"[bold]Launch readiness: {escape(profile['name'])}[/] — {profile['model']}, "
        f"{profile['peak_images_per_minute']} images/min, {profile['quality']} "
        f"{profile['size']}"
    )
    for account in document["accounts"]:
        out.print("")
        out.print(
            f"[bold]{escape(account['account'])}[/]: "
            f"[{colours[account['verdict']]}]{account['verdict']}[/]"
        )
        for r in account["requirements"]:
            out.print(f"  {symbols[r['state']]} {escape(r['title'])} — {escape(r['detail'])}")
            if r["state"] != "met" and r["advice"]:
                out.print(f"      what to do: {escape(r['advice'])}")
    out.print("")
    out.print(
        f"Overall: [{colours[document['verdict']]}]{document['verdict']}[/]; spent "
        f"${document['spend']['spent_usd']:.4f} (at most "
        f"${document['spend']['at_most_usd']})."
    )
