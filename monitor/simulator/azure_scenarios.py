"""The Azure OpenAI scenario accounts: each `api-key` (`azure-sim-<scenario>`) opens a resource
with its deployments, and says what each check should report for it.

A scenario names the deployment an account's config points at (`deployment`), the model and
version the config expects there (`model`, `model_version`), the `api_version` to send and
the URL style (`route`: the deployment route or the v1 route). What the resource really holds
is `deployments` (name → model and version) and its model catalog (`GET /openai/models`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from monitor.simulator.scenarios import PINNED, ROLLED, face_expect

# The versions of gpt-image-2 the simulated catalog knows: Azure names a model version by the
# snapshot's date, so the OpenAI face's pinned and rolled snapshots have these.
PINNED_VERSION = PINNED.removeprefix("gpt-image-2-")
ROLLED_VERSION = ROLLED.removeprefix("gpt-image-2-")
API_VERSION = "2025-04-01-preview"
# When the served version retires: far off for a healthy resource, within weeks for one
# whose version has a retirement date announced.
FAR_RETIREMENT = "2028-04-21"
NEAR_RETIREMENT = "2026-12-16"
DEPLOYMENT_ROUTE = "deployment"
V1_ROUTE = "v1"


@dataclasses.dataclass(frozen=True)
class AzureDeployment:
    name: str
    model: str
    version: str


@dataclasses.dataclass(frozen=True)
class CatalogModel:
    """A model version the resource's catalog lists, with its retirement date."""

    model: str
    version: str
    created: str
    retires: str


BASE_CATALOG = (
    CatalogModel("gpt-image-1", "2025-04-15", "2025-04-15", FAR_RETIREMENT),
    CatalogModel("gpt-image-2", PINNED_VERSION, PINNED_VERSION, FAR_RETIREMENT),
)


@dataclasses.dataclass(frozen=True)
class AzureScenario:
    name: str
    api_key: str
    description: str
    expect: dict[str, str]
    deployment: str = "gpt-image-2"
    """The deployment the account's config names."""
    model: str = "gpt-image-2"
    model_version: str = PINNED_VERSION
    """The model version the config expects behind the deployment."""
    api_version: str = API_VERSION
    route: str = DEPLOYMENT_ROUTE
    deployments: tuple[AzureDeployment, ...] = (
        AzureDeployment("gpt-image-2", "gpt-image-2", PINNED_VERSION),
    )
    catalog: tuple[CatalogModel, ...] = BASE_CATALOG
    registered: bool = True
    """False: the resource does not know the key (a wrong or rotated key)."""
    requests_per_minute: int = 20
    tokens_per_minute: int = 200_000
    throttled: bool = False
    """Every image call answers 429: the deployment's call rate quota is used up."""
    retry_after_ms: int = 2_000
    content_filter: bool = False
    """The content filter refuses every prompt, however harmless."""
    blocked: bool = False
    """The resource is blocked for abuse: every image call answers 403."""

    def listing(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "api_key": self.api_key,
            "description": self.description,
            "expect": dict(self.expect),
            "deployment": self.deployment,
            "model": self.model,
            "model_version": self.model_version,
            "api_version": self.api_version,
            "route": self.route,
        }


def _azure(short: str, description: str, expect: dict[str, str], **fields: Any) -> AzureScenario:
    return AzureScenario(
        name=f"azure-{short}",
        api_key=f"azure-sim-{short}",
        description=description,
        expect=expect,
        **fields,
    )


AZURE_SCENARIOS: tuple[AzureScenario, ...] = (
    _azure(
        "ready",
        "Azure resource with a gpt-image-2 deployment, called on the deployment route with "
        f"api-version {API_VERSION}: generation works, Azure's headers come back.",
        face_expect(),
    ),
    _azure(
        "ready-v1",
        "The same through the v1 route (/openai/v1/images/generations, the deployment name "
        "as `model`, no dated api-version).",
        face_expect(),
        deployment="images-prod",
        api_version="v1",
        route=V1_ROUTE,
        deployments=(AzureDeployment("images-prod", "gpt-image-2", PINNED_VERSION),),
    ),
    _azure(
        "deployment-missing",
        "The config names a deployment the resource does not have: 404 DeploymentNotFound.",
        face_expect(generation="deployment_not_found"),
        deployment="gpt-image-2-prod",
    ),
    _azure(
        "wrong-key",
        "A key the resource does not know: every call answers 401 'Access denied due to "
        "invalid subscription key or wrong API endpoint'.",
        face_expect(model_listing="invalid_api_key", generation="invalid_api_key"),
        registered=False,
    ),
    _azure(
        "throttled",
        "The deployment's call rate quota is used up: 429 'exceeded call rate limit of your "
        "current OpenAI S0 pricing tier' with retry-after and retry-after-ms.",
        face_expect(generation="rate_limited"),
        throttled=True,
    ),
    _azure(
        "content-filter",
        "The content filter refuses the probe's harmless prompt: 400 content_policy_violation "
        "with inner_error ResponsibleAIPolicyViolation (says nothing about access).",
        face_expect(generation="moderation_blocked"),
        content_filter=True,
    ),
    _azure(
        "blocked",
        "The resource is temporarily blocked for content-policy abuse: image calls answer 403.",
        face_expect(generation="permission_denied"),
        blocked=True,
    ),
    _azure(
        "version-moved",
        f"The deployment was upgraded from {PINNED_VERSION} to {ROLLED_VERSION}: the catalog "
        "lists the new version, the config still expects the old one.",
        face_expect(model_listing="new_snapshot"),
        deployments=(AzureDeployment("gpt-image-2", "gpt-image-2", ROLLED_VERSION),),
        catalog=(
            *BASE_CATALOG,
            CatalogModel("gpt-image-2", ROLLED_VERSION, ROLLED_VERSION, FAR_RETIREMENT),
        ),
    ),
    _azure(
        "retiring",
        f"The deployment's model version retires on {NEAR_RETIREMENT} "
        "(deprecation.inference in the catalog).",
        face_expect(snapshot="shutdown_scheduled"),
        catalog=(
            BASE_CATALOG[0],
            CatalogModel("gpt-image-2", PINNED_VERSION, PINNED_VERSION, NEAR_RETIREMENT),
        ),
    ),
)


def azure_scenario(name: str) -> AzureScenario:
    for item in AZURE_SCENARIOS:
        if item.name == name:
            return item
    raise KeyError(name)
