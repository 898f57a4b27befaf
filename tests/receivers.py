"""Real receivers on 127.0.0.1 for alert tests: an HTTP server and an SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpReceiver:
    """Records every POST; answers `fail_first` of them with HTTP 500. `on_request` sees each
    recorded request before it is answered (and may hold the answer back)."""

    def __init__(
        self, fail_first: int = 0, on_request: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    failing = receiver.fail_first > 0
                    if failing:
                        receiver.fail_first -= 1
                    else:
                        request = {"path": self.path, "headers": dict(self.headers), "body": body}
                        receiver.requests.append(request)
                if on_request is not None and not failing:
                    on_request(request)
                try:
                    self.send_response(500 if failing else 200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (killed while its answer was held)
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json(self) -> list[Any]:
        return [json.loads(r["body"]) for r in self.requests]

    def events(self) -> list[str]:
        return [r["headers"].get("X-Imagewatch-Event", "") for r in self.requests]


@contextmanager
def http_receiver(
    fail_first: int = 0, on_request: Callable[[dict[str, Any]], None] | None = None
) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(fail_first, on_request)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        receiver.thread.join(timeout=5)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
