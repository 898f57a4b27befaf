"""What Azure OpenAI answers, as quoted in public sources: its error bodies, its headers and
its data-plane model list. The Azure face (`azure.py`) serves them.

Azure's error envelope is not OpenAI's: `{"error": {"code": ..., "message": ...}}`, the code a
string (`"401"`, `"429"`, `"DeploymentNotFound"`, `"BadRequest"`), no `type` and no `param`;
a bad Entra token is refused one layer earlier, by the gateway, in `{"statusCode", "message"}`.
Each body below names the quote it copies; the ones in the corpus of real answers
(tests/fixtures/openai_answers/azure-*.json) carry their source there.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from monitor.simulator.errors import ApiFailure

# api-version values the data plane answers to (Azure OpenAI REST reference, "API versions"
# and the API version lifecycle page in MicrosoftDocs/azure-ai-docs). Others: 400 below.
API_VERSIONS = (
    "2022-12-01", "2023-05-15", "2023-06-01-preview", "2023-12-01-preview", "2024-02-01",
    "2024-02-15-preview", "2024-04-01-preview", "2024-06-01", "2024-08-01-preview",
    "2024-10-21", "2024-12-01-preview", "2025-01-01-preview", "2025-03-01-preview",
    "2025-04-01-preview", "preview", "latest",
)  # fmt: skip
# Synchronous image generation came with 2023-12-01-preview: older versions answer the bare
# 404 (azure-resource-not-found-404-okgodoit-179.json, api-version 2022-12-01; one-api#781).
IMAGES_SINCE = "2023-12-01-preview"
# GPT image models need 2025-04-01-preview or later (azure-ai-docs how-to/dall-e.md).
GPT_IMAGE_SINCE = "2025-04-01-preview"
# The v1 route takes no dated api-version (azure-ai-docs api-version-lifecycle.md).
V1_VERSIONS = ("v1", "preview", "latest")
REGION = "Sweden Central"
# `azureml-model-session` as Azure sends it (https://github.com/EvolvingPrograms/oaib/issues/11).
MODEL_SESSION = "d008-20240215231538"


def azure_failure(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> ApiFailure:
    """An Azure error answer: Azure's own body instead of OpenAI's four-key envelope."""
    failure = ApiFailure(status, str(body), headers=headers)
    failure.body = body
    return failure


def resource_not_found() -> ApiFailure:
    """A missing api-version, or one that does not offer the route: a bare 404 with the
    status as a string code and a space after `"message":` as sent
    (azure-resource-not-found-404-okgodoit-179.json; no api-version at all:
    https://github.com/MicrosoftDocs/azure-docs/issues/114602,
    https://github.com/ThinkInAIXYZ/deepchat/issues/262)."""
    return azure_failure(404, {"error": {"code": "404", "message": "Resource not found"}})


def api_version_not_supported() -> ApiFailure:
    """An api-version the service does not know, or a dated one on the v1 route
    (https://github.com/openai/codex/issues/3725, https://github.com/hotovo/aider-desk/issues/460)."""
    return azure_failure(
        400, {"error": {"code": "BadRequest", "message": "API version not supported"}}
    )


def model_needs_newer_api_version(since: str) -> ApiFailure:
    """A model behind a deployment that the api-version predates. The literal `{modelName}`
    is in the real message (https://github.com/langchain4j/langchain4j/issues/2636,
    https://github.com/egoist/chatwise-releases/issues/258)."""
    message = f"Model {{modelName}} is enabled only for api versions {since} and later"
    return azure_failure(400, {"error": {"code": "BadRequest", "message": message}})


def invalid_subscription_key() -> ApiFailure:
    """A key the resource does not know (azure-invalid-key-401-semantic-kernel-10337.json).
    A missing key gets the same answer here: no Azure OpenAI answer to a missing key is
    quoted in our sources."""
    return azure_failure(
        401,
        {
            "error": {
                "code": "401",
                "message": "Access denied due to invalid subscription key or wrong API endpoint. "
                "Make sure to provide a valid key for an active subscription and use a correct "
                "regional API endpoint for your resource.",
            }
        },
    )


def invalid_token() -> ApiFailure:
    """An Entra ID bearer token the resource refuses: the gateway's own envelope
    (https://github.com/Azure-Samples/azure-search-openai-demo/issues/431 and the
    instructor docs' Azure page quote `{'statusCode': 401, 'message': 'Unauthorized. ...'}`)."""
    return azure_failure(
        401,
        {
            "statusCode": 401,
            "message": "Unauthorized. Access token is missing, invalid, audience is incorrect "
            "(https://cognitiveservices.azure.com), or have expired.",
        },
    )


def deployment_not_found() -> ApiFailure:
    """The deployment name is not on the resource (azure-deployment-not-found-chatbox-646.json;
    404 per azure-deployment-not-found-404-azure-docs-114013.json)."""
    return azure_failure(
        404,
        {
            "error": {
                "code": "DeploymentNotFound",
                "message": "The API deployment for this resource does not exist. If you created "
                "the deployment within the last 5 minutes, please wait a moment and try again.",
            }
        },
    )


def call_rate_limited(api_version: str, wait_ms: int, headers: dict[str, str]) -> ApiFailure:
    """The deployment's requests-per-minute quota is used up: 429, code "429", and both
    `retry-after` (seconds) and `retry-after-ms`, which openai-python reads first.

    Wording from https://github.com/assafelovic/gpt-researcher/issues/936 (`Embeddings_Create`
    there; the images operation is `ImageGenerations_Create` in the REST spec); "1 second"
    in the singular as in the FastGPT quote of the same answer."""
    seconds = max(1, math.ceil(wait_ms / 1000))
    unit = "second" if seconds == 1 else "seconds"
    message = (
        f"Requests to the ImageGenerations_Create Operation under Azure OpenAI API version "
        f"{api_version} have exceeded call rate limit of your current OpenAI S0 pricing tier. "
        f"Please retry after {seconds} {unit}. Please go here: https://aka.ms/oai/quotaincrease "
        "if you would like to further increase the default rate limit."
    )
    retry = {"retry-after": str(seconds), "retry-after-ms": str(wait_ms)}
    return azure_failure(429, {"error": {"code": "429", "message": message}}, headers | retry)


def content_filtered() -> ApiFailure:
    """The prompt refused by the image content filter: code `content_policy_violation`, the
    filter's verdict under `inner_error` (ResponsibleAIPolicyViolation), type
    invalid_request_error. Verbatim the body Azure sent from images/generations
    (moderation-azure-dalle-3-litellm-16072.json), whose verdict flags nothing although the
    prompt was refused; the chat route's form is azure-content-filter-400-helm-3327.json."""
    return azure_failure(
        400,
        {
            "error": {
                "code": "content_policy_violation",
                "inner_error": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_results": {"jailbreak": {"detected": False, "filtered": False}},
                },
                "message": "Your request was rejected as a result of our safety system. Your "
                "prompt may contain text that is not allowed by our safety system.",
                "type": "invalid_request_error",
            }
        },
    )


