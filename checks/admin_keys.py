"""The probe key's id among the project's API keys, so usage tells the monitor's own traffic
apart (`GET /v1/organization/projects/{project_id}/api_keys`, openai-openapi.yaml
(2026-08-21), ProjectApiKeyListResponse: keys shown by their `redacted_value`)."""

from __future__ import annotations

import dataclasses

from checks.admin_usage import MAX_PAGES, UsageUnavailable, text
from checks.base import ProbeContext, as_mapping, once_per_round
from checks.http import call, failure_outcome
from checks.reasons import REASONS


async def probe_key_id(ctx: ProbeContext) -> str | None:
    """The id (`key_…`) of the key the probes use, from the project's API keys
    (GET /v1/organization/projects/{project}/api_keys): the one key whose `redacted_value`
    (`sk-abc...def`, its first and last characters) fits the probe key. None when the list
    cannot be read or no single key fits (a key of another project, a service account the
    list does not show): the monitor's own traffic is then not told apart. Looked up once
    per round per account. Raises UsageUnavailable when the organization has no such
    project (404): a misspelt `project` would otherwise read no traffic and pass."""
    if not ctx.account.project:
        return None
    project = ctx.account.project
    key = f"admin_usage:probe_key:{ctx.account.name}"
    return await once_per_round(ctx, key, lambda: _find_probe_key(ctx, project))


async def _find_probe_key(ctx: ProbeContext, project: str) -> str | None:
    path = f"organization/projects/{project}/api_keys"
    fitting: set[str] = set()
    after: str | None = None
    for _ in range(MAX_PAGES):
        params = {"limit": "100"} | ({"after": after} if after else {})
        answer = await call(ctx, "GET", path, params=params, admin=True)
        if answer.http_status == 404:
            failed = failure_outcome(answer, f"GET /v1/{path}", REASONS["usage_unavailable"])
            summary = f"no project {project} in the admin key's organization (check `project`)"
            raise UsageUnavailable(dataclasses.replace(failed, summary=summary))
        payload = answer.json() if answer.ok else None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(data, list):
            return None
        for entry in data:
            entry = as_mapping(entry)
            key_id = text(entry.get("id"))
            redacted = text(entry.get("redacted_value"))
            if key_id and redacted and fits(ctx.account.api_key, redacted):
                fitting.add(key_id)
        last = text(as_mapping(data[-1]).get("id")) if data else None
        if payload.get("has_more") is not True or last is None or last == after:
            break
        after = last
    return fitting.pop() if len(fitting) == 1 else None


def fits(key: str, redacted: str) -> bool:
    """Whether `redacted` (`sk-abc...def`; stars stand for hidden characters) can be `key`."""
    head, dots, tail = redacted.partition("...")
    head, tail = head.rstrip("*"), tail.lstrip("*")
    if not dots or len(head) < 3 or len(tail) < 2:
        return False
    return len(key) > len(head) + len(tail) and key.startswith(head) and key.endswith(tail)
