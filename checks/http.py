"""One request to the OpenAI API, and the Outcome for an answer that is not a success.

Every check goes through `call`, so timeouts, network errors, header parsing and the error
classifier behave the same everywhere.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from checks.base import Outcome, ProbeContext, Stopwatch
from checks.headers import ResponseMeta, parse_headers
from checks.openai_errors import ApiError, match_error, parse_error, parse_json
from checks.reasons import REASONS, Reason
from checks.text import clean

MAX_BODY = 64 * 1024 * 1024  # a base64 3840x2160 PNG is well under this; a runaway body is not


class BodyTooLarge(Exception):
    """The decoded body passed the cap: the read stopped there."""


@dataclasses.dataclass(frozen=True)
class Received:
    """A whole answer, read within its deadline and its size cap."""

    status: int
    headers: httpx.Headers
    body: bytes


async def receive(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline: float,
    max_bytes: int = MAX_BODY,
    **request: Any,
) -> Received:
    """One request with ONE deadline for connecting, the headers and the whole body (httpx's
    timeout bounds each read, so a body dripped a byte at a time would never time out), and
    a cap on the decoded bytes checked while streaming (a small gzip body can decode to
    gigabytes). Raises TimeoutError, BodyTooLarge or httpx's transport errors."""
    # httpx's own per-operation timeouts would each start after this deadline and so never
    # fire first; left off, no read or write of the request arms a timer of its own.
    async with asyncio.timeout(deadline):
        async with client.stream(method, url, timeout=None, **request) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise BodyTooLarge(f"body larger than {max_bytes} bytes (decoded)")
                chunks.append(chunk)
            return Received(response.status_code, response.headers, b"".join(chunks))


@dataclasses.dataclass
class Answer:
    response: Received | None
    latency_ms: float
    meta: ResponseMeta
    transport_error: Reason | None = None
    transport_detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.response is not None and 200 <= self.response.status < 300

    @property
    def http_status(self) -> int | None:
        return None if self.response is None else self.response.status

    def json(self) -> Any:
        return None if self.response is None else parse_json(self.response.body)

    def outcome(
        self, code: str, summary: str, details: dict[str, Any], cost_usd: float | None = None
    ) -> Outcome:
        """An Outcome for reason `code`, carrying this answer's status, request id, latency."""
        return Outcome(
            REASONS[code].status,
            code,
            summary,
            details,
            http_status=self.http_status,
            request_id=self.meta.request_id,
            latency_ms=self.latency_ms,
            cost_usd=cost_usd,
        )

    def error(self) -> ApiError | None:
        if self.response is None or self.ok:
            return None
        return parse_error(self.response.status, self.response.body)


async def call(
    ctx: ProbeContext,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, str] | list[tuple[str, str]] | None = None,
    data: dict[str, str] | None = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    admin: bool = False,
    timeout: float | None = None,
) -> Answer:
    watch = Stopwatch()
    deadline = timeout if timeout is not None else float(ctx.settings.get("timeout", 60))
    account = ctx.account
    if isinstance(json, dict) and "model" in json:
        json = {**json, "model": account.request_model(str(json["model"]))}
    if data is not None and "model" in data:
        data = {**data, "model": account.request_model(data["model"])}
    try:
        headers = await _auth_headers(ctx, admin, deadline)
    except Exception as exc:  # ours, or the credential's own (azure-identity), whatever they are
        said = str(exc) if isinstance(exc, CredentialError) else f"{type(exc).__name__}: {exc}"
        detail = clean(said)[:300]
        return Answer(None, watch.ms(), ResponseMeta(), REASONS["credential_unavailable"], detail)
    try:
        received = await receive(
            ctx.client,
            method,
            account.url(path),
            deadline=deadline,
            json=json,
            params=params,
            data=data,
            files=files,
            headers=headers,
        )
    except (TimeoutError, httpx.TimeoutException) as exc:
        detail = f"no whole answer within {deadline:g} s ({type(exc).__name__})"
        return Answer(None, watch.ms(), ResponseMeta(), REASONS["timeout"], detail)
    except BodyTooLarge as exc:
        return Answer(None, watch.ms(), ResponseMeta(), REASONS["unexpected_response"], str(exc))
    except (httpx.RequestError, httpx.InvalidURL) as exc:
        detail = clean(f"{type(exc).__name__}: {exc}")[:300]
        return Answer(None, watch.ms(), ResponseMeta(), REASONS["network_error"], detail)
    meta = parse_headers(received.headers, ctx.clock.now())
    return Answer(received, watch.ms(), meta)


class CredentialError(Exception):
    """No usable Microsoft Entra ID token: the credential hung, or gave nothing usable."""


MAX_HANGING_FETCHES = 4
"""Token fetches still running past their deadline (azure-identity's calls cannot be
cancelled) after which no new one starts: a hung identity endpoint costs this many threads,
not one per probe. Fetches within their deadline are not counted: a round of many Entra
accounts asks for many tokens at once."""


@dataclasses.dataclass
class _Fetch:
    done: bool = False
    abandoned: bool = False


