"""A small client for the Admin API's usage and costs endpoints (free; the admin key).

`GET /v1/organization/usage/images` (buckets of 1m, 1h or 1d) and `GET /v1/organization/costs`
(buckets of 1d) answer a `UsageResponse`: a page of time buckets, each with its `results`,
and `next_page`, a cursor for the next page (openai-openapi.yaml (2026-08-21),
`/organization/usage/images`, `/organization/costs`, UsageResponse, UsageImagesResult,
CostsResult). Pages are bounded in number and in time, and every field is parsed as hostile:
a count that is not a non-negative integer below `MAX_COUNT`, an amount that is not a finite
number below `MAX_AMOUNT` either way (a refund or a credit is a real negative cost), a bucket
outside the window asked for, of the wrong width or already seen on an earlier page is
dropped, never trusted. The admin key travels only in the Authorization header
(`Account.headers`). Within a round, the same read asked by several probes (an account's
models, accounts sharing an admin key and project) is made once (`ProbeContext.shared`); the
daemon runs each probe in a round of its own, at its own slot, so there it saves nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from checks.base import Outcome, ProbeContext, as_mapping, once_per_round
from checks.http import Answer, call, failure_outcome
from checks.reasons import REASONS
from checks.text import clean

USAGE_PATH = "organization/usage/images"
COSTS_PATH = "organization/costs"
BUCKET_SECONDS = {"1m": 60, "1h": 3600, "1d": 86400}
# The most buckets one page may hold (the spec's `limit` maxima): fewer pages per read.
PAGE_LIMIT = {"1m": 1440, "1h": 168, "1d": 31}
COSTS_PAGE_LIMIT = 180
MAX_PAGES = 10
"""A day of minutes is one page at the maximum limit; ten pages is a runaway cursor."""
MAX_COUNT = 10**9
"""More images or requests than this in one bucket is not an answer to believe."""
MAX_AMOUNT = 10**9
MAX_CURSOR = 1000
EARLIEST, LATEST = 1577836800, 4102444800  # 2020-01-01 and 2100-01-01 (UTC)
MAX_ID = 200


class UsageUnavailable(Exception):
    """The Admin API did not give the numbers; `outcome` says why (usage_unavailable)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.summary)
        self.outcome = outcome


@dataclasses.dataclass(frozen=True)
class ImageUsage:
    """One result of one bucket: images and requests, with the fields grouped by."""

    start: int
    end: int
    images: int
    requests: int
    project_id: str | None = None
    model: str | None = None
    size: str | None = None
    source: str | None = None
    api_key_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Cost:
    """One result of one day's bucket of costs: `usd` is the amount, in USD unless
    `currency` says otherwise (the spec allows any; the check keeps only USD)."""

    start: int
    end: int
    usd: float
    line_item: str | None = None
    project_id: str | None = None
    currency: str = "usd"


@dataclasses.dataclass(frozen=True)
class Read:
    """What a paginated read returned, and up to when it is complete: when the page bound
    stopped it early, `covered_until` is the end of the last bucket seen (the next read
    starts there, so nothing is missed and nothing counted twice)."""

    results: list[Any]
    covered_until: int
    pages: int


def count(value: object) -> int | None:
    """A count from an answer: a non-negative integer below MAX_COUNT, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < MAX_COUNT else None


def moment(value: object) -> int | None:
    """A bucket bound from an answer: Unix seconds between 2020 and 2100, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if EARLIEST <= value < LATEST else None


def amount(value: object) -> float | None:
    """An amount from an answer: a finite number below MAX_AMOUNT either way (a numeric
    string too: some clients see the value as text; negative: refunds and credits are
    billed as negative line items), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and abs(number) < MAX_AMOUNT else None


def text(value: object) -> str | None:
    """An id or label from an answer: a short string without control characters, or None."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        return None
    return value if value.isprintable() else None


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


