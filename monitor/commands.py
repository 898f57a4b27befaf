"""The bodies of the CLI commands; cli.py only parses flags and imports these lazily."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from checks import REGISTRY
from checks.base import SystemClock
from monitor import console
from monitor.config import ConfigError, LoadedConfig, load
from monitor.plan import plan
from monitor.runner import exit_code, make_client, run_once
from monitor.store import ProbeResult, Store, StoreError

EXIT_USAGE = 2


def report_error(problem: Sequence[str] | Exception) -> int:
    """Print each problem as one `error:` line; exit code 2. A ConfigError gives its lines,
    any other error its message."""
    if isinstance(problem, ConfigError):
        lines: Sequence[str] = problem.problems
    elif isinstance(problem, Exception):
        lines = [str(problem)]
    else:
        lines = problem
    for line in lines:
        click.echo(f"error: {line}", err=True)
    return EXIT_USAGE


def selected_probes(
    loaded: LoadedConfig, accounts: Sequence[str], checks: Sequence[str], models: Sequence[str]
) -> list[Any]:
    unknown = [c for c in checks if c not in REGISTRY]
    if unknown:
        raise ConfigError(
            [f"--check: unknown check {c!r} (known: {', '.join(REGISTRY)})" for c in unknown]
        )
    probes = plan(loaded, accounts, checks, models)
    if not probes:
        raise ConfigError(["nothing to run: the selection matches no (account, check, model)"])
    return probes


def run_round(
    loaded: LoadedConfig, store: Store | None, probes: Sequence[Any]
) -> list[ProbeResult]:
    with console.progress(len(probes)) as progress:
        return asyncio.run(
            run_once(loaded, probes, clock=SystemClock(), store=store, progress=progress)
        )


def check(
    config_path: str | None,
    accounts: Sequence[str],
    checks: Sequence[str],
    models: Sequence[str],
    as_json: bool,
) -> int:
    try:
        loaded = load(config_path)
        probes = selected_probes(loaded, accounts, checks, models)
        store = Store.open(loaded.config.monitor.database_url)  # after the selection is valid
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        results = run_round(loaded, store, probes)
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()
    if as_json:
        click.echo(console.as_json(results))
    else:
        console.render_table(results)
    return exit_code(results)


def open_config(config_path: str | None) -> tuple[LoadedConfig, Store]:
    loaded = load(config_path)
    return loaded, Store.open(loaded.config.monitor.database_url)


def run(config_path: str | None, once: bool, as_json: bool) -> int:
    import os

    from monitor.alerts import channels_from, deliver, process
    from monitor.daemon import Daemon, serve
    from monitor.heartbeat import beat, instance_name
    from monitor.page import PublishError
    from monitor.page import publish as publish_site

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        if once:
            started = SystemClock().now()
            channels = channels_from(loaded, os.environ)
            results = run_round(loaded, store, plan(loaded))
            instance = instance_name()
            beat(store, instance, started, SystemClock().now())
            now = SystemClock().now()
            process(store, loaded, results, now, group_wait=0)
            delivery = deliver(store, loaded, channels, now, instance)
            for error in delivery.errors:
                click.echo(f"error: alert delivery: {error}", err=True)
            report = publish_site(store, loaded, SystemClock().now())
            click.echo(f"published {report.site_dir / 'index.html'}", err=True)
            if as_json:
                click.echo(console.as_json(results))
            else:
                console.render_table(results)
            return exit_code(results)

        channels = channels_from(loaded, os.environ)

        async def daemon() -> None:
            async with make_client(loaded) as client:
                await serve(
                    Daemon(loaded, store, client, SystemClock(), channels=channels),
                    log=lambda line: click.echo(line, err=True),
                )

        asyncio.run(daemon())
        return 0
    except ConfigError as exc:
        return report_error(exc)
    except (StoreError, PublishError) as exc:
        return report_error(exc)
    finally:
        store.close()


def publish(config_path: str | None, site_dir: str | None) -> int:
    from monitor.page import PublishError
    from monitor.page import publish as publish_site

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        report = publish_site(
            store, loaded, SystemClock().now(), Path(site_dir) if site_dir else None
        )
    except (StoreError, PublishError) as exc:
        return report_error(exc)
    finally:
        store.close()
    click.echo(f"published {report.files} files to {report.site_dir / 'index.html'}")
    return 0


def readiness(
    config_path: str | None,
    profile_path: str,
    accounts: Sequence[str],
    as_json: bool,
    as_markdown: bool,
    max_spend: str | None,
    dry_run: bool,
) -> int:
    from decimal import Decimal

    from checks.prices import to_decimal
    from monitor import readiness as launch

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

    async def check_all() -> list[launch.AccountReport]:
        async with make_client(loaded) as client:
            runner = launch.Readiness(loaded, profile, store, client, clock)
            return list(
                await asyncio.gather(
                    *(
                        runner.account(a, [p for p in planned if p.account == a.name])
                        for a in selected
                    )
                )
            )

    try:
        reports = asyncio.run(check_all())
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


def silence(
    config_path: str | None,
    account: str | None,
    check_name: str | None,
    duration: str | None,
    reason: str,
    list_only: bool,
) -> int:
    from sqlmodel import Session, col, select

    from checks.durations import parse_duration
    from monitor.alerts import silence as add_silence
    from monitor.store import Silence

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    now = SystemClock().now()
    try:
        if list_only:
            with Session(store.engine) as session:
                rows = session.scalars(
                    select(Silence).where(col(Silence.until) > now).order_by(col(Silence.until))
                ).all()
            for row in rows:
                click.echo(
                    f"#{row.id} {row.account} · {row.check or 'every check'} until "
                    f"{row.until:%Y-%m-%d %H:%M} UTC: {row.reason}"
                )
            if not rows:
                click.echo("no silence in force")
            return 0
        problems = []
        if not account:
            problems.append("--account: required")
        elif account not in {a.name for a in loaded.accounts}:
            problems.append(f"--account: no account named {account!r}")
        if check_name and check_name not in REGISTRY:
            problems.append(f"--check: unknown check {check_name!r}")
        seconds = 0.0
        try:
            seconds = parse_duration(duration or "")
        except ValueError:
            problems.append(f"--for: {duration!r} is not a duration such as 30m, 2h or 1d")
        if problems:
            return report_error(problems)
        assert account is not None
        row = add_silence(
            store, account, check_name, seconds, reason or "silenced from the command line", now
        )
        click.echo(
            f"silenced {account} · {check_name or 'every check'} until "
            f"{row.until:%Y-%m-%d %H:%M} UTC (#{row.id})"
        )
        return 0
    except StoreError as exc:
        return report_error(exc)
    finally:
        store.close()


def alerts_test(config_path: str | None, names: Sequence[str]) -> int:
    import os

    from monitor.alerts import ChannelError, channels_from
    from monitor.alerts.messages import trial_message

    try:
        loaded = load(config_path)
        channels = channels_from(loaded, os.environ)
    except ConfigError as exc:
        return report_error(exc)
    unknown = [n for n in names if n not in channels]
    if unknown:
        return report_error([f"--channel: no channel named {n!r}" for n in unknown])
    if not channels:
        return report_error(["alerts.channels: no channel configured"])
    failed = 0
    now = SystemClock().now()
    for name, channel in channels.items():
        if names and name not in names:
            continue
        try:
            channel.send(trial_message(name, now))
        except ChannelError as exc:
            failed += 1
            click.echo(f"{name} ({channel.kind}): FAILED — {exc}")
        else:
            click.echo(f"{name} ({channel.kind}): sent")
    return 1 if failed else 0


def init(path: str, force: bool) -> int:
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


def prune(config_path: str | None) -> int:
    from monitor.retention import prune as prune_store

    try:
        loaded, store = open_config(config_path)
    except (ConfigError, StoreError) as exc:
        return report_error(exc)
    try:
        report = prune_store(store, SystemClock().now(), loaded.config.monitor.retention_days)
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


# --- simulator -------------------------------------------------------------------------


def scenario_listing() -> dict[str, Any]:
    from monitor.simulator.scenarios import PRICE_FILES, SCENARIOS

    return {
        "scenarios": [s.listing() for s in SCENARIOS],
        "price_files": [
            {
                "name": name,
                "path": f"/_sim/prices/{name}.json",
                "description": text,
                "expect": {"pricing": "price_changed" if name == "moved" else "price_unchanged"},
            }
            for name, text in PRICE_FILES.items()
        ],
    }


def print_scenarios(as_json: bool) -> None:
    listing = scenario_listing()
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("Scenario", "API key", "What it shows", "Expected reasons"):
        table.add_column(column, overflow="fold")
    for item in listing["scenarios"]:
        table.add_row(
            item["name"],
            item["api_key"],
            item["description"],
            "\n".join(f"{k}: {v}" for k, v in item["expect"].items()),
        )
    console.terminal().print(table)
    for item in listing["price_files"]:
        click.echo(f"price file {item['name']}: {item['path']} — {item['description']}")


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def simulator_server(sock: socket.socket) -> Any:
    import uvicorn

    from monitor.simulator import create_app

    config = uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def simulate(host: str, port: int, list_only: bool, as_json: bool) -> int:
    if list_only:
        print_scenarios(as_json)
        return 0
    try:
        sock = bind(host, port)
    except OSError as exc:
        return report_error([f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})"])
    address = f"http://{host}:{sock.getsockname()[1]}"
    click.echo(f"OpenAI simulator on {address}/v1 — scenario keys: `imagewatch simulate --list`")
    click.echo(
        f"control: POST {address}/_sim/accounts/<name>; price file: "
        f"{address}/_sim/prices/published.json; Ctrl-C to stop"
    )
    server = simulator_server(sock)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(sockets=[sock]))
    return 0


# --- demo ------------------------------------------------------------------------------


def demo_config(base_url: str, workdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A config for every scenario account, and the environment holding their keys."""
    from monitor.simulator.scenarios import DEMO_REQUIRED_IMAGES_PER_MINUTE, PINNED, SCENARIOS

    environ: dict[str, str] = {}
    accounts = []
    for scenario in SCENARIOS:
        env = "IMAGEWATCH_DEMO_KEY_" + scenario.name.upper().replace("-", "_")
        environ[env] = scenario.api_key
        account: dict[str, Any] = {
            "name": scenario.name,
            "base_url": f"{base_url}/v1",
            "api_key_env": env,
            "project": scenario.project,
            "models": ["gpt-image-2"],
            "snapshots": [PINNED],
            "required_images_per_minute": DEMO_REQUIRED_IMAGES_PER_MINUTE,
        }
        if scenario.admin_key:
            environ[env + "_ADMIN"] = scenario.admin_key
            account["admin_key_env"] = env + "_ADMIN"
        accounts.append(account)
    config = {
        "monitor": {
            "database_url": f"sqlite:///{workdir / 'imagewatch.db'}",
            "site_dir": str(workdir / "public"),
            "title": "imagewatch demo",
        },
        "accounts": accounts,
        "checks": {
            "pricing": {"source": f"{base_url}/_sim/prices/published.json"},
            "generation": {"max_retry_wait": "5s"},
        },
    }
    return config, environ


