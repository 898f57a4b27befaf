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
from collections.abc import AsyncIterator

import httpx

POOL_SIZE = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, concurrency: int, pool_size: int = POOL_SIZE) -> None:
        shards = max(1, math.ceil(concurrency / pool_size))
        # Twice the in-flight share per pool: a connection being released must not make
        # the next request queue inside httpcore.
        limits = httpx.Limits(
            max_connections=2 * pool_size, max_keepalive_connections=2 * pool_size
        )
        tls = httpx.create_ssl_context()  # one: loading the CA bundle costs ~20 ms each
        self._pools = [httpx.AsyncHTTPTransport(limits=limits, verify=tls) for _ in range(shards)]
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
