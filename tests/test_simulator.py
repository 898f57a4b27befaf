from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from PIL import Image

from checks.base import Account, Evidence, Outcome, ProbeContext
from monitor.clock import FrozenClock
from monitor.simulator import SCENARIOS, create_app
from monitor.simulator.scenarios import PINNED, ROLLED, scenario
from monitor.simulator.state import SimulatorState, go_duration
from tests.conftest import FIXTURES, ServedSimulator

KEYS = {s.name: s.api_key for s in SCENARIOS}
VALID = {
    "model": "gpt-image-2",
    "prompt": "A grey square.",
    "size": "1408x480",
    "quality": "low",
    "output_format": "jpeg",
}


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sim:
    """The simulator app in-process through httpx.ASGITransport, with a hand-moved clock."""

    def __init__(self) -> None:
        self.time = FakeTime()
        self.state = SimulatorState(monotonic=self.time)
        self.transport = httpx.ASGITransport(app=create_app(self.state))

    def request(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            async with httpx.AsyncClient(transport=self.transport, base_url="http://sim") as client:
                return await client.request(method, path, headers=headers, **kwargs)

        return asyncio.run(go())

    def generate(self, account: str = "verified", **params: Any) -> httpx.Response:
        return self.request(
            "POST", "/v1/images/generations", KEYS[account], json={**VALID, **params}
        )


@pytest.fixture
def sim() -> Sim:
    return Sim()


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "openapi_schemas.json").read_text())
    return document


