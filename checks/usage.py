"""`usage`: how close does the account's real traffic come to its images-per-minute limit?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from checks.admin_keys import probe_key_id
from checks.admin_usage import ImageUsage, UsageUnavailable, image_usage, iso
from checks.base import Account, FreeCheck, Outcome, ProbeContext, as_mapping
from checks.images import family
from checks.rate_limits import RateLimits
from checks.reasons import REASONS
from checks.settings import CheckSettings, UsageSettings

MINUTE = 60
HOUR = 3600
DAY = 86400
SETTLE_SECONDS = 5 * MINUTE
"""Usage buckets fill in minutes after the traffic: a read stops this far behind `now`, so
that a minute is read once it is whole (read sooner, the rest of it would never be read)."""
LOOKBACK_SECONDS = DAY
"""The first read (and a read after a long stop) reaches this far back, no further."""
MAX_AHEAD_SECONDS = HOUR
"""A previous read ending ahead of the clock (a clock set back) is waited for this long at
most: further ahead, the stored end is not believed and the reads start afresh."""
SERIES_MINUTES = 60
PROBE_KEY_RECHECK_SECONDS = 6 * HOUR
"""The probe key's id, once looked up, is used this long while the probe key stays the same
(its last four characters, `fingerprint`): a lookup every 6 hours, not every read."""


def floor_minute(moment: datetime) -> int:
    seconds = int(moment.timestamp())
    return seconds - seconds % MINUTE


def parse_moment(value: object) -> int | None:
    """Seconds since the epoch of a stored ISO moment, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())


def read_window(previous: Mapping[str, Any], now: datetime) -> tuple[int, int]:
    """The minutes [start, end) this read covers: from where the previous read ended (no
    gap, nothing twice, a restart included: the previous result is read from the store)
    to the last whole, settled minute; at most LOOKBACK_SECONDS back. A previous end a
    little ahead (a clock set back by up to MAX_AHEAD_SECONDS) is kept as both ends, so
    those minutes are not read twice; one further ahead would stall the reads for as long,
    so it is dropped like a missing one."""
    end = floor_minute(now - timedelta(seconds=SETTLE_SECONDS))
    before = parse_moment(as_mapping(previous.get("window")).get("end"))
    if before is not None and before % MINUTE == 0:
        if end <= before <= end + MAX_AHEAD_SECONDS:
            return before, before
        if end - LOOKBACK_SECONDS <= before < end:
            return before, end
    return end - LOOKBACK_SECONDS, end


def stored_probe_key(
    previous: Mapping[str, Any], of: str, now: int
) -> tuple[bool, str | None, int]:
    """(known, id, looked up at) of the previous read's probe key lookup: known when it was
    made for the same probe key within PROBE_KEY_RECHECK_SECONDS (a key rotated since, or a
    lookup too old, is looked up again)."""
    lookup = as_mapping(previous.get("probe_key"))
    checked, found = parse_moment(lookup.get("checked_at")), lookup.get("id")
    if (
        lookup.get("of") != of
        or checked is None
        or not 0 <= now - checked < PROBE_KEY_RECHECK_SECONDS
    ):
        return False, None, now
    if found is not None and not (isinstance(found, str) and found.isprintable()):
        return False, None, now
    return True, found, checked


def minutes_of(
    rows: Iterable[ImageUsage], model: str, project: str | None
) -> tuple[dict[int, int], int, int]:
    """Images per minute of the model's family (and of `project` when set), and the images
    and requests in all."""
    per_minute: dict[int, int] = {}
    images = requests = 0
    for row in rows:
        if project and row.project_id not in (None, project):
            continue
        if row.model is not None and family(row.model) != family(model):
            continue
        per_minute[row.start] = per_minute.get(row.start, 0) + row.images
        images += row.images
        requests += row.requests
    return per_minute, images, requests


def merged_series(previous: Mapping[str, Any], fresh: Mapping[int, int], end: int) -> list[int]:
    """Images for each of the SERIES_MINUTES minutes before `end`: this read's, or the
    previous read's for the minutes it already covered, zeros elsewhere."""
    known: dict[int, int] = {}
    series = previous.get("series")
    for point in series if isinstance(series, list) else ():
        if isinstance(point, list) and len(point) == 2:
            moment, images = parse_moment(point[0]), point[1]
            if moment is not None and isinstance(images, int) and not isinstance(images, bool):
                known[moment] = max(0, images)
    known.update(fresh)
    return [known.get(m, 0) for m in range(end - SERIES_MINUTES * MINUTE, end, MINUTE)]


def hourly_peaks(
    previous: Mapping[str, Any], fresh: Mapping[int, int], end: int
) -> list[tuple[int, int, int]]:
    """(hour, peak images in a minute, that minute) for each hour of the last day: what a
    day's peak is kept from across reads that each see only their own minutes."""
    peaks: dict[int, tuple[int, int]] = {}
    stored = previous.get("hourly_peaks")
    for entry in stored if isinstance(stored, list) else ():
        if isinstance(entry, list) and len(entry) == 3:
            hour, peak, minute = parse_moment(entry[0]), entry[1], parse_moment(entry[2])
            if hour is not None and minute is not None and isinstance(peak, int):
                peaks[hour] = (peak, minute)
    for minute, images in fresh.items():
        hour = minute - minute % HOUR
        if images > peaks.get(hour, (-1, 0))[0]:
            peaks[hour] = (images, minute)
    oldest = end - DAY
    return sorted((h, p, m) for h, (p, m) in peaks.items() if m >= oldest and m < end)


