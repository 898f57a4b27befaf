"""An account's `provider` in the config: which keys belong to which provider, what each
requires, and the Microsoft Entra ID token source for `auth = "entra"`.

Every problem is one line naming its key path, as everywhere in `monitor.config`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from types import ModuleType
from urllib.parse import urlsplit

from checks.base import AZURE, GATEWAY, OPENAI, TokenProvider
from monitor.sections import AccountSection
from monitor.urls import LOOPBACK, url_problem

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
"""The scope of an Azure OpenAI bearer token (Microsoft's "Authenticate with Microsoft Entra
ID" page; the audience the service checks)."""
EXTRA_HINT = "pip install 'imagewatch[azure]'"

# The keys only one provider reads. Anything else in an account is common to all.
_AZURE_ONLY = ("endpoint", "deployment", "api_version", "route", "auth", "model_version")
_GATEWAY_ONLY = ("price_source",)
# OpenAI's own headers and Admin API: neither Azure nor a gateway has them.
_OPENAI_ONLY = ("organization", "project", "admin_key_env")
BELONGS: dict[str, tuple[str, ...]] = {
    OPENAI: (*_AZURE_ONLY, *_GATEWAY_ONLY),
    # An Azure deployment's pinned version is its `model_version`, not `snapshots`.
    AZURE: ("base_url", "snapshots", *_GATEWAY_ONLY, *_OPENAI_ONLY),
    GATEWAY: (*_AZURE_ONLY, *_OPENAI_ONLY),
}
"""provider → the keys that do not belong to it."""

_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
V1_API_VERSIONS = ("v1", "preview")
"""What the v1 route's `api-version` takes (Microsoft's "API version lifecycle" page: the v1
API needs no dated version; `preview` opts in to preview features)."""
_DEPLOYMENT = re.compile(r"[A-Za-z0-9._-]+")


def provider_problems(where: str, section: AccountSection) -> list[str]:
    """One line per key that does not belong to the account's provider or that it lacks."""
    given = section.model_fields_set
    problems = [
        f"{where}.{key}: not a key of provider {section.provider!r}"
        for key in BELONGS[section.provider]
        if key in given
    ]
    if section.provider == AZURE:
        problems += _azure_problems(where, section)
    elif section.api_key_env is None:
        problems.append(f"{where}.api_key_env: required key is missing")
    if section.provider == GATEWAY and "base_url" not in given:
        problems.append(f"{where}.base_url: required for provider 'openai-compatible'")
    return problems


def _azure_problems(where: str, section: AccountSection) -> list[str]:
    problems = []
    if section.endpoint is None:
        problems.append(
            f"{where}.endpoint: required for provider 'azure' (https://<resource>.openai.azure.com)"
        )
    elif (why := endpoint_problem(section.endpoint)) is not None:
        problems.append(f"{where}.endpoint: {why}")
    if section.deployment is None:
        problems.append(
            f"{where}.deployment: required for provider 'azure' (the deployment's name, "
            "not the model's)"
        )
    elif (why := deployment_problem(section.deployment)) is not None:
        problems.append(f"{where}.deployment: {why}")
    v1 = section.route == "v1"
    if section.api_version is None:
        example = '"v1"' if v1 else '"2025-04-01-preview", the first with GPT image models'
        problems.append(
            f"{where}.api_version: required for provider 'azure', there is no default "
            f"(e.g. {example})"
        )
    elif v1 and section.api_version not in V1_API_VERSIONS:
        problems.append(
            f"{where}.api_version: the v1 route takes {' or '.join(V1_API_VERSIONS)}, "
            f"not {section.api_version!r}"
        )
    elif not v1 and not _API_VERSION.fullmatch(section.api_version):
        problems.append(
            f"{where}.api_version: {section.api_version!a} is not a dated API version "
            '(YYYY-MM-DD or YYYY-MM-DD-preview; "v1" goes with route = "v1")'
        )
    entra = section.auth == "entra"
    if entra and section.api_key_env is not None:
        problems.append(f'{where}.api_key_env: not used with auth = "entra" (no key is sent)')
    if not entra and section.api_key_env is None:
        problems.append(f'{where}.api_key_env: required key is missing (or set auth = "entra")')
    if len(section.models) != 1:
        problems.append(
            f"{where}.models: an Azure account probes one deployment, which runs one model"
        )
    return problems


def endpoint_problem(endpoint: str) -> str | None:
    """Why an Azure endpoint is refused: https only (the key travels in a header), except on
    the loopback, where the simulator and the tests listen; a bare origin, no path, nothing
    that could hide where the key goes (`monitor.urls`)."""
    why = url_problem(endpoint, path_allowed=False)
    if why is not None:
        return f"{why} (https://<resource>.openai.azure.com)"
    if urlsplit(endpoint).scheme == "http" and urlsplit(endpoint).hostname not in LOOPBACK:
        return "must use https (http only for 127.0.0.1 or localhost)"
    return None


def deployment_problem(deployment: str) -> str | None:
    """Why a deployment name is refused: it is one segment of every URL path the checks
    call, so only the characters of Azure resource names are taken (letters, digits, `-`,
    `_`, `.`; Microsoft's "Naming rules and restrictions for Azure resources" warns that `#`
    breaks URL parsing), and never `.` or `..`, which would climb the path."""
    if not _DEPLOYMENT.fullmatch(deployment) or deployment in (".", ".."):
        return (
            f"{deployment!a} may hold only letters, digits, '-', '_' and '.' (it is a "
            "segment of the URL path)"
        )
    return None


def pinned(section: AccountSection) -> tuple[str, ...]:
    """The snapshots the account pins: for Azure, the deployment's `model_version` as OpenAI
    names the snapshot (`gpt-image-1-2025-04-15`: Azure's GPT image versions are its dates)."""
    if section.provider == AZURE:
        if section.model_version and len(section.models) == 1:
            return (f"{section.models[0]}-{section.model_version}",)
        return ()
    return tuple(section.snapshots)


def base_url(section: AccountSection) -> str:
    """Where the account's requests go: an Azure account's endpoint, else its `base_url`."""
    if section.provider == AZURE and section.endpoint:
        return section.endpoint.rstrip("/")
    return section.base_url


Importer = Callable[[str], ModuleType]


class MissingExtra(Exception):
    """azure-identity is not installed."""


def entra_token_provider(import_module: Importer = importlib.import_module) -> TokenProvider:
    """A bearer token source over azure-identity's DefaultAzureCredential (managed identity,
    workload identity, AZURE_* variables, the Azure CLI…). Nothing is fetched here: the first
    probe asks for the first token, and azure-identity caches it until it nears expiry."""
    try:
        identity = import_module("azure.identity")
    except ImportError:
        raise MissingExtra(
            f'auth = "entra" needs azure-identity, the azure extra: {EXTRA_HINT}'
        ) from None
    provider: TokenProvider = identity.get_bearer_token_provider(
        identity.DefaultAzureCredential(), ENTRA_SCOPE
    )
    return provider
