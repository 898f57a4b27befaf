"""The top of the index: the banner, the monitor's state from the heartbeats, open incidents
and silences, accounts grouped by tag, and a page that stays readable with many accounts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigError, parse
from monitor.page import AccountData, PageData, build, render
from monitor.store import Heartbeat, Rollup, Store
from tests.test_page_build import day_rollup, healthy
from tests.test_publish import NOW, loaded_config, row


def beat(instance: str, seconds_ago: float, stopped: bool = False) -> Heartbeat:
    at = NOW - timedelta(seconds=seconds_ago)
    return Heartbeat(
        instance=instance,
        host="host",
        pid=1,
        version="0.1.0",
        started_at=at - timedelta(hours=1),
        beat_at=at,
        stopped_at=at if stopped else None,
    )


def fresh() -> list:  # type: ignore[type-arg]
    return [*healthy("prod"), *healthy("eu")]


def test_one_shot_rounds_do_not_count_as_running_instances() -> None:
    beats = [beat("daemon", 5), *(beat(f"once-{n}", 9, stopped=True) for n in range(4))]
    site = build(PageData(latest=fresh(), heartbeats=beats), loaded_config(), NOW)
    assert (site.heartbeat.state, site.heartbeat.instances) == ("running", 1)
    assert "(1 instance)" in site.heartbeat.text


def test_a_page_published_after_the_daemon_stopped_says_stopped_not_running() -> None:
    # The daemon said goodbye a minute ago; a `run --once` round published this page.
    beats = [beat("daemon", 60, stopped=True), beat("once", 1, stopped=True)]
    site = build(PageData(latest=fresh(), heartbeats=beats), loaded_config(), NOW)
    assert site.heartbeat.state == "stopped"
    index = render(site)["index.html"].decode()
    assert "Monitor stopped" in index
    assert "Monitor running" not in index


def test_a_daemon_killed_without_a_goodbye_is_stopped_once_its_beats_are_missed() -> None:
    beats = [beat("daemon", 10 * 60)]
    site = build(PageData(latest=fresh(), heartbeats=beats), loaded_config(), NOW)
    assert site.heartbeat.state == "stopped"
    assert "last heartbeat 2026-11-21 11:50 UTC" in site.heartbeat.text


def test_a_stopping_heartbeat_is_stored_and_a_new_beat_runs_again(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'b.db'}")
    store.beat("a", "host", 1, "0.1.0", NOW, NOW, stopped=True)
    assert store.heartbeats()[0].stopped_at == NOW
    store.beat("a", "host", 1, "0.1.0", NOW, NOW + timedelta(seconds=30))
    assert store.heartbeats()[0].stopped_at is None
    store.close()


def test_the_banner_says_all_ready_in_words() -> None:
    site = build(PageData(latest=fresh()), loaded_config(), NOW)
    assert (site.banner.state, site.banner.headline) == (
        "ready",
        "All 2 accounts ready for gpt-image-2",
    )
    assert site.banner.newest_result_at == NOW - timedelta(minutes=1)


def test_groups_put_not_ready_first_and_collapse_the_all_ready_ones() -> None:
    latest = fresh()
    latest[2] = row("prod", "generation", "fail", "org_verification_required", "403", NOW)
    site = build(PageData(latest=latest), loaded_config(), NOW)
    assert [(g.name, g.summary, g.all_ready) for g in site.groups] == [
        ("us", "1 of 1 not ready", False),
        ("europe", "ready", True),
    ]
    index = render(site)["index.html"].decode()
    assert '<details class="group" id="group-1" open>' in index  # us: sorted second by name
    assert '<details class="group all-ready" id="group-0">' in index  # europe: collapsed


def test_an_account_with_two_tags_is_in_both_groups_and_tags_are_checked() -> None:
    def config(tags: list[str]):  # type: ignore[no-untyped-def]
        return parse({"accounts": [{"name": "a", "api_key_env": "K", "tags": tags}]}, {"K": "sk-x"})

    site = build(PageData(), config(["eu", "batch", "eu"]), NOW)
    assert [g.name for g in site.groups] == ["batch", "eu"]
    assert site.accounts[0].tags == ["batch", "eu"]
    with pytest.raises(ConfigError, match="a tag is"):
        config(["<b>"])


def test_a_chart_without_two_days_of_data_says_so() -> None:
    site = build(PageData(latest=fresh()), loaded_config(), NOW)
    page = render(site)["accounts/prod.html"].decode()
    assert "Not enough data yet" in page
    assert '<polyline class="line' not in page  # the daily charts; the traffic ones have data


def test_the_feed_carries_incidents_and_status_changes() -> None:
    change = row("prod", "generation", "fail", "org_verification_required", "403", NOW)
    site = build(PageData(latest=fresh(), changes=[change]), loaded_config(), NOW)
    feed = render(site)["feed.atom"].decode()
    assert "<title>Fail: prod · generation · gpt-image-2: Organization not verified" in feed


def test_a_thousand_accounts_make_a_compact_index_with_the_problem_group_first() -> None:
    # Speed is measured by tests/benchmarks/page_thousand_accounts.py, not asserted here.
    accounts = [
        {"name": f"acct-{n:04d}", "api_key_env": "K", "tags": [f"team-{n % 10}"]}
        for n in range(1000)
    ]
    loaded = parse({"accounts": accounts}, {"K": "sk-x"})
    latest = [r for n in range(1000) for r in healthy(f"acct-{n:04d}")]
    latest[2] = row("acct-0000", "generation", "fail", "org_verification_required", "403", NOW)
    index = render(build(PageData(latest=latest), loaded, NOW))["index.html"]
    assert len(index) < 2_000 * 1000  # under 2 KB an account: a pass is a chip
    text = index.decode()
    assert text.index("acct-0000") < text.index("acct-0001")  # the not-ready group first
    assert text.count(" open>") == 1  # nine all-ready groups collapsed


def limits(rollup: Rollup) -> Rollup:
    rollup.check = "rate_limits"
    return rollup


def test_rate_limit_headroom_is_charted_day_by_day_from_the_rollups() -> None:
    rollups = [
        limits(day_rollup(1, passed=3, failed=1)),
        limits(day_rollup(0, passed=2, warned=2)),
    ]
    site = build(
        PageData(accounts={"prod": AccountData(day_rollups=rollups)}), loaded_config(), NOW
    )
    chart = next(c for c in site.accounts[0].charts if c.title.startswith("Rate-limit"))
    assert [p.value for p in chart.series[0].points[-2:]] == [75.0, 100.0]
    assert chart.enough
    assert "latest 100%" in chart.description
