"""The monitor's HTTP transport runs httpcore on plain asyncio streams (monitor.sockets):
TLS, connection reuse and failures behave as on httpcore's own backend."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from monitor.sockets import AsyncioStream
from monitor.transport import KEEPALIVE_SECONDS, ShardedTransport, asyncio_transport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


@contextlib.asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


def client(tls: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    return httpx.AsyncClient(transport=asyncio_transport(limits, tls), timeout=5)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    command += " -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    key, cert = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_an_https_answer_comes_back_over_a_verified_tls_connection(
    certificate: tuple[Path, Path],
) -> None:
    server_tls = server_context(certificate)
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()
        writer.close()

    async def go() -> tuple[int, bytes]:
        async with (
            serving(answer, server_tls) as port,
            client(ssl.create_default_context(cafile=str(certificate[1]))) as http,
        ):
            response = await http.get(f"https://127.0.0.1:{port}/v1/models")
            return response.status_code, response.content

    assert asyncio.run(go()) == (200, b"ok")
    assert seen[0].startswith(b"GET /v1/models HTTP/1.1")


def test_a_certificate_nobody_vouches_for_is_refused_as_a_connect_error(
    certificate: tuple[Path, Path],
) -> None:
    server_tls = server_context(certificate)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
            await read_request(reader)
        writer.close()

    async def go() -> None:
        async with serving(answer, server_tls) as port, client() as http:
            await http.get(f"https://127.0.0.1:{port}/v1/models")

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(go())


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    """The server answers with keep-alive, then hangs up; the next request must take a new
    connection, not fail on the dead one."""
    connections = 0

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        writer.close()

    async def go() -> list[int]:
        async with serving(answer_once) as port, client() as http:
            first = await http.get(f"http://127.0.0.1:{port}/a")
            await asyncio.sleep(0.05)  # the server's FIN reaches the idle connection
            second = await http.get(f"http://127.0.0.1:{port}/b")
            return [first.status_code, second.status_code]

    assert asyncio.run(go()) == [200, 200]
    assert connections == 2


def test_an_idle_connection_the_server_wrote_to_out_of_turn_counts_as_closed() -> None:

    async def go() -> bool:
        async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"unasked bytes")
            await writer.drain()
            await asyncio.wait_for(reader.read(), 5)  # until the client hangs up
            writer.close()

        async with serving(chatty) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            stream = AsyncioStream(reader, writer)
            fresh = stream.get_extra_info("is_readable")
            for _ in range(100):  # until the bytes arrive, at most a second
                if stream.get_extra_info("is_readable"):
                    break
                await asyncio.sleep(0.01)
            later = stream.get_extra_info("is_readable")
            await stream.aclose()
            return bool(later) and not fresh

    assert asyncio.run(go())


def test_a_refused_connection_is_a_connect_error() -> None:
    async def go() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with client() as http:
            await http.get(f"http://127.0.0.1:{port}/")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(go())


def test_a_read_timeout_httpx_asks_for_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.wait_for(reader.read(), 5)  # until the client gives up and hangs up
        writer.close()

    async def go() -> None:
        async with serving(silent) as port, client() as http:
            await http.get(f"http://127.0.0.1:{port}/", timeout=0.2)

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(go())


def test_a_connection_idle_longer_than_servers_keep_it_is_not_reused() -> None:
    """Servers close idle connections after a few seconds (uvicorn: 5 s); reusing one then
    races its close. The monitor's pools drop a connection idle for 1.5 s."""
    connections = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, TimeoutError, OSError):
            while True:
                await read_request(reader)
                writer.write(OK)
                await writer.drain()
        writer.close()

    async def go() -> None:
        transport = ShardedTransport(concurrency=1)
        async with serving(keep_alive) as port, httpx.AsyncClient(transport=transport) as http:
            await http.get(f"http://127.0.0.1:{port}/a")
            await http.get(f"http://127.0.0.1:{port}/b")  # at once: the same connection
            await asyncio.sleep(KEEPALIVE_SECONDS + 0.3)
            await http.get(f"http://127.0.0.1:{port}/c")

    asyncio.run(go())
    assert connections == 2