async def read_once(
    ctx: ProbeContext, path: str, params: list[tuple[str, str]], *, start: int, end: int, width: int
) -> Read:
    """`read_pages`, made once per round for the same organization, path and parameters:
    an account's models all read the same buckets (the model is told apart afterwards), and
    so do accounts sharing an admin key and project. Raises UsageUnavailable."""
    account = ctx.account
    # Who is asking, without keeping the key itself in the round's cache keys.
    asker = hashlib.sha256((account.admin_key or account.name).encode()).hexdigest()[:16]
    key = f"admin_usage:{account.base_url}:{asker}:{path}:{params!r}:{start}:{end}:{width}"
    return await once_per_round(
        ctx, key, lambda: read_pages(ctx, path, params, start=start, end=end, width=width)
    )


async def read_pages(
    ctx: ProbeContext,
    path: str,
    params: list[tuple[str, str]],
    *,
    start: int,
    end: int,
    width: int,
) -> Read:
    """Every bucket of [start, end) the endpoint gives, following `next_page` within
    MAX_PAGES and the check's timeout in all. Buckets are kept when they lie inside the
    window and are exactly `width` long, once each (a page repeated under a new cursor adds
    nothing); their `results` are returned raw (mappings only) with the bucket's bounds.
    The read is complete up to the end of the last bucket the answer held, not up to `end`:
    an Admin API whose data (or clock) lags behind leaves its missing minutes to the next
    read. Raises UsageUnavailable."""
    what = f"GET /v1/{path}"
    deadline = time.monotonic() + float(ctx.settings.get("timeout", 60))
    cursor: str | None = None
    seen_cursors: set[str] = set()
    seen_buckets: set[int] = set()
    results: list[tuple[int, int, Mapping[str, Any]]] = []
    covered = start
    pages = 0
    for _ in range(MAX_PAGES):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        query = params + ([("page", cursor)] if cursor else [])
        answer = await call(ctx, "GET", path, params=query, admin=True, timeout=remaining)
        if not answer.ok:
            raise UsageUnavailable(refused(answer, what))
        payload = answer.json()
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            problem = "answer has no list of buckets"
            raise UsageUnavailable(
                answer.outcome(
                    "usage_unavailable",
                    f"{what}: {problem}",
                    {"problem": problem, "headers": answer.meta.as_dict()},
                )
            )
        pages += 1
        for bucket in data:
            bucket = as_mapping(bucket)
            first, last = moment(bucket.get("start_time")), moment(bucket.get("end_time"))
            if first is None or last is None:
                continue
            if last - first != width or first < start or last > end or first % width:
                continue
            if first in seen_buckets:
                continue
            seen_buckets.add(first)
            covered = max(covered, last)
            found = bucket.get("results")
            for item in found if isinstance(found, list) else ():
                if isinstance(item, Mapping):
                    results.append((first, last, item))
        if payload.get("has_more") is not True:
            return Read(results, covered, pages)
        following = payload.get("next_page")
        # More is said to come, but the cursor cannot lead to it (missing, repeated):
        # complete only as far as the buckets seen, and the next read starts there.
        if not isinstance(following, str) or text(following) is None:
            break
        if following in seen_cursors or len(following) > MAX_CURSOR:
            break
        seen_cursors.add(following)
        cursor = following
    # Stopped by a bound with more to come: complete only up to the last bucket seen.
    return Read(results, covered, pages)


TITLE = re.compile(r"<title[^>]*>([^<]{1,200})</title>", re.IGNORECASE)
ADMIN_KEY_HINT = (
    "admin_key_env must name an Admin key (sk-admin-…, made under Settings → Organization →"
    " Admin keys) with the api.usage.read scope; a project key is refused"
)


