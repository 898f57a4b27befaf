"""Response headers of the OpenAI API, parsed defensively: every one is optional in practice."""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from checks.durations import parse_duration

_RATELIMIT = "x-ratelimit-"


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
        if value is not None and value >= 0:
            return value / 1000
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    value = _float(raw)
    if value is not None:
        return value if value >= 0 else None
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(raw)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return None


def parse_headers(headers: Mapping[str, str], now: datetime | None = None) -> ResponseMeta:
    meta = ResponseMeta()
    for raw_name, value in headers.items():
        name = raw_name.lower()
        if name == "x-request-id":
            meta.request_id = value.strip() or None
        elif name == "openai-organization":
            meta.organization = value.strip() or None
        elif name == "openai-project":
            meta.project = value.strip() or None
        elif name == "openai-version":
            meta.version = value.strip() or None
        elif name == "openai-processing-ms":
            meta.processing_ms = _float(value)
        elif name.startswith(_RATELIMIT):
            rest = name[len(_RATELIMIT) :]
            kind, _, dimension = rest.partition("-")
            if not dimension or kind not in ("limit", "remaining", "reset"):
                meta.unparsed[name] = value[:200]
                continue
            window = meta.rate_limits.setdefault(dimension, RateLimitWindow())
            if kind == "reset":
                window.reset_raw = value[:64]
                try:
                    window.reset_seconds = parse_duration(value)
                except ValueError:
                    meta.unparsed[name] = value[:200]
            else:
                number = _int(value)
                if number is None:
                    meta.unparsed[name] = value[:200]
                elif kind == "limit":
                    window.limit = number
                else:
                    window.remaining = number
    meta.retry_after_seconds = parse_retry_after(headers, now)
    return meta
