"""Response headers of the OpenAI API (and Azure OpenAI's: `x-ms-region`, `apim-request-id`,
remaining-only `x-ratelimit-remaining-*`, `retry-after-ms`), parsed defensively: every one is
optional in practice."""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from checks.durations import parse_duration
from checks.text import clean

_RATELIMIT = "x-ratelimit-"
# Plausible ranges. A value outside is a broken proxy or a hostile answer, not a limit: it is
# kept as unparsed evidence and never judged (a "-5 images/min" limit must not fail a need).
MAX_COUNT = 10**12
MAX_WAIT_SECONDS = 86_400.0 * 7
MAX_HEADER_TEXT = 200


@dataclasses.dataclass
class RateLimitWindow:
    """One `x-ratelimit-*-<dimension>` family (requests, tokens, project-tokens, images, …)."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    reset_raw: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass
class ResponseMeta:
    request_id: str | None = None
    organization: str | None = None
    project: str | None = None
    processing_ms: float | None = None
    version: str | None = None
    retry_after_seconds: float | None = None
    should_retry: bool | None = None
    """`x-should-retry: true|false`: the server's own word on whether a retry can help (the
    official SDK obeys it before looking at the status)."""
    region: str | None = None
    """Azure's `x-ms-region`: the region that served the answer (a resource can be served
    from another region under a global or data-zone deployment)."""
    apim_request_id: str | None = None
    """Azure's `apim-request-id`, the id Microsoft support asks for."""
    rate_limits: dict[str, RateLimitWindow] = dataclasses.field(default_factory=dict)
    unparsed: dict[str, str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v
            for k, v in {
                "request_id": self.request_id,
                "organization": self.organization,
                "project": self.project,
                "processing_ms": self.processing_ms,
                "version": self.version,
                "retry_after_seconds": self.retry_after_seconds,
                "should_retry": self.should_retry,
                "region": self.region,
                "apim_request_id": self.apim_request_id,
            }.items()
            if v is not None
        }
        if self.rate_limits:
            out["rate_limits"] = {k: w.as_dict() for k, w in sorted(self.rate_limits.items())}
        if self.unparsed:
            out["unparsed_headers"] = dict(sorted(self.unparsed.items()))
        return out


def _int(text: str) -> int | None:
    try:
        return int(float(text.strip()))
    except (ValueError, OverflowError):
        return None


def _count(text: str, minimum: int) -> int | None:
    number = _int(text)
    return number if number is not None and minimum <= number <= MAX_COUNT else None


def _text(value: str) -> str | None:
    return clean(value).strip()[:MAX_HEADER_TEXT] or None


def _float(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait: `retry-after-ms` first (finer, as the SDK does), then `retry-after`
    as seconds or as an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        value = _float(millis)
        if value is not None and 0 <= value / 1000 <= MAX_WAIT_SECONDS:
            return value / 1000
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    value = _float(raw)
    if value is not None:
        return value if 0 <= value <= MAX_WAIT_SECONDS else None
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        when = email.utils.parsedate_to_datetime(raw)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
        return wait if wait <= MAX_WAIT_SECONDS else None
    return None


MAX_WINDOWS = 16
MAX_UNPARSED = 16


def _keep(meta: ResponseMeta, name: str, value: str) -> None:
    """Evidence of a header we could not use, bounded however many a proxy sends."""
    if len(meta.unparsed) < MAX_UNPARSED:
        meta.unparsed[_text(name) or "?"] = _text(value) or ""


def parse_headers(headers: Mapping[str, str], now: datetime | None = None) -> ResponseMeta:
    meta = ResponseMeta()
    for raw_name, value in headers.items():
        name = raw_name.lower()
        if name == "x-request-id":
            meta.request_id = _text(value)
        elif name == "openai-organization":
            meta.organization = _text(value)
        elif name == "openai-project":
            meta.project = _text(value)
        elif name == "openai-version":
            meta.version = _text(value)
        elif name == "x-ms-region":
            meta.region = _text(value)
        elif name == "apim-request-id":
            meta.apim_request_id = _text(value)
        elif name == "x-should-retry":
            # openai-python compares the exact strings "true" and "false"; anything else is
            # no instruction, kept as evidence.
            if value in ("true", "false"):
                meta.should_retry = value == "true"
            else:
                _keep(meta, name, value)
        elif name == "openai-processing-ms":
            processing = _float(value)
            meta.processing_ms = processing if processing and 0 <= processing < 1e9 else None
        elif name.startswith(_RATELIMIT) and len(meta.rate_limits) < MAX_WINDOWS:
            rest = name[len(_RATELIMIT) :]
            kind, _, dimension = rest.partition("-")
            if not dimension or kind not in ("limit", "remaining", "reset"):
                _keep(meta, name, value)
                continue
            window = meta.rate_limits.setdefault(_text(dimension) or "?", RateLimitWindow())
            if kind == "reset":
                try:
                    seconds = parse_duration(value)
                except ValueError:
                    seconds = None
                if seconds is None or not 0 <= seconds <= MAX_WAIT_SECONDS:
                    _keep(meta, name, value)
                else:
                    window.reset_seconds = seconds
                    window.reset_raw = _text(value)
            else:
                number = _count(value, minimum=1 if kind == "limit" else 0)
                if number is None:
                    _keep(meta, name, value)
                elif kind == "limit":
                    window.limit = number
                else:
                    window.remaining = number
    meta.retry_after_seconds = parse_retry_after(headers, now)
    return meta