def verdicts(results: Sequence[ProbeResult]) -> dict[str, tuple[str, list[ProbeResult]]]:
    by_account: dict[str, list[ProbeResult]] = {}
    for row in results:
        by_account.setdefault(row.account, []).append(row)
    out = {}
    for account, rows in by_account.items():
        code = exit_code(rows)
        verdict = {0: "ready", 1: "NOT READY", 3: "inconclusive"}[code]
        problems = [r for r in rows if r.status == "fail"] + [
            r for r in rows if r.status == "unknown"
        ]
        out[account] = (verdict, problems)
    return out


def demo_mismatches(results: Sequence[ProbeResult]) -> list[str]:
    from monitor.simulator.scenarios import scenario

    problems = []
    for row in results:
        expected = scenario(row.account).expect.get(row.check)
        if expected and expected != row.reason:
            problems.append(f"{row.account} {row.check}: expected {expected}, got {row.reason}")
    return problems


async def started(server: Any) -> None:
    for _ in range(500):  # uvicorn binds at once; allow 5 s on a loaded machine
        if server.started:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the simulator did not start")


def print_demo_report(results: Sequence[ProbeResult], folder: Path, page: Path) -> None:
    from checks.reasons import words

    console.render_table(results)
    click.echo("")
    for account, (verdict, problems) in verdicts(results).items():
        why = "; ".join(f"{p.check}: {words(p.reason)}" for p in problems[:2])
        click.echo(f"  {account:<24} {verdict}{' — ' + why if why else ''}")
    click.echo("")
    click.echo(f"Results stored in {folder / 'imagewatch.db'}")
    click.echo(f"Status page: {page}")