class _Hung:
    """How many token fetches outlived their deadline and still run, across rounds and
    event loops."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def full(self) -> bool:
        with self.lock:
            return self.count >= MAX_HANGING_FETCHES

    def abandon(self, fetch: _Fetch) -> None:
        with self.lock:
            if not fetch.done:
                fetch.abandoned = True
                self.count += 1

    def finish(self, fetch: _Fetch) -> None:
        with self.lock:
            fetch.done = True
            if fetch.abandoned:
                self.count -= 1


_HUNG = _Hung()


async def _auth_headers(ctx: ProbeContext, admin: bool, deadline: float) -> dict[str, str]:
    account = ctx.account
    if account.token_provider is None:
        return account.headers(admin=admin)
    token = await _fetch_token(account.token_provider, deadline)
    problem = token_problem(token, ctx.clock.now())
    if problem is not None:
        raise CredentialError(problem)
    return {"Authorization": f"Bearer {token}"}


async def _fetch_token(provider: Callable[[], object], deadline: float) -> object:
    """The credential's answer within `deadline`. azure-identity's provider blocks, so it runs
    off the loop, in a daemon thread of its own: a fetch that hangs is left behind there,
    where neither the round nor the interpreter's exit waits for it (the default executor's
    threads are joined when `asyncio.run` ends, so a hung fetch would hang the command)."""
    if _HUNG.full():
        raise CredentialError(
            f"{MAX_HANGING_FETCHES} earlier token fetches still hang; none more is started"
        )
    loop = asyncio.get_running_loop()
    done: asyncio.Future[object] = loop.create_future()
    fetch = _Fetch()

    def settle(result: object, error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(result)
        else:
            done.set_exception(error)

    def run() -> None:
        result: object = None
        error: BaseException | None = None
        try:
            result = provider()
        except BaseException as exc:  # the credential's own errors, whatever they are
            error = exc
        finally:
            _HUNG.finish(fetch)
        with contextlib.suppress(RuntimeError):  # the loop closed while the fetch hung
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="imagewatch-entra-token", daemon=True).start()
    try:
        return await asyncio.wait_for(done, deadline)
    except TimeoutError:
        _HUNG.abandon(fetch)
        raise CredentialError(f"the credential gave no token within {deadline:g} s") from None


def token_problem(token: object, now: datetime) -> str | None:
    """Why a bearer token from the credential is not sent: not a string, empty, holding a
    character a header cannot carry, or (a JWT, as Entra's are) already expired."""
    if not isinstance(token, str):
        return f"the credential gave {type(token).__name__}, not a string token"
    if not token.strip():
        return "the credential gave an empty token"
    if not token.isascii() or not token.isprintable() or " " in token:
        return "the token holds a space, a control character or a non-ASCII character"
    expires = _expiry(token)
    if expires is not None and expires <= now:
        return f"the token expired at {expires:%Y-%m-%d %H:%M} UTC"
    return None


def _expiry(token: str) -> datetime | None:
    """A JWT's `exp`, read without verifying it (the service verifies; this only spares a
    request that cannot pass)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parse_json(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        expires = payload.get("exp") if isinstance(payload, dict) else None
        if not isinstance(expires, int) or isinstance(expires, bool):
            return None
        return datetime.fromtimestamp(expires, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def failure_outcome(answer: Answer, what: str, reason: Reason | None = None) -> Outcome:
    """The Outcome of an answer that is not a success: transport error or error envelope."""
    details: dict[str, Any] = {"headers": answer.meta.as_dict()} if answer.response else {}
    if answer.transport_error is not None:
        chosen = reason or answer.transport_error
        summary = f"{what}: {chosen.words}"
        if answer.transport_detail:
            details["error"] = answer.transport_detail
            summary += f" ({answer.transport_detail})"
        return Outcome(
            chosen.status,
            chosen.code,
            summary,
            details,
            latency_ms=answer.latency_ms,
            http_status=answer.http_status,
            request_id=answer.meta.request_id,
        )
    error = answer.error()
    assert error is not None, "failure_outcome needs a failed answer"
    if reason is None:
        match = match_error(error)
        chosen = match.reason
        details["rule"] = match.rule.name  # which row of checks/error_rules.py decided
    else:
        chosen = reason
    details["error"] = error.as_dict()
    message = f" — {error.message}" if error.message else ""
    return Outcome(
        chosen.status,
        chosen.code,
        f"{what}: HTTP {error.http_status}{message}",
        details,
        http_status=error.http_status,
        request_id=answer.meta.request_id,
        latency_ms=answer.latency_ms,
    )


def unexpected(answer: Answer, what: str, problem: str) -> Outcome:
    return answer.outcome(
        "unexpected_response",
        f"{what}: {problem}",
        {"problem": problem, "headers": answer.meta.as_dict()},
    )


def json_object(answer: Answer, what: str) -> dict[str, Any] | Outcome:
    """A successful answer's JSON object, or the Outcome of an answer that is not one (an
    error answer, or a 2xx whose body is not a JSON object)."""
    if not answer.ok:
        return failure_outcome(answer, what)
    payload = answer.json()
    if not isinstance(payload, dict):
        return unexpected(answer, what, "answer is not a JSON object")
    return payload
