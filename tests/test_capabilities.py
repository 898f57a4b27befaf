"""The capability checks (edit, transparency, streaming, responses_tool): each pass and each
failure reason against the simulator over HTTP, what each request sends and costs, who opts
in, and when they run."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from checks import CAPABILITIES, REGISTRY
from checks.base import Account, Outcome, ProbeContext
from checks.edit import Edit
from checks.generation import Generation
from checks.images import EDIT_INPUT_TOKENS, output_tokens
from checks.prices import MAINLINE, PUBLISHED
from checks.reasons import REASONS
from checks.responses_tool import (
    MAINLINE_INPUT_TOKENS,
    MAINLINE_OUTPUT_TOKENS,
    ResponsesTool,
)
from checks.settings import EditSettings, StreamingSettings
from checks.streaming import PARTIAL_IMAGE_TOKENS, Streaming, sse_events
from checks.transparency import Transparency
from monitor import cadence
from monitor.clock import FrozenClock
from monitor.config import ConfigError, parse
from monitor.plan import plan
from monitor.readiness.plan import launch_probes, probe_settings
from monitor.readiness.plan import plan as readiness_plan
from monitor.simulator.scenarios import scenario
from monitor.store import Store
from tests.conftest import (
    Api,
    ServedSimulator,
    generation_body,
    image_b64,
    json_response,
    make_account,
    raw_response,
    run_check,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
GPT_IMAGE_2 = PUBLISHED["gpt-image-2"]
MINI = "gpt-5-mini"


def probe(
    simulator: ServedSimulator,
    account: str,
    check: str,
    *,
    model: str = "gpt-image-2",
    settings: dict[str, Any] | None = None,
) -> Outcome:
    """One capability probe of a scenario account, over HTTP against the served simulator."""
    target = Account(
        name=account,
        base_url=f"{simulator.url}/v1",
        api_key=scenario(account).api_key,
        models=(model,),
        capabilities=CAPABILITIES,
        responses_model=MINI,
    )
    section = REGISTRY[check].settings_type().model_dump()

    async def go() -> Outcome:
        async with httpx.AsyncClient() as client:
            ctx = ProbeContext(
                client=client,
                account=target,
                model=model,
                settings={**section, "prices": {}, **(settings or {})},
                clock=FrozenClock(NOW),
            )
            return await REGISTRY[check].run(ctx)

    return asyncio.run(go())


# --- edit -------------------------------------------------------------------------------


def test_edit_passes_with_a_real_image_and_records_the_input_image_tokens(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(simulator, "open-doors", Edit.name)
    assert (outcome.status, outcome.reason) == ("pass", "ok")
    assert outcome.details["size"] == "1408x480"
    assert outcome.details["usage"]["input_tokens_details"]["image_tokens"] == EDIT_INPUT_TOKENS
    assert outcome.cost_usd is not None
    assert outcome.cost_usd > float(Generation().expected_cost("gpt-image-2", {}) or 0)


def test_edit_fails_as_generation_does_for_an_unverified_organization(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(simulator, "unverified", Edit.name)
    assert (outcome.status, outcome.reason) == ("fail", "org_verification_required")
    assert outcome.cost_usd is None


def test_edit_sends_an_image_and_a_mask_at_the_cheapest_size() -> None:
    api = Api().on("POST", "/v1/images/edits", json_response(200, {"data": []}))
    run_check(Edit.name, api)
    body = api.requests[0].content
    assert b'name="image"; filename="probe.png"' in body
    assert b'name="mask"; filename="mask.png"' in body
    assert b'name="size"\r\n\r\n1408x480' in body
    assert b'name="quality"\r\n\r\nlow' in body


def test_edit_expected_cost_adds_the_input_image_to_the_generation() -> None:
    generation = Generation().expected_cost("gpt-image-2", {})
    assert generation is not None
    extra = GPT_IMAGE_2["image_input"] * EDIT_INPUT_TOKENS / Decimal(1_000_000)
    assert Edit().expected_cost("gpt-image-2", {}) == generation + extra


# --- transparency -----------------------------------------------------------------------


def test_transparency_passes_only_with_transparent_pixels(simulator: ServedSimulator) -> None:
    outcome = probe(simulator, "open-doors", Transparency.name, model="gpt-image-1.5")
    assert (outcome.status, outcome.reason) == ("pass", "ok")
    assert outcome.details["image"]["transparent_pixels"] is True
    assert outcome.details["request"]["background"] == "transparent"
    assert outcome.details["request"]["output_format"] == "png"


def test_transparency_fails_unsupported_when_the_api_refuses_the_parameter(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(simulator, "open-doors", Transparency.name)
    assert (outcome.status, outcome.reason) == ("fail", "transparency_unsupported")
    assert "Transparent background is not supported for this model." in outcome.summary
    assert outcome.cost_usd is None


def test_transparency_fails_unsupported_for_an_opaque_image_and_keeps_its_cost(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(simulator, "opaque-background", Transparency.name, model="gpt-image-1.5")
    assert (outcome.status, outcome.reason) == ("fail", "transparency_unsupported")
    assert "no pixel of it is transparent" in outcome.summary
    assert outcome.cost_usd is not None
    assert outcome.cost_usd > 0


def test_an_alpha_channel_that_is_opaque_everywhere_is_not_a_transparent_background() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (1024, 1024), (200, 200, 200, 255)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    body = generation_body(1024, 1024, 272, data=[{"b64_json": png}])
    api = Api().on("POST", "/v1/images/generations", json_response(200, body))
    outcome = run_check(Transparency.name, api, model="gpt-image-1.5")
    assert (outcome.status, outcome.reason) == ("fail", "transparency_unsupported")
    assert outcome.details["image"]["has_alpha"] is True


def test_transparency_asks_for_webp_when_told_and_never_for_jpeg() -> None:
    api = Api().on("POST", "/v1/images/generations", json_response(400, {"error": {}}))
    run_check(Transparency.name, api, model="gpt-image-1.5", settings={"output_format": "webp"})
    run_check(Transparency.name, api, model="gpt-image-1.5", settings={"output_format": "jpeg"})
    sent = [json.loads(r.content) for r in api.requests]
    assert [s["output_format"] for s in sent] == ["webp", "png"]
    assert all(s["background"] == "transparent" for s in sent)


# --- streaming --------------------------------------------------------------------------


def test_streaming_passes_when_a_partial_and_a_final_image_arrive(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(simulator, "open-doors", Streaming.name)
    assert (outcome.status, outcome.reason) == ("pass", "ok")
    assert outcome.details["stream"] == {"events": 2, "partial_images": 1}
    tokens = (output_tokens("gpt-image-2", "1408x480", "low") or 0) + PARTIAL_IMAGE_TOKENS
    assert outcome.details["usage"]["output_tokens"] == tokens
    expected = Streaming().expected_cost("gpt-image-2", StreamingSettings().model_dump())
    assert expected is not None
    assert outcome.cost_usd is not None
    assert abs(Decimal(str(outcome.cost_usd)) - expected) < Decimal("0.0005")


def test_streaming_fails_unsupported_when_stream_is_refused(simulator: ServedSimulator) -> None:
    outcome = probe(simulator, "no-streaming", Streaming.name)
    assert (outcome.status, outcome.reason) == ("fail", "streaming_unsupported")
    assert outcome.details["error"]["param"] == "stream"


def test_streaming_keeps_the_verification_reason_for_the_real_stream_refusal() -> None:
    body = {
        "error": {
            "message": "Your organization must be verified to stream this model. Please go "
            "to: https://platform.openai.com/settings/organization/general",
            "type": "invalid_request_error",
            "param": "stream",
            "code": "unsupported_value",
        }
    }
    api = Api().on("POST", "/v1/images/generations", json_response(400, body))
    outcome = run_check(Streaming.name, api)
    assert (outcome.status, outcome.reason) == ("fail", "org_verification_required")


def test_streaming_sends_stream_and_one_partial_image() -> None:
    api = Api().on("POST", "/v1/images/generations", json_response(400, {"error": {}}))
    run_check(Streaming.name, api, settings=StreamingSettings().model_dump())
    sent = json.loads(api.requests[0].content)
    assert (sent["stream"], sent["partial_images"], sent["size"]) == (True, 1, "1408x480")


def test_an_answer_without_a_stream_is_streaming_unsupported() -> None:
    api = Api().on("POST", "/v1/images/generations", json_response(200, generation_body()))
    outcome = run_check(Streaming.name, api)
    assert (outcome.status, outcome.reason) == ("fail", "streaming_unsupported")


def stream_of(*events: dict[str, Any]) -> httpx.Response:
    text = "".join(f"event: {e.get('type')}\ndata: {json.dumps(e)}\n\n" for e in events)
    return raw_response(200, text.encode(), "text/event-stream")


def test_a_stream_without_a_partial_image_could_not_tell() -> None:
    final = {"type": "image_generation.completed", "b64_json": image_b64(1408, 480)}
    api = Api().on("POST", "/v1/images/generations", stream_of(final))
    outcome = run_check(Streaming.name, api)
    assert (outcome.status, outcome.reason) == ("unknown", "unexpected_response")


def test_an_error_event_inside_the_stream_is_classified_like_an_error_answer() -> None:
    error = {
        "type": "error",
        "error": {"type": "server_error", "message": "The server had an error", "code": None},
    }
    api = Api().on("POST", "/v1/images/generations", stream_of(error))
    outcome = run_check(Streaming.name, api)
    assert (outcome.status, outcome.reason) == ("unknown", "server_error")


def test_server_sent_events_are_read_defensively() -> None:
    body = b': comment\r\n\r\ndata: {"a": 1}\r\n\r\ndata: [DONE]\n\ndata: not json\n\n'
    assert sse_events(body) == [{"a": 1}]
    many = b"".join(b'data: {"i": %d}\n\n' % i for i in range(500))
    assert len(sse_events(many)) == 64


# --- responses_tool ---------------------------------------------------------------------


def test_responses_tool_passes_with_an_image_generation_call(simulator: ServedSimulator) -> None:
    outcome = probe(simulator, "open-doors", ResponsesTool.name)
    assert (outcome.status, outcome.reason) == ("pass", "ok")
    assert outcome.details["size"] == "1408x480"
    cost = outcome.details["cost"]
    assert cost["mainline"]["tokens"] == {"text_input": 1200, "text_output": 160}
    assert cost["image_tokens_estimated"] is True
    assert outcome.cost_usd is not None
    assert outcome.cost_usd > 0


def test_responses_tool_fails_when_the_tool_is_refused(simulator: ServedSimulator) -> None:
    outcome = probe(simulator, "no-image-tool", ResponsesTool.name)
    assert (outcome.status, outcome.reason) == ("fail", "responses_tool_unsupported")
    assert outcome.details["rule"] == "image_tool_refused"


def test_responses_tool_fails_when_the_tool_refuses_the_image_model(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(simulator, "tool-model-refused", ResponsesTool.name)
    assert (outcome.status, outcome.reason) == ("fail", "tool_image_model_refused")
    assert "The model 'gpt-image-2' does not exist." in outcome.summary


def test_responses_tool_fails_when_transparency_is_refused_through_the_tool(
    simulator: ServedSimulator,
) -> None:
    outcome = probe(
        simulator, "open-doors", ResponsesTool.name, settings={"background": "transparent"}
    )
    assert (outcome.status, outcome.reason) == ("fail", "tool_transparency_unsupported")
    assert outcome.details["request"]["tools"][0]["output_format"] == "png"


def test_the_three_tool_refusals_are_distinct_failing_reasons() -> None:
    codes = ("responses_tool_unsupported", "tool_image_model_refused")
    codes += ("tool_transparency_unsupported",)
    assert all(REASONS[code].status == "fail" for code in codes)


def test_the_mainline_model_not_found_is_not_the_tool_refusing_the_image_model() -> None:
    body = {
        "error": {
            "message": "The model 'gpt-9' does not exist.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    api = Api().on("POST", "/v1/responses", json_response(404, body))
    outcome = run_check(ResponsesTool.name, api, account=make_account(responses_model="gpt-9"))
    assert outcome.reason == "model_not_found"


def test_responses_tool_sends_the_mainline_model_and_the_image_model_in_the_tool() -> None:
    api = Api().on("POST", "/v1/responses", json_response(400, {"error": {}}))
    run_check(ResponsesTool.name, api, account=make_account(responses_model=MINI))
    sent = json.loads(api.requests[0].content)
    assert sent["model"] == MINI
    assert sent["tool_choice"] == {"type": "image_generation"}
    assert sent["store"] is False
    tool = sent["tools"][0]
    assert (tool["type"], tool["model"], tool["quality"], tool["size"]) == (
        "image_generation",
        "gpt-image-2",
        "low",
        "1408x480",
    )
    assert "background" not in tool


def test_responses_tool_expected_cost_includes_the_mainline_tokens() -> None:
    image = Generation().expected_cost("gpt-image-2", {})
    assert image is not None
    rates = MAINLINE[MINI]
    mainline = (
        rates["text_input"] * MAINLINE_INPUT_TOKENS + rates["text_output"] * MAINLINE_OUTPUT_TOKENS
    ) / Decimal(1_000_000)
    settings = {"responses_model": MINI}
    assert ResponsesTool().expected_cost("gpt-image-2", settings) == image + mainline
    assert ResponsesTool().expected_cost("gpt-image-2", {"responses_model": "gpt-99"}) is None


# --- who opts in, and the config ----------------------------------------------------------


def config(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"accounts": [{"api_key_env": "K", **a} for a in accounts]}


def test_a_capability_runs_only_for_the_accounts_that_list_it() -> None:
    loaded = parse(
        config(
            {"name": "plain"},
            {"name": "doors", "capabilities": ["edit", "responses_tool"], "responses_model": MINI},
        ),
        {"K": "sk-test-1234567890"},
    )
    scheduled = {(p.account.name, p.check) for p in plan(loaded)}
    assert ("doors", Edit.name) in scheduled
    assert ("doors", ResponsesTool.name) in scheduled
    assert ("doors", Streaming.name) not in scheduled
    assert not {c for a, c in scheduled if a == "plain"} & set(CAPABILITIES)
    asked = {(p.account.name, p.check) for p in plan(loaded, checks=[Edit.name])}
    assert asked == {("doors", Edit.name)}


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        (
            {"capabilities": ["responses_tool"]},
            "accounts[0].responses_model: required when capabilities lists responses_tool",
        ),
        (
            {"capabilities": ["responses_tool"], "responses_model": "gpt-image-2"},
            "accounts[0].responses_model: 'gpt-image-2' is an image model",
        ),
        ({"capabilities": ["teleport"]}, "accounts[0].capabilities: 'teleport' is not a"),
        ({"capabilities": ["edit", "edit"]}, "accounts[0].capabilities: lists a capability twice"),
    ],
)
def test_a_bad_capability_config_is_refused_with_its_key_path(
    account: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(config({"name": "a", **account}), {"K": "sk-test-1234567890"})
    assert any(line.startswith(problem) for line in caught.value.problems), caught.value.problems


# --- cadence ----------------------------------------------------------------------------


def last(status: str, reason: str) -> cadence.Last:
    return cadence.Last(status, reason, {}, NOW - timedelta(minutes=5))


def test_capabilities_run_daily_by_default() -> None:
    for name in CAPABILITIES:
        settings = REGISTRY[name].settings_type()
        assert settings.every == 86400.0
        assert cadence.next_interval(settings, last("pass", "ok"), NOW) == 86400.0


def test_generation_turning_from_fail_to_pass_makes_the_capabilities_follow_at_once() -> None:
    generation = Generation()
    settings = Generation.settings_type()
    failing = last("fail", "org_verification_required")
    passing = last("pass", "ok")
    decided = cadence.decide(generation, "a/generation/m", settings, failing, passing, NOW)
    assert decided.follow is True
    for before, after in ((passing, passing), (passing, failing), (None, passing)):
        again = cadence.decide(generation, "a/generation/m", settings, before, after, NOW)
        assert again.follow is False
    edit = cadence.decide(Edit(), "a/edit/m", EditSettings(), failing, passing, NOW)
    assert edit.follow is False  # only generation's recovery is followed
    assert all(REGISTRY[name].follows_recovery_of == Generation.name for name in CAPABILITIES)


def test_a_billed_capability_failure_is_not_re_probed_at_the_failing_pace() -> None:
    settings = REGISTRY[Transparency.name].settings_type()
    refused = last("fail", "transparency_unsupported")
    assert cadence.next_interval(settings, refused, NOW) == settings.every_when_failing
    billed = cadence.Last("fail", "transparency_unsupported", {"cost": {"usd": "0.002"}}, NOW)
    assert cadence.next_interval(settings, billed, NOW) == settings.every


# --- readiness --------------------------------------------------------------------------


def test_a_launch_profile_lists_the_capabilities_and_readiness_runs_them_through_the_runner(
    simulator: ServedSimulator, tmp_path: Path, clock: FrozenClock
) -> None:
    from tests.test_readiness import check_readiness, launch, loaded_for, stated

    loaded = loaded_for(simulator.url, tmp_path, responses_model=MINI)
    profile = launch(
        needs_edits=False,
        needs_transparent_background=False,
        capabilities=[Streaming.name, ResponsesTool.name],
    )
    planned = readiness_plan(profile, loaded, loaded.accounts, None)
    costs = {p.name: p.cost_usd for p in planned}
    settings = probe_settings(loaded, launch_probes(profile, loaded.accounts[0])[0])
    assert costs[Streaming.name] == Streaming().expected_cost("gpt-image-2", settings)
    assert costs[ResponsesTool.name] == ResponsesTool().expected_cost("gpt-image-2", settings)
    store = Store.open(loaded.config.monitor.database_url)
    report = check_readiness(loaded, profile, store, clock)
    assert stated(report, "streaming").state == "met"
    assert stated(report, "responses_tool").state == "met"
    stored = {r.check for r in store.results()}
    assert {Streaming.name, ResponsesTool.name} <= stored


def test_a_profile_refuses_an_unknown_capability() -> None:
    from tests.test_readiness import launch

    with pytest.raises(ValidationError):
        launch(capabilities=["teleport"])


# --- the page ---------------------------------------------------------------------------


def test_the_capability_matrix_shows_each_door_per_account_and_model() -> None:
    from monitor.page import PageData, build, render
    from tests.test_page_build import healthy
    from tests.test_publish import NOW as PAGE_NOW
    from tests.test_publish import row

    accounts = [
        {"name": "prod", "api_key_env": "KEY", "capabilities": ["streaming", "responses_tool"],
         "responses_model": MINI},
        {"name": "eu", "api_key_env": "KEY"},
    ]  # fmt: skip
    loaded = parse({"accounts": accounts}, {"KEY": "sk-test-0000000011112222"})
    at = PAGE_NOW - timedelta(minutes=1)
    latest = [
        *healthy("prod", at),
        row("prod", Streaming.name, "fail", "streaming_unsupported", "refused <b>", at),
        row("prod", ResponsesTool.name, "pass", "ok", "JPEG 1408x480", at),
    ]
    site = build(PageData(latest=latest), loaded, PAGE_NOW)
    assert Streaming.name not in site.checks  # the capabilities have their own matrix
    files = render(site)
    status = json.loads(files["status.json"])
    assert status["capabilities"] == [
        {
            "account": "prod",
            "model": "gpt-image-2",
            "doors": {
                "generation": {"check": "generation", "status": "pass", "reason": "ok"},
                "edit": {"check": "edit", "status": "none", "reason": "not_probed"},
                "transparency": {"check": "transparency", "status": "none", "reason": "not_probed"},
                "streaming": {"check": "streaming", "status": "fail",
                              "reason": "streaming_unsupported"},
                "responses_tool": {"check": "responses_tool", "status": "pass", "reason": "ok"},
            },
        },
        {
            "account": "eu",
            "model": "gpt-image-2",
            "doors": {
                "generation": {"check": "generation", "status": "none", "reason": "no_data"},
                **{
                    name: {"check": name, "status": "none", "reason": "not_probed"}
                    for name in CAPABILITIES
                },
            },
        },
    ]  # fmt: skip
    index = files["index.html"].decode()
    assert 'id="capabilities"' in index
    assert "Responses tool" in index
    assert "refused &lt;b&gt;" in index  # API text is escaped
    prod = files["accounts/prod.html"].decode()
    assert prod.count('<th scope="row">prod</th>') == 1
    eu = files["accounts/eu.html"].decode()
    assert 'id="capabilities"' in eu  # a row of doors not probed, for the account not opting in


def test_no_capability_matrix_when_no_account_opts_in() -> None:
    from monitor.page import PageData, build, render
    from tests.test_publish import NOW as PAGE_NOW
    from tests.test_publish import loaded_config

    files = render(build(PageData(), loaded_config(), PAGE_NOW))
    assert json.loads(files["status.json"])["capabilities"] == []
    assert 'id="capabilities"' not in files["index.html"].decode()


# --- the simulator's answers and the probes' requests, against the published schemas ------


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    from tests.conftest import FIXTURES

    document: dict[str, Any] = json.loads((FIXTURES / "openapi_schemas.json").read_text())
    return document


def test_streamed_events_match_the_published_stream_schemas(
    simulator: ServedSimulator, schemas: dict[str, Any]
) -> None:
    from tests.test_simulator import violations

    key = {"Authorization": f"Bearer {scenario('open-doors').api_key}"}
    request = {"model": "gpt-image-1.5", "prompt": "x", "size": "1024x1024", "quality": "low"}
    generated = httpx.post(
        f"{simulator.url}/v1/images/generations",
        headers=key,
        json={**request, "stream": True, "partial_images": 2},
        timeout=30,
    )
    assert generated.headers["content-type"].startswith("text/event-stream")
    events = sse_events(generated.content)
    assert [e["type"] for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    for event in events:
        assert violations(schemas, "ImageGenStreamEvent", event) == []
    from checks.edit import edit_files

    edited = httpx.post(
        f"{simulator.url}/v1/images/edits",
        headers=key,
        data={**request, "stream": "true", "partial_images": "1"},
        files=edit_files(),
        timeout=30,
    )
    events = sse_events(edited.content)
    assert [e["type"] for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    for event in events:
        assert violations(schemas, "ImageEditStreamEvent", event) == []


def test_the_responses_answer_and_the_probes_tool_match_the_published_schemas(
    simulator: ServedSimulator, schemas: dict[str, Any]
) -> None:
    from checks.responses_tool import tool_request
    from tests.test_simulator import violations

    request = tool_request("gpt-image-2", MINI, ResponsesTool.settings_type().model_dump())
    assert violations(schemas, "ImageGenTool", request["tools"][0]) == []
    transparent = tool_request("gpt-image-1.5", MINI, {"background": "transparent"})
    assert violations(schemas, "ImageGenTool", transparent["tools"][0]) == []
    answer = httpx.post(
        f"{simulator.url}/v1/responses",
        headers={"Authorization": f"Bearer {scenario('open-doors').api_key}"},
        json=request,
        timeout=30,
    ).json()
    item = next(i for i in answer["output"] if i["type"] == "image_generation_call")
    assert violations(schemas, "ImageGenToolCall", item) == []
    assert violations(schemas, "ResponseUsage", answer["usage"]) == []


def test_the_simulator_refuses_an_image_model_as_the_responses_model(
    simulator: ServedSimulator,
) -> None:
    answer = httpx.post(
        f"{simulator.url}/v1/responses",
        headers={"Authorization": f"Bearer {scenario('open-doors').api_key}"},
        json={"model": "gpt-image-2", "input": "x", "tools": [{"type": "image_generation"}]},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "model"


def test_the_daemon_probes_the_capabilities_at_once_when_generation_passes_again(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    from monitor.daemon import Daemon

    env = {"KEY": scenario("unverified").api_key}
    account = {
        "name": "late",
        "base_url": f"{simulator.url}/v1",
        "api_key_env": "KEY",
        "capabilities": [Edit.name, Streaming.name],
    }
    loaded = parse(
        {"monitor": {"database_url": f"sqlite:///{tmp_path / 'd.db'}"}, "accounts": [account]},
        env,
    )
    store = Store.open(loaded.config.monitor.database_url)
    clock = FrozenClock(NOW)

    async def steps() -> tuple[Any, Any, list[Any]]:
        async with httpx.AsyncClient() as client:
            daemon = Daemon(loaded, store, client, clock, instance="a")
            generation = next(p for p in daemon.probes if p.check == Generation.name)
            refused = await daemon.probe(generation)
            simulator.control("unverified", verified=True)
            clock.advance(600)
            passed = await daemon.probe(generation)
            followers = daemon.following_probes(generation)
            results = [(await daemon.probe(p, confirming=True)).result for p in followers]
            return refused, passed, results

    refused, passed, results = asyncio.run(steps())
    store.close()
    assert refused.result.reason == "org_verification_required"
    assert refused.decision.follow is False
    assert passed.result.reason == "ok"
    assert passed.decision.follow is True
    assert [(r.check, r.reason) for r in results] == [(Edit.name, "ok"), (Streaming.name, "ok")]


def test_readiness_dry_run_prices_the_capabilities_from_the_same_tables(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    from tests.test_readiness import readiness, setup

    config, profile, env = setup(tmp_path, simulator.url)
    text = profile.read_text().replace(
        "needs_edits = false",
        'needs_edits = false\ncapabilities = ["streaming", "responses_tool"]\n'
        f'responses_model = "{MINI}"',
    )
    profile.write_text(text)
    run = readiness(config, profile, env, "--account", "verified", "--dry-run")
    assert run.returncode == 0, run.stderr
    settings = {"quality": "low", "responses_model": MINI}
    for check in (Streaming(), ResponsesTool()):
        cost = check.expected_cost("gpt-image-2", settings)
        assert cost is not None
        assert f"{check.name:<14} gpt-image-2" in run.stdout
        assert f"${cost:.4f}" in run.stdout
    assert simulator.control("verified")["requests"] == 0


def test_the_scheduler_queues_the_capability_probes_when_generation_passes_again(
    simulator: ServedSimulator, tmp_path: Path
) -> None:
    from monitor.daemon import Daemon
    from monitor.scheduler import Scheduler

    account = {
        "name": "late",
        "base_url": f"{simulator.url}/v1",
        "api_key_env": "KEY",
        "capabilities": [Streaming.name],
    }
    data = {
        "monitor": {"database_url": f"sqlite:///{tmp_path / 'd.db'}", "site_dir": str(tmp_path)},
        "accounts": [account],
    }
    loaded = parse(data, {"KEY": scenario("unverified").api_key})
    store = Store.open(loaded.config.monitor.database_url)
    clock = FrozenClock(NOW)
    lines: list[str] = []

    async def steps() -> list[str]:
        async with httpx.AsyncClient() as client:
            scheduler = Scheduler(Daemon(loaded, store, client, clock, "a"), lines.append)
            generation = next(p for p in scheduler.daemon.probes if p.check == Generation.name)
            await scheduler._probe(generation, False)
            simulator.control("unverified", verified=True)
            clock.advance(600)
            await scheduler._probe(generation, False)
            return [job.id for job in scheduler.scheduler.get_jobs()]

    jobs = asyncio.run(steps())
    store.close()
    assert "confirm:late/streaming/gpt-image-2" in jobs
    assert any("passes again: probing late · streaming · gpt-image-2 now" in line for line in lines)
