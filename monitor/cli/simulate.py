"""`imagewatch simulate`: serve the OpenAI simulator for rehearsals, or list its scenarios.
`imagewatch demo` serves it the same way (`bind`, `simulator_server`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from monitor.cli.helpers import exits, report_error
from monitor.cli.options import json_option, list_option

if TYPE_CHECKING:
    import socket

    import uvicorn

    from monitor.simulator.state import SimulatorState


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535))
@list_option("Print the scenarios and exit.")
@json_option("With --list: print JSON.")
@click.option(
    "--write-config",
    "config_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write a config of numbered accounts for this simulator (keys in FILE.env), then serve.",
)
@click.option(
    "--accounts",
    "count",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 9999),
    help="With --write-config: how many numbered accounts.",
)
@click.option(
    "--scenario",
    "scenario_names",
    multiple=True,
    metavar="NAME",
    help="With --write-config: the scenarios the accounts cycle through (default verified).",
)
@exits
def simulate(
    host: str,
    port: int,
    list_only: bool,
    as_json: bool,
    config_file: str | None,
    count: int,
    scenario_names: tuple[str, ...],
) -> int:
    """Serve the OpenAI simulator (scenario accounts, one per API key) for rehearsals.

    Besides each scenario's own key, numbered keys such as `sk-sim-verified-0001` open
    fresh copies of a scenario: `--write-config` writes a config for N of them."""
    import asyncio
    import contextlib

    if list_only:
        print_scenarios(as_json)
        return 0
    try:
        sock = bind(host, port)
    except OSError as exc:
        return report_error([f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})"])
    address = f"http://{host}:{sock.getsockname()[1]}"
    if config_file is not None:
        problem = write_fleet(config_file, address, count, scenario_names or ("verified",))
        if problem is not None:
            sock.close()
            return report_error([problem])
    click.echo(f"OpenAI simulator on {address}/v1 — scenario keys: `imagewatch simulate --list`")
    click.echo(
        f"control: POST {address}/_sim/accounts/<name>; price file: "
        f"{address}/_sim/prices/published.json; Ctrl-C to stop"
    )
    server = simulator_server(sock)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(sockets=[sock]))
    return 0


def write_fleet(path: str, address: str, count: int, scenarios: tuple[str, ...]) -> str | None:
    """Write the numbered accounts' config to `path` and their keys to `path`.env; the
    problem in one line when that cannot be done."""
    from pathlib import Path

    from monitor.simulator.fleet import as_env_file, as_toml, fleet_config
    from monitor.simulator.scenarios import SCENARIOS

    known = [s.name for s in SCENARIOS]
    unknown = [name for name in scenarios if name not in known]
    if unknown:
        return f"--scenario: unknown scenario {unknown[0]!r} (known: {', '.join(known)})"
    config_path = Path(path)
    env_path = config_path.with_name(config_path.name + ".env")
    config, environ = fleet_config(address, count, scenarios)
    try:
        env_path.write_text(as_env_file(environ), encoding="utf-8")
        config_path.write_text(as_toml(config, env_path.name), encoding="utf-8")
    except OSError as exc:
        return f"--write-config: cannot write {path} ({exc.strerror or exc})"
    click.echo(f"wrote {config_path} ({count} accounts) and their keys to {env_path}")
    return None


def scenario_listing() -> dict[str, Any]:
    """Every scenario account, and every price file with the reason its price check gives."""
    from checks.pricing import Pricing
    from monitor.simulator.scenarios import PRICE_FILES, SCENARIOS

    return {
        "scenarios": [s.listing() for s in SCENARIOS],
        "price_files": [
            {
                "name": name,
                "path": f"/_sim/prices/{name}.json",
                "description": text,
                "expect": {Pricing.name: "price_changed" if name == "moved" else "price_unchanged"},
            }
            for name, text in PRICE_FILES.items()
        ],
    }


def print_scenarios(as_json: bool) -> None:
    import json

    from rich.table import Table

    from monitor import console

    listing = scenario_listing()
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
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
    """A listening socket, bound before the server starts so the port is known at once."""
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def simulator_server(sock: socket.socket, state: SimulatorState | None = None) -> uvicorn.Server:
    """The simulator under uvicorn, to serve on `sock` (from `state`, or a fresh one)."""
    import uvicorn

    from monitor.simulator import create_app

    app = create_app(state)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)
