"""The Admin API's usage and costs endpoints, answered from the scenario accounts' traffic.

`GET /v1/organization/usage/images`, `GET /v1/organization/costs` and the project's API keys
(`GET /v1/organization/projects/{project_id}/api_keys`), per the published schema
(openai-openapi.yaml (2026-08-21): UsageResponse, UsageImagesResult, CostsResult,
ProjectApiKeyListResponse): time buckets, `limit` and `page`/`next_page`, `group_by` and the
`project_ids` filter, admin-key auth like the rate-limits route. Traffic comes from
`traffic.py`'s profiles; the clock is injected, and no bucket lies past it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from monitor.simulator.errors import ApiFailure
from monitor.simulator.state import AccountState, SimulatorState
from monitor.simulator.traffic import (
    MODEL,
    SIZE,
    SOURCE,
    Profile,
    day_start,
    image_price,
    key_id,
    probe_images,
    production_images,
    profile_for,
    redacted,
    text_price,
)

WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
# (default, maximum) buckets per page, as the spec's `limit` describes them.
USAGE_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
COSTS_LIMITS = (7, 180)
USAGE_GROUPS = ("project_id", "user_id", "api_key_id", "model", "size", "source")
COSTS_GROUPS = ("project_id", "line_item", "api_key_id")
OUTPUT_ITEM = f"{MODEL} image, output"
INPUT_ITEM = f"{MODEL} text, input"

Clock = Callable[[], datetime]
Row = dict[str, Any]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def listed(request: Request, name: str) -> list[str]:
    """An array parameter, sent as repeated keys (`group_by=a&group_by=b`) or with
    brackets (`group_by[]=a`), as the SDKs do."""
    return request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")


def integer(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ApiFailure(400, f"Missing required parameter: '{name}'.", param=name)
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiFailure(400, f"Invalid '{name}': expected an integer.", param=name) from None


def cursor(start: int) -> str:
    return "page_" + base64.urlsafe_b64encode(f"bucket:{start}".encode()).decode().rstrip("=")


def from_cursor(page: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(page.removeprefix("page_") + "==").decode()
        kind, _, start = raw.partition(":")
        if kind != "bucket":
            raise ValueError(kind)
        return int(start)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApiFailure(400, f"Invalid 'page': {page[:40]!r}.", param="page") from None


class UsageApi:
    """The three routes over one SimulatorState and one clock."""

    def __init__(self, state: SimulatorState, clock: Clock = wall_clock) -> None:
        self.state = state
        self.clock = clock
        self.jump_from = day_start(clock())

    async def images(self, request: Request, admin: AccountState) -> dict[str, Any]:
        return self._page(request, admin, costs=False)

    async def costs(self, request: Request, admin: AccountState) -> dict[str, Any]:
        return self._page(request, admin, costs=True)

    def _page(self, request: Request, admin: AccountState, *, costs: bool) -> dict[str, Any]:
        width_name = request.query_params.get("bucket_width", "1d")
        allowed = ("1d",) if costs else tuple(WIDTHS)
        if width_name not in allowed:
            raise ApiFailure(
                400,
                f"Invalid 'bucket_width': must be one of {', '.join(allowed)}.",
                param="bucket_width",
            )
        width = WIDTHS[width_name]
        default, most = COSTS_LIMITS if costs else USAGE_LIMITS[width_name]
        limit = integer(request, "limit", default)
        if not 1 <= limit <= most:
            raise ApiFailure(400, f"Invalid 'limit': must be between 1 and {most}.", param="limit")
        groups = listed(request, "group_by")
        known = COSTS_GROUPS if costs else USAGE_GROUPS
        for group in groups:
            if group not in known:
                raise ApiFailure(
                    400, f"Invalid 'group_by': {group[:40]!r} is not one of {known}.", "group_by"
                )
        start = integer(request, "start_time")
        now = int(self.clock().timestamp())
        end = min(integer(request, "end_time", now), now)
        page = request.query_params.get("page")
        first = from_cursor(page) if page else start
        projects = set(listed(request, "project_ids"))
        buckets: list[dict[str, Any]] = []
        at = first
        while at < end and len(buckets) < limit:
            rows = self._rows(admin, at, min(at + width, end), projects)
            results = self._costs(rows, groups) if costs else self._usage(rows, groups)
            buckets.append(
                {"object": "bucket", "start_time": at, "end_time": at + width, "results": results}
            )
            at += width
        more = at < end
        return {
            "object": "page",
            "data": buckets,
            "has_more": more,
            "next_page": cursor(at) if more else None,
        }

    def _rows(self, admin: AccountState, start: int, end: int, projects: set[str]) -> list[Row]:
        """The traffic of the admin key's organization in [start, end), a row per key."""
        scenario = admin.scenario
        profile = profile_for(scenario.name)
        if profile is None:
            return []
        prod, probe, other = self._sums(profile, start, end)
        rows = [
            {"project_id": scenario.project, "api_key_id": production_key(scenario.api_key),
             "images": prod},
            {"project_id": scenario.project, "api_key_id": key_id(scenario.api_key),
             "images": probe},
            {"project_id": f"{scenario.project}_other",
             "api_key_id": production_key(scenario.api_key + ":other"), "images": other},
        ]  # fmt: skip
        return [
            row | {"model": MODEL, "size": SIZE, "source": SOURCE, "billed": profile.billed_factor}
            for row in rows
            if row["images"] and (not projects or row["project_id"] in projects)
        ]

    def _sums(self, profile: Profile, start: int, end: int) -> tuple[int, int, int]:
        prod = probe = 0
        for minute in minutes(start, end):
            prod += production_images(profile, minute, self.jump_from)
            probe += probe_images(minute)
        return prod, probe, profile.other_project * len(range(start, end, 60))

    @staticmethod
    def _usage(rows: list[Row], groups: list[str]) -> list[dict[str, Any]]:
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            key = tuple(row.get(g) for g in groups)
            result = merged.setdefault(
                key,
                {
                    "object": "organization.usage.images.result",
                    "images": 0,
                    "num_model_requests": 0,
                    **dict.fromkeys(USAGE_GROUPS),
                    **dict(zip(groups, key, strict=True)),
                },
            )
            result["images"] += row["images"]
            result["num_model_requests"] += row["images"]  # one image per request
        return list(merged.values())

    @staticmethod
    def _costs(rows: list[Row], groups: list[str]) -> list[dict[str, Any]]:
        merged: dict[tuple[Any, ...], Decimal] = {}
        for row in rows:
            for item, usd in (
                (OUTPUT_ITEM, image_price(row["billed"]) * row["images"]),
                (INPUT_ITEM, text_price() * row["images"]),
            ):
                fields = row | {"line_item": item}
                key = tuple(fields.get(g) for g in groups)
                merged[key] = merged.get(key, Decimal(0)) + usd
        return [
            {
                "object": "organization.costs.result",
                "amount": {"value": float(round(usd, 6)), "currency": "usd"},
                **dict.fromkeys(COSTS_GROUPS),
                **dict(zip(groups, key, strict=True)),
                "quantity": None,
                "quantity_unit": None,
            }
            for key, usd in merged.items()
        ]

    async def api_keys(self, request: Request, admin: AccountState) -> dict[str, Any]:
        """The project's API keys: the production service key and the probe key."""
        project = request.path_params["project_id"]
        if project != admin.scenario.project:
            raise ApiFailure(404, f"No such project: {project[:60]}")
        created = 1767225600
        keys = [
            key_object(production_key(admin.scenario.api_key), "sk-svcacct-prod...b2f1",
                       "production", created),
            key_object(key_id(admin.scenario.api_key), redacted(admin.scenario.api_key),
                       "imagewatch probes", created),
        ]  # fmt: skip
        return {
            "object": "list",
            "data": keys,
            "first_id": keys[0]["id"],
            "last_id": keys[-1]["id"],
            "has_more": False,
        }


def minutes(start: int, end: int) -> Iterator[int]:
    return iter(range(start - start % 60, end, 60))


def production_key(api_key: str) -> str:
    return key_id(api_key + ":production")


def key_object(identifier: str, redacted_value: str, name: str, created: int) -> dict[str, Any]:
    return {
        "object": "organization.project.api_key",
        "redacted_value": redacted_value,
        "name": name,
        "created_at": created,
        "last_used_at": None,
        "id": identifier,
        "owner_project_access": "active",
        "owner": {
            "type": "service_account",
            "service_account": {
                "id": "svc_acct_" + identifier.removeprefix("key_"),
                "name": name,
                "created_at": created,
                "role": "member",
            },
        },
    }
