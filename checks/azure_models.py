"""`model_listing` and `snapshot` for an Azure OpenAI account: the model list, read as the
deployment's model-version watch.

`GET {endpoint}/openai/models?api-version=…` (the deployment route's dated data plane) lists
the models the *resource* may deploy (base models and its fine-tunes), not its deployments:
the deployments, and the version each runs, live in the control plane (ARM), which a
data-plane key cannot read. What the list gives, per model version (Microsoft's REST
reference "Models - List"; the authoring spec's examples/get_models.json in
Azure/azure-rest-api-specs):

    {"status": "succeeded", "capabilities": {"fine_tune": …, "inference": true, …},
     "lifecycle_status": "generally-available" | "preview",
     "deprecation": {"fine_tune": <unix time>, "inference": <unix time>},
     "id": "dall-e-3-3.0", "created_at": <unix time>, "object": "model"}

The version rides only in `id` (`<model>-<version>`: `dall-e-3-3.0`, `gpt-image-1-2025-04-15`),
and a GPT image model's version is its OpenAI snapshot's date. So the account's
`model_version` is watched as OpenAI's pinned snapshot `<model>-<version>` is, with the same
reasons: a newer version listed warns `new_snapshot` (model_listing), the pinned version's
retirement warns `shutdown_scheduled` and its absence fails `snapshot_missing` (snapshot).
Every base model version carries `deprecation.inference`, so a date alone is no news: it
warns within `retirement_warn_days`. The v1 route's `GET /openai/v1/models` has OpenAI's four
fields only: the versions are read from the ids, without retirement dates.
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


def _versions(answer: Answer, what: str, model: str) -> list[ModelVersion] | Outcome:
    if not answer.ok:
        return failure_outcome(answer, what)
    versions = model_versions(answer.json(), model)
    if versions is None:
        return unexpected(answer, what, "answer is not a model list")
    return versions


def judge_azure_listing(ctx: ProbeContext, answer: Answer, what: str) -> Outcome:
    """`not_listed` (fail) when no version of the model can serve inference; `new_snapshot`
    (warn) when a version newer than the configured `model_version` is listed (none
    configured: one the previous listing did not show); `listed` otherwise."""
    versions = _versions(answer, what, ctx.model)
    if isinstance(versions, Outcome):
        return versions
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
    seen_before = as_mapping(ctx.evidence.previous).get("model_versions")
    if configured:
        new = [v.version for v in usable if v.version > configured]
    elif isinstance(seen_before, list):
        known = {as_mapping(v).get("version") for v in seen_before}
        new = [v.version for v in usable if v.version not in known]
    else:
        new = []
    if new:
        details["new_snapshots"] = [f"{ctx.model}-{v}" for v in new]
        pinned = f" than the configured {configured}" if configured else ""
        return answer.outcome(
            "new_snapshot",
            f"{ctx.model} listed; newer version {', '.join(new)}{pinned} (a deployment set to "
            "auto-update moves to it)",
            details,
        )
    newest = usable[-1].version
    return answer.outcome("listed", f"{ctx.model} listed, newest version {newest}", details)


def judge_azure_snapshot(ctx: ProbeContext, answer: Answer, what: str) -> Outcome:
    """The pinned version `<model>-<version>` (ctx.model): `snapshot_missing` (fail) when the
    list does not show it, `shutdown_scheduled` (warn) when it retires within
    `retirement_warn_days`, `snapshot_available` otherwise."""
    model, version = _split(ctx.model, ctx.account.models)
    versions = _versions(answer, what, model)
    if isinstance(versions, Outcome):
        return versions
    found = next((v for v in versions if v.version == version), None)
    details: dict[str, Any] = {
        "model_versions": [v.as_dict() for v in versions],
        "headers": answer.meta.as_dict(),
    }
    if found is None:
        return answer.outcome(
            "snapshot_missing",
            f"{model} version {version} is not among the resource's models",
            details,
        )
    details["model"] = found.as_dict()
    horizon = ctx.clock.now() + timedelta(days=int(ctx.settings.get("retirement_warn_days", 90)))
    if found.retires is not None and found.retires <= horizon:
        return answer.outcome(
            "shutdown_scheduled",
            f"{model} version {version} available; it retires on {found.retires:%Y-%m-%d}",
            details,
        )
    return answer.outcome("snapshot_available", f"{model} version {version} available", details)


def _split(pinned: str, models: tuple[str, ...]) -> tuple[str, str]:
    """`gpt-image-1-2025-04-15` as (`gpt-image-1`, `2025-04-15`), by the account's model."""
    for model in models:
        if pinned.startswith(model + "-"):
            return model, pinned[len(model) + 1 :]
    model, _, version = pinned.rpartition("-")
    return model, version
