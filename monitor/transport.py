"""The HTTP transport of the one shared client: several small connection pools.

httpcore's pool scans every connection for every queued request, so its cost grows with the
square of its size; at 64 connections that scan, not the network, bounded a 50-account
round. Spreading requests over pools of 16 keeps each scan short, behind the same client.
"""

from __future__ import annotations

import math

import httpx

POOL_SIZE = 16


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
