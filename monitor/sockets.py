"""httpcore's network backend on plain asyncio streams, in place of its anyio one.

At a thousand accounts the monitor is CPU-bound, and a fifth of its CPU went to anyio's
layer under each socket operation: a cancel scope armed per read and per write (even with
no timeout), a checkpoint after each send, and a dictionary of attribute getters built
each time the pool asks whether an idle connection was closed. The probe path already
bounds every request with one `asyncio.timeout` (checks.http.receive), which cancels
through these awaits, so per-operation timers are only armed when httpcore asks for one.

Errors are httpcore's own, as its anyio backend raises them, so httpx maps them to the
same `ConnectError`, `ReadError`, `ReadTimeout`... that the checks classify.
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections.abc import Awaitable, Iterable

import httpcore

T = typing.TypeVar("T")
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

# RFC 8305's "Connection Attempt Delay": the next address is tried after 250 ms.
HAPPY_EYEBALLS_DELAY = 0.25


async def _bounded(
    operation: Awaitable[T],
    timeout: float | None,
    timeout_error: type[Exception],
    os_error: type[Exception],
) -> T:
    """Await a socket operation, within `timeout` if httpcore gave one, raising httpcore's
    error for a timed-out or failed one. (The request's own deadline, outside, cancels
    through this untouched: its TimeoutError is raised where it was armed.)"""
    try:
        if timeout is None:
            return await operation
        async with asyncio.timeout(timeout):
            return await operation
    except TimeoutError as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except OSError as exc:  # ssl.SSLError and ConnectionResetError among them
        raise os_error(str(exc) or type(exc).__name__) from exc


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await _bounded(
            self._reader.read(max_bytes), timeout, httpcore.ReadTimeout, httpcore.ReadError
        )

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
        except (OSError, RuntimeError) as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc
        await _bounded(self._writer.drain(), timeout, httpcore.WriteTimeout, httpcore.WriteError)

    async def aclose(self) -> None:
        # Closing queues the socket's close on the loop; waiting for the peer's side of the
        # close would let a slow or hostile server hold the pool's release.
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            await _bounded(
                self._writer.start_tls(ssl_context, server_hostname=server_hostname),
                timeout,
                httpcore.ConnectTimeout,
                httpcore.ConnectError,
            )
        except BaseException:
            await self.aclose()
            raise
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # asyncio reads the socket as data arrives, so an idle connection the server
            # closed (or wrote to out of turn) shows in the reader, not on the socket.
            return (
                self._writer.is_closing()
                or self._reader.at_eof()
                or bool(getattr(self._reader, "_buffer", b""))
            )
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        opened = asyncio.open_connection(
            host,
            port,
            local_addr=(local_address, 0) if local_address else None,
            happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
        )
        reader, writer = await _bounded(
            opened, timeout, httpcore.ConnectTimeout, httpcore.ConnectError
        )
        return _with_options(reader, writer, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        reader, writer = await _bounded(
            asyncio.open_unix_connection(path),
            timeout,
            httpcore.ConnectTimeout,
            httpcore.ConnectError,
        )
        return _with_options(reader, writer, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _with_options(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    socket_options: Iterable[SocketOption] | None,
) -> AsyncioStream:
    sock = writer.get_extra_info("socket")
    try:
        for option in socket_options or ():
            sock.setsockopt(*option)
    except OSError as exc:
        writer.close()
        raise httpcore.ConnectError(str(exc)) from exc
    return AsyncioStream(reader, writer)
