from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.settings import GenerationSettings, ModelListingSettings
from monitor.cadence import Last, next_interval, next_run, offset, slot_at

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
GENERATION = GenerationSettings(every=3600, every_when_failing=300)


def test_generation_runs_rarely_while_it_passes() -> None:
    assert next_interval(GENERATION, Last("pass", "ok"), NOW) == 3600
    assert next_interval(GENERATION, None, NOW) == 3600


@pytest.mark.parametrize(
    "reason",
    [
        "org_verification_required",
        "project_model_not_allowed",
        "invalid_api_key",
        "insufficient_quota",
        "server_error",
    ],
)
def test_generation_runs_often_while_it_fails_unbilled(reason: str) -> None:
    assert next_interval(GENERATION, Last("fail", reason), NOW) == 300


def test_rate_limited_backs_off_as_retry_after_says() -> None:
    last = Last("warn", "rate_limited", {"headers": {"retry_after_seconds": 42.0}})
    assert next_interval(GENERATION, last, NOW) == 42
    assert next_interval(GENERATION, Last("warn", "rate_limited"), NOW) == 300


def test_budget_exhausted_waits_for_the_next_utc_day() -> None:
    last = Last("skipped", "budget_exhausted")
    assert next_interval(GENERATION, last, NOW) == 12 * 3600 + 1


def test_free_checks_keep_their_interval_whatever_happened() -> None:
    listing = ModelListingSettings(every=300)
    assert next_interval(listing, Last("fail", "not_listed"), NOW) == 300


def test_slots_agree_across_instances_and_spread_across_probes() -> None:
    a = slot_at("prod/generation/gpt-image-2", 3600, NOW)
    again = slot_at("prod/generation/gpt-image-2", 3600, NOW + timedelta(seconds=1))
    assert a.id == again.id
    assert a.start <= NOW < a.next_start
    assert offset("prod/generation/gpt-image-2", 3600) != offset("eu/generation/gpt-image-2", 3600)
    assert 0 <= offset("x", 3600) < 300  # jitter stays within five minutes


def test_next_run_is_the_next_slot_start() -> None:
    when = next_run("k", 60, NOW)
    assert NOW < when <= NOW + timedelta(seconds=60)
    assert slot_at("k", 60, when).start == when


@pytest.mark.parametrize("interval", [1.0, 60.0, 300.0, 3600.0, 21600.0])
def test_a_run_at_a_slot_start_is_in_that_slot_and_moves_on_by_one_interval(
    interval: float,
) -> None:
    key = "unverified/generation/gpt-image-2"
    when = NOW
    for _ in range(500):
        upcoming = next_run(key, interval, when)
        assert upcoming > when
        assert (upcoming - when).total_seconds() <= interval + 1e-3
        assert slot_at(key, interval, upcoming).start == upcoming
        assert slot_at(key, interval, upcoming).id != slot_at(key, interval, when).id
        when = upcoming
