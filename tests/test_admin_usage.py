"""The Admin API usage and costs client against hostile answers (at the HTTP seam, respx),
the published example answers, and the simulator's answers validated against the schema."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from checks import REGISTRY
from checks.admin_usage import MAX_PAGES, costs, image_usage
from checks.base import Evidence, Outcome, ProbeContext
from checks.usage import SETTLE_SECONDS
from monitor.clock import FrozenClock
from monitor.simulator.scenarios import scenario
from tests.conftest import FIXTURES, make_account
from tests.test_simulator import schemas, violations
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

__all__ = ["clocked", "schemas", "usage_sim"]

ADMIN = "sk-admin-hostile-secret-9f8e7d"


def account() -> Any:
    return make_account(admin_key=ADMIN, project="proj_x")


def ctx(client: httpx.AsyncClient, **settings: Any) -> ProbeContext:
    return ProbeContext(
        client, account(), "gpt-image-2", {"timeout": 5} | settings, FrozenClock(NOW)
    )


def page(buckets: list[Any], *, more: bool = False, cursor: Any = None) -> httpx.Response:
    return httpx.Response(
        200, json={"object": "page", "data": buckets, "has_more": more, "next_page": cursor}
    )


def bucket(start: int, results: list[Any], width: int = 60) -> dict[str, Any]:
    return {"object": "bucket", "start_time": start, "end_time": start + width, "results": results}


def images(n: Any, requests: Any = None, **fields: Any) -> dict[str, Any]:
    return {
        "object": "organization.usage.images.result",
        "images": n,
        "num_model_requests": n if requests is None else requests,
        **fields,
    }


def run_usage(limit: int | None = 50, previous: dict[str, Any] | None = None) -> Outcome:
    async def go() -> Outcome:
        async with httpx.AsyncClient() as client:
            context = ctx(client, near_limit_share=0.8)
            context.evidence = Evidence(generation={"images_per_minute": limit}, previous=previous)
            return await REGISTRY["usage"].run(context)

    return asyncio.run(go())


@respx.mock
def test_hostile_counts_and_buckets_are_dropped_not_trusted() -> None:
    respx.get(KEYS_URL).mock(return_value=httpx.Response(403, json={}))
    minute = END - 60
    respx.get(USAGE_URL).mock(
        return_value=page(
            [
                bucket(minute, [images(7), images("9"), images(-3), images(10**12), images(True)]),
                bucket(minute - 60, [images(2.5), None, "x", images(4, requests=-1)]),
                bucket(minute - 120, "not a list"),  # type: ignore[arg-type]
                bucket(minute - 30, [images(40)]),  # not on a minute
                bucket(minute, [images(40)], width=3600),  # not a minute long
                bucket(END, [images(40)]),  # past the window's end
                bucket(START - 60, [images(40)]),  # before its start
                {"start_time": "soon", "end_time": None, "results": [images(40)]},
                "garbage",
            ]
        )
    )
    outcome = run_usage()
    assert (outcome.status, outcome.reason) == ("pass", "traffic_ok")
    assert outcome.details["images"] == 7 + 4
    assert outcome.details["requests"] == 7
    assert outcome.details["peak_images_per_minute"]["hour"] == 7


@respx.mock
def test_the_admin_key_goes_only_in_the_authorization_header() -> None:
    keys = respx.get(KEYS_URL).mock(return_value=httpx.Response(403, json={"error": {}}))
    usage = respx.get(USAGE_URL).mock(return_value=httpx.Response(401, json={"error": {
        "message": f"Incorrect API key provided: {ADMIN}.", "type": "invalid_request_error",
        "param": None, "code": "invalid_api_key"}}))  # fmt: skip
    outcome = run_usage()
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")
    for route in (keys, usage):
        request = route.calls.last.request
        assert request.headers["authorization"] == f"Bearer {ADMIN}"
        assert ADMIN not in str(request.url)
        assert "openai-project" not in request.headers
    # the answer quoted the key back; the runner's redactor removes it before the store,
    # and the details the check builds never carry it themselves
    assert ADMIN not in json.dumps(outcome.details["window"])


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"object": "page", "data": "nope"}),
        httpx.Response(500, json={"error": {"message": "boom", "type": "server_error"}}),
        httpx.Response(404, text="Not Found"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
    ],
)
def test_a_broken_answer_is_usage_unavailable(answer: httpx.Response | Exception) -> None:
    with respx.mock:
        respx.get(KEYS_URL).mock(return_value=httpx.Response(403))
        route = respx.get(USAGE_URL)
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        outcome = run_usage()
    assert (outcome.status, outcome.reason) == ("unknown", "usage_unavailable")


@pytest.mark.parametrize(
    ("more", "cursors"),
    [
        (True, [None]),  # more said to come, no cursor to it
        (True, ["c1", "c1"]),  # a cursor that repeats
        (True, [f"c{i}" for i in range(MAX_PAGES + 5)]),  # a cursor that never ends
    ],
)
def test_a_read_stopped_early_is_complete_only_up_to_its_last_bucket(
    more: bool, cursors: list[Any]
) -> None:
    pages = [
        page([bucket(START + i * 60, [images(1)])], more=more, cursor=c)
        for i, c in enumerate(cursors)
    ]

    async def go() -> tuple[int, int, int]:
        async with httpx.AsyncClient() as client:
            rows, covered = await image_usage(
                ctx(client), start=START, end=END, width="1m", group_by=(), project="proj_x"
            )
        return len(rows), covered, route.call_count

    with respx.mock:
        route = respx.get(USAGE_URL).mock(side_effect=pages)
        found, covered, calls = asyncio.run(go())
    assert calls <= MAX_PAGES
    assert found == calls
    assert covered == START + found * 60


@respx.mock
def test_a_usage_read_cut_short_ends_its_window_at_the_last_bucket() -> None:
    respx.get(KEYS_URL).mock(return_value=httpx.Response(403))
    respx.get(USAGE_URL).mock(
        return_value=page([bucket(START, [images(3)])], more=True, cursor=None)
    )
    outcome = run_usage()
    window = outcome.details["window"]
    assert window["end"] == (NOW - timedelta(days=1, seconds=SETTLE_SECONDS - 60)).isoformat()
    again = run_usage(previous=outcome.details)
    assert again.details["window"]["start"] == window["end"]


@respx.mock
def test_costs_keep_only_finite_amounts_with_their_currency() -> None:
    day = 1795132800
    respx.get(COSTS_URL).mock(
        return_value=httpx.Response(
            200,
            content=(
                b'{"object": "page", "has_more": false, "next_page": null, "data": [{"object":'
                b' "bucket", "start_time": 1795132800, "end_time": 1795219200, "results": ['
                b'{"amount": {"value": 1.5, "currency": "usd"}, "line_item": "a"},'
                b'{"amount": {"value": "0.25", "currency": "usd"}, "line_item": "b"},'
                b'{"amount": {"value": -4, "currency": "usd"}},'
                b'{"amount": {"value": NaN, "currency": "usd"}},'
                b'{"amount": {"value": Infinity}},'
                b'{"amount": {"value": 1e15, "currency": "usd"}},'
                b'{"amount": {"value": 9, "currency": "eur"}},'
                b'{"amount": "9"}, {"amount": {"value": true}}, 7]}]}'
            ),
        )
    )

    async def go() -> list[tuple[float, str]]:
        async with httpx.AsyncClient() as client:
            rows, _ = await costs(ctx(client), start=day, end=day + 86400, project=None)
        return [(row.usd, row.currency) for row in rows]

    # a negative amount is a refund or a credit; an amount without a currency is USD
    assert asyncio.run(go()) == [(1.5, "usd"), (0.25, "usd"), (-4.0, "usd"), (9.0, "eur")]


def test_the_published_example_answers_parse() -> None:
    folder = FIXTURES / "admin_usage"
    usage = json.loads((folder / "usage-images-reference-example.json").read_text())
    cost = json.loads((folder / "costs-reference-example.json").read_text())
    keys = json.loads((folder / "project-api-keys-reference-example.json").read_text())
    first = usage["body"]["data"][0]
    start, end = first["start_time"], first["end_time"]

    async def go() -> tuple[int, float, str | None]:
        with respx.mock:
            respx.get(USAGE_URL).mock(return_value=httpx.Response(200, json=usage["body"]))
            respx.get(COSTS_URL).mock(return_value=httpx.Response(200, json=cost["body"]))
            respx.get(KEYS_URL).mock(return_value=httpx.Response(200, json=keys["body"]))
            async with httpx.AsyncClient() as client:
                context = ctx(client)
                rows, _ = await image_usage(
                    context, start=start, end=end, width="1d", group_by=(), project=None
                )
                spent, _ = await costs(context, start=start, end=end, project=None)
                from checks.admin_keys import probe_key_id

                key = await probe_key_id(context)
        return sum(r.images for r in rows), sum(c.usd for c in spent), key

    assert asyncio.run(go()) == (2, 0.06, None)  # sk-abc...def is not the probe key


@pytest.mark.parametrize(
    ("path", "params", "schema"),
    [
        ("organization/usage/images", {"bucket_width": "1m", "limit": "5"}, "UsageResponse"),
        (
            "organization/usage/images",
            {"bucket_width": "1h", "group_by": ["project_id", "model", "size", "source"]},
            "UsageResponse",
        ),
        ("organization/costs", {"group_by": ["project_id", "line_item"]}, "UsageResponse"),
        ("organization/projects/proj_sim_verified/api_keys", {}, "ProjectApiKeyListResponse"),
    ],
)
def test_the_simulators_admin_answers_follow_the_published_schema(
    usage_sim: ClockedSimulator,
    schemas: dict[str, Any],
    path: str,
    params: dict[str, Any],
    schema: str,
) -> None:
    found = scenario("verified")
    query = {"start_time": str(int(NOW.timestamp()) - 3 * 86400), **params}
    answer = httpx.get(
        f"{usage_sim.url}/v1/{path}",
        params=query,
        headers={"Authorization": f"Bearer {found.admin_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert violations(schemas, schema, body) == []
    if schema == "UsageResponse":
        assert body["data"], "some buckets"
        assert all(
            r["object"].startswith("organization.") for b in body["data"] for r in b["results"]
        )


def test_the_simulator_pages_with_next_page_until_the_clock(usage_sim: ClockedSimulator) -> None:
    found = scenario("verified")
    start = int(NOW.timestamp()) - 3600
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"start_time": str(start), "bucket_width": "1m", "limit": "25"}
        answer = httpx.get(
            f"{usage_sim.url}/v1/organization/usage/images",
            params=params | ({"page": cursor} if cursor else {}),
            headers={"Authorization": f"Bearer {found.admin_key}"},
            timeout=10,
        ).json()
        seen += [b["start_time"] for b in answer["data"]]
        cursor = answer["next_page"]
        if not answer["has_more"]:
            break
    assert seen == list(range(start, int(NOW.timestamp()), 60))
    assert cursor is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Missing required parameter: 'start_time'."),
        ({"start_time": "x"}, "Invalid 'start_time': expected an integer."),
        ({"start_time": "0", "bucket_width": "1m", "limit": "1441"}, "Invalid 'limit'"),
        ({"start_time": "0", "group_by": "colour"}, "Invalid 'group_by'"),
        ({"start_time": "0", "page": "page_!!"}, "Invalid 'page'"),
    ],
)
def test_the_simulator_refuses_bad_parameters_with_a_400(
    usage_sim: ClockedSimulator, params: dict[str, str], message: str
) -> None:
    found = scenario("verified")
    answer = httpx.get(
        f"{usage_sim.url}/v1/organization/usage/images",
        params=params,
        headers={"Authorization": f"Bearer {found.admin_key}"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(message)
    costs_width = httpx.get(
        f"{usage_sim.url}/v1/organization/costs",
        params={"start_time": "0", "bucket_width": "1h"},
        headers={"Authorization": f"Bearer {found.admin_key}"},
        timeout=10,
    )
    assert costs_width.status_code == 400


@respx.mock
def test_spend_still_judges_the_costs_when_the_usage_read_fails() -> None:
    today = int(NOW.timestamp()) - 12 * 3600  # NOW is noon
    buckets = [
        bucket(today - i * 86400, [{"amount": {"value": 10.0, "currency": "usd"},
                                   "line_item": "gpt-image-2 image, output"}], width=86400)
        for i in range(31)
    ]  # fmt: skip
    respx.get(COSTS_URL).mock(return_value=page(buckets))
    respx.get(USAGE_URL).mock(return_value=httpx.Response(503, json={"error": {}}))

    async def go() -> Outcome:
        async with httpx.AsyncClient() as client:
            return await REGISTRY["spend"].run(ctx(client, jump_factor=3.0))

    outcome = asyncio.run(go())
    assert (outcome.status, outcome.reason) == ("pass", "spend_ok")
    assert "billed per image not compared" in outcome.summary
    assert outcome.details["drift_pct"] is None
    assert outcome.details["median_7d_usd"] == 10.0
    assert outcome.details["today_prorated_usd"] == 20.0