def resource_blocked() -> ApiFailure:
    """The whole resource blocked for abuse (azure-resource-blocked-403-pollinations-8837.json)."""
    return azure_failure(
        403,
        {
            "error": {
                "code": "Forbidden",
                "message": "Your resource has been temporarily blocked because we detected "
                "behavior that may violate our content policy. For more details on Azure OpenAI "
                "service content policy, please visit https://aka.ms/aoaicodeofconduct",
            }
        },
    )


def azure_headers(region: str = REGION) -> dict[str, str]:
    """The headers every Azure answer carries: `apim-request-id` echoed as
    `x-ms-client-request-id`, a UUID `x-request-id` (no `req_` prefix) and the region
    (https://github.com/EvolvingPrograms/oaib/issues/11). No `openai-*` headers."""
    apim = str(uuid.uuid4())
    return {
        "apim-request-id": apim,
        "x-ms-client-request-id": apim,
        "x-request-id": str(uuid.uuid4()),
        "x-ms-region": region,
    }


def model_headers(remaining_requests: int, remaining_tokens: int) -> dict[str, str]:
    """What a model answer adds: only the *remaining* rate-limit counts, no limits and no
    reset times (https://github.com/Azure/azure-rest-api-specs/issues/26884), and the
    model session."""
    return {
        "x-ratelimit-remaining-requests": str(max(0, remaining_requests)),
        "x-ratelimit-remaining-tokens": str(max(0, remaining_tokens)),
        "azureml-model-session": MODEL_SESSION,
    }


def timestamp(day: str) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())


def catalog_entry(model: str, version: str, created: str, retires: str) -> dict[str, Any]:
    """One model of `GET /openai/models?api-version=…`: the catalog, not the deployments.

    Fields and their order as captured (https://github.com/rijnb/chatty-server,
    pages/api/models.ts, 2024: `"id": "dall-e-3-3.0"`; the authoring spec's
    examples/get_models.json): the version rides only in `id` (`<model>-<version>`),
    `created_at` not `created`, no `owned_by`; `deprecation.inference` is the version's
    retirement as a unix time, and every base model has one."""
    return {
        "status": "succeeded",
        "capabilities": {
            "fine_tune": False,
            "inference": True,
            "completion": False,
            "chat_completion": False,
            "embeddings": False,
        },
        "lifecycle_status": "preview" if version.endswith("preview") else "generally-available",
        "deprecation": {"inference": timestamp(retires)},
        "id": f"{model}-{version}",
        "created_at": timestamp(created),
        "object": "model",
    }


def v1_model(model_id: str, created: int) -> dict[str, Any]:
    """One model of `GET /openai/v1/models`: OpenAI's four fields (the OpenAI.v1 spec's
    ListModelsResponse, whose example owner is "openai")."""
    return {"id": model_id, "object": "model", "created": created, "owned_by": "openai"}
