"""Each check against a hostile loopback server: what comes from outside is bounded in time
and size and cleaned before anyone reads it."""

from __future__ import annotations

import asyncio
import resource
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from checks import REGISTRY
from checks.base import Evidence, Outcome, ProbeContext
from checks.headers import parse_headers
from monitor.clock import FrozenClock
from tests.conftest import make_account
from tests.hostile.server import HostileServer

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = "sk-proj-CANARYkey0123456789abcdefWXYZ"


def probe(
    server: HostileServer,
    scenario: str,
    check: str = "generation",
    settings: dict[str, Any] | None = None,
    evidence: Evidence | None = None,
    **account: Any,
) -> tuple[Outcome, float]:
    async def go() -> Outcome:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            ctx = ProbeContext(
                client=client,
                account=make_account(base_url=server.url(scenario), api_key=KEY, **account),
                model="gpt-image-2",
                settings={"timeout": 2.0, "max_retry_wait": 0.0, **(settings or {})},
                clock=FrozenClock(NOW),
                evidence=evidence or Evidence(),
            )
            return await REGISTRY[check].run(ctx)

    started = time.monotonic()
    outcome = asyncio.run(go())
    return outcome, time.monotonic() - started


def test_a_body_dripped_a_byte_a_second_times_out_at_the_deadline(
    hostile: HostileServer,
) -> None:
    outcome, elapsed = probe(hostile, "drip-body")
    assert outcome.reason == "timeout"
    assert elapsed < 4  # 2 s deadline, one attempt: not one read timeout per byte


def test_an_answer_that_never_sends_headers_times_out_at_the_deadline(
    hostile: HostileServer,
) -> None:
    outcome, elapsed = probe(hostile, "slow-headers")
    assert outcome.reason == "timeout"
    assert elapsed < 4


def test_a_gzip_bomb_is_cut_at_the_decoded_size_cap(hostile: HostileServer) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome, _ = probe(hostile, "gzip-bomb", settings={"timeout": 30.0})
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert outcome.reason == "unexpected_response"
    assert "larger than" in outcome.summary
    assert grown_mib < 150, f"peak memory grew by {grown_mib:.0f} MiB"


def test_a_body_over_the_cap_stops_the_read(hostile: HostileServer) -> None:
    outcome, elapsed = probe(hostile, "huge-body", settings={"timeout": 20.0})
    assert outcome.reason == "unexpected_response"
    assert elapsed < 20


@pytest.mark.parametrize(
    "scenario",
    [
        "surrogate-message",
        "surrogate-body-bytes",
        "control-characters",
        "terminal-escape-title",
        "bidi-override",
        "invalid-utf8",
    ],
)
def test_api_text_is_cleaned_at_the_boundary(hostile: HostileServer, scenario: str) -> None:
    outcome, _ = probe(hostile, scenario)
    texts = [outcome.summary, *[str(v) for v in flatten(outcome.details)]]
    for text in texts:
        text.encode("utf-8")  # no lone surrogate survives
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in text), repr(text)
        assert not any(unicodedata.bidirectional(c) in ("RLO", "LRO", "RLE", "LRE") for c in text)


def flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in (k, *flatten(v))]
    if isinstance(value, list):
        return [x for v in value for x in flatten(v)]
    return [value]


@pytest.mark.parametrize(
    ("headers", "expected_limit"),
    [
        ({"x-ratelimit-limit-images": "-5"}, None),
        ({"x-ratelimit-limit-images": "0"}, None),
        ({"x-ratelimit-limit-images": "NaN"}, None),
        ({"x-ratelimit-limit-images": "1e308"}, None),
        ({"x-ratelimit-limit-images": "inf"}, None),
        ({"x-ratelimit-limit-images": "50"}, 50),
    ],
)
def test_out_of_range_limits_are_ignored_as_unavailable(
    headers: dict[str, str], expected_limit: int | None
) -> None:
    windows = parse_headers(headers, NOW).rate_limits
    assert (windows["images"].limit if "images" in windows else None) == expected_limit


@pytest.mark.parametrize(
    "value", ["-3", "1e308", "nan", "soon\x00", "Fri, 31 Dec 9999 23:59:59 GMT"]
)
def test_absurd_retry_after_values_are_ignored(value: str) -> None:
    assert parse_headers({"retry-after": value}, NOW).retry_after_seconds is None


@pytest.mark.parametrize("scenario", ["negative-limit", "zero-limit", "nan-limit", "huge-limit"])
def test_nonsense_limit_headers_never_fail_a_need(hostile: HostileServer, scenario: str) -> None:
    generation, _ = probe(hostile, scenario)
    evidence = Evidence(generation={**generation.details, "finished_at": NOW.isoformat()})
    outcome, _ = probe(
        hostile,
        scenario,
        check="rate_limits",
        evidence=evidence,
        required_images_per_minute=10,
    )
    assert outcome.reason != "below_required"
    assert outcome.status != "fail"


def test_hundreds_of_junk_headers_leave_bounded_evidence(hostile: HostileServer) -> None:
    outcome, _ = probe(hostile, "many-headers")
    assert outcome.reason == "ok"
    assert len(str(outcome.details)) < 20_000


def test_headers_too_large_to_parse_could_not_tell(hostile: HostileServer) -> None:
    outcome, _ = probe(hostile, "giant-headers")
    assert outcome.status == "unknown"
