from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.durations import format_duration, parse_duration
from checks.headers import parse_headers, parse_retry_after


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("120ms", 0.12),
        ("1h2m3.5s", 3723.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        ("250us", 0.00025),
        ("7", 7.0),
        ("0.5", 0.5),
        ("1.5s", 1.5),
    ],
)
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "5x", "1h 30m", "-5s", "abc", "5m3", "nan", "inf"])
def test_invalid_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_format_back() -> None:
    assert [format_duration(s) for s in (3600, 5400, 90, 0.25)] == ["1h", "1h30m", "1m30s", "250ms"]


def test_every_ratelimit_header_is_parsed_with_any_suffix() -> None:
    meta = parse_headers(
        {
            "x-ratelimit-limit-requests": "50",
            "x-ratelimit-remaining-requests": "49",
            "x-ratelimit-reset-requests": "1.2s",
            "x-ratelimit-limit-tokens": "800000",
            "x-ratelimit-remaining-tokens": "799946",
            "x-ratelimit-reset-tokens": "6m0s",
            "x-ratelimit-limit-project-tokens": "100000",
            "x-ratelimit-remaining-project-tokens": "99000",
            "x-ratelimit-reset-project-tokens": "1h2m3.5s",
            "X-RateLimit-Limit-Images": "50",
            "x-request-id": "req_abc",
            "openai-organization": "org-abc",
            "openai-project": "proj_abc",
            "openai-processing-ms": "812",
            "openai-version": "2020-10-01",
        }
    )
    assert meta.rate_limits["requests"].limit == 50
    assert meta.rate_limits["requests"].remaining == 49
    assert meta.rate_limits["requests"].reset_seconds == pytest.approx(1.2)
    assert meta.rate_limits["tokens"].reset_seconds == 360
    assert meta.rate_limits["project-tokens"].reset_seconds == pytest.approx(3723.5)
    assert meta.rate_limits["images"].limit == 50
    assert (meta.request_id, meta.organization, meta.project) == ("req_abc", "org-abc", "proj_abc")
    assert meta.processing_ms == 812
    assert meta.version == "2020-10-01"


def test_missing_and_garbage_headers_are_recorded_not_fatal() -> None:
    meta = parse_headers(
        {
            "x-ratelimit-limit-requests": "lots",
            "x-ratelimit-reset-tokens": "soon",
            "x-ratelimit-weird": "1",
            "openai-processing-ms": "fast",
        }
    )
    assert meta.rate_limits["requests"].limit is None
    assert meta.processing_ms is None
    assert set(meta.unparsed) == {
        "x-ratelimit-limit-requests",
        "x-ratelimit-reset-tokens",
        "x-ratelimit-weird",
    }
    assert parse_headers({}).as_dict() == {}


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert parse_retry_after({"retry-after": "12", "retry-after-ms": "11500"}) == 11.5
    assert parse_retry_after({"Retry-After": "12"}) == 12.0
    assert parse_retry_after({"retry-after": "-3"}) is None
    assert parse_retry_after({}) is None


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "Sat, 21 Nov 2026 12:00:30 GMT"}, now) == 30.0
    assert parse_retry_after({"retry-after": "not a date"}, now) is None


def test_x_should_retry_is_read_as_the_sdk_reads_it() -> None:
    assert parse_headers({"x-should-retry": "true"}).should_retry is True
    assert parse_headers({"X-Should-Retry": "false"}).should_retry is False
    odd = parse_headers({"x-should-retry": "maybe"})
    assert odd.should_retry is None
    assert odd.as_dict()["unparsed_headers"] == {"x-should-retry": "maybe"}
    assert parse_headers({"x-should-retry": "false"}).as_dict() == {"should_retry": False}
