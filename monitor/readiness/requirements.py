"""What a launch requires, each judged met, not met (why, and what to do) or could not tell.
Pure: the profile, the probes' results and the open incidents in, requirements out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from checks.base import Status, Verdict, as_mapping
from checks.edit import Edit
from checks.generation import Generation
from checks.images import output_tokens
from checks.model_listing import ModelListing
from checks.prices import MILLION, to_decimal
from checks.pricing import Pricing
from checks.rate_limits import TIERS, RateLimits, next_tier_for
from checks.reasons import REASONS, words
from checks.responses_tool import ResponsesTool
from checks.snapshot import Snapshot
from checks.streaming import Streaming
from checks.transparency import Transparency
from checks.usage import Usage
from monitor.readiness.profile import LaunchProfile
from monitor.store import Incident, ProbeResult
from monitor.traffic import usage_figures, whole

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"
GO, NO_GO, INCONCLUSIVE = "GO", "NO-GO", "INCONCLUSIVE"
STATUS_OF = {MET: Status.PASS, NOT_MET: Status.FAIL, UNKNOWN: Status.UNKNOWN}
"""A requirement's state as a status, so that `Verdict.of` is the one readiness rule."""
SAID = {Verdict.READY: GO, Verdict.NOT_READY: NO_GO, Verdict.INCONCLUSIVE: INCONCLUSIVE}
"""How a launch report says a verdict."""
SKIPPED_FOR_SPEND = "skipped: the paid probe would pass --max-spend"


@dataclasses.dataclass
class Requirement:
    """One line of a launch report. A requirement that one check decides alone is keyed by
    the check's name (`snapshot`, `generation`)."""

    key: str
    title: str
    state: str
    detail: str
    advice: str = ""

    @property
    def status(self) -> Status:
        return STATUS_OF[self.state]

    def as_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


CAPABILITY_REQUIREMENTS = {
    Edit.name: ("edits", "Edits work (image and mask)"),
    # a requirement one check decides alone is keyed by the check's name
    Streaming.name: (Streaming.name, "Streaming works (a partial and a final image)"),
    ResponsesTool.name: (ResponsesTool.name, "The Responses API's image tool works"),
}
"""The requirement each capability decides alone (transparency has its own reading)."""


def verdict(requirements: Iterable[Requirement]) -> str:
    """GO, NO-GO or INCONCLUSIVE: `Verdict.of` the requirements, as a report says it."""
    return SAID[Verdict.of(r.status for r in requirements)]


def from_outcome(
    key: str, title: str, result: ProbeResult | None, skipped_why: str = ""
) -> Requirement:
    """A requirement decided by one probe: pass (or a plain warning) is met, fail is not,
    anything else could not tell."""
    if result is None:
        return Requirement(key, title, UNKNOWN, skipped_why or "not probed")
    status, reason, summary = Status(result.status), result.reason, result.summary
    known = REASONS.get(reason)
    advice = known.advice if known else ""
    if status == Status.FAIL:
        return Requirement(key, title, NOT_MET, f"{words(reason)}: {summary}", advice)
    # A rate-limited probe did not get to see whether the account can generate.
    if status in (Status.PASS, Status.WARN) and reason != "rate_limited":
        return Requirement(key, title, MET, summary)
    return Requirement(key, title, UNKNOWN, f"{words(reason)}: {summary}", advice)


def snapshot_requirement(profile: LaunchProfile, row: ProbeResult | None) -> Requirement:
    """The pinned snapshot answers, and does not shut down by the launch date."""
    title = f"Pinned snapshot {profile.snapshot} available"
    requirement = from_outcome(Snapshot.name, title, row)
    shutdown = (
        as_mapping(as_mapping(row.details).get("model")).get("shutdown_date") if row else None
    )
    if requirement.state == MET and shutdown:
        when = str(shutdown)[:10]
        if profile.launch_date is not None and when <= profile.launch_date.isoformat():
            return Requirement(
                Snapshot.name,
                title,
                NOT_MET,
                f"shuts down on {when}, before the launch on {profile.launch_date}",
                "Move the pin to a newer snapshot before the launch.",
            )
        requirement.detail += f"; a shutdown is scheduled for {when}"
    return requirement


def transparent_requirement(result: ProbeResult | None, skipped_why: str) -> Requirement:
    """The transparency probe, where a 400 on `background` is the model's refusal: not met,
    rather than the could-not-tell of an invalid request."""
    title = "Transparent background works (PNG)"
    if result is not None and result.reason == "invalid_request":
        error = as_mapping(as_mapping(result.details).get("error"))
        if error.get("param") == "background":
            return Requirement(
                "transparent",
                title,
                NOT_MET,
                f"The model refuses it: {error.get('message')}",
                "Use a model that supports transparency, or cut out the "
                "background after generation.",
            )
    return from_outcome("transparent", title, result, skipped_why)


def rate_requirement(profile: LaunchProfile, row: ProbeResult | None) -> Requirement:
    """The images-per-minute limit `rate_limits` found covers the peak; when it does not,
    the advice names the usage tier that would."""
    title = f"At least {profile.peak_images_per_minute} images per minute"
    details = as_mapping(row.details) if row is not None else {}
    limit = details.get("images_per_minute")
    tier = details.get("tier")
    if not isinstance(limit, int):
        reason = row.reason if row is not None else "rate_limit_unavailable"
        return Requirement(
            "images_per_minute",
            title,
            UNKNOWN,
            f"{words(reason)}",
            REASONS["rate_limit_unavailable"].advice,
        )
    tier_text = f" (tier {tier})" if tier else ""
    if limit >= profile.peak_images_per_minute:
        return Requirement(
            "images_per_minute",
            title,
            MET,
            f"{limit} images/min{tier_text} ≥ {profile.peak_images_per_minute}",
        )
    needed = next_tier_for(profile.peak_images_per_minute)
    if needed is not None:
        images = next(i for t, i, _ in TIERS if t == needed)
        advice = (
            f"Tier {needed} ({images} images/min) would suffice: raise the usage tier "
            "or the project's rate limit."
        )
    else:
        advice = "No usage tier reaches it: ask OpenAI for a custom rate limit."
    return Requirement(
        "images_per_minute",
        title,
        NOT_MET,
        f"{limit} images/min{tier_text} < {profile.peak_images_per_minute}",
        advice,
    )


