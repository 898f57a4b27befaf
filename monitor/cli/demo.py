"""`imagewatch demo`: thirty days of a story replayed in seconds (`monitor.replay`) through
the daemon's steps against the bundled simulator, the page published with real history, a
verdict per account, and a config for the next step. No key, no network."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.helpers import exits, report_error

if TYPE_CHECKING:
    import asyncio
    import socket

    import uvicorn

    from monitor.config import LoadedConfig
    from monitor.store import ProbeResult, Store

SIMULATE_URL = "http://127.0.0.1:8787"
"""Where `imagewatch simulate` serves by default: the written config points there."""
DEMO_MONTHLY_BUDGET_USD = 40000
"""The monthly image budget of the demo's accounts that read their bill, so the spend chart
draws its budget line: above every steady scenario's month (the busiest forecasts about
$28,000), so none of them goes over it. Not for the spend-jump scenario, whose
thirty-fold day forecasts past any budget and whose story is the jump."""
DATABASE = "demo.db"
"""The demo's own database, replaced on each run (a replay needs an empty history)."""


@click.command()
@click.option(
    "--dir",
    "workdir",
    default="imagewatch-demo",
    show_default=True,
    metavar="DIR",
    help="Where the demo keeps its database, site and config.",
)
@click.option("--serve", is_flag=True, help="Serve the page and the simulator until Ctrl-C.")
@exits
def demo(workdir: str, serve: bool) -> int:
    """Replay 30 days against the bundled simulator and publish the page: no key, no network."""
    import asyncio

    from monitor.cli.simulate import bind
    from monitor.config import parse
    from monitor.page import PublishError
    from monitor.store import Store, StoreError

    folder = Path(workdir).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (folder / (DATABASE + suffix)).unlink(missing_ok=True)
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
    click.echo(
        f"Simulator on {base_url} with {len(loaded.accounts)} scenario accounts; "
        "replaying 30 days…",
        err=True,
    )
    try:
        results = asyncio.run(run_demo(loaded, store, sock, serve))
    except KeyboardInterrupt:
        return 0
    except (StoreError, PublishError, RuntimeError, OSError) as exc:
        return report_error(exc)
    finally:
        store.close()
    mismatches = demo_mismatches(results)
    for line in mismatches:
        click.echo(f"error: scenario mismatch: {line}", err=True)
    return 1 if mismatches else 0


async def run_demo(
    loaded: LoadedConfig, store: Store, sock: socket.socket, serve: bool
) -> list[ProbeResult]:
    """The simulator up, the replay, the report, the next step's config; with `serve`, the
    simulator and the page stay up until Ctrl-C."""
    import asyncio

    import httpx

    from checks.base import SystemClock, no_sleep
    from monitor.cli.simulate import simulator_server
    from monitor.clock import FrozenClock
    from monitor.daemon import Daemon
    from monitor.replay import DAYS, replay
    from monitor.simulator import create_app
    from monitor.simulator.state import SimulatorState

    end = SystemClock().now()
    clock = FrozenClock(end)
    state = SimulatorState(monotonic=lambda: clock.now().timestamp())
    server = simulator_server(sock, state)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    page: tuple[uvicorn.Server, asyncio.Task[None]] | None = None
    try:
        await started(server)
        clock.advance(-DAYS * 86400.0)
        # The replay calls the simulator's app in process: the same state and routes as
        # over the socket, without paying for HTTP parsing thirty times over.
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            daemon = Daemon(loaded, store, client, clock, "demo", sleep=no_sleep)
            results = await replay(daemon, state, clock, end, say=lambda line: echo_err(line))
        folder = Path(loaded.config.monitor.site_dir).parent
        write_next_step(folder)
        print_demo_report(results, folder, Path(loaded.config.monitor.site_dir) / "index.html")
        if serve:
            page = await serve_page(Path(loaded.config.monitor.site_dir))
            sim_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            click.echo(f"Simulator stays up on {sim_url}/v1 — Ctrl-C to stop.")
            await serving
        return results
    finally:
        server.should_exit = True
        if page is not None:
            page[0].should_exit = True
            await page[1]
        await serving


def echo_err(line: str) -> None:
    click.echo(line, err=True)


async def serve_page(site: Path) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """The published page on a free loopback port, served as static files."""
    import asyncio

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from monitor.cli.simulate import bind

    sock = bind("127.0.0.1", 0)
    app = Starlette(routes=[Mount("/", StaticFiles(directory=site, html=True))])
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await started(server)
    click.echo(f"Status page on http://127.0.0.1:{sock.getsockname()[1]}/")
    return server, task


