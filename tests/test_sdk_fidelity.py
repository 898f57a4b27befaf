"""The official openai SDK parses the simulator as it parses the real API."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
from PIL import Image

from monitor.simulator.scenarios import PINNED, scenario
from tests.conftest import ServedSimulator

Clients = Callable[..., openai.OpenAI]


@pytest.fixture
def clients(simulator: ServedSimulator) -> Iterator[Callable[..., openai.OpenAI]]:
    opened: list[openai.OpenAI] = []

    def make(name: str, max_retries: int = 0) -> openai.OpenAI:
        sdk = openai.OpenAI(
            api_key=scenario(name).api_key,
            base_url=f"{simulator.url}/v1",
            max_retries=max_retries,
            timeout=30,
        )
        opened.append(sdk)
        return sdk

    yield make
    for sdk in opened:
        sdk.close()


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_sdk_lists_and_retrieves_models(clients: Clients) -> None:
    sdk = clients("verified")
    ids = [m.id for m in sdk.models.list()]
    assert "gpt-image-2" in ids
    model = sdk.models.retrieve(PINNED)
    assert (model.id, model.owned_by) == (PINNED, "system")


def test_sdk_generates_an_image(clients: Clients) -> None:
    response = clients("verified").images.generate(
        model="gpt-image-2",
        prompt="A grey square",
        size="1408x480",  # type: ignore[arg-type]
        quality="low",
        output_format="jpeg",
    )
    assert response.data is not None
    assert response.data[0].b64_json
    image = Image.open(io.BytesIO(base64.b64decode(response.data[0].b64_json)))
    assert image.size == (1408, 480)
    assert response.usage is not None
    assert response.usage.output_tokens == 54


def test_sdk_edits_an_image_with_a_mask(clients: Clients) -> None:
    response = clients("verified").images.edit(
        model="gpt-image-1.5",
        prompt="Add a dot",
        image=("in.png", png(1024, 1024)),
        mask=("mask.png", png(1024, 1024, "RGBA")),
        size="1024x1024",
        quality="low",
    )
    assert response.data is not None
    assert response.data[0].b64_json


def test_sdk_edits_several_images(clients: Clients) -> None:
    response = clients("verified").images.edit(
        model="gpt-image-2",
        prompt="Merge",
        image=[("a.png", png(1024, 1024)), ("b.png", png(1024, 1024))],
    )
    assert response.data is not None


def test_sdk_raises_permission_denied_for_an_unverified_org(clients: Clients) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        clients("unverified").images.generate(
            model="gpt-image-2", prompt="x", size="1024x1024", quality="low"
        )
    error = caught.value
    assert error.status_code == 403
    assert (error.code, error.type) == (None, "invalid_request_error")
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert "must be verified" in error.message


def test_sdk_raises_permission_denied_for_a_project_without_the_model(clients: Clients) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        clients("project-without-model").images.generate(
            model="gpt-image-2", prompt="x", size="1024x1024", quality="low"
        )
    assert caught.value.code == "model_not_found"


def test_sdk_raises_authentication_error_for_a_revoked_key(clients: Clients) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        clients("revoked-key").models.list()
    assert (caught.value.code, caught.value.type) == ("invalid_api_key", "invalid_request_error")
    assert caught.value.request_id is not None


def test_sdk_raises_not_found_for_a_withdrawn_snapshot(clients: Clients) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        clients("snapshot-withdrawn").models.retrieve(PINNED)
    assert caught.value.code == "model_not_found"


def test_sdk_raises_rate_limit_errors_for_quota_and_for_a_full_minute(clients: Clients) -> None:
    with pytest.raises(openai.RateLimitError) as quota:
        clients("no-quota").images.generate(
            model="gpt-image-2", prompt="x", size="1024x1024", quality="low"
        )
    assert (quota.value.code, quota.value.type) == ("insufficient_quota", "insufficient_quota")
    tier1 = clients("tier1")
    for _ in range(2):  # 3 of 5 are used by other traffic: two more fit in the minute
        tier1.images.generate(model="gpt-image-2", prompt="x", size="1024x1024", quality="low")
    with pytest.raises(openai.RateLimitError) as limited:
        tier1.images.generate(model="gpt-image-2", prompt="x", size="1024x1024", quality="low")
    assert (limited.value.code, limited.value.type) == ("rate_limit_exceeded", "requests")
    assert limited.value.response.headers["retry-after"]


def test_sdk_raises_internal_server_error_when_flaky(clients: Clients) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        clients("flaky").images.generate(
            model="gpt-image-2", prompt="x", size="1024x1024", quality="low"
        )
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert caught.value.request_id is not None


def requests_seen(simulator: ServedSimulator, name: str) -> int:
    state = httpx.get(f"{simulator.url}/_sim/accounts/{name}", timeout=5).json()
    count: int = state["requests"]
    return count


# Each new scenario as the SDK sees it: the exception class, `.code`, `.type`, the request id,
# and whether the SDK itself would send the request again (max_retries=1: one retry at most).
# The probe never retries any of them (tests/test_simulator.py), billing_not_active included.
NEW_SCENARIOS = [
    ("region-blocked", openai.PermissionDeniedError, "unsupported_country_region_territory",
     "request_forbidden", 1),
    ("moderation-refusal", openai.BadRequestError, "moderation_blocked",
     "image_generation_user_error", 1),
    # A 429: the SDK retries it (one user's SDK did so 7 times), though waiting cannot help.
    ("billing-not-active", openai.RateLimitError, "billing_not_active", "billing_not_active", 2),
    ("scope-missing", openai.AuthenticationError, None, "invalid_request_error", 1),
    ("unverified-400", openai.BadRequestError, "unsupported_value", "invalid_request_error", 1),
]  # fmt: skip


@pytest.mark.parametrize(("name", "error_class", "code", "type_", "requests"), NEW_SCENARIOS)
def test_sdk_raises_the_real_error_for_each_new_scenario_and_retries_only_the_429(
    clients: Clients,
    simulator: ServedSimulator,
    name: str,
    error_class: type[openai.APIStatusError],
    code: str | None,
    type_: str,
    requests: int,
) -> None:
    with pytest.raises(error_class) as caught:
        clients(name, max_retries=1).images.generate(
            model="gpt-image-2", prompt="A grey square", size="1024x1024", quality="low"
        )
    error = caught.value
    assert type(error) is error_class
    assert (error.code, error.type) == (code, type_)
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert requests_seen(simulator, name) == requests


# --- the other doors: streamed images and the Responses image tool -------------------------


def test_sdk_streams_a_generation_as_partial_and_completed_events(clients: Clients) -> None:
    stream = clients("open-doors").images.generate(
        model="gpt-image-2",
        prompt="A grey square",
        size="1408x480",  # type: ignore[arg-type]
        quality="low",
        output_format="jpeg",
        stream=True,
        partial_images=1,
    )
    events = list(stream)
    assert [type(e).__name__ for e in events] == [
        "ImageGenPartialImageEvent",
        "ImageGenCompletedEvent",
    ]
    partial, completed = events
    assert partial.type == "image_generation.partial_image"
    assert partial.partial_image_index == 0
    assert completed.type == "image_generation.completed"
    image = Image.open(io.BytesIO(base64.b64decode(completed.b64_json)))
    assert image.size == (1408, 480)
    assert completed.usage.output_tokens == 54 + 100  # each partial image: 100 more tokens


def test_sdk_streams_an_edit_with_a_mask(clients: Clients) -> None:
    stream = clients("open-doors").images.edit(
        model="gpt-image-1.5",
        prompt="Add a dot",
        image=("in.png", png(1024, 1024)),
        mask=("mask.png", png(1024, 1024, "RGBA")),
        size="1024x1024",
        quality="low",
        stream=True,
        partial_images=2,
    )
    events = list(stream)
    assert [e.type for e in events] == [
        "image_edit.partial_image",
        "image_edit.partial_image",
        "image_edit.completed",
    ]
    assert events[-1].usage.input_tokens_details.image_tokens > 0


def test_sdk_raises_bad_request_when_streaming_is_refused(clients: Clients) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        clients("no-streaming").images.generate(
            model="gpt-image-2", prompt="x", size="1024x1024", quality="low", stream=True
        )
    assert caught.value.param == "stream"


def test_sdk_creates_a_response_with_the_image_generation_tool(clients: Clients) -> None:
    response = clients("open-doors").responses.create(
        model="gpt-5-mini",
        input="A grey square",
        tools=[
            {
                "type": "image_generation",
                "model": "gpt-image-2",
                "quality": "low",
                "size": "1408x480",
            }
        ],
        tool_choice={"type": "image_generation"},
        store=False,
    )
    calls = [item for item in response.output if item.type == "image_generation_call"]
    assert len(calls) == 1
    assert calls[0].status == "completed"
    assert calls[0].result is not None
    image = Image.open(io.BytesIO(base64.b64decode(calls[0].result)))
    assert image.size == (1408, 480)
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.output_text == "Here is the image."


@pytest.mark.parametrize(
    ("account", "tool", "message"),
    [
        ("no-image-tool", {}, "Tool choice 'image_generation' not found in 'tools' parameter."),
        ("tool-model-refused", {}, "The model 'gpt-image-2' does not exist."),
        (
            "open-doors",
            {"background": "transparent", "output_format": "png"},
            "Transparent background is not supported for this model.",
        ),
    ],
)
def test_sdk_raises_the_image_tools_refusals(
    clients: Clients, account: str, tool: dict[str, str], message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        clients(account).responses.create(
            model="gpt-5-mini",
            input="x",
            tools=[{"type": "image_generation", "model": "gpt-image-2", **tool}],  # type: ignore[list-item]
            tool_choice={"type": "image_generation"},
        )
    assert message in str(caught.value)