def judge(peak_hour: int, peak_day: int, limit: int | None, share: float) -> tuple[str, str]:
    """The reason and summary for the peaks against the limit: a minute of the last hour
    at the limit fails; the last hour above `share` of it, or the day at it, warns."""
    peaks = f"peak {peak_hour} images/min in the last hour, {peak_day} in the last day"
    if limit is None:
        return "traffic_ok", f"{peaks}; no images-per-minute limit known to compare with"
    if peak_hour >= limit:
        return "traffic_at_limit", f"{peaks}: a minute reached the limit of {limit}"
    if peak_hour > share * limit or peak_day >= limit:
        return (
            "traffic_near_limit",
            f"{peaks}, against a limit of {limit} (warns above {share:.0%})",
        )
    return "traffic_ok", f"{peaks}, against a limit of {limit}"


def lookup(known: bool, key_id: str | None, of: str, checked: int) -> dict[str, Any] | None:
    """The probe key lookup as stored for the next read (the key's last four characters
    only, as `fingerprint` shows them)."""
    return {"id": key_id, "of": of, "checked_at": iso(checked)} if known else None


def known_limit(evidence: Mapping[str, Any] | None) -> int | None:
    value = (evidence or {}).get("images_per_minute")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class Usage(FreeCheck):
    """Reads the Admin API's GET /v1/organization/usage/images in 1-minute buckets since
    its last read, grouped by project, model and API key and filtered to the account's
    project, with the admin key (free). Only for accounts with `admin_key_env`.

    Compares the peak images per minute of the last hour and day with the limit the
    `rate_limits` check found. Fails `traffic_at_limit` when a minute of the last hour
    reached the limit; warns `traffic_near_limit` when the last hour passed
    `near_limit_share` of it or the day reached it; passes `traffic_ok` (also when no limit
    is known, which the summary says). `unknown: usage_unavailable` when the Admin API
    refuses or does not answer. The probes' own images are told apart when the probe key's
    id is found in the project's API keys. Costs nothing.
    """

    name: ClassVar[str] = "usage"
    reads_evidence: ClassVar[str | None] = RateLimits.name
    settings_type: ClassVar[type[CheckSettings]] = UsageSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        # Without an admin key there is nothing to read: not planned rather than skipped,
        # so an account without one is not inconclusive for it.
        return account.models if account.admin_key else ()

    async def run(self, ctx: ProbeContext) -> Outcome:
        previous = ctx.evidence.previous or {}
        start, end = read_window(previous, ctx.clock.now())
        project = ctx.account.project
        rows: list[ImageUsage] = []
        now = int(ctx.clock.now().timestamp())
        of = ctx.account.key_fingerprint
        known, key_id, checked = stored_probe_key(previous, of, now)
        if start < end:
            try:
                if not known:
                    key_id, checked, known = await probe_key_id(ctx), now, True
                group_by = ["project_id", "model"] + (["api_key_id"] if key_id else [])
                rows, end = await image_usage(
                    ctx, start=start, end=end, width="1m", group_by=group_by, project=project
                )
            except UsageUnavailable as failed:
                # Nothing was covered: the next read starts where this one would have, and
                # the minutes and peaks read before are carried on to it.
                return failed.outcome.with_details(
                    window={"start": iso(start), "end": iso(start)},
                    project=project,
                    model=ctx.model,
                    series=previous.get("series") or [],
                    hourly_peaks=previous.get("hourly_peaks") or [],
                    probe_key_id=key_id,
                    probe_key=lookup(known, key_id, of, checked),
                )
        per_minute, images, requests = minutes_of(rows, ctx.model, project)
        probe_rows = [r for r in rows if key_id and r.api_key_id == key_id]
        _, probe_images, probe_requests = minutes_of(probe_rows, ctx.model, project)
        series = merged_series(previous, per_minute, end)
        hours = hourly_peaks(previous, per_minute, end)
        peak_hour = max(series, default=0)
        peak_day, peak_at = max(((p, m) for _, p, m in hours), default=(0, None))
        peak_day = max(peak_day, peak_hour)
        limit = known_limit(ctx.evidence.generation)
        share = float(ctx.settings.get("near_limit_share", 0.8))
        code, summary = judge(peak_hour, peak_day, limit, share)
        first = end - len(series) * MINUTE
        details: dict[str, Any] = {
            "window": {"start": iso(start), "end": iso(end)},
            "project": project,
            "model": ctx.model,
            "limit_images_per_minute": limit,
            "peak_images_per_minute": {"hour": peak_hour, "day": peak_day},
            "peak_at": iso(peak_at) if peak_at is not None and peak_day > 0 else None,
            "images": images,
            "requests": requests,
            "probe_images": probe_images if key_id else None,
            "probe_requests": probe_requests if key_id else None,
            "series": [[iso(first + i * MINUTE), n] for i, n in enumerate(series)],
            "hourly_peaks": [[iso(h), p, iso(m)] for h, p, m in hours],
            "probe_key_id": key_id,
            "probe_key": lookup(known, key_id, of, checked),
        }
        if key_id:
            summary += f"; the probes sent {probe_images} of {images} images read"
        if start > floor_minute(ctx.clock.now() - timedelta(seconds=SETTLE_SECONDS)):
            summary += f"; the last read ended at {iso(start)}, ahead of the clock: none until then"
        reason = REASONS[code]
        return Outcome(reason.status, reason.code, summary, details)
