"""A loopback HTTP server that answers like a broken proxy, a hostile gateway or a buggy API.

Written on raw asyncio streams, not a web framework, so that it can send what a framework
would refuse to: bytes dripped one a second, a body cut mid-way, a gzip bomb, lone
surrogates, NUL bytes, terminal escapes, absurd headers, and the caller's API key echoed
back in every form. The scenario is the first path segment of the account's base URL
(`http://127.0.0.1:PORT/<scenario>/v1`); every other answer is a valid OpenAI answer, so
each scenario tests one hostile thing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import gzip
import io
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "gpt-image-2"
SNAPSHOT = "gpt-image-2-2026-04-21"
DRIP_SECONDS = 1.0
MAX_REQUEST_BODY = 4 * 1024 * 1024


@dataclasses.dataclass
class Request:
    method: str
    path: str  # after /<scenario>/v1
    headers: dict[str, str]
    body: bytes

    @property
    def key(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ").strip()

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    content_type: str = "application/json"


Writer = asyncio.StreamWriter
Behaviour = Callable[[Request, Writer], Awaitable[None]]


@functools.cache
def jpeg_b64(width: int, height: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 200, 200)).save(buffer, format="JPEG", quality=30)
    return base64.b64encode(buffer.getvalue()).decode()


def size_of(request: Request) -> tuple[int, int]:
    size = str(request.json().get("size", "1024x1024"))
    width, _, height = size.partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        return 1024, 1024


def generation(request: Request, **extra: Any) -> dict[str, Any]:
    width, height = size_of(request)
    body: dict[str, Any] = {
        "created": 1776400000,
        "data": [{"b64_json": jpeg_b64(width, height)}],
        "size": f"{width}x{height}",
        "quality": "low",
        "output_format": "jpeg",
        "usage": {
            "input_tokens": 12,
            "output_tokens": 54,
            "total_tokens": 66,
            "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
        },
    }
    body.update(extra)
    return body


def model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1776400000, "owned_by": "system"}


def valid_body(request: Request) -> dict[str, Any]:
    if request.path == "/models":
        return {"object": "list", "data": [model_object(MODEL), model_object(SNAPSHOT)]}
    if request.path.startswith("/models/"):
        return model_object(request.path.removeprefix("/models/"))
    return generation(request)


RATE_HEADERS = [
    ("x-ratelimit-limit-images", "50"),
    ("x-ratelimit-remaining-images", "49"),
    ("x-ratelimit-reset-images", "1.2s"),
    ("x-ratelimit-limit-requests", "500"),
    ("x-ratelimit-remaining-requests", "499"),
    ("x-ratelimit-reset-requests", "120ms"),
]


def valid(request: Request, headers: list[tuple[str, str]] | None = None) -> Reply:
    extra = RATE_HEADERS if request.path.startswith("/images") else []
    return Reply(
        200,
        json.dumps(valid_body(request)).encode(),
        [("x-request-id", "req_0123456789abcdef"), *extra, *(headers or [])],
    )


def error(status: int, message: str, **fields: Any) -> Reply:
    envelope = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    envelope.update(fields)
    # ensure_ascii keeps a lone surrogate as the escape a real server would send
    return Reply(status, json.dumps({"error": envelope}).encode())


async def send(writer: Writer, reply: Reply) -> None:
    head = [f"HTTP/1.1 {reply.status} X", f"content-type: {reply.content_type}"]
    head += [f"{name}: {value}" for name, value in reply.headers]
    names = {name.lower() for name, _ in reply.headers}
    if "content-length" not in names:
        head.append(f"content-length: {len(reply.body)}")
    head.append("connection: close")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
    await writer.drain()


def answer(make: Callable[[Request], Reply]) -> Behaviour:
    async def behaviour(request: Request, writer: Writer) -> None:
        await send(writer, make(request))

    return behaviour


def on_images(make: Callable[[Request], Reply]) -> Behaviour:
    """Hostile on the paid endpoint only; valid elsewhere, so the free checks still pass."""
    return answer(lambda r: make(r) if r.path.startswith("/images") else valid(r))


async def drip(request: Request, writer: Writer) -> None:
    body = json.dumps(valid_body(request)).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
    )
    for byte in body[:120]:  # bounded: the client must give up long before the end
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(DRIP_SECONDS)


async def slow_headers(request: Request, writer: Writer) -> None:
    await asyncio.sleep(30)  # the server shuts the connection when the test ends


async def gzip_bomb(request: Request, writer: Writer) -> None:
    # 200 MB of spaces compress to about 200 KB; a decoder that trusts them eats the memory.
    bomb = _bomb()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
        + f"content-length: {len(bomb)}\r\n\r\n".encode()
        + bomb
    )
    await writer.drain()


@functools.cache
def _bomb() -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packed:
        chunk = b" " * (1024 * 1024)
        for _ in range(200):
            packed.write(chunk)
    return out.getvalue()


async def huge_body(request: Request, writer: Writer) -> None:
    size = 80 * 1024 * 1024
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {size}\r\n\r\n".encode()
    )
    chunk = b" " * (1024 * 1024)
    with contextlib.suppress(ConnectionError):
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()


async def reset_mid_body(request: Request, writer: Writer) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{"
    )
    await writer.drain()
    writer.transport.abort()


async def close_before_headers(request: Request, writer: Writer) -> None:
    writer.transport.abort()


async def garbage_status_line(request: Request, writer: Writer) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await writer.drain()


def echo_key(request: Request, how: Callable[[str], str], where: str) -> Reply:
    echoed = how(request.key)
    reply = valid(request)
    if where == "header":
        reply.headers = [("x-request-id", f"req_{echoed}"), *RATE_HEADERS]
    elif where == "other-header":
        reply.headers.append(("x-debug-auth", f"Bearer {echoed}"))
    elif where == "body" and request.path.startswith("/images"):
        reply.body = json.dumps(generation(request, revised_prompt=f"key {echoed}")).encode()
    elif where == "error":
        return error(401, f"Incorrect API key provided: {echoed}.", code="invalid_api_key")
    return reply


def unicode_hyphen(key: str) -> str:
    return key.replace("-", "\u2010")


def rate_headers(**values: str) -> Callable[[Request], Reply]:
    def make(request: Request) -> Reply:
        headers = [
            (f"x-ratelimit-{name.replace('_', '-')}", value) for name, value in values.items()
        ]
        reply = valid(request)
        reply.headers = [("x-request-id", "req_0123456789abcdef"), *headers]
        return reply

    return make


def nested(depth: int) -> bytes:
    return b'{"error": ' + b"[" * depth + b"]" * depth + b"}"


SCENARIOS: dict[str, Behaviour] = {
    "valid": answer(valid),
    "surrogate-message": on_images(lambda r: error(400, "bad \ud800 value")),
    "surrogate-body-bytes": on_images(
        lambda r: Reply(400, b'{"error": {"message": "bad \\udfff\\ud800 x", "code": "x"}}')
    ),
    "control-characters": on_images(
        lambda r: error(403, "Your organization must be verified\x00\x07\x1b[31mRED\x1b[0m\r\n")
    ),
    "terminal-escape-title": on_images(
        lambda r: error(500, "\x1b]0;pwned\x07\x1b[2J\x1b[Hcleared the screen")
    ),
    "bidi-override": on_images(lambda r: error(403, "Project \u202eled-ton\u202c denied")),
    "invalid-utf8": on_images(lambda r: Reply(502, b"\xff\xfe\xfa not utf-8 \xc3\x28")),
    "drip-body": drip,
    "slow-headers": slow_headers,
    "gzip-bomb": gzip_bomb,
    "huge-body": huge_body,
    "reset-mid-body": reset_mid_body,
    "close-before-headers": close_before_headers,
    "garbage-status-line": garbage_status_line,
    "html-502": answer(
        lambda r: Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", [], "text/html")
    ),
    "truncated-json": on_images(
        lambda r: Reply(200, b'{"created": 1, "data": [{"b64_json": "iVBO')
    ),
    "error-is-a-list": answer(lambda r: Reply(403, b'{"error": ["not", "an", "object"]}')),
    "error-is-a-number": answer(lambda r: Reply(429, b'{"error": 42}')),
    "data-not-a-list": on_images(lambda r: Reply(200, b'{"created": 1, "data": {"b64_json": 1}}')),
    "models-wrong-shape": answer(
        lambda r: (
            Reply(200, b'{"object": "list", "data": "gpt-image-2"}')
            if r.path == "/models"
            else valid(r)
        )
    ),
    "b64-not-an-image": on_images(
        lambda r: Reply(200, json.dumps({"data": [{"b64_json": "aGVsbG8="}]}).encode())
    ),
    "image-wrong-size": on_images(
        lambda r: Reply(200, json.dumps({"data": [{"b64_json": jpeg_b64(64, 64)}]}).encode())
    ),
    "deeply-nested": on_images(lambda r: Reply(400, nested(100_000))),
    "no-usage": on_images(
        lambda r: Reply(
            200, json.dumps({k: v for k, v in generation(r).items() if k != "usage"}).encode()
        )
    ),
    "negative-limit": on_images(rate_headers(limit_images="-5", remaining_images="-1")),
    "zero-limit": on_images(rate_headers(limit_images="0", remaining_images="0")),
    "nan-limit": on_images(rate_headers(limit_images="NaN", remaining_images="nan")),
    "huge-limit": on_images(rate_headers(limit_images="1e308", remaining_images="1e308")),
    "absurd-reset": on_images(rate_headers(limit_images="50", reset_images="99999999999h")),
    "retry-after-absurd": on_images(
        lambda r: Reply(429, error(429, "Rate limit reached").body, [("retry-after", "1e308")])
    ),
    "retry-after-garbage": on_images(
        lambda r: Reply(429, error(429, "Rate limit").body, [("retry-after", "soon\x00")])
    ),
    "many-headers": on_images(
        lambda r: Reply(
            200, valid(r).body, [(f"x-ratelimit-limit-junk{i}", "7") for i in range(300)]
        )
    ),
    "giant-headers": on_images(
        lambda r: Reply(200, valid(r).body, [(f"x-junk-{i}", "y" * 200) for i in range(2000)])
    ),
    "weird-status": answer(lambda r: Reply(299, b"{}")),
    "redirect-away": answer(
        lambda r: Reply(307, b"", [("location", "http://169.254.169.254/latest/meta-data/")])
    ),
    "key-in-request-id": answer(lambda r: echo_key(r, lambda k: k, "header")),
    "key-in-other-header": answer(lambda r: echo_key(r, lambda k: k, "other-header")),
    "key-in-body": answer(lambda r: echo_key(r, lambda k: k, "body")),
    "key-upper-case": answer(lambda r: echo_key(r, str.upper, "body")),
    "key-without-prefix": answer(lambda r: echo_key(r, lambda k: k.split("-", 2)[-1], "header")),
    "key-unicode-hyphen": answer(lambda r: echo_key(r, unicode_hyphen, "body")),
    "key-in-error": on_images(lambda r: echo_key(r, lambda k: k, "error")),
}


class HostileServer:
    """Serves SCENARIOS on 127.0.0.1 from a thread of its own; `stop()` ends every
    connection still open (a dripping one included)."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[str, str, str]] = []  # (scenario, method, path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/{scenario}/v1"

    def start(self) -> HostileServer:
        _bomb()  # compressing 200 MB takes seconds: not inside a probe's deadline
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("hostile server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stopped:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def on_connection(reader: asyncio.StreamReader, writer: Writer) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._handle(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # the client gave up: that is what several scenarios are for
            except asyncio.CancelledError:
                # stop() cancels connections still dripping or sleeping; asyncio would log
                # each one as an error, though ending them is the point.
                return
            finally:
                tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(on_connection, "127.0.0.1", 0, limit=1 << 20)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopped.wait()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        line = (await reader.readline()).decode("latin-1").split()
        if len(line) < 2:
            return
        method, target = line[0], line[1]
        headers: dict[str, str] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length", "0") or 0), MAX_REQUEST_BODY)
        body = await reader.readexactly(length) if length else b""
        _, scenario, rest = (
            target.split("?")[0].split("/", 2) if target.count("/") >= 2 else ("", "", "")
        )
        path = "/" + rest.removeprefix("v1/") if rest else "/"
        self.requests.append((scenario, method, path))
        behaviour = SCENARIOS.get(scenario)
        if behaviour is None:
            await send(writer, error(404, f"no scenario {scenario!r}"))
            return
        await behaviour(Request(method, path, headers, body), writer)
