"""`imagewatch demo`: the bundled simulator, every check against its scenario accounts, the
page published, and a verdict per account. No key, no network."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.helpers import exits, report_error

if TYPE_CHECKING:
    import uvicorn

    from monitor.store import ProbeResult


@click.command()
@click.option(
    "--dir",
    "workdir",
    default="imagewatch-demo",
    show_default=True,
    metavar="DIR",
    help="Where the demo keeps its database and site.",
)
@click.option("--serve", is_flag=True, help="Keep the simulator up until Ctrl-C.")
@exits
def demo(workdir: str, serve: bool) -> int:
    """Run every check against the bundled simulator: no key, no network."""
    import asyncio

    from checks.base import SystemClock
    from monitor import console
    from monitor.cli.simulate import bind, simulator_server
    from monitor.config import parse
    from monitor.page import PublishError
    from monitor.page import publish as publish_site
    from monitor.plan import plan
    from monitor.runner import run_once
    from monitor.store import Store, StoreError

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


def demo_config(base_url: str, workdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A config for every scenario account, and the environment holding their keys."""
    from checks.generation import Generation
    from checks.pricing import Pricing
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
            Pricing.name: {"source": f"{base_url}/_sim/prices/published.json"},
            Generation.name: {"max_retry_wait": "5s"},
        },
    }
    return config, environ


def demo_mismatches(results: Sequence[ProbeResult]) -> list[str]:
    """Results whose reason is not the one their scenario declares."""
    from monitor.simulator.scenarios import scenario

    problems = []
    for row in results:
        expected = scenario(row.account).expect.get(row.check)
        if expected and expected != row.reason:
            problems.append(f"{row.account} {row.check}: expected {expected}, got {row.reason}")
    return problems


async def started(server: uvicorn.Server) -> None:
    import asyncio

    for _ in range(500):  # uvicorn binds at once; allow 5 s on a loaded machine
        if server.started:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the simulator did not start")


def print_demo_report(results: Sequence[ProbeResult], folder: Path, page: Path) -> None:
    from monitor import console
    from monitor.cli import table

    table.render(results, console.terminal())
    click.echo("")
    click.echo(f"Results stored in {folder / 'imagewatch.db'}")
    click.echo(f"Status page: {page}")