def violations(schemas: dict[str, Any], name: str, instance: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator({**schemas, "$ref": f"#/components/schemas/{name}"})
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def decode(response: httpx.Response) -> Image.Image:
    raw = base64.b64decode(response.json()["data"][0]["b64_json"])
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def test_every_scenario_has_a_key_and_an_expected_reason_per_check() -> None:
    assert len({s.api_key for s in SCENARIOS}) == len(SCENARIOS)
    for item in SCENARIOS:
        assert set(item.expect) == {
            "model_listing",
            "snapshot",
            "generation",
            "rate_limits",
            "pricing",
            *item.capabilities,
            *(("usage", "spend") if item.admin_key else ()),
        }


def test_unknown_and_missing_keys_get_the_real_401(sim: Sim, schemas: dict[str, Any]) -> None:
    response = sim.request("GET", "/v1/models", "sk-nope-1234567890")
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "invalid_api_key"
    assert body["error"]["message"].startswith("Incorrect API key provided: sk-nop***7890.")
    assert violations(schemas, "ErrorResponse", body) == []
    assert sim.request("GET", "/v1/models").status_code == 401


def test_models_list_and_retrieve_match_the_schema(sim: Sim, schemas: dict[str, Any]) -> None:
    listing = sim.request("GET", "/v1/models", KEYS["verified"])
    assert listing.status_code == 200
    assert violations(schemas, "ListModelsResponse", listing.json()) == []
    ids = [m["id"] for m in listing.json()["data"]]
    assert "gpt-image-2" in ids
    assert PINNED in ids
    one = sim.request("GET", f"/v1/models/{PINNED}", KEYS["verified"])
    assert violations(schemas, "Model", one.json()) == []
    assert one.headers["x-request-id"].startswith("req_")
    assert one.headers["openai-version"] == "2020-10-01"
    assert one.headers["openai-organization"] == "org-sim-verified"
    assert int(one.headers["openai-processing-ms"]) >= 1


def test_withdrawn_snapshot_is_404_and_unlisted(sim: Sim) -> None:
    key = KEYS["snapshot-withdrawn"]
    assert PINNED not in [m["id"] for m in sim.request("GET", "/v1/models", key).json()["data"]]
    gone = sim.request("GET", f"/v1/models/{PINNED}", key)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "model_not_found"


def test_rolled_alias_lists_a_new_snapshot_and_a_shutdown_date(sim: Sim) -> None:
    key = KEYS["alias-rolled"]
    assert ROLLED in [m["id"] for m in sim.request("GET", "/v1/models", key).json()["data"]]
    assert sim.request("GET", f"/v1/models/{PINNED}", key).json()["shutdown_date"] == "2027-05-05"


def test_generation_returns_a_real_image_of_the_requested_size(
    sim: Sim, schemas: dict[str, Any]
) -> None:
    response = sim.generate(size="1024x1024", output_format="png")
    assert response.status_code == 200
    body = response.json()
    assert violations(schemas, "ImagesResponse", body) == []
    image = decode(response)
    assert (image.format, image.size) == ("PNG", (1024, 1024))
    assert body["usage"]["output_tokens"] == 196


def test_gpt_image_2_free_sizes_differ_from_the_spec_only_in_the_size_enum(
    sim: Sim, schemas: dict[str, Any]
) -> None:
    response = sim.generate(size="1408x480", output_format="webp")
    image = decode(response)
    assert (image.format, image.size) == ("WEBP", (1408, 480))
    assert response.json()["usage"]["output_tokens"] == 54
    # The published ImagesResponse enumerates the older models' three sizes only.
    assert violations(schemas, "ImagesResponse", response.json()) == [
        "['size']: '1408x480' is not one of ['1024x1024', '1024x1536', '1536x1024']"
    ]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"response_format": "b64_json"},
            "unknown_parameter",
            "Unknown parameter: 'response_format'.",
        ),
        (
            {"size": "1792x936"},
            "invalid_value",
            "Invalid size '1792x936'. Width and height must both be divisible by 16.",
        ),
        ({"size": "512x512"}, "invalid_value", "Invalid size '512x512'. Total pixels"),
        ({"n": 11}, "integer_above_max_value", "Invalid 'n': integer above maximum value."),
        ({"n": 0}, "integer_below_min_value", "Invalid 'n': integer below minimum value."),
        ({"prompt": "x" * 32_001}, "string_above_max_length", "Invalid 'prompt': string too long."),
        ({"quality": "ultra"}, "invalid_value", "Invalid value: 'ultra'."),
        ({"style": "vivid"}, "unknown_parameter", "Unknown parameter: 'style'."),
        (
            {"model": "gpt-image-1.5", "size": "1254x836"},
            "invalid_value",
            "Invalid value: '1254x836'. Supported values are: '1024x1024'",
        ),
        (
            {"model": "gpt-image-1.5", "size": "1024x1024", "background": "transparent"},
            "invalid_value",
            "Transparent background requires output_format 'png' or 'webp'.",
        ),
        (
            {"background": "transparent", "output_format": "png", "size": "1024x1024"},
            "invalid_value",
            "Transparent background is not supported for this model.",
        ),
    ],
)
def test_parameter_validation_matches_the_api(
    sim: Sim, params: dict[str, Any], code: str, message: str
) -> None:
    response = sim.generate(**params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(message)


def test_validation_comes_before_the_verification_answer(sim: Sim) -> None:
    assert sim.generate("unverified", size="1792x936").status_code == 400
    refused = sim.generate("unverified")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("Your organization must be verified")
    assert refused.json()["error"]["code"] is None


def test_refusals_are_not_billed(sim: Sim) -> None:
    for account in ("unverified", "project-without-model", "no-quota"):
        assert sim.generate(account).status_code in (403, 429)
        assert sim.state.accounts[account].spend_usd == 0
    assert sim.generate("verified").status_code == 200
    assert sim.state.accounts["verified"].spend_usd > 0


def test_project_without_the_model_and_no_quota_answer_as_the_api(sim: Sim) -> None:
    refused = sim.generate("project-without-model").json()["error"]
    assert refused["code"] == "model_not_found"
    assert (
        refused["message"] == "Project `proj_sim_noproject` does not have access to model "
        "`gpt-image-2`"
    )
    quota = sim.generate("no-quota")
    assert quota.status_code == 429
    assert quota.json()["error"]["type"] == "insufficient_quota"


def test_tier1_counts_down_and_answers_429_when_the_minute_is_full(sim: Sim) -> None:
    first = sim.generate("tier1")
    assert first.headers["x-ratelimit-limit-requests"] == "5"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"  # 3 used by other traffic
    assert first.headers["x-ratelimit-limit-tokens"] == "100000"
    sim.time.now += 10
    second = sim.generate("tier1")
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.headers["x-ratelimit-reset-requests"] == "50s"
    sim.time.now += 5
    limited = sim.generate("tier1")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.headers["retry-after"] == "45"
    assert limited.headers["retry-after-ms"] == "45000"
    assert (
        "Limit 5, Used 5, Requested 1. Please try again in 45s."
        in limited.json()["error"]["message"]
    )
    sim.time.now += 45
    assert sim.generate("tier1").status_code == 200


def test_flaky_answers_server_errors_at_the_set_share(sim: Sim) -> None:
    statuses = [sim.generate("flaky").status_code for _ in range(2)]
    assert statuses == [500, 503]
    response = sim.request("POST", "/_sim/accounts/flaky", json={"error_share": 0.5})
    assert response.status_code == 200
    statuses = [sim.generate("flaky").status_code for _ in range(6)]
    assert statuses.count(200) == 3


def test_control_route_verifies_an_organization_at_run_time(sim: Sim) -> None:
    assert sim.generate("unverified").status_code == 403
    changed = sim.request("POST", "/_sim/accounts/unverified", json={"verified": True})
    assert changed.json()["verified"] is True
    assert sim.generate("unverified").status_code == 200


def test_control_route_revokes_models_and_exhausts_quota(sim: Sim) -> None:
    sim.request("POST", "/_sim/accounts/verified", json={"revoked_models": ["gpt-image-2"]})
    assert sim.generate().json()["error"]["code"] == "model_not_found"
    sim.request("POST", "/_sim/accounts/verified", json={"quota_exhausted": True})
    assert sim.generate().status_code == 429


def test_control_route_refuses_unknown_fields(sim: Sim) -> None:
    response = sim.request("POST", "/_sim/accounts/verified", json={"verifed": True})
    assert response.status_code == 400
    assert "unknown field 'verifed'" in response.json()["error"]
    assert sim.request("POST", "/_sim/accounts/nobody", json={}).status_code == 404


def test_price_files_and_moving_a_price(sim: Sim) -> None:
    published = sim.request("GET", "/_sim/prices/published.json").json()
    assert published["gpt-image-2"]["output_cost_per_image_token"] == 3e-05
    moved = sim.request("GET", "/_sim/prices/moved.json").json()
    assert moved["gpt-image-2"]["output_cost_per_image_token"] == 3.5e-05
    sim.request("POST", "/_sim/prices", json={"model": "gpt-image-2", "usd_per_million": 40})
    now = sim.request("GET", "/_sim/prices/published.json").json()
    assert now["gpt-image-2"]["output_cost_per_image_token"] == 4e-05


def test_admin_api_lists_project_rate_limits(sim: Sim, schemas: dict[str, Any]) -> None:
    admin = scenario("verified").admin_key
    path = "/v1/organization/projects/proj_sim_verified/rate_limits"
    response = sim.request("GET", path, admin)
    assert response.status_code == 200
    assert violations(schemas, "ProjectRateLimitListResponse", response.json()) == []
    image2 = [e for e in response.json()["data"] if e["model"] == "gpt-image-2"]
    assert image2[0]["max_images_per_1_minute"] == 50
    paged = sim.request("GET", path, admin, params={"limit": 2}).json()
    assert paged["has_more"] is True
    assert len(paged["data"]) == 2
    assert sim.request("GET", path, KEYS["verified"]).status_code == 403
    assert sim.request("GET", path, "sk-admin-wrong-123456").status_code == 401


def edit_files(width: int = 1024, height: int = 1024) -> Iterator[tuple[str, Any]]:
    for name, mode in (("image", "RGB"), ("mask", "RGBA")):
        buffer = io.BytesIO()
        Image.new(mode, (width, height)).save(buffer, format="PNG")
        yield name, (f"{name}.png", buffer.getvalue(), "image/png")


def test_edits_take_multipart_images_and_a_mask(sim: Sim) -> None:
    response = sim.request(
        "POST",
        "/v1/images/edits",
        KEYS["verified"],
        data={
            "model": "gpt-image-1.5",
            "prompt": "Add a dot",
            "size": "1024x1024",
            "quality": "low",
        },
        files=list(edit_files()),
    )
    assert response.status_code == 200, response.text
    assert decode(response).size == (1024, 1024)
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] > 0


