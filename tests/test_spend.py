"""The `spend` check against the simulator's Costs API over HTTP, with an injected clock."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from checks.admin_usage import Cost
from checks.spend import MIN_DAY_SHARE, daily, forecast_month, judge, line_item_model
from monitor.config import ConfigError, parse
from monitor.simulator.traffic import image_price
from tests.usage_helpers import NOW, ClockedSimulator, clocked, usage_sim

__all__ = ["clocked", "usage_sim"]

CONTRACT_KEYS = {
    "window",
    "project",
    "daily_usd",
    "today_usd",
    "today_prorated_usd",
    "median_7d_usd",
    "month_to_date_usd",
    "forecast_month_usd",
    "monthly_budget_usd",
    "billed_per_image_usd",
    "expected_per_image_usd",
    "drift_pct",
}


def test_spend_passes_steady_spend_billed_as_priced(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("spend", "verified")
    assert (outcome.status, outcome.reason) == ("pass", "spend_ok")
    details = outcome.details
    assert set(details) == CONTRACT_KEYS
    days = details["daily_usd"]
    assert len(days) == 31
    assert days[0][0] == (NOW.date() - timedelta(days=30)).isoformat()
    assert days[-1] == [NOW.date().isoformat(), details["today_usd"]]
    assert all(usd > 0 for _, usd in days)
    # noon: half the day, pro-rated to a whole one
    assert details["today_prorated_usd"] == pytest.approx(2 * details["today_usd"], rel=1e-4)
    assert details["today_prorated_usd"] == pytest.approx(details["median_7d_usd"], rel=0.01)
    assert details["expected_per_image_usd"] == pytest.approx(float(image_price()), rel=1e-4)
    assert abs(details["drift_pct"]) < 0.5
    assert details["monthly_budget_usd"] is None
    assert details["window"]["start"] == f"{days[0][0]}T00:00:00+00:00"


def test_spend_fails_when_the_month_forecast_passes_the_budget(
    usage_sim: ClockedSimulator,
) -> None:
    outcome = usage_sim.run("spend", "verified", budget="1000")
    assert (outcome.status, outcome.reason) == ("fail", "spend_over_budget")
    assert outcome.details["monthly_budget_usd"] == 1000.0
    assert outcome.details["forecast_month_usd"] > 1000
    generous = usage_sim.run("spend", "verified", budget="100000")
    assert generous.reason == "spend_ok"


def test_spend_warns_when_today_jumps_above_the_7_day_median(
    usage_sim: ClockedSimulator,
) -> None:
    outcome = usage_sim.run("spend", "spend-jump")
    assert (outcome.status, outcome.reason) == ("warn", "spend_jump")
    details = outcome.details
    assert details["today_prorated_usd"] > 3 * details["median_7d_usd"] > 0
    calm = usage_sim.run("spend", "spend-jump", settings={"jump_factor": 50.0})
    assert calm.reason == "spend_ok"


def test_spend_warns_when_the_billed_price_per_image_drifts(
    usage_sim: ClockedSimulator,
) -> None:
    outcome = usage_sim.run("spend", "billing-drift")
    assert (outcome.status, outcome.reason) == ("warn", "billing_drift")
    assert outcome.details["drift_pct"] == pytest.approx(20.0, abs=0.5)
    tolerant = usage_sim.run("spend", "billing-drift", settings={"billing_tolerance_pct": 25.0})
    assert tolerant.reason == "spend_ok"


def test_spend_is_unavailable_when_the_costs_api_refuses(usage_sim: ClockedSimulator) -> None:
    outcome = usage_sim.run("spend", "verified", admin_key="sk-admin-sim-nobody-0a1b2c3d")
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert outcome.http_status == 401
    assert "sk-admin-sim-nobody" not in str(outcome.details)


def test_a_forecast_runs_to_the_end_of_the_month_december_included() -> None:
    days = [(date(2026, 12, d), 10.0) for d in range(1, 11)]
    # nine whole days of $10, and $10 today with the whole day gone: $10 a day for 31 days
    assert forecast_month(days, date(2026, 12, 10), 1.0) == pytest.approx(310.0)
    november = [(date(2026, 11, 30), 4.0)]
    assert forecast_month(november, date(2026, 11, 30), 1.0) == pytest.approx(4.0)


def test_line_items_of_image_models_are_told_from_the_rest() -> None:
    assert line_item_model("gpt-image-2 image, output") == "gpt-image-2"
    assert line_item_model("gpt-image-1, input") == "gpt-image-1"
    assert line_item_model("dall-e-3") == "dall-e-3"
    for other in ("gpt-5.4-mini-2026-03-17, output", "whisper", "", None, "image models"):
        assert line_item_model(other) is None


def test_days_without_costs_are_zeros_and_days_add_up() -> None:
    start = 1795132800  # 2026-11-20T00:00:00Z
    rows = [Cost(start, start + 86400, 1.5), Cost(start, start + 86400, 0.25)]
    assert daily(rows, date(2026, 11, 19), date(2026, 11, 21)) == [
        (date(2026, 11, 19), 0.0),
        (date(2026, 11, 20), 1.75),
        (date(2026, 11, 21), 0.0),
    ]


def test_judge_puts_the_budget_before_a_jump_before_a_drift() -> None:
    common = {"jump_factor": 3.0, "tolerance_pct": 5.0}
    assert (
        judge(
            today_prorated=40,
            median=10,
            forecast=900,
            budget=Decimal(500),
            drift_pct=30,
            **common,
        )[0]
        == "spend_over_budget"
    )
    assert (
        judge(today_prorated=40, median=10, forecast=9, budget=None, drift_pct=30, **common)[0]
        == "spend_jump"
    )
    assert (
        judge(today_prorated=20, median=10, forecast=9, budget=None, drift_pct=-6, **common)[0]
        == "billing_drift"
    )
    # no median to compare with (a new account): no jump
    assert (
        judge(today_prorated=20, median=0.0, forecast=9, budget=None, drift_pct=None, **common)[0]
        == "spend_ok"
    )


def test_the_first_minutes_of_a_day_are_not_multiplied_by_thousands() -> None:
    assert pytest.approx(15 / 1440) == MIN_DAY_SHARE


ENV = {"KEY": "sk-test-0000000000001111", "ADMIN": "sk-admin-test-22223333"}


def config_problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(data, ENV)
    return caught.value.problems


def test_the_usage_and_spend_keys_have_their_documented_defaults() -> None:
    data = {
        "accounts": [
            {
                "name": "prod",
                "api_key_env": "KEY",
                "admin_key_env": "ADMIN",
                "project": "proj_x",
                "monthly_budget_usd": 250,
            }
        ]
    }
    loaded = parse(data, ENV)
    checks = loaded.config.checks
    assert (checks.usage.every, checks.usage.near_limit_share) == (900, 0.8)
    assert (checks.spend.every, checks.spend.jump_factor) == (3600, 3.0)
    assert checks.spend.billing_tolerance_pct == 5.0
    assert loaded.accounts[0].monthly_budget_usd == Decimal(250)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"accounts": [{"name": "a", "api_key_env": "KEY", "monthly_budget_usd": 10}]},
            "accounts[0].monthly_budget_usd: needs admin_key_env (the spend is read from the "
            "Admin API's costs)",
        ),
        (
            {
                "accounts": [
                    {
                        "name": "a",
                        "api_key_env": "KEY",
                        "admin_key_env": "ADMIN",
                        "project": "p",
                        "monthly_budget_usd": -1,
                    }
                ]
            },
            "accounts[0].monthly_budget_usd: input should be greater than 0",
        ),
        (
            {
                "accounts": [{"name": "a", "api_key_env": "KEY"}],
                "checks": {"usage": {"near_limit_share": 1.5}},
            },
            "checks.usage.near_limit_share: input should be less than or equal to 1",
        ),
        (
            {
                "accounts": [{"name": "a", "api_key_env": "KEY"}],
                "checks": {"spend": {"jump_factor": 1}},
            },
            "checks.spend.jump_factor: input should be greater than 1",
        ),
        (
            {
                "accounts": [{"name": "a", "api_key_env": "KEY"}],
                "checks": {"spend": {"billing_tolerance": 5}},
            },
            "checks.spend.billing_tolerance: unknown key",
        ),
    ],
)
def test_bad_usage_and_spend_config_is_one_line_naming_its_key(
    data: dict[str, Any], problem: str
) -> None:
    assert config_problems(data) == [problem]
