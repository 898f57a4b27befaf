"""What the page shows of the `usage` and `spend` results: a chart of images per minute
against the limit, a chart of daily spend against the budget, and their numbers in
status.json; results written into a real SQLite store, read and rendered as a publish does."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import LoadedConfig, parse
from monitor.page import build, read_page_data, render
from monitor.page.render import CHART_HEIGHT, limit_line
from monitor.page.traffic import spend_chart
from monitor.store import ProbeResult, Store
from monitor.traffic import spend_figures
from tests.traffic import spend_row, usage_row

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def config(admin: bool = True) -> LoadedConfig:
    account: dict[str, object] = {"name": "prod", "api_key_env": "KEY", "project": "proj_prod"}
    if admin:
        account["admin_key_env"] = "ADMIN"
    return parse(
        {"accounts": [account]},
        {"KEY": "sk-test-0000000011112222", "ADMIN": "sk-admin-test-000011112222"},
    )


def site_files(
    tmp_path: Path, rows: list[ProbeResult], loaded: LoadedConfig | None = None
) -> dict[str, bytes]:
    loaded = loaded or config()
    store = Store.open(f"sqlite:///{tmp_path / 'traffic.db'}")
    store.add_results(rows)
    files = render(build(read_page_data(store, loaded, NOW), loaded, NOW))
    store.close()
    return files


def figures(page: str) -> list[str]:
    return re.findall(r'<figure class="chart">.*?</figure>', page, flags=re.S)


def test_the_account_page_charts_the_last_hour_of_images_per_minute_against_the_limit(
    tmp_path: Path,
) -> None:
    files = site_files(tmp_path, [usage_row("prod", NOW, limit=50, peak_hour=12, peak_day=30)])
    page = files["accounts/prod.html"].decode()
    (chart,) = [f for f in figures(page) if "Images per minute — gpt-image-2" in f]
    assert chart.count('<rect class="use') == 60  # one bar a minute
    assert 'class="limit"' in chart
    assert "peak 12 in the last hour and 30 in the last day" in chart
    assert "limit 50 images/min, the day&#39;s peak at 60% of it" in chart
    assert "11:00 UTC" in chart
    assert "11:59 UTC" in chart  # the axis says which hour


def test_a_minute_that_reached_the_limit_is_drawn_apart(tmp_path: Path) -> None:
    files = site_files(
        tmp_path,
        [usage_row("prod", NOW, limit=12, peak_hour=12, status="fail", reason="traffic_at_limit")],
    )
    page = files["accounts/prod.html"].decode()
    assert page.count('class="use over"') >= 1


def test_daily_spend_is_charted_against_the_monthly_budget_spread_over_the_days(
    tmp_path: Path,
) -> None:
    files = site_files(tmp_path, [spend_row("prod", NOW, budget=300.0)])
    page = files["accounts/prod.html"].decode()
    (chart,) = [f for f in figures(page) if "Daily image spend" in f]
    assert chart.count('<rect class="use') == 31
    assert "dashed line: daily budget" in chart
    assert "today $6.00; forecast $255.00 this month; budget $300.00 a month" in chart


def test_the_budget_line_follows_the_number_of_days_in_each_month() -> None:
    row = spend_row("prod", NOW, budget=310.0, days=31)  # Oct 22 to Nov 21
    chart = spend_chart(spend_figures(row))
    limits = {bar.label[:7]: bar.limit for bar in chart.bars}
    assert limits == {"2026-10": 10.0, "2026-11": 310.0 / 30}
    heights = {point.split(",")[1] for point in " ".join(limit_line(chart)).split()}
    assert len(heights) == 2  # a step where the month changes
    assert all(0 <= float(y) <= CHART_HEIGHT for y in heights)


def test_without_a_budget_the_spend_chart_draws_no_line(tmp_path: Path) -> None:
    files = site_files(tmp_path, [spend_row("prod", NOW, budget=None)])
    page = files["accounts/prod.html"].decode()
    (chart,) = [f for f in figures(page) if "Daily image spend" in f]
    assert 'class="limit"' not in chart
    assert "no monthly budget set" in chart


def test_an_account_with_an_admin_key_and_nothing_read_yet_says_not_enough_data(
    tmp_path: Path,
) -> None:
    page = site_files(tmp_path, [])["accounts/prod.html"].decode()
    assert "Not enough data yet: the usage check has not read" in page
    assert "Not enough data yet: the spend check has not read" in page


def test_an_account_without_an_admin_key_says_where_traffic_comes_from(tmp_path: Path) -> None:
    page = site_files(tmp_path, [], config(admin=False))["accounts/prod.html"].decode()
    assert "Images per minute —" not in page
    assert "for an account with <code>admin_key_env</code> set" in page


def test_unreadable_details_leave_an_empty_chart_instead_of_a_broken_page(
    tmp_path: Path,
) -> None:
    usage = usage_row("prod", NOW)
    usage.details = {
        "series": [["not a time", 3], [None, "x"], "junk"],
        "limit_images_per_minute": "50",
        "peak_images_per_minute": [1, 2],
    }
    spend = spend_row("prod", NOW)
    spend.details = {"daily_usd": [["2026-11-20", "NaN"], ["day", 2.0]], "today_usd": True}
    page = site_files(tmp_path, [usage, spend])["accounts/prod.html"].decode()
    traffic = [f for f in figures(page) if "Images per minute" in f or "image spend" in f]
    assert len(traffic) == 2
    assert all("Not enough data yet" in f for f in traffic)
    assert "limit unknown" in page


def test_status_json_carries_each_accounts_usage_and_spend_numbers(tmp_path: Path) -> None:
    rows = [
        usage_row("prod", NOW, limit=50, peak_hour=12, peak_day=30),
        spend_row("prod", NOW, budget=300.0, drift_pct=1.5),
    ]
    status = json.loads(site_files(tmp_path, rows)["status.json"])
    (account,) = status["accounts"]
    assert account["usage"] == [
        {
            "model": "gpt-image-2",
            "peak_images_per_minute": {"hour": 12, "day": 30},
            "limit_images_per_minute": 50,
            "share_of_limit": 0.6,
            "checked_at": "2026-11-21T12:00:00Z",
        }
    ]
    assert account["spend"] == {
        "today_usd": 6.0,
        "forecast_month_usd": 255.0,
        "monthly_budget_usd": 300.0,
        "drift_pct": 1.5,
        "checked_at": "2026-11-21T12:00:00Z",
    }


def test_status_json_says_null_and_empty_before_any_usage_or_spend(tmp_path: Path) -> None:
    status = json.loads(site_files(tmp_path, [])["status.json"])
    assert status["accounts"][0]["usage"] == []
    assert status["accounts"][0]["spend"] is None


def test_a_spend_result_older_than_the_chart_still_names_its_days(tmp_path: Path) -> None:
    old = spend_row("prod", NOW - timedelta(days=3), days=2)
    page = site_files(tmp_path, [old])["accounts/prod.html"].decode()
    assert "2026-11-17" in page
    assert "2026-11-18" in page
