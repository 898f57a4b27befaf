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
@exits
def simulate(host: str, port: int, list_only: bool, as_json: bool) -> int:
    """Serve the OpenAI simulator (scenario accounts, one per API key) for rehearsals."""
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
    click.echo(f"OpenAI simulator on {address}/v1 — scenario keys: `imagewatch simulate --list`")
    click.echo(
        f"control: POST {address}/_sim/accounts/<name>; price file: "
        f"{address}/_sim/prices/published.json; Ctrl-C to stop"
    )
    server = simulator_server(sock)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(sockets=[sock]))
    return 0


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