def refused(answer: Answer, what: str) -> Outcome:
    """usage_unavailable for an answer that is not a success; a refused key (401, 403: a
    project key, a key without api.usage.read) says what to fix."""
    outcome = failure_outcome(answer, what, REASONS["usage_unavailable"])
    error = answer.error()
    if error is not None and not error.well_formed and (error.message or "").startswith("<"):
        # A proxy's or CDN's HTML page: its title says what it is, its markup says nothing.
        title = TITLE.search(error.message or "")
        named = f" ({clean(title.group(1)).strip()[:80]})" if title else ""
        page = f"{what}: HTTP {error.http_status} — an HTML page, not the API's answer{named}"
        outcome = dataclasses.replace(outcome, summary=page)
    if answer.http_status in (401, 403):
        return dataclasses.replace(outcome, summary=f"{outcome.summary[:600]} — {ADMIN_KEY_HINT}")
    return outcome


def _filters(project: str | None, group_by: Sequence[str]) -> list[tuple[str, str]]:
    # Arrays go as repeated keys (`group_by=model&group_by=size`), as OpenAI's usage
    # cookbook sends them with `requests`.
    params = [("group_by", field) for field in group_by]
    if project:
        params.append(("project_ids", project))
    return params


async def image_usage(
    ctx: ProbeContext,
    *,
    start: int,
    end: int,
    width: str,
    group_by: Sequence[str],
    project: str | None,
) -> tuple[list[ImageUsage], int]:
    """Images and requests per bucket of `width` in [start, end), grouped by `group_by`
    and filtered to `project`; and up to when the answer is complete."""
    seconds = BUCKET_SECONDS[width]
    params = [
        ("start_time", str(start)),
        ("end_time", str(end)),
        ("bucket_width", width),
        ("limit", str(PAGE_LIMIT[width])),
        *_filters(project, group_by),
    ]
    read = await read_once(ctx, USAGE_PATH, params, start=start, end=end, width=seconds)
    rows = []
    for first, last, item in read.results:
        images, requests = count(item.get("images")), count(item.get("num_model_requests"))
        if images is None and requests is None:
            continue
        rows.append(
            ImageUsage(
                first,
                last,
                images or 0,
                requests or 0,
                project_id=text(item.get("project_id")),
                model=text(item.get("model")),
                size=text(item.get("size")),
                source=text(item.get("source")),
                api_key_id=text(item.get("api_key_id")),
            )
        )
    return rows, readable(rows, read, USAGE_PATH, "images or requests")


async def costs(
    ctx: ProbeContext, *, start: int, end: int, project: str | None
) -> tuple[list[Cost], int]:
    """Costs per day in [start, end) (both on UTC midnights), grouped by project and line
    item and filtered to `project`, negative ones (refunds, credits) included; an amount
    without a currency is taken as USD, one in another currency keeps its `currency`."""
    params = [
        ("start_time", str(start)),
        ("end_time", str(end)),
        ("bucket_width", "1d"),
        ("limit", str(COSTS_PAGE_LIMIT)),
        *_filters(project, ("project_id", "line_item")),
    ]
    day = BUCKET_SECONDS["1d"]
    read = await read_once(ctx, COSTS_PATH, params, start=start, end=end, width=day)
    rows = []
    for first, last, item in read.results:
        money = as_mapping(item.get("amount"))
        usd = amount(money.get("value"))
        currency = money.get("currency", "usd")
        if usd is None or text(currency) is None:
            continue
        rows.append(
            Cost(
                first,
                last,
                usd,
                line_item=text(item.get("line_item")),
                project_id=text(item.get("project_id")),
                currency=str(currency).lower()[:10],
            )
        )
    return rows, readable(rows, read, COSTS_PATH, "amounts")


def readable(rows: Sequence[object], read: Read, path: str, what: str) -> int:
    """Up to when `read` is complete; UsageUnavailable when it held results but not one
    could be read (numbers as text, renamed fields): zero traffic would be a quiet lie."""
    if read.results and not rows:
        reason = REASONS["usage_unavailable"]
        problem = f"none of the {len(read.results)} results had readable {what}"
        summary = f"GET /v1/{path}: {problem}"
        raise UsageUnavailable(Outcome(reason.status, reason.code, summary, {"problem": problem}))
    return read.covered_until
