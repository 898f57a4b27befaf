"""The daemon's HTTP listener (`[monitor] listen`, `imagewatch run --listen`): `/metrics`,
`/healthz`, `/readyz`, and the published site at `/`, so that one process serves
everything behind a reverse proxy.

Read-only by construction: GET and HEAD only (405 otherwise), no request body accepted,
files only from inside `site_dir`. Runs in the daemon's event loop and stops with it; the
daemon, not uvicorn, owns SIGINT and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from monitor.heartbeat import NOT_PROBING_AFTER, not_probing
from monitor.sections import listen_address

if TYPE_CHECKING:
    from monitor.daemon import Daemon

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
}
# The classic text format, which every Prometheus 2.x parses (generate_latest writes it).
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = ("GET", "HEAD")
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
STOP_GRACE = 5  # seconds open connections get to finish when the daemon stops


class ListenError(Exception):
    """The listener cannot start (bad address, port taken): one line for the user."""


def open_socket(address: str) -> socket.socket:
    """A listening socket on `HOST:PORT`, bound now so that a taken port is refused before
    the daemon starts anything (ListenError)."""
    try:
        host, port = listen_address(address)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError) as exc:
        raise ListenError(f"listen: {exc}") from None
    family, kind, proto, _, bound_to = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(bound_to)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ListenError(f"listen: cannot listen on {address}: {why}") from None
    sock.setblocking(False)
    return sock


@dataclasses.dataclass(frozen=True)
class Health:
    """What `/healthz` and `/readyz` answer: a status code and one line."""

    code: int
    line: str


def liveness(
    newest_result_at: datetime | None, running_since: datetime, shortest: float, now: datetime
) -> Health:
    """200 while results are stored; 503 when the daemon runs but has stored none for
    `NOT_PROBING_AFTER` times the shortest probe interval (the heartbeat's staleness)."""
    if not_probing(newest_result_at, running_since, shortest, now):
        window = int(NOT_PROBING_AFTER * shortest)
        return Health(503, f"not probing: no result stored for over {window}s")
    return Health(200, "ok: probing")


def readiness(first_round_at: datetime | None) -> Health:
    """200 once this daemon has finished its first round; 503 before."""
    if first_round_at is None:
        return Health(503, "not ready: the first round is not stored yet")
    return Health(200, "ready: first round stored")


def site_file(site_dir: Path, path: str) -> Path | None:
    """The file a URL path names inside `site_dir` (`/` and folders give their
    index.html); None for anything outside it, hidden, or missing."""
    parts = PurePosixPath(path).parts[1:] if path.startswith("/") else ()
    if any(p in ("..", ".") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    root = site_dir.resolve()
    candidate = root.joinpath(*parts)
    if path.endswith("/") or candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


class Listener:
    """The ASGI app. `health` and `ready` are read per request; `registry` holds the
    metrics collector; `site_dir` is served at `/`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        health: Callable[[], Health],
        ready: Callable[[], Health],
        site_dir: Path,
    ) -> None:
        self.registry = registry
        self.health = health
        self.ready = ready
        self.site_dir = site_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets: nothing to do
        response = await self.respond(Request(scope, receive))
        response.headers.update(HEADERS)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        if request.method not in METHODS:
            return PlainTextResponse(
                "method not allowed\n", 405, headers={"Allow": ", ".join(METHODS)}
            )
        length = request.headers.get("content-length", "0")
        if "transfer-encoding" in request.headers or length.strip() not in ("", "0"):
            return PlainTextResponse("request bodies are not accepted\n", 400)
        path = request.url.path
        if path == "/metrics":
            try:
                body = await asyncio.to_thread(generate_latest, self.registry)
            except Exception as exc:  # the store is down: say so, never with its message
                return PlainTextResponse(f"metrics unavailable: {type(exc).__name__}\n", 503)
            return Response(body, 200, media_type=METRICS_TYPE)
        if path in ("/healthz", "/readyz"):
            try:
                answer = await asyncio.to_thread(self.health if path == "/healthz" else self.ready)
            except Exception as exc:  # the store is down: not healthy, and say why in a word
                answer = Health(503, f"unhealthy: {type(exc).__name__}")
            return PlainTextResponse(answer.line + "\n", answer.code)
        found = site_file(self.site_dir, path)
        if found is None:
            return PlainTextResponse("not found\n", 404)
        kind = CONTENT_TYPES.get(found.suffix.lower(), "application/octet-stream")
        return FileResponse(found, media_type=kind)


def _uvicorn_server(app: Any) -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the daemon handles SIGINT/SIGTERM and stops the listener itself

    return Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=STOP_GRACE,
        )
    )


async def serve_listener(app: Listener, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve `app` on the bound socket until `stop` is set."""
    server = _uvicorn_server(app)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        server.should_exit = True
        await serving


def daemon_app(daemon: Daemon) -> Listener:
    """The listener over a daemon: its store's metrics, its liveness and first round, and
    the site it publishes."""
    from monitor.metrics import Collector
    from monitor.plan import shortest_every

    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        Collector(daemon.store, daemon.loaded, daemon.clock, lambda: not daemon.not_probing())
    )
    shortest = shortest_every(daemon.loaded)
    return Listener(
        registry,
        health=lambda: liveness(
            daemon.store.newest_result_at(), daemon.started_at, shortest, daemon.clock.now()
        ),
        ready=lambda: readiness(daemon.first_round_at),
        site_dir=Path(daemon.loaded.config.monitor.site_dir),
    )


async def serve_daemon(daemon: Daemon, sock: socket.socket, stopped: asyncio.Event) -> None:
    """Serve the daemon's listener on `sock` until `stopped` is set."""
    await serve_listener(daemon_app(daemon), sock, stopped)
