"""`model_listing` for an Azure OpenAI account: the data-plane model list, read as the
deployment's model-version watch.

`GET {endpoint}/openai/models?api-version=…` lists the models the *resource* may deploy (base
models and its fine-tunes), not its deployments: the deployments and the version each runs live
in the control plane (ARM), which a data-plane key cannot read. What the list does give, per
model version (Microsoft's REST reference "Models - List", and the authoring spec's
examples/get_models.json in Azure/azure-rest-api-specs):

    {"status": "succeeded", "capabilities": {"fine_tune": …, "inference": true, …},
     "lifecycle_status": "generally-available" | "preview",
     "deprecation": {"fine_tune": <unix time>, "inference": <unix time>},
     "id": "dall-e-3-3.0", "created_at": <unix time>, "object": "model"}

The version rides only in `id` (`<model>-<version>`: `dall-e-3-3.0`, `gpt-image-1-2025-04-15`);
every base model version carries `deprecation.inference`, its retirement, so a date alone is
no news: it warns only within `retirement_warn_days`.

The deployment's version is the account's `model_version` when the config says it, else the
newest listed version (a deployment set to auto-update follows the default version, and a
new deployment gets the newest).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from checks.base import Outcome, ProbeContext, as_mapping
from checks.http import Answer, failure_outcome, unexpected
from checks.text import clean

MAX_ENTRIES = 2000  # the catalog of one resource is a few hundred; a runaway list is cut
MAX_RETIREMENT = datetime(9999, 1, 1, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One listed version of the deployment's model."""

    version: str
    inference: bool
    lifecycle_status: str | None
    retires: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "inference": self.inference,
            "lifecycle_status": self.lifecycle_status,
            "retires": self.retires.isoformat() if self.retires else None,
        }


def _when(value: object) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        when = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return min(when, MAX_RETIREMENT)


def model_versions(payload: object, model: str) -> list[ModelVersion] | None:
    """The listed versions of `model` (the part of `id` after `<model>-`, when it starts with
    a digit: `gpt-image-1-mini-…` is another model), oldest first; None when the answer is not
    a model list."""
    data = as_mapping(payload).get("data")
    if not isinstance(data, list):
        return None
    found: dict[str, ModelVersion] = {}
    for item in data[:MAX_ENTRIES]:
        entry = as_mapping(item)
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id.startswith(model + "-"):
            continue
        version = clean(model_id[len(model) + 1 :])[:40]
        if not version[:1].isdigit() or as_mapping(entry).get("fine_tune"):
            continue
        status = entry.get("lifecycle_status")
        found[version] = ModelVersion(
            version=version,
            inference=as_mapping(entry.get("capabilities")).get("inference") is not False,
            lifecycle_status=clean(status)[:40] if isinstance(status, str) else None,
            retires=_when(as_mapping(entry.get("deprecation")).get("inference")),
        )
    return [found[v] for v in sorted(found)]


def judge_azure_listing(ctx: ProbeContext, answer: Answer, what: str) -> Outcome:
    """The Azure listing's outcome: `not_listed` (fail) when no version of the model can
    serve inference; `model_retirement_scheduled` (warn) when the deployment's version retires
    within `retirement_warn_days`; `new_model_version` (warn) when a version newer than the
    configured `model_version` is listed (with none configured: one the previous listing did
    not show); `listed` otherwise."""
    if not answer.ok:
        return failure_outcome(answer, what)
    versions = model_versions(answer.json(), ctx.model)
    if versions is None:
        return unexpected(answer, what, "answer is not a model list")
    usable = [v for v in versions if v.inference]
    details: dict[str, Any] = {
        "listed": bool(usable),
        "model_versions": [v.as_dict() for v in versions],
        "headers": answer.meta.as_dict(),
    }
    if not usable:
        return answer.outcome(
            "not_listed",
            f"no version of {ctx.model} that serves inference is among the resource's models",
            details,
        )
    configured = ctx.account.model_version
    deployed = next((v for v in usable if v.version == configured), None) or usable[-1]
    details["deployment_version"] = deployed.version
    details["deployment_version_source"] = "config" if deployed.version == configured else "newest"
    seen_before = as_mapping(ctx.evidence.previous).get("model_versions")
    if configured:
        new = [v.version for v in usable if v.version > configured]
    elif isinstance(seen_before, list):
        known = {as_mapping(v).get("version") for v in seen_before}
        new = [v.version for v in usable if v.version not in known]
    else:
        new = []
    horizon = ctx.clock.now() + timedelta(days=int(ctx.settings.get("retirement_warn_days", 90)))
    if deployed.retires is not None and deployed.retires <= horizon:
        details["retires"] = deployed.retires.isoformat()
        return answer.outcome(
            "model_retirement_scheduled",
            f"{ctx.model} version {deployed.version} retires on {deployed.retires:%Y-%m-%d}",
            details,
        )
    if new:
        details["new_model_versions"] = new
        return answer.outcome(
            "new_model_version",
            f"{ctx.model} listed; newer version {', '.join(new)} than the deployment's "
            f"{deployed.version}",
            details,
        )
    return answer.outcome(
        "listed", f"{ctx.model} version {deployed.version} listed for the resource", details
    )
