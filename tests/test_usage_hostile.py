"""The `usage` and `spend` checks the way the real world breaks them: clocks at month ends and
set back, an Admin API that lags, repeats pages, refuses the key, bills credits and other
currencies, echoes the admin key; and what a round costs in Admin API calls."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from checks import REGISTRY
from checks.admin_usage import Cost, ImageUsage, costs, image_usage
from checks.base import Evidence, Outcome, ProbeContext
from checks.spend import billing, forecast_month, judge
from checks.usage import MAX_AHEAD_SECONDS, SETTLE_SECONDS, read_window
from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.plan import plan
from monitor.runner import Round
from monitor.store import Store
from tests.conftest import BASE, FIXTURES, make_account
from tests.usage_helpers import (
    COSTS_URL,
    END,
    KEYS_URL,
    NOW,
    START,
    USAGE_URL,
    ClockedSimulator,
    clocked,
    usage_sim,
)

__all__ = ["clocked", "usage_sim"]

ADMIN = "sk-admin-hostile-secret-9f8e7d6c5b4a"
DAY = 86400


def context(client: httpx.AsyncClient, **overrides: Any) -> ProbeContext:
    account = make_account(**({"admin_key": ADMIN, "project": "proj_x"} | overrides))
    return ProbeContext(client, account, "gpt-image-2", {"timeout": 5}, FrozenClock(NOW))


def page(buckets: list[Any], *, more: bool = False, cursor: Any = None) -> httpx.Response:
    return httpx.Response(
        200, json={"object": "page", "data": buckets, "has_more": more, "next_page": cursor}
    )


def bucket(start: int, results: list[Any], width: int = 60) -> dict[str, Any]:
    return {"object": "bucket", "start_time": start, "end_time": start + width, "results": results}


def images(n: int) -> dict[str, Any]:
    return {"object": "organization.usage.images.result", "images": n, "num_model_requests": n}


def cost(usd: Any, item: str = "gpt-image-2 image, output", currency: Any = "usd") -> Any:
    return {"object": "organization.costs.result", "amount": {"value": usd,
            "currency": currency}, "line_item": item, "project_id": None}  # fmt: skip


def read_minutes(pages: list[httpx.Response]) -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        async with httpx.AsyncClient() as client:
            rows, covered = await image_usage(
                context(client), start=START, end=END, width="1m", group_by=(), project=None
            )
        return sum(r.images for r in rows), covered

    with respx.mock:
        respx.get(USAGE_URL).mock(side_effect=pages)
        return asyncio.run(go())


def run(check: str, previous: dict[str, Any] | None = None, **overrides: Any) -> Outcome:
    async def go() -> Outcome:
        async with httpx.AsyncClient() as client:
            ctx = context(client, **overrides)
            ctx.settings = REGISTRY[check].settings_type().model_dump() | {"timeout": 5}
            ctx.evidence = Evidence(generation={"images_per_minute": 50}, previous=previous)
            return await REGISTRY[check].run(ctx)

    return asyncio.run(go())


# --- pagination and buckets ------------------------------------------------------------


def test_a_page_repeated_under_a_new_cursor_is_counted_once() -> None:
    same = [bucket(START, [images(5)]), bucket(START + 60, [images(2)])]
    found, _ = read_minutes(
        [page(same, more=True, cursor="c1"), page(same, more=True, cursor="c2"), page(same)]
    )
    assert found == 7


def test_a_page_of_100000_buckets_is_read_quickly_and_each_minute_once() -> None:
    flood = [bucket(START + (i % 1440) * 60, [images(1)]) for i in range(100_000)]
    began = time.monotonic()
    found, covered = read_minutes([page(flood)])
    assert found == 1440
    assert covered == END
    assert time.monotonic() - began < 10


def test_an_answer_ending_before_the_window_covers_only_the_buckets_it_held() -> None:
    # The Admin API's data (or its clock) lags ten minutes behind the read's end: those
    # minutes are left to the next read instead of being skipped for ever.
    lagging = [bucket(m, [images(1)]) for m in range(START, END - 600, 60)]
    found, covered = read_minutes([page(lagging)])
    assert covered == END - 600
    assert found == len(lagging)
    assert read_minutes([page([])]) == (0, START)  # nothing held: nothing covered


# --- the clock -------------------------------------------------------------------------


def settled(moment: datetime) -> int:
    return int(moment.timestamp()) - SETTLE_SECONDS


def test_a_previous_end_far_ahead_of_the_clock_does_not_stall_the_reads() -> None:
    end = settled(NOW)
    far = datetime.fromtimestamp(end + 2 * DAY, UTC).isoformat()
    assert read_window({"window": {"end": far}}, NOW) == (end - DAY, end)
    near = end + MAX_AHEAD_SECONDS
    ahead = {"window": {"end": datetime.fromtimestamp(near, UTC).isoformat()}}
    assert read_window(ahead, NOW) == (near, near)  # a small step back waits, reads nothing


def test_a_read_waiting_for_a_clock_set_back_says_so() -> None:
    ahead = datetime.fromtimestamp(settled(NOW) + 600, UTC).isoformat()
    outcome = run("usage", previous={"window": {"start": ahead, "end": ahead}})
    assert outcome.reason == "traffic_ok"
    assert outcome.details["window"] == {"start": ahead, "end": ahead}
    assert "ahead of the clock" in outcome.summary


def test_a_very_old_previous_read_reaches_back_one_day_only() -> None:
    old = datetime(2026, 6, 1, tzinfo=UTC).isoformat()
    assert read_window({"window": {"end": old}}, NOW) == (settled(NOW) - DAY, settled(NOW))


def test_a_read_across_utc_midnight_and_a_month_end_continues_without_a_gap(
    usage_sim: ClockedSimulator,
) -> None:
    evening = datetime(2026, 11, 30, 23, 40, tzinfo=UTC)
    usage_sim.set(evening)
    first = usage_sim.run("usage", "verified")
    usage_sim.set(evening + timedelta(minutes=45))  # 00:25 on December 1st
    second = usage_sim.run("usage", "verified", previous=first.details)
    assert second.details["window"]["start"] == first.details["window"]["end"]
    assert second.details["window"]["end"] == "2026-12-01T00:20:00+00:00"
    minutes = [point[0] for point in second.details["series"]]
    assert minutes[-1] == "2026-12-01T00:19:00+00:00"
    assert len(minutes) == len(set(minutes)) == 60


# --- the month's forecast --------------------------------------------------------------


def month_of(first: date, days: int, usd: float) -> list[tuple[date, float]]:
    return [(first + timedelta(i), usd) for i in range(days)]


def test_the_forecast_at_five_past_midnight_on_the_1st_leans_on_the_days_before() -> None:
    history = month_of(date(2026, 11, 1), 30, 10.0)
    days = [*history, (date(2026, 12, 1), 1.0)]  # $1 in the first five minutes
    share = 15 / 1440  # the floor: 15 minutes
    forecast = forecast_month(days, date(2026, 12, 1), share)
    # about $10 a day for 31 days, not $1 x 96 x 31 = $2,976
    assert 300 < forecast < 330
    code, _ = judge(today_prorated=96.0, median=10.0, forecast=forecast, budget=Decimal(500),
                    drift_pct=None, jump_factor=3.0, tolerance_pct=5.0)  # fmt: skip
    assert code != "spend_over_budget"


@pytest.mark.parametrize(
    ("today", "length"),
    [(date(2026, 2, 28), 28), (date(2028, 2, 29), 29), (date(2026, 1, 31), 31)],
)
def test_the_forecast_on_a_months_last_day_is_the_month_so_far_and_the_rest_of_today(
    today: date, length: int
) -> None:
    first = today.replace(day=1)
    days = month_of(first - timedelta(days=31 - length), 31 - length, 99.0)
    days += [*month_of(first, length - 1, 10.0), (today, 5.0)]
    # half of today gone: $5 so far, $5 to come at $10 a day
    assert forecast_month(days, today, 0.5) == pytest.approx(10.0 * length)


def test_the_forecast_mid_month_uses_the_month_and_a_31_day_month_has_31_days() -> None:
    days = month_of(date(2026, 12, 1), 10, 10.0)
    assert forecast_month(days, date(2026, 12, 10), 1.0) == pytest.approx(310.0)


# --- money -----------------------------------------------------------------------------


def costs_read(results: list[Any]) -> list[Cost]:
    day = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())

    async def go() -> list[Cost]:
        async with httpx.AsyncClient() as client:
            rows, _ = await costs(context(client), start=day, end=day + DAY, project=None)
        return rows

    with respx.mock:
        respx.get(COSTS_URL).mock(return_value=page([bucket(day, results, width=DAY)]))
        return asyncio.run(go())


def test_refunds_and_credits_are_kept_as_negative_costs() -> None:
    rows = costs_read([cost(12.5), cost(-2.5), cost("-0.5"), cost("-Infinity"), cost("NaN")])
    assert [r.usd for r in rows] == [12.5, -2.5, -0.5]


def test_a_week_of_credits_is_no_median_to_jump_from() -> None:
    code, _ = judge(today_prorated=5.0, median=-3.0, forecast=10.0, budget=None,
                    drift_pct=None, jump_factor=3.0, tolerance_pct=5.0)  # fmt: skip
    assert code == "spend_ok"


def spend_against(results_per_day: list[Any]) -> Outcome:
    today = int(datetime(2026, 11, 21, tzinfo=UTC).timestamp())
    buckets = [bucket(today - i * DAY, results_per_day, width=DAY) for i in range(31)]
    with respx.mock:
        respx.get(COSTS_URL).mock(return_value=page(buckets))
        respx.get(USAGE_URL).mock(return_value=page([]))
        return run("spend")


def test_costs_in_another_currency_are_left_out_and_the_summary_says_so() -> None:
    outcome = spend_against([cost(10.0), cost(900.0, currency="EUR")])
    assert outcome.details["today_usd"] == 10.0
    assert "amounts in eur left out" in outcome.summary


def test_a_credit_lowers_the_days_spend() -> None:
    outcome = spend_against([cost(10.0), cost(-4.0, item="gpt-image-2 image, output credit")])
    assert outcome.details["daily_usd"][0][1] == 6.0


def test_cost_without_counted_images_gives_no_price_per_image_rather_than_a_division() -> None:
    billed = [Cost(0, DAY, 4.0, "gpt-image-2 image, output")]
    assert billing(billed, [], "medium", {}) == (None, None, 0)
    empty = [ImageUsage(0, DAY, 0, 3, model="gpt-image-2", size="1024x1024")]
    assert billing(billed, empty, "medium", {}) == (None, None, 0)


def test_spend_with_a_budget_and_no_traffic_passes_at_zero() -> None:
    outcome = spend_against([])
    assert (outcome.reason, outcome.details["forecast_month_usd"]) == ("spend_ok", 0.0)
    assert outcome.details["median_7d_usd"] == 0.0


# --- refusals --------------------------------------------------------------------------


def missing_scope() -> dict[str, Any]:
    path = FIXTURES / "admin_usage" / "costs-missing-scope-community-1043058.json"
    found = json.loads(path.read_text())
    body: dict[str, Any] = found["body"]
    return body


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("check", ["usage", "spend"])
def test_a_key_without_the_usage_scope_is_unavailable_and_says_what_to_fix(
    status: int, check: str
) -> None:
    refused = httpx.Response(status, json=missing_scope())
    with respx.mock:
        respx.get(KEYS_URL).mock(return_value=httpx.Response(status, json=missing_scope()))
        respx.get(USAGE_URL).mock(return_value=refused)
        respx.get(COSTS_URL).mock(return_value=refused)
        outcome = run(check)
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert "Missing scopes: api.usage.read" in outcome.summary
    assert "admin_key_env must name an Admin key" in outcome.summary
    assert outcome.http_status == status


def test_a_project_that_matches_nothing_is_unavailable_not_a_quiet_pass(
    usage_sim: ClockedSimulator,
) -> None:
    outcome = usage_sim.run("usage", "verified", project="proj_misspelt")
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert "no project proj_misspelt" in outcome.summary
    assert outcome.http_status == 404


# --- cost of a round -------------------------------------------------------------------


def test_an_accounts_models_share_one_usage_read_and_one_key_lookup_per_round(
    usage_sim: ClockedSimulator,
) -> None:
    account = usage_sim.account("verified", models=("gpt-image-2", "gpt-image-1"))
    shared: dict[str, Any] = {}
    calls: list[str] = []

    async def count(request: httpx.Request) -> None:
        calls.append(request.url.path)

    async def go() -> list[Outcome]:
        async with httpx.AsyncClient(event_hooks={"request": [count]}) as client:
            contexts = [
                ProbeContext(client, account, model, {"timeout": 30}, usage_sim.clock,
                             Evidence(generation={"images_per_minute": 50}), shared=shared)
                for model in account.models
            ]  # fmt: skip
            return list(await asyncio.gather(*(REGISTRY["usage"].run(c) for c in contexts)))

    outcomes = asyncio.run(go())
    assert [o.reason for o in outcomes] == ["traffic_ok", "traffic_ok"]
    assert outcomes[0].details["model"] == "gpt-image-2"
    assert outcomes[1].details["images"] == 0  # no gpt-image-1 traffic in the scenario
    assert sorted(calls) == [
        "/v1/organization/projects/proj_sim_verified/api_keys",
        "/v1/organization/usage/images",
    ]


# --- the admin key, echoed back --------------------------------------------------------


def test_an_admin_key_echoed_in_a_body_and_a_header_never_reaches_the_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {
        "monitor": {"database_url": f"sqlite:///{tmp_path / 'iw.db'}"},
        "accounts": [{"name": "prod", "base_url": BASE, "api_key_env": "KEY",
                      "admin_key_env": "ADMIN", "project": "proj_x"}],
    }  # fmt: skip
    loaded = parse(data, {"KEY": "sk-proj-test-secret-abcd1234", "ADMIN": ADMIN})
    echo = {"x-debug-authorization": f"Bearer {ADMIN}", "x-request-id": ADMIN}
    body = {"error": {"message": f"Incorrect API key provided: {ADMIN}", "type": ADMIN,
                      "param": ADMIN, "code": "invalid_api_key"}}  # fmt: skip
    store = Store.open(loaded.config.monitor.database_url)
    try:
        with respx.mock:
            respx.get(KEYS_URL).mock(return_value=httpx.Response(200, json={"data": [],
                                     "echo": ADMIN}, headers=echo))  # fmt: skip
            respx.get(USAGE_URL).mock(return_value=httpx.Response(401, json=body, headers=echo))
            respx.get(COSTS_URL).mock(return_value=httpx.Response(401, json=body, headers=echo))

            async def go() -> None:
                async with httpx.AsyncClient() as client:
                    probes = plan(loaded, checks=["usage", "spend"])
                    await Round(loaded, client, FrozenClock(NOW), store).run(probes)

            asyncio.run(go())
        latest = store.latest_for(["prod"])
    finally:
        store.engine.dispose()
    assert {row.reason for row in latest.values()} == {"usage_unavailable"}
    assert len(latest) == 2
    tail = ADMIN[-12:]
    assert tail not in (tmp_path / "iw.db").read_bytes().decode("latin-1")
    assert tail not in caplog.text


# --- two instances on one database -----------------------------------------------------


def test_two_instances_on_one_database_read_each_window_once_and_continue_each_other(
    usage_sim: ClockedSimulator, store: Store
) -> None:
    from monitor.daemon import Daemon
    from monitor.simulator.scenarios import scenario

    found = scenario("verified")
    data = {"accounts": [{"name": "verified", "base_url": f"{usage_sim.url}/v1",
                          "api_key_env": "KEY", "admin_key_env": "ADMIN",
                          "project": found.project}]}  # fmt: skip
    loaded = parse(data, {"KEY": found.api_key, "ADMIN": found.admin_key or ""})
    usage = next(p for p in plan(loaded, checks=["usage"]))
    reads: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/usage/images"):
            reads.append(request.url.path)

    async def race() -> list[Any]:
        hooks = {"request": [count]}
        async with (
            httpx.AsyncClient(event_hooks=hooks) as one,
            httpx.AsyncClient(event_hooks=hooks) as two,
        ):
            a = Daemon(loaded, store, one, usage_sim.clock, instance="a")
            b = Daemon(loaded, store, two, usage_sim.clock, instance="b")
            both = await asyncio.gather(a.probe(usage), b.probe(usage))
            return [probed.result for probed in both]

    first = asyncio.run(race())
    assert sorted(r is None for r in first) == [False, True]
    assert len(reads) == 1
    usage_sim.set(NOW + timedelta(minutes=15))
    second = asyncio.run(race())
    assert sorted(r is None for r in second) == [False, True]
    assert len(reads) == 2
    one = next(r for r in first if r is not None).details
    two = next(r for r in second if r is not None).details
    assert two["window"]["start"] == one["window"]["end"]  # no gap, nothing twice
    assert two["images"] < one["images"] / 50  # fifteen minutes, not another day


# --- answers that cannot be read ------------------------------------------------------


def test_counts_sent_as_text_are_unavailable_not_a_quiet_zero() -> None:
    texts = [bucket(m, [{"images": "12", "num_model_requests": "12"}]) for m in (START, END - 60)]
    with respx.mock:
        respx.get(KEYS_URL).mock(return_value=httpx.Response(403, json=missing_scope()))
        respx.get(USAGE_URL).mock(return_value=page(texts))
        outcome = run("usage")
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert "none of the 2 results had readable images or requests" in outcome.summary


def test_amounts_that_cannot_be_read_are_unavailable_not_a_quiet_zero() -> None:
    outcome = spend_against([{"amount": {"value": "lots", "currency": "usd"}}])
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert "readable amounts" in outcome.summary


def test_a_page_dripped_slowly_ends_the_read_at_the_checks_one_deadline() -> None:
    async def drip() -> Any:
        yield b'{"object": "page", "data": ['
        for _ in range(1000):
            await asyncio.sleep(0.05)
            yield b" "

    first = page([bucket(START, [images(3)])], more=True, cursor="c1")
    dripping = httpx.Response(200, content=drip())

    async def go() -> Outcome:
        async with httpx.AsyncClient() as client:
            ctx = context(client)
            ctx.settings = {"timeout": 0.5}
            ctx.evidence = Evidence(generation={"images_per_minute": 50})
            return await REGISTRY["usage"].run(ctx)

    began = time.monotonic()
    with respx.mock:
        respx.get(KEYS_URL).mock(return_value=httpx.Response(403))
        respx.get(USAGE_URL).mock(side_effect=[first, dripping])
        outcome = asyncio.run(go())
    assert time.monotonic() - began < 2.5
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    assert "no whole answer within" in outcome.summary


def test_the_probe_key_is_looked_up_again_only_when_it_changed_or_six_hours_passed(
    usage_sim: ClockedSimulator,
) -> None:
    lookups: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/api_keys"):
            lookups.append(request.url.path)

    def read(previous: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
        account = usage_sim.account("verified", **overrides)

        async def go() -> Outcome:
            async with httpx.AsyncClient(event_hooks={"request": [count]}) as client:
                ctx = ProbeContext(client, account, "gpt-image-2", {"timeout": 30},
                                   usage_sim.clock, Evidence(previous=previous))  # fmt: skip
                return await REGISTRY["usage"].run(ctx)

        details: dict[str, Any] = asyncio.run(go()).details
        return details

    first = read(None)
    assert (len(lookups), first["probe_images"]) == (1, 24)
    assert first["probe_key"]["of"] == "…" + usage_sim.account("verified").api_key[-4:]
    usage_sim.set(NOW + timedelta(minutes=15))
    second = read(first)
    assert len(lookups) == 1  # the same key, looked up 15 minutes ago
    assert second["probe_key_id"] == first["probe_key_id"]
    usage_sim.set(NOW + timedelta(minutes=30))
    rotated = read(second, api_key="sk-sim-rotated-key-0000ffff")
    assert len(lookups) == 2
    assert rotated["probe_key_id"] is None  # the new key is not in the project's list
    usage_sim.set(NOW + timedelta(hours=7))
    read(second)
    assert len(lookups) == 3


@pytest.mark.parametrize("check", ["usage", "spend"])
def test_an_html_error_page_is_named_by_its_title_not_quoted_as_markup(check: str) -> None:
    html = (
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
        "</h1></center><hr><center>cloudflare</center></body></html>"
    )
    with respx.mock:
        respx.get(KEYS_URL).mock(return_value=httpx.Response(403))
        for url in (USAGE_URL, COSTS_URL):
            respx.get(url).mock(return_value=httpx.Response(502, text=html))
        outcome = run(check)
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    said = "HTTP 502 — an HTML page, not the API's answer (502 Bad Gateway)"
    assert outcome.summary.endswith(said)
    assert "<" not in outcome.summary


def test_a_budget_of_zero_is_refused_in_one_line_naming_its_key() -> None:
    from monitor.config import ConfigError

    data = {"accounts": [{"name": "a", "api_key_env": "KEY", "admin_key_env": "ADMIN",
                          "project": "p", "monthly_budget_usd": 0}]}  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        parse(data, {"KEY": "sk-test-0000000000001111", "ADMIN": ADMIN})
    assert caught.value.problems == [
        "accounts[0].monthly_budget_usd: input should be greater than 0"
    ]