def traffic_requirement(
    profile: LaunchProfile, usage: ProbeResult, limits: ProbeResult | None
) -> Requirement:
    """The launch's peak fits beside the account's real traffic: the day's peak images per
    minute the `usage` check read plus the profile's peak stay within the limit (the usage
    read's, else the one `rate_limits` found)."""
    need = profile.peak_images_per_minute
    title = f"Room for {need} more images per minute beside the current traffic"
    key = "images_per_minute_beside_traffic"
    figures = usage_figures(usage)
    limit = figures.limit
    if limit is None and limits is not None:
        limit = whole(as_mapping(limits.details).get("images_per_minute"))
    when = figures.checked_at.strftime("%Y-%m-%d %H:%M UTC")
    if figures.peak_day is None or limit is None:
        missing = "no peak" if figures.peak_day is None else "no images-per-minute limit"
        return Requirement(
            key,
            title,
            UNKNOWN,
            f"the usage read of {when} has {missing}: {words(usage.reason)}",
            REASONS["rate_limit_unavailable"].advice if figures.peak_day is not None else "",
        )
    total = figures.peak_day + need
    detail = (
        f"the day's peak {figures.peak_day} + the launch's {need} = {total} images/min "
        f"{'≤' if total <= limit else '>'} the limit {limit} (usage read {when})"
    )
    if total <= limit:
        return Requirement(key, title, MET, detail)
    wanted = next_tier_for(total)
    advice = (
        f"Raise the usage tier (tier {wanted} would cover both) or the project's rate "
        "limit, or move the launch's traffic to another account."
        if wanted is not None
        else "Ask OpenAI for a higher rate limit, or move the launch's traffic to another account."
    )
    return Requirement(key, title, NOT_MET, detail, advice)


def cost_requirement(profile: LaunchProfile, row: ProbeResult | None) -> Requirement:
    """An image at the profile's quality and size, at the published output rate `pricing`
    read, costs at most the profile's budget per image."""
    title = (
        f"Cost per image ≤ ${profile.max_cost_per_image_usd} ({profile.quality}, {profile.size})"
    )
    details = as_mapping(row.details) if row is not None else {}
    published = as_mapping(details.get("published"))
    rate = to_decimal(published.get("image_output"))
    tokens = output_tokens(profile.model, profile.size, profile.quality)
    if rate is None or tokens is None:
        why = words(row.reason) if row is not None else "pricing not probed"
        return Requirement(
            "cost_per_image", title, UNKNOWN, f"no published image output price: {why}"
        )
    per_image = rate * tokens / MILLION
    monthly = per_image * profile.monthly_images
    detail = (
        f"${per_image:.4f} per image ({tokens} output tokens at ${rate}/1M); "
        f"${monthly:,.2f} a month for {profile.monthly_images:,} images"
    )
    if per_image <= profile.max_cost_per_image_usd:
        return Requirement("cost_per_image", title, MET, detail)
    return Requirement(
        "cost_per_image",
        title,
        NOT_MET,
        detail,
        "Lower the quality or the size, or raise the budget per image.",
    )


def incident_requirement(incidents: Iterable[Incident]) -> Requirement:
    """None of the account's recent incidents is still open."""
    title = "No open incident"
    open_ = [i for i in incidents if i.state == "open"]
    if not open_:
        return Requirement("no_open_incident", title, MET, "none open")
    listed = "; ".join(f"#{i.id} {i.check}: {words(i.reason)}" for i in open_)
    return Requirement(
        "no_open_incident",
        title,
        NOT_MET,
        listed,
        "Resolve the open incidents (see the status page).",
    )


def requirements(
    profile: LaunchProfile,
    results: Mapping[str, ProbeResult],
    incidents: Sequence[Incident],
) -> list[Requirement]:
    """Every requirement of the launch for one account, from its probes' results (by check
    name; a probe not sent for `--max-spend` is absent; `usage` is the stored latest read
    of the account's traffic, when there is one) and its recent incidents."""
    listed = from_outcome("model_listed", f"{profile.model} listed", results.get(ModelListing.name))
    judged = [listed]
    if profile.snapshot:
        judged.append(snapshot_requirement(profile, results.get(Snapshot.name)))
    judged.append(
        from_outcome(
            Generation.name,
            "Generation works (organization verified, project allowed, quota)",
            results.get(Generation.name),
            SKIPPED_FOR_SPEND,
        )
    )
    for name in profile.needed():
        if name == Transparency.name:
            judged.append(transparent_requirement(results.get(name), SKIPPED_FOR_SPEND))
            continue
        key, title = CAPABILITY_REQUIREMENTS[name]
        judged.append(from_outcome(key, title, results.get(name), SKIPPED_FOR_SPEND))
    judged.append(rate_requirement(profile, results.get(RateLimits.name)))
    usage = results.get(Usage.name)
    if usage is not None:  # only an account with an Admin key has its traffic read
        judged.append(traffic_requirement(profile, usage, results.get(RateLimits.name)))
    judged.append(cost_requirement(profile, results.get(Pricing.name)))
    judged.append(incident_requirement(incidents))
    return judged
