from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks.generation import Generation
from checks.model_listing import ModelListing
from checks.retries import wait_hint
from checks.settings import GenerationSettings, ModelListingSettings
from monitor.cadence import (
    Last,
    catch_up_share,
    claim_slot,
    decide,
    due,
    in_batches,
    next_interval,
    next_run,
    not_before,
    offset,
    on_start,
    shortest_interval,
    slot_at,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
GENERATION = GenerationSettings(every=3600, every_when_failing=300)
LISTING = ModelListingSettings(every=300)
PAID_KEY = "unverified/generation/gpt-image-2"
FREE_KEY = "verified/model_listing/gpt-image-2"


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
    assert a == again
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
        assert slot_at(key, interval, upcoming) != slot_at(key, interval, when)
        when = upcoming


def test_a_failing_generation_is_reprobed_within_minutes() -> None:
    failing = decide(
        Generation(), PAID_KEY, GENERATION, None, Last("fail", "org_verification_required"), NOW
    )
    assert failing.next_run == next_run(PAID_KEY, 300, NOW)
    assert 0 < (failing.next_run - NOW).total_seconds() <= 300
    passing = decide(Generation(), PAID_KEY, GENERATION, None, Last("pass", "ok"), NOW)
    assert passing.next_run == next_run(PAID_KEY, 3600, NOW)
    assert 0 < (passing.next_run - NOW).total_seconds() <= 3600


def test_a_probe_another_instance_ran_keeps_the_cadence_known_before() -> None:
    failing = Last("fail", "org_verification_required")
    decision = decide(Generation(), PAID_KEY, GENERATION, failing, None, NOW)
    assert decision.next_run == next_run(PAID_KEY, 300, NOW)
    assert decision.confirm is False


def test_a_free_check_changing_state_asks_generation_to_confirm() -> None:
    listed, gone = Last("pass", "listed"), Last("fail", "not_listed")
    assert ModelListing.confirms_with == Generation.name
    assert decide(ModelListing(), FREE_KEY, LISTING, None, listed, NOW).confirm is False  # first
    assert decide(ModelListing(), FREE_KEY, LISTING, listed, listed, NOW).confirm is False
    assert decide(ModelListing(), FREE_KEY, LISTING, listed, gone, NOW).confirm is True
    assert decide(ModelListing(), FREE_KEY, LISTING, gone, listed, NOW).confirm is True


def test_a_check_with_no_confirming_check_never_asks_for_confirmation() -> None:
    passed, refused = Last("pass", "ok"), Last("fail", "org_verification_required")
    assert decide(Generation(), PAID_KEY, GENERATION, passed, refused, NOW).confirm is False


def test_the_claim_window_is_the_shortest_interval_the_config_allows() -> None:
    assert shortest_interval(GENERATION) == 300
    assert shortest_interval(GenerationSettings(every=60, every_when_failing=300)) == 60
    assert shortest_interval(LISTING) == 300


def test_every_instance_claims_the_same_window_whatever_it_knows_of_the_probe() -> None:
    # Old slot ids named the interval, so an instance still on the failing cadence (300 s)
    # and one already on the passing cadence (3600 s) claimed different slots and both paid.
    # The claim names the window of the shortest interval: the same for both views.
    window = slot_at(PAID_KEY, 300, NOW)
    claims = {
        claim_slot(PAID_KEY, GENERATION, moment)
        for moment in (window.start, NOW, window.next_start - timedelta(microseconds=1))
    }
    assert claims == {window.start.isoformat()}
    assert claim_slot(PAID_KEY, GENERATION, window.next_start) not in claims


def test_runs_at_their_own_slot_starts_never_share_a_claim_window() -> None:
    for interval in (300.0, 3600.0):
        when = NOW
        for _ in range(200):
            upcoming = next_run(PAID_KEY, interval, when)
            assert claim_slot(PAID_KEY, GENERATION, upcoming) != claim_slot(
                PAID_KEY, GENERATION, when
            )
            when = upcoming


def test_a_probe_never_run_or_whose_slot_has_not_run_is_due_at_start() -> None:
    slot = slot_at(PAID_KEY, 3600, NOW)
    assert due(None, 3600, PAID_KEY, NOW)
    assert due(slot.start - timedelta(microseconds=1), 3600, PAID_KEY, NOW)
    assert not due(slot.start, 3600, PAID_KEY, NOW)
    assert not due(NOW, 3600, PAID_KEY, NOW)


def test_no_paid_probe_goes_out_before_the_wait_the_api_asked_for() -> None:
    # The 429 said "try again in 11.4 s" in words only; slot alignment alone put the next
    # probe 1.5 s later.
    last = Last(
        "warn",
        "rate_limited",
        {"error": {"message": "Rate limit reached … Please try again in 11.4s. Visit …"}},
        finished_at=NOW,
    )
    for offset_s in (0.0, 0.3, 5.0, 11.0):
        now = NOW + timedelta(seconds=offset_s)
        decision = decide(Generation(), "prod/generation/gpt-image-2", GENERATION, None, last, now)
        assert decision.next_run >= NOW + timedelta(seconds=11.4)


def test_an_exhausted_window_holds_the_next_probe_until_its_reset() -> None:
    headers = {"rate_limits": {"images": {"limit": 5, "remaining": 0, "reset_seconds": 40.0}}}
    last = Last("pass", "ok", {"headers": headers}, finished_at=NOW)
    assert not_before(last) == NOW + timedelta(seconds=40)
    decision = decide(Generation(), "k", GENERATION, None, last, NOW)
    assert decision.next_run >= NOW + timedelta(seconds=40)


def test_wait_hints_are_read_from_real_messages() -> None:
    assert wait_hint("Please try again in 20s. Visit https://platform.openai.com") == 20
    assert wait_hint("Please try again in 644ms.") == 0.644
    assert wait_hint("Please try again in 1m30s.") == 90
    assert wait_hint("Please retry after 86400 seconds. Please go here") == 86400
    assert wait_hint("Please try again later.") is None
    assert wait_hint("try again in 99999999999h") is None


def test_a_confirming_run_replaces_the_next_scheduled_one_instead_of_adding_to_it() -> None:
    key = PAID_KEY
    slot = slot_at(key, 3600, NOW)
    confirmed_at = slot.next_start - timedelta(seconds=2)  # seconds before the scheduled run
    after = Last("pass", "ok", finished_at=confirmed_at)
    decision = decide(Generation(), key, GENERATION, None, after, confirmed_at, confirming=True)
    assert decision.next_run - confirmed_at >= timedelta(seconds=1800)
    regular = decide(Generation(), key, GENERATION, None, after, confirmed_at)
    assert regular.next_run == slot.next_start  # what happened before: a second paid probe


def test_a_run_at_its_slot_is_next_due_one_interval_later() -> None:
    slot = slot_at(PAID_KEY, 3600, NOW)
    ran_at = slot.start + timedelta(seconds=3)
    after = Last("pass", "ok", finished_at=ran_at)
    decision = decide(Generation(), PAID_KEY, GENERATION, None, after, ran_at)
    assert decision.next_run == slot.next_start


def test_a_restart_runs_a_due_probe_at_once_but_never_inside_the_apis_wait() -> None:
    assert on_start(PAID_KEY, 3600, None, NOW) == (True, next_run(PAID_KEY, 3600, NOW))
    asked = Last(
        "warn",
        "rate_limited",
        {"headers": {"retry_after_seconds": 7200.0}},
        finished_at=NOW - timedelta(hours=2, minutes=-1),
    )
    due_now, first = on_start(PAID_KEY, 300, asked, NOW)
    assert due_now is False
    assert first >= NOW + timedelta(minutes=1)


def test_the_catch_up_holds_half_of_the_smaller_gate_at_most() -> None:
    assert catch_up_share(256, 256) == 128
    assert catch_up_share(64, 8) == 4
    assert catch_up_share(1, 1) == 1  # a single place is still used


def test_the_catch_up_runs_in_batches_of_whole_accounts_within_the_limit() -> None:
    # A thousand accounts of seven probes each, interleaved as the plan lists them by check.
    probes = [(f"a{n:04d}", check) for check in range(7) for n in range(1000)]
    batches = in_batches(probes, lambda probe: probe[0], 128)
    assert sorted(p for batch in batches for p in batch) == sorted(probes)
    assert all(len(batch) <= 128 for batch in batches)
    assert len(batches) == 1000 // (128 // 7) + 1  # full batches of 18 accounts
    owners = [{account for account, _ in batch} for batch in batches]
    assert all(not (a & b) for i, a in enumerate(owners) for b in owners[i + 1 :])
    assert [p[0] for p in batches[0][:8]] == ["a0000"] * 7 + ["a0001"]
    # An account with more probes than the limit is one batch of its own, not split.
    assert in_batches([("big", i) for i in range(5)] + [("small", 0)], lambda p: p[0], 3) == [
        [("big", i) for i in range(5)],
        [("small", 0)],
    ]
