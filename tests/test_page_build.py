"""The page's shaping is pure: a hand-made PageData, a config and `now` give the whole site,
with no database anywhere."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.page import AccountData, PageData, build, render
from monitor.page.render import chart_lines
from monitor.page.views import Chart, Point, Series
from monitor.store import Heartbeat, Incident, ProbeResult, Rollup
from tests.test_publish import NOW, PINNED, loaded_config, row
from tests.traffic import spend_row, usage_row


def healthy(account: str, at: datetime | None = None) -> list[ProbeResult]:
    when = at or NOW - timedelta(minutes=1)
    # prod has an Admin key: its own traffic and bill are read too
    traffic = [usage_row(account, when), spend_row(account, when)] if account == "prod" else []
    return [
        row(account, "model_listing", "pass", "listed", "gpt-image-2 listed", when),
        row(account, "snapshot", "pass", "snapshot_available", "ok", when, model=PINNED),
        row(account, "generation", "pass", "ok", "generated", when),
        row(account, "rate_limits", "pass", "headroom_ok", "50 images/min", when),
        row(account, "pricing", "pass", "price_unchanged", "as the baseline", when),
        *traffic,
    ]


def day_rollup(days_ago: int, **counts: int) -> Rollup:
    return Rollup(
        period="day",
        bucket=(NOW - timedelta(days=days_ago)).replace(hour=0, minute=0),
        account="prod",
        check="generation",
        model="gpt-image-2",
        total=sum(counts.values()),
        passed=counts.get("passed", 0),
        warned=counts.get("warned", 0),
        failed=counts.get("failed", 0),
        unknown=counts.get("unknown", 0),
        skipped=counts.get("skipped", 0),
        latency_p50_ms=350.0,
        latency_p95_ms=900.0,
        cost_usd=0.0017,
    )


def test_a_site_builds_from_hand_made_page_data_without_a_database() -> None:
    latest = healthy("prod")
    latest[2] = row(
        "prod",
        "generation",
        "fail",
        "org_verification_required",
        "HTTP 403",
        NOW - timedelta(minutes=1),
        http_status=403,
        request_id="req_1",
    )
    latest[3].details = {
        "images_per_minute": 50,
        "tier": 3,
        "headers": {"requests": {"limit": 50, "remaining": 49, "reset_raw": "1.2s"}},
    }
    latest[4].details = {
        "source": "litellm",
        "baseline": {"image_output": "30"},
        "published": {"image_output": "40"},
        "moved": [{"category": "image_output", "change": "+33%"}],
    }
    incident = Incident(
        id=7,
        account="prod",
        check="generation",
        model="gpt-image-2",
        reason="org_verification_required",
        summary="HTTP 403",
        opened_at=NOW - timedelta(hours=2),
        updated_at=NOW - timedelta(hours=2),
    )
    data = PageData(
        latest=latest,
        accounts={
            "prod": AccountData(
                spend_today=0.0034,
                day_rollups=[day_rollup(1, passed=20, warned=1), day_rollup(0, passed=3, failed=2)],
                changes=[latest[2]],
                incidents=[incident],
            )
        },
        changes=[latest[2]],
        incidents=[incident],
        heartbeats=[
            Heartbeat(
                instance="monitor-1",
                host="h",
                pid=1,
                version="0.1.0",
                started_at=NOW - timedelta(hours=1),
                beat_at=NOW - timedelta(seconds=20),
            )
        ],
    )

    site = build(data, loaded_config(), NOW)

    prod, eu = site.accounts
    assert site.verdict == "0 of 2 accounts ready for gpt-image-2."
    assert site.banner.headline == "1 of 2 accounts not ready, 1 unknown"
    assert site.heartbeat.state == "running"
    assert (prod.ready, prod.ready_words) == ("not_ready", "Not ready")
    assert prod.models == {"gpt-image-2": "not_ready"}
    assert [(c.check, c.reason) for c in prod.problems] == [
        ("generation", "org_verification_required")
    ]
    assert prod.spend_today == 0.0034
    assert [(w.dimension, w.limit, w.reset) for w in prod.headroom[0].windows] == [
        ("requests", 50, "1.2s")
    ]
    assert [(r.category, r.moved, r.change) for r in prod.prices[0].rows] == [
        ("image_output", True, "+33%")
    ]
    generation = next(h for h in prod.histories if h.check == "generation")
    assert [b.status for b in generation.bars[-2:]] == ["warn", "fail"]
    assert generation.probes == 26
    assert prod.charts[0].series[0].points[-1].value == 350.0
    assert [e.id for e in site.feed] == [
        "urn:imagewatch:change:prod:generation:gpt-image-2:2026-11-21T11:59:00Z",
        "urn:imagewatch:incident:7:opened",
    ]
    assert [i.id for i in site.open_incidents] == [7]
    assert prod.incidents[0].duration == "2h"
    # An account the store knows nothing about: every probe without data, so unknown.
    assert eu.ready == "unknown"
    assert {c.status for c in eu.cells} == {"none"}
    assert eu.headroom == eu.prices == eu.changes == []
    assert set(render(site)) >= {"index.html", "accounts/prod.html", "status.json"}


def test_a_stale_pass_leaves_the_account_unknown_but_a_stale_failure_still_fails() -> None:
    stale = NOW - timedelta(days=2)  # stale after two intervals; the longest is 6 h
    failing = healthy("eu", stale)
    failing[2].status, failing[2].reason = "fail", "org_verification_required"
    data = PageData(latest=[*healthy("prod", stale), *failing])

    prod, eu = build(data, loaded_config(), NOW).accounts

    assert all(c.stale for c in prod.cells)
    assert (prod.ready, prod.models) == ("unknown", {"gpt-image-2": "unknown"})
    assert (eu.ready, eu.models) == ("not_ready", {"gpt-image-2": "not_ready"})


def test_fresh_passes_and_warnings_make_an_account_ready() -> None:
    results = healthy("prod")
    results[3].status, results[3].reason = "warn", "headroom_low"

    prod = build(PageData(latest=results), loaded_config(), NOW).accounts[0]

    assert (prod.ready, prod.models, prod.problems) == ("ready", {"gpt-image-2": "ready"}, [])


def test_a_failing_pinned_snapshot_makes_its_model_not_ready() -> None:
    results = healthy("prod")
    results[1].status, results[1].reason = "fail", "snapshot_missing"

    prod = build(PageData(latest=results), loaded_config(), NOW).accounts[0]

    assert prod.models == {"gpt-image-2": "not_ready"}


def test_failures_are_listed_before_results_that_could_not_tell() -> None:
    results = healthy("prod")
    results[0].status, results[0].reason = "unknown", "timeout"
    results[4].status, results[4].reason = "fail", "price_changed"

    prod = build(PageData(latest=results), loaded_config(), NOW).accounts[0]

    assert [c.status for c in prod.problems] == ["fail", "unknown"]


def test_a_day_bar_takes_the_worst_status_of_its_day() -> None:
    rollups = [day_rollup(0, passed=9, warned=3, skipped=1, unknown=1)]
    data = PageData(accounts={"prod": AccountData(day_rollups=rollups)})

    prod = build(data, loaded_config(), NOW).accounts[0]

    generation = next(h for h in prod.histories if h.check == "generation")
    assert generation.bars[-1].status == "unknown"
    assert generation.bars[-1].label.endswith("Unknown (14 probes, 0 failed)")
    assert generation.bars[0].status == "none"


def beating(at: datetime, started: datetime) -> Heartbeat:
    return Heartbeat(
        instance="host-1-abcd",
        host="host",
        pid=1,
        version="0.1.0",
        started_at=started,
        beat_at=at,
    )


def test_a_monitor_that_beats_but_stores_nothing_is_running_but_not_probing() -> None:
    # Default shortest interval: model_listing every 5 minutes; silence for 30 minutes.
    data = PageData(
        latest=healthy("prod", NOW - timedelta(minutes=30)),
        heartbeats=[beating(NOW - timedelta(seconds=5), NOW - timedelta(hours=2))],
    )
    site = build(data, loaded_config(), NOW)
    assert site.heartbeat.state == "not_probing"
    assert "not probing" in site.heartbeat.text
    status = render(site)["status.json"]
    assert b'"state": "not_probing"' in status


def test_a_monitor_that_stores_results_is_running() -> None:
    data = PageData(
        latest=healthy("prod", NOW - timedelta(minutes=2)),
        heartbeats=[beating(NOW - timedelta(seconds=5), NOW - timedelta(hours=2))],
    )
    assert build(data, loaded_config(), NOW).heartbeat.state == "running"


def test_a_monitor_just_started_is_not_yet_accused_of_not_probing() -> None:
    data = PageData(heartbeats=[beating(NOW, NOW - timedelta(minutes=1))])
    assert build(data, loaded_config(), NOW).heartbeat.state == "running"


def test_a_chart_line_breaks_at_days_without_a_value_and_a_lone_day_is_a_dot() -> None:
    days = [NOW.date() - timedelta(days=n) for n in range(4, -1, -1)]
    values = [10.0, None, 20.0, 40.0, None]
    chart = Chart(
        title="t",
        unit="ms",
        series=[Series(name="p50", points=list(map(Point, days, values)))],
        description="d",
    )
    assert str(chart_lines(chart)) == (
        '<polyline class="line0" fill="none" stroke-width="2" points="0.0,107.5"/>\n'
        '<circle class="dot0" cx="0.0" cy="107.5" r="3"/>\n'
        '<polyline class="line0" fill="none" stroke-width="2" points="270.0,75.0 405.0,10.0"/>\n'
    )