def test_edits_accept_several_images_and_refuse_a_mismatched_mask(sim: Sim) -> None:
    files = [
        ("image[]", ("a.png", dict(edit_files())["image"][1], "image/png")),
        ("image[]", ("b.png", dict(edit_files())["image"][1], "image/png")),
    ]
    ok = sim.request(
        "POST",
        "/v1/images/edits",
        KEYS["verified"],
        data={"model": "gpt-image-2", "prompt": "Merge"},
        files=files,
    )
    assert ok.status_code == 200, ok.text
    mask = dict(edit_files(512, 512))["mask"]
    image = dict(edit_files())["image"]
    bad = sim.request(
        "POST",
        "/v1/images/edits",
        KEYS["verified"],
        data={"model": "gpt-image-1.5", "prompt": "x"},
        files=[("image", image), ("mask", mask)],
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "mask"


def test_unknown_routes_answer_in_the_error_envelope(sim: Sim) -> None:
    response = sim.request("GET", "/v1/nothing", KEYS["verified"])
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /v1/nothing)"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.012, "12ms"), (1.5, "1.5s"), (360, "6m0s"), (3723, "1h2m3s")]
)
def test_reset_durations_are_go_style(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_schema_extract_matches_the_published_spec() -> None:
    spec_path = Path(__file__).parents[2] / "shared" / "reference" / "openai-openapi.yaml"
    if not spec_path.exists():
        pytest.skip("the published spec is not beside this checkout")
    import yaml

    spec = yaml.load(spec_path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    extract = json.loads((FIXTURES / "openapi_schemas.json").read_text())
    for name, schema in extract["components"]["schemas"].items():
        assert json.loads(json.dumps(spec["components"]["schemas"][name], default=str)) == schema


def corpus_error(name: str) -> dict[str, Any]:
    """The `error` object of a file of the corpus of real answers."""
    answer = json.loads((FIXTURES / "openai_answers" / name).read_text(encoding="utf-8"))
    error: dict[str, Any] = answer["body"]["error"]
    return error


def test_region_blocked_refuses_every_call_with_the_real_403(sim: Sim) -> None:
    key = KEYS["region-blocked"]
    real = corpus_error("region-blocked-403-home-assistant-120072.json")
    for method, path in (("GET", "/v1/models"), ("GET", f"/v1/models/{PINNED}")):
        answer = sim.request(method, path, key)
        assert (answer.status_code, answer.json()["error"]) == (403, real)
    refused = sim.generate("region-blocked")
    assert (refused.status_code, refused.json()["error"]) == (403, real)
    assert refused.headers["x-request-id"].startswith("req_")


def test_moderation_refusal_refuses_a_harmless_prompt_and_names_the_request_id(sim: Sim) -> None:
    refused = sim.generate("moderation-refusal")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("image_generation_user_error", "moderation_blocked")
    assert error["message"].startswith("Your request was rejected by the safety system.")
    assert f"include the request ID {refused.headers['x-request-id']}." in error["message"]
    assert sim.request("GET", "/v1/models", KEYS["moderation-refusal"]).status_code == 200
    assert sim.state.accounts["moderation-refusal"].spend_usd == 0


def test_billing_not_active_is_a_429_without_rate_limit_headers(sim: Sim) -> None:
    refused = sim.generate("billing-not-active")
    assert refused.status_code == 429
    real = corpus_error("billing-not-active-429-ai-research-assistant-174.json")
    assert refused.json()["error"] == real
    assert not [h for h in refused.headers if h.startswith(("x-ratelimit-", "retry-after"))]
    assert sim.request("GET", "/v1/models", KEYS["billing-not-active"]).status_code == 200


def test_a_key_without_the_images_scope_lists_models_but_gets_401_on_images(sim: Sim) -> None:
    key = KEYS["scope-missing"]
    assert sim.request("GET", "/v1/models", key).status_code == 200
    refused = sim.generate("scope-missing")
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["message"].startswith(
        "You have insufficient permissions for this operation. Missing scopes: "
        "api.model.images.request. Check that you have the correct role"
    )
    assert (error["type"], error["code"]) == ("invalid_request_error", None)
    edit = sim.request(
        "POST",
        "/v1/images/edits",
        key,
        data={"model": "gpt-image-1.5", "prompt": "x"},
        files=list(edit_files()),
    )
    assert edit.status_code == 401


def test_verification_can_be_refused_with_400_in_the_streaming_wording(sim: Sim) -> None:
    refused = sim.generate("unverified-400")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["message"].startswith(
        "Your organization must be verified to stream this model. Please go to: "
        "https://platform.openai.com/settings/organization/general"
    )
    assert (error["param"], error["code"]) == ("stream", "unsupported_value")
    sim.request("POST", "/_sim/accounts/unverified-400", json={"unverified_status": 403})
    assert sim.generate("unverified-400").status_code == 403
    sim.request("POST", "/_sim/accounts/unverified-400", json={"verified": True})
    assert sim.generate("unverified-400").status_code == 200


def test_control_route_switches_each_new_refusal_on_and_off(sim: Sim) -> None:
    switches = {
        "region_blocked": 403,
        "billing_not_active": 429,
        "images_scope_missing": 401,
        "moderation_refuses": 400,
    }
    for field, status in switches.items():
        sim.request("POST", "/_sim/accounts/verified", json={field: True})
        assert sim.generate().status_code == status, field
        shown = sim.request("POST", "/_sim/accounts/verified", json={field: False}).json()
        assert shown[field] is False
        assert sim.generate().status_code == 200, field
    bad = sim.request("POST", "/_sim/accounts/verified", json={"unverified_status": 404})
    assert bad.status_code == 400
    assert bad.json()["error"] == "unverified_status: must be one of [403, 400]"


@pytest.mark.parametrize(
    ("name", "reason", "rule"),
    [
        ("region-blocked", "region_blocked", "region_by_code"),
        ("moderation-refusal", "moderation_blocked", "moderation_by_code"),
        ("billing-not-active", "billing_not_active", "billing_not_active_by_code"),
        ("scope-missing", "key_scope_missing", "key_scope_missing"),
        ("unverified-400", "org_verification_required", "org_verification"),
    ],
)
def test_the_generation_probe_reads_each_new_scenario_over_http_and_never_retries_it(
    simulator: ServedSimulator, name: str, reason: str, rule: str
) -> None:
    from checks.generation import Generation

    item = scenario(name)
    account = Account(
        name=name,
        base_url=f"{simulator.url}/v1",
        api_key=item.api_key,
        models=("gpt-image-2",),
        project=item.project,
    )
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def probe() -> Outcome:
        async with httpx.AsyncClient() as client:
            ctx = ProbeContext(
                client=client,
                account=account,
                model="gpt-image-2",
                settings={},
                clock=FrozenClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
                evidence=Evidence(),
                sleep=record_sleep,
            )
            return await Generation().run(ctx)

    outcome = asyncio.run(probe())
    assert (outcome.reason, outcome.details["rule"]) == (reason, rule)
    assert outcome.reason == item.expect[Generation.name]
    assert len(outcome.details["attempts"]) == 1
    assert sleeps == []
    state = httpx.get(f"{simulator.url}/_sim/accounts/{name}", timeout=5).json()
    assert state["requests"] == 1
    assert state["spend_usd"] == "0"
