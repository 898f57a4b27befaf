"""The HTTP transport of the one shared client: several small connection pools; and the
gates that bound how many probes run at once, in all and per upstream host.

httpcore's pool scans every connection for every queued request, so its cost grows with the
square of its size; at 64 connections that scan, not the network, bounded a 50-account
round. Spreading requests over pools of 8 keeps each scan short, behind the same client
(pools of 8 took a third less CPU than pools of 16 for 1,000 requests 256 at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import ssl
from collections.abc import AsyncIterator

import httpcore
import httpx

from monitor.sockets import AsyncioBackend

POOL_SIZE = 8
# An idle connection is dropped after this long. A server closes idle connections after its
# own keep-alive timeout (5 s for uvicorn and Node, 2 s for gunicorn); reused at that very
# moment, the request meets the close and fails as "Server disconnected without sending a
# response": a false network_error. The daemon's probes of an account come seconds apart,
# so httpx's 5 s was the worst value. A round's requests reuse connections within a second.
KEEPALIVE_SECONDS = 1.5


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, concurrency: int, pool_size: int = POOL_SIZE) -> None:
        shards = max(1, math.ceil(concurrency / pool_size))
        # Twice the in-flight share per pool: a connection being released must not make
        # the next request queue inside httpcore.
        limits = httpx.Limits(
            max_connections=2 * pool_size,
            max_keepalive_connections=2 * pool_size,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        self._pools = [asyncio_transport(limits) for _ in range(shards)]
        self._in_flight = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            return await self._pools[index].handle_async_request(request)
        finally:
            self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for the process: loading the CA bundle costs ~20 ms each time, and
    the daemon and `check` make a client per round."""
    return httpx.create_ssl_context()


def asyncio_transport(
    limits: httpx.Limits, tls: ssl.SSLContext | None = None
) -> httpx.AsyncHTTPTransport:
    """httpx's transport over httpcore's pool, that pool on the plain asyncio backend
    (monitor.sockets: anyio's layer cost a fifth of the monitor's CPU). httpx builds its
    pool with no way to name a backend, so the pool is replaced as it would build it."""
    tls = tls or _tls()
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=tls)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport


@functools.lru_cache(maxsize=4096)
def upstream_host(base_url: str) -> str:
    """The host (and port) a base URL points at: parsed once per URL, not once per probe."""
    return httpx.URL(base_url).netloc.decode("ascii", "replace").lower()


class Gates:
    """How many probes run at once: `concurrency` in all, and `per_host` against any one
    upstream host (1,000 accounts on api.openai.com must stay polite). A probe waits for
    its host's gate before it takes a place in the global one, so probes of a busy host
    never hold places that probes of other hosts could use. Shared by every round of a
    daemon; a probe's request deadline starts only once it is through."""

    def __init__(self, concurrency: int, per_host: int) -> None:
        self.everything = asyncio.Semaphore(concurrency)
        self.per_host = per_host
        self.hosts: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def enter(self, base_url: str) -> AsyncIterator[None]:
        host = upstream_host(base_url)
        gate = self.hosts.get(host)
        if gate is None:
            gate = self.hosts[host] = asyncio.Semaphore(self.per_host)
        async with gate, self.everything:
            yield
