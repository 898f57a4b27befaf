"""Shared pieces of the benchmark scripts: the simulator served on loopback, with a delay."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from monitor.simulator import create_app

Scope = dict[str, Any]

# Bulk SQL for synthetic stores: rows as the runner stores them, one latest row a pair.
RAW_INSERT = """INSERT INTO probe_results (account, "check", model, status, reason, summary,
    http_status, request_id, latency_ms, cost_usd, details, started_at, finished_at,
    state_change, rolled_up) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
LATEST_FROM_RAW = """INSERT INTO latest_results (account, "check", model, result_id, status,
    reason, finished_at)
    SELECT account, "check", model, max(id), 'pass', 'ok', max(finished_at)
    FROM probe_results GROUP BY account, "check", model"""


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) another process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    """CPU seconds the ended (waited-for) children of another process have used, from /proc:
    the daemon's publish processes."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


class Delayed:
    """ASGI middleware: every request is answered no sooner than `delay` seconds."""

    def __init__(self, app: Any, delay: float) -> None:
        self.app, self.delay = app, delay

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sim/accounts"):
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


class ServedProcess:
    """The delayed simulator in its own process: the server's CPU (image encoding) must not
    share the monitor's interpreter lock, as the real API does not."""

    def __init__(self, delay: float = 0.0) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.delay = delay

    def __enter__(self) -> ServedProcess:
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(self.port), str(self.delay)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{self.url}/_sim/accounts", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise RuntimeError("server did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Served:
    def __init__(self, delay: float = 0.0) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app: Any = create_app()
        if delay:
            app = Delayed(app, delay)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            backlog=2048,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


if __name__ == "__main__":
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(
        Delayed(create_app(), delay),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=2048,
    )
