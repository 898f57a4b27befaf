"""The `usage` check against the simulator's Admin API over HTTP, with an injected clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from checks.admin_keys import fits
from checks.admin_usage import image_usage
from checks.base import Account, Evidence, ProbeContext
from checks.usage import SETTLE_SECONDS, judge, read_window
from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.plan import plan
from monitor.runner import Round
from monitor.simulator.scenarios import scenario
from monitor.store import Store
from tests.usage_helpers import NOW, ClockedSimulator, clocked, usage_sim

__all__ = ["clocked", "usage_sim"]

CONTRACT_KEYS = {
    "window",
    "project",
    "model",
    "limit_images_per_minute",
    "peak_images_per_minute",
    "peak_at",
    "images",
    "requests",
    "probe_images",
    "probe_requests",
    "series",
}


def settled(moment: datetime) -> datetime:
    end = moment - timedelta(seconds=SETTLE_SECONDS)
    return end.replace(second=0, microsecond=0)


def test_usage_passes_steady_traffic_far_below_the_limit(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("usage", "verified")
    assert (outcome.status, outcome.reason) == ("pass", "traffic_ok")
    details = outcome.details
    assert set(details) >= CONTRACT_KEYS
    end = settled(NOW)
    assert details["window"] == {
        "start": (end - timedelta(days=1)).isoformat(),
        "end": end.isoformat(),
    }
    assert details["project"] == "proj_sim_verified"
    assert details["limit_images_per_minute"] == 50
    # production peaks at 11 a minute; the day's peak is a minute the probe added one to
    assert details["peak_images_per_minute"] == {"hour": 11, "day": 12}
    assert len(details["series"]) == 60
    assert details["series"][-1][0] == (end - timedelta(minutes=1)).isoformat()
    # the probe key sends one image an hour: told apart through the project's API keys
    assert (details["probe_images"], details["probe_requests"]) == (24, 24)
    assert 5 * 1440 < details["images"] == details["requests"] < 12 * 1440
    assert "the probes sent 24 of" in outcome.summary


def test_usage_counts_only_the_accounts_project(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("usage", "verified")
    minute = outcome.details["series"][-1]
    # the other project of the organization makes 2 images a minute; none are counted
    assert minute[1] in range(5, 12)
    whole = usage_sim.run("usage", "verified", project=None)
    assert whole.details["images"] == outcome.details["images"] + 2 * 24 * 60


def test_usage_fails_when_a_minute_reached_the_limit(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("usage", "traffic-burst")
    assert (outcome.status, outcome.reason) == ("fail", "traffic_at_limit")
    assert outcome.details["peak_images_per_minute"]["hour"] == 50
    assert outcome.details["peak_at"] is not None


def test_usage_warns_above_the_near_limit_share(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("usage", "verified", settings={"near_limit_share": 0.2})
    assert (outcome.status, outcome.reason) == ("warn", "traffic_near_limit")
    assert "warns above 20%" in outcome.summary


def test_usage_passes_and_says_so_when_no_limit_is_known(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("usage", "traffic-burst", limit=None)
    assert (outcome.status, outcome.reason) == ("pass", "traffic_ok")
    assert "no images-per-minute limit known" in outcome.summary
    assert outcome.details["limit_images_per_minute"] is None


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"admin_key": "sk-admin-sim-nobody-0a1b2c3d"}, 401),
        ({"admin_key": scenario("verified").api_key}, 403),  # a project key is not an admin key
        ({"base_url": "BASE/elsewhere/v1"}, 404),  # no Admin API there
    ],
)
def test_usage_is_unavailable_when_the_admin_api_refuses_or_is_absent(
    usage_sim: ClockedSimulator, overrides: dict[str, Any], status: int
) -> None:
    if "base_url" in overrides:
        overrides["base_url"] = overrides["base_url"].replace("BASE", usage_sim.url)
    outcome = usage_sim.run("usage", "verified", **overrides)
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert outcome.http_status == status
    start = (settled(NOW) - timedelta(days=1)).isoformat()
    assert outcome.details["window"] == {"start": start, "end": start}  # nothing covered


def test_reads_continue_where_the_last_ended_with_no_gap_and_nothing_twice(
    usage_sim: ClockedSimulator,
) -> None:
    since = {"window": {"end": (settled(NOW) - timedelta(hours=2)).isoformat()}}
    first = usage_sim.run("usage", "verified", previous=since)
    assert first.details["window"]["start"] == since["window"]["end"]
    usage_sim.set(NOW + timedelta(minutes=15))
    second = usage_sim.run("usage", "verified", previous=first.details)
    assert second.details["window"]["start"] == first.details["window"]["end"]
    assert second.details["window"]["end"] == settled(NOW + timedelta(minutes=15)).isoformat()
    # the two reads add up to one read of their union
    whole = usage_sim.run("usage", "verified", previous=since)
    assert whole.details["window"] == {
        "start": first.details["window"]["start"],
        "end": second.details["window"]["end"],
    }
    assert whole.details["images"] == first.details["images"] + second.details["images"]
    assert whole.details["requests"] == first.details["requests"] + second.details["requests"]
    # the series and the peaks carry the first read's minutes on
    assert second.details["series"] == whole.details["series"]
    assert second.details["peak_images_per_minute"] == whole.details["peak_images_per_minute"]


def test_a_failed_read_leaves_no_gap_and_loses_no_peak(usage_sim: ClockedSimulator) -> None:
    first = usage_sim.run("usage", "traffic-burst")
    usage_sim.set(NOW + timedelta(minutes=15))
    failed = usage_sim.run(
        "usage", "traffic-burst", previous=first.details, admin_key="sk-admin-sim-nobody-0a1b"
    )
    assert failed.reason == "usage_unavailable"
    assert failed.details["window"]["start"] == first.details["window"]["end"]
    usage_sim.set(NOW + timedelta(minutes=30))
    after = usage_sim.run("usage", "traffic-burst", previous=failed.details)
    straight = usage_sim.run("usage", "traffic-burst", previous=first.details)
    assert after.details["window"] == straight.details["window"]
    assert after.details["window"]["start"] == first.details["window"]["end"]
    for key in ("images", "series", "peak_images_per_minute", "peak_at"):
        assert after.details[key] == straight.details[key]


def test_a_read_right_after_the_last_reads_nothing_and_keeps_the_peaks(
    usage_sim: ClockedSimulator,
) -> None:
    first = usage_sim.run("usage", "traffic-burst")
    usage_sim.set(NOW + timedelta(seconds=20))
    again = usage_sim.run("usage", "traffic-burst", previous=first.details)
    window = again.details["window"]
    assert window["start"] == window["end"] == first.details["window"]["end"]
    assert again.details["images"] == 0
    assert again.reason == "traffic_at_limit"


def test_read_window_bounds_the_look_back_and_survives_a_clock_set_back() -> None:
    end = settled(NOW)
    start, stop = read_window({}, NOW)
    assert stop - start == 86400
    old = {"window": {"end": (NOW - timedelta(days=3)).replace(second=0).isoformat()}}
    assert read_window(old, NOW) == (start, stop)
    ahead = (end + timedelta(hours=1)).isoformat()
    later = int((end + timedelta(hours=1)).timestamp())
    assert read_window({"window": {"end": ahead}}, NOW) == (later, later)
    for hostile in ({"window": "x"}, {"window": {"end": 5}}, {"window": {"end": "2026-11-21"}}):
        assert read_window(hostile, NOW) == (start, stop)


def test_judge_orders_at_limit_over_near_over_ok() -> None:
    assert judge(50, 50, 50, 0.8)[0] == "traffic_at_limit"
    assert judge(41, 41, 50, 0.8)[0] == "traffic_near_limit"
    assert judge(10, 50, 50, 0.8)[0] == "traffic_near_limit"  # the day reached it
    assert judge(40, 40, 50, 0.8)[0] == "traffic_ok"


def test_the_client_follows_next_page_and_agrees_with_hourly_buckets(
    usage_sim: ClockedSimulator,
) -> None:
    account = usage_sim.account("verified")
    end = int(settled(NOW).replace(minute=0).timestamp())
    start = end - 2 * 86400

    async def go() -> tuple[int, int, int, int]:
        async with httpx.AsyncClient() as client:
            ctx = ProbeContext(client, account, "gpt-image-2", {"timeout": 30}, usage_sim.clock)
            minutes, covered = await image_usage(
                ctx, start=start, end=end, width="1m", group_by=(), project=account.project
            )
            hours, _ = await image_usage(
                ctx, start=start, end=end, width="1h", group_by=(), project=account.project
            )
        return (
            sum(r.images for r in minutes),
            sum(r.images for r in hours),
            covered,
            len({r.start for r in minutes}),
        )

    by_minute, by_hour, covered, buckets = asyncio.run(go())
    assert by_minute == by_hour
    assert covered == end
    assert buckets == 2 * 1440  # two pages of 1440


def test_a_restart_continues_from_the_stored_window(
    usage_sim: ClockedSimulator, tmp_path: Path
) -> None:
    found = scenario("verified")
    data = {
        "monitor": {"database_url": f"sqlite:///{tmp_path / 'iw.db'}"},
        "accounts": [
            {
                "name": "verified",
                "base_url": f"{usage_sim.url}/v1",
                "api_key_env": "KEY",
                "admin_key_env": "ADMIN",
                "project": found.project,
            }
        ],
    }
    environ = {"KEY": found.api_key, "ADMIN": found.admin_key or ""}

    def one_round(clock: FrozenClock) -> dict[str, Any]:
        loaded = parse(data, environ)
        store = Store.open(loaded.config.monitor.database_url)
        try:
            probes = plan(loaded, checks=["rate_limits", "usage"])

            async def go() -> None:
                async with httpx.AsyncClient() as client:
                    await Round(loaded, client, clock, store).run(probes)

            asyncio.run(go())
            latest = store.latest_for(["verified"])
        finally:
            store.engine.dispose()
        row = latest[("verified", "usage", "gpt-image-2")]
        assert row.reason == "traffic_ok", row.summary
        details: dict[str, Any] = row.details
        return details

    first = one_round(usage_sim.clock)
    assert first["limit_images_per_minute"] == 50  # this round's rate_limits, read first
    usage_sim.set(NOW + timedelta(minutes=30))
    second = one_round(usage_sim.clock)  # a new store over the same file: a restart
    assert second["window"]["start"] == first["window"]["end"]
    assert second["limit_images_per_minute"] == 50
    stored = (tmp_path / "iw.db").read_bytes()
    for secret in (found.admin_key or "?", found.api_key):
        assert secret.encode() not in stored


def test_a_probe_key_fits_its_redacted_value() -> None:
    assert fits("sk-abcdefgh1234", "sk-abc...1234")
    assert fits("sk-proj-abcdef1234", "sk-proj-***...1234")
    assert not fits("sk-abcdefgh1234", "sk-abc...9999")
    assert not fits("sk-abcdefgh1234", "sk-abcdefgh1234")  # not a redacted value
    assert not fits("sk-ab", "sk-...ab")


def test_usage_is_not_planned_for_an_account_without_an_admin_key() -> None:
    from checks import REGISTRY

    account = Account("a", "https://x.test/v1", "sk-test-1234567890")
    assert REGISTRY["usage"].targets(account) == ()
    assert REGISTRY["spend"].targets(account) == ()
    admin = Account("a", "https://x.test/v1", "sk-1234567890", admin_key="sk-admin-1234")
    assert REGISTRY["usage"].targets(admin) == ("gpt-image-2",)


def test_usage_evidence_comes_from_rate_limits() -> None:
    from checks import REGISTRY

    assert REGISTRY["usage"].reads_evidence == "rate_limits"
    order = list(REGISTRY)
    assert order.index("rate_limits") < order.index("usage") < order.index("spend")
    assert Evidence().previous is None