def demo_config(base_url: str, workdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A config for every scenario account, and the environment holding their keys."""
    from checks.generation import Generation
    from checks.pricing import Pricing
    from checks.spend import Spend
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
        if scenario.capabilities:
            account["capabilities"] = list(scenario.capabilities)
            account["tags"] = ["capabilities"]  # the page groups accounts by tag
        else:
            account["tags"] = ["image-api"]
        if scenario.responses_model:
            account["responses_model"] = scenario.responses_model
        if scenario.admin_key:
            environ[env + "_ADMIN"] = scenario.admin_key
            account["admin_key_env"] = env + "_ADMIN"
            if scenario.expect.get(Spend.name) != "spend_jump":
                account["monthly_budget_usd"] = DEMO_MONTHLY_BUDGET_USD
        accounts.append(account)
    accounts += provider_accounts(base_url, environ)
    config = {
        "monitor": {
            "database_url": f"sqlite:///{workdir / DATABASE}",
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


def provider_accounts(base_url: str, environ: dict[str, str]) -> list[dict[str, Any]]:
    """One Azure OpenAI account and one gateway account, on the simulator's Azure and
    gateway faces (their first, ready scenarios); their keys go into `environ`."""
    from monitor.simulator import AZURE_SCENARIOS, GATEWAY_SCENARIOS

    azure, gateway = AZURE_SCENARIOS[0], GATEWAY_SCENARIOS[0]
    environ["IMAGEWATCH_DEMO_KEY_AZURE"] = azure.api_key
    environ["IMAGEWATCH_DEMO_KEY_GATEWAY"] = gateway.api_key
    return [
        {
            "name": azure.name,
            "provider": "azure",
            "endpoint": base_url,
            "deployment": azure.deployment,
            "api_version": azure.api_version,
            "route": azure.route,
            "api_key_env": "IMAGEWATCH_DEMO_KEY_AZURE",
            "models": [azure.model],
            "model_version": azure.model_version,
            "tags": ["providers"],
        },
        {
            "name": gateway.name,
            "provider": "openai-compatible",
            "base_url": f"{base_url}/gateway/v1",
            "api_key_env": "IMAGEWATCH_DEMO_KEY_GATEWAY",
            "models": [gateway.models[0]],
            "tags": ["providers"],
        },
    ]


def expected_reasons(account: str) -> dict[str, str]:
    """What the scenario an account of the demo is named after declares, check by check."""
    from monitor.simulator import AZURE_SCENARIOS, GATEWAY_SCENARIOS
    from monitor.simulator.scenarios import SCENARIOS

    declared = {s.name: s.expect for s in SCENARIOS}
    declared |= {s.name: s.expect for s in AZURE_SCENARIOS}
    declared |= {s.name: s.expect for s in GATEWAY_SCENARIOS}
    return dict(declared[account])


def toml_document(config: Mapping[str, Any]) -> str:
    """The demo's config as TOML: tables of strings, numbers and lists of strings, and the
    `[[accounts]]` array (all the demo config holds)."""

    def value(item: Any) -> str:
        if isinstance(item, list):
            return "[" + ", ".join(value(v) for v in item) + "]"
        if isinstance(item, bool | int | float):
            return json.dumps(item)
        return json.dumps(str(item), ensure_ascii=False)

    def table(name: str, body: Mapping[str, Any], header: str) -> list[str]:
        lines = [header.format(name=name)]
        nested = []
        for key, item in body.items():
            if isinstance(item, Mapping):
                nested.append((f"{name}.{key}", item))
            else:
                lines.append(f"{key} = {value(item)}")
        for sub, items in nested:
            lines += ["", *table(sub, items, "[{name}]")]
        return lines

    lines: list[str] = []
    for name, body in config.items():
        rows = body if isinstance(body, list) else [body]
        for row in rows:
            header = "[[{name}]]" if isinstance(body, list) else "[{name}]"
            lines += [*table(name, row, header), ""]
    return "\n".join(lines)


def write_next_step(folder: Path) -> None:
    """`imagewatch.toml` pointing at `imagewatch simulate`'s default address, and
    `simulator.env` exporting the scenario keys it names (the simulator's published keys,
    listed by `imagewatch simulate --list`)."""
    data, environ = demo_config(SIMULATE_URL, folder)
    header = (
        "# Written by `imagewatch demo`: the demo's accounts, against `imagewatch simulate`.\n"
        "# . imagewatch-demo/simulator.env && imagewatch check --config "
        "imagewatch-demo/imagewatch.toml\n\n"
    )
    (folder / "imagewatch.toml").write_text(header + toml_document(data), encoding="utf-8")
    exports = "".join(f"export {name}={value}\n" for name, value in environ.items())
    (folder / "simulator.env").write_text(exports, encoding="utf-8")


def demo_mismatches(results: Sequence[ProbeResult]) -> list[str]:
    """Results whose reason is not the one their scenario declares."""
    problems = []
    for row in results:
        expected = expected_reasons(row.account).get(row.check)
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
    click.echo(f"Results stored in {folder / DATABASE}")
    click.echo(f"Status page: {page}")
    click.echo(
        f"Next: imagewatch simulate, then in another shell . {folder / 'simulator.env'} && "
        f"imagewatch check --config {folder / 'imagewatch.toml'}"
    )