def demo(workdir: str, serve: bool) -> int:
    from monitor.config import parse
    from monitor.page import PublishError
    from monitor.page import publish as publish_site

    folder = Path(workdir).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sock = bind("127.0.0.1", 0)
    except OSError as exc:
        return report_error([f"{folder}: {exc.strerror or exc}"])
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    data, environ = demo_config(base_url, folder)
    loaded = parse(data, environ, "(demo)")
    try:
        store = Store.open(loaded.config.monitor.database_url)
    except StoreError as exc:
        return report_error(exc)
    server = simulator_server(sock)
    probes = plan(loaded)

    async def scenario_round() -> list[ProbeResult]:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            await started(server)
            with console.progress(len(probes)) as progress:
                results = await run_once(
                    loaded, probes, clock=SystemClock(), store=store, progress=progress
                )
            report = publish_site(store, loaded, SystemClock().now())
            print_demo_report(results, folder, report.site_dir / "index.html")
            if serve:
                click.echo(f"Simulator stays up on {base_url}/v1 — Ctrl-C to stop.")
                await serving
            return results
        finally:
            server.should_exit = True
            await serving

    click.echo(
        f"Simulator on {base_url} with {len(loaded.accounts)} scenario accounts; "
        f"running {len(probes)} probes…",
        err=True,
    )
    try:
        results = asyncio.run(scenario_round())
    except KeyboardInterrupt:
        return 0
    except (StoreError, PublishError, RuntimeError) as exc:
        return report_error(exc)
    finally:
        store.close()
    mismatches = demo_mismatches(results)
    for line in mismatches:
        click.echo(f"error: scenario mismatch: {line}", err=True)
    return 1 if mismatches else 0
