"""`imagewatch readiness`: a go/no-go report before a launch.

For each account it runs what the launch profile needs right now (free checks, then the paid
probes within `--max-spend`), and answers GO, NO-GO or INCONCLUSIVE, listing every
requirement as met, not met (why, and what to do) or could not tell.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from checks.base import Account, Clock, Evidence, Outcome, ProbeContext, as_mapping
from checks.edit import Edit
from checks.generation import Generation, estimated_cost
from checks.images import (
    FIXED_SIZES,
    family,
    flexible_size_error,
    has_flexible_sizes,
    output_tokens,
    parse_size,
)
from checks.prices import MILLION, PUBLISHED, to_decimal
from checks.rate_limits import TIERS, next_tier_for
from checks.reasons import REASONS, words
from monitor.config import ConfigError, LoadedConfig, key_path
from monitor.plan import Probe, settings_for
from monitor.redact import Redactor
from monitor.runner import Round
from monitor.store import LaunchReport, ProbeResult, Store

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"
GO, NO_GO, INCONCLUSIVE = "GO", "NO-GO", "INCONCLUSIVE"
# Input image tokens of the edit probe's 512x512 PNG (65 base + 129 per 512-pixel tile).
EDIT_INPUT_TOKENS = 65 + 129


class LaunchProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    model: str = "gpt-image-2"
    snapshot: str | None = None
    launch_date: date | None = None
    """Launch day: a snapshot shutting down on or before it is not ready."""
    peak_images_per_minute: int = Field(ge=1)
    quality: str = "medium"
    size: str = "1024x1024"
    needs_edits: bool = False
    needs_transparent_background: bool = False
    max_cost_per_image_usd: Decimal = Field(gt=0)
    monthly_images: int = Field(default=0, ge=0)

    @field_validator("quality")
    @classmethod
    def _quality(cls, value: str) -> str:
        if value not in ("low", "medium", "high"):
            raise ValueError(f"{value!r} must be low, medium or high")
        return value

    @field_validator("size")
    @classmethod
    def _size(cls, value: str, info: Any) -> str:
        model = str(info.data.get("model", "gpt-image-2"))
        parsed = parse_size(value)
        if parsed is None:
            raise ValueError(f"{value!r} must be WIDTHxHEIGHT, e.g. 1024x1024")
        if has_flexible_sizes(model):
            problem = flexible_size_error(*parsed)
            if problem:
                raise ValueError(problem)
        elif value not in FIXED_SIZES:
            raise ValueError(f"{value!r} is not a size {model} accepts ({', '.join(FIXED_SIZES)})")
        return value


def load_profile(path: str) -> LaunchProfile:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{file}: profile not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot read the profile ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{file}: invalid TOML: {exc}"]) from None
    problems = [f"{key}: unknown key" for key in data if key != "launch"]
    if "launch" not in data:
        problems.append("launch: required table is missing")
    if problems:
        raise ConfigError(problems)
    try:
        return LaunchProfile.model_validate(data["launch"])
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = "unknown key"
            elif error.get("type") == "missing":
                message = "required key is missing"
            lines.append(
                f"{key_path(('launch', *error['loc']))}: {message[:1].lower() + message[1:]}"
            )
        raise ConfigError(lines) from None


@dataclasses.dataclass
class PlannedProbe:
    account: str
    name: str  # model_listing | snapshot | generation | edit | transparent | rate_limits | pricing
    model: str
    cost_usd: Decimal
    allowed: bool = True

    @property
    def paid(self) -> bool:
        return self.cost_usd > 0


def probe_costs(profile: LaunchProfile, loaded: LoadedConfig) -> dict[str, Decimal]:
    prices = loaded.config.baseline(profile.model) or PUBLISHED.get(family(profile.model), {})
    generation = estimated_cost(profile.model, "low", prices) or Decimal("0.01")
    image_in = prices.get("image_input", Decimal(0))
    return {
        "generation": generation,
        "edit": generation + image_in * EDIT_INPUT_TOKENS / MILLION,
        "transparent": generation,
    }


def plan(
    profile: LaunchProfile,
    loaded: LoadedConfig,
    accounts: Sequence[Account],
    max_spend: Decimal | None,
) -> list[PlannedProbe]:
    """Every probe for every account, in order; paid ones past `max_spend` are not allowed."""
    costs = probe_costs(profile, loaded)
    planned: list[PlannedProbe] = []
    committed = Decimal(0)
    for account in accounts:
        names = ["model_listing"] + (["snapshot"] if profile.snapshot else []) + ["generation"]
        names += ["edit"] if profile.needs_edits else []
        names += ["transparent"] if profile.needs_transparent_background else []
        names += ["rate_limits", "pricing"]
        for name in names:
            cost = costs.get(name, Decimal(0))
            model = profile.snapshot if name == "snapshot" and profile.snapshot else profile.model
            probe = PlannedProbe(account.name, name, model, cost)
            if cost and max_spend is not None and committed + cost > max_spend:
                probe.allowed = False
            elif cost:
                committed += cost
            planned.append(probe)
    return planned


@dataclasses.dataclass
class Requirement:
    key: str
    title: str
    state: str
    detail: str
    advice: str = ""

    @property
    def symbol(self) -> str:
        return {MET: "✓", NOT_MET: "✗", UNKNOWN: "?"}[self.state]

    def as_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class AccountReport:
    account: str
    verdict: str
    requirements: list[Requirement]
    spent_usd: float
    probes: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "verdict": self.verdict,
            "requirements": [r.as_json() for r in self.requirements],
            "spent_usd": round(self.spent_usd, 6),
            "probes": self.probes,
        }


VERDICT_OF = {MET: GO, NOT_MET: NO_GO, UNKNOWN: INCONCLUSIVE}


def worst(verdicts: Iterable[str]) -> str:
    """NO-GO over INCONCLUSIVE over GO."""
    found = set(verdicts)
    return NO_GO if NO_GO in found else INCONCLUSIVE if INCONCLUSIVE in found else GO


def verdict(requirements: Sequence[Requirement]) -> str:
    return worst(VERDICT_OF[r.state] for r in requirements)


def from_outcome(
    key: str, title: str, result: ProbeResult | Outcome | None, skipped_why: str = ""
) -> Requirement:
    """A requirement decided by one probe: pass (or a plain warning) is met, fail is not,
    anything else could not tell."""
    if result is None:
        return Requirement(key, title, UNKNOWN, skipped_why or "not probed")
    status, reason, summary = str(result.status), result.reason, result.summary
    known = REASONS.get(reason)
    advice = known.advice if known else ""
    if status == "fail":
        return Requirement(key, title, NOT_MET, f"{words(reason)}: {summary}", advice)
    if status in ("pass", "warn") and reason != "rate_limited":
        return Requirement(key, title, MET, summary)
    if status == "skipped":
        return Requirement(key, title, UNKNOWN, f"{words(reason)}: {summary}", advice)
    return Requirement(key, title, UNKNOWN, f"{words(reason)}: {summary}", advice)


def snapshot_requirement(profile: LaunchProfile, row: ProbeResult | None) -> Requirement:
    title = f"Pinned snapshot {profile.snapshot} available"
    requirement = from_outcome("snapshot", title, row)
    shutdown = ((row.details or {}).get("model") or {}).get("shutdown_date") if row else None
    if requirement.state == MET and shutdown:
        when = str(shutdown)[:10]
        if profile.launch_date is not None and when <= profile.launch_date.isoformat():
            return Requirement(
                "snapshot",
                title,
                NOT_MET,
                f"shuts down on {when}, before the launch on {profile.launch_date}",
                "Move the pin to a newer snapshot before the launch.",
            )
        requirement.detail += f"; a shutdown is scheduled for {when}"
    return requirement


def transparent_requirement(outcome: Outcome | None, skipped_why: str) -> Requirement:
    title = "Transparent background works (PNG)"
    if outcome is not None and outcome.reason == "invalid_request":
        error = outcome.details.get("error") or {}
        if error.get("param") == "background":
            return Requirement(
                "transparent",
                title,
                NOT_MET,
                f"The model refuses it: {error.get('message')}",
                "Use a model that supports transparency, or cut out the "
                "background after generation.",
            )
    return from_outcome("transparent", title, outcome, skipped_why)


def rate_requirement(profile: LaunchProfile, row: ProbeResult | None) -> Requirement:
    title = f"At least {profile.peak_images_per_minute} images per minute"
    details = (row.details or {}) if row is not None else {}
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


def cost_requirement(profile: LaunchProfile, row: ProbeResult | None) -> Requirement:
    title = (
        f"Cost per image ≤ ${profile.max_cost_per_image_usd} ({profile.quality}, {profile.size})"
    )
    details = (row.details or {}) if row is not None else {}
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


def incident_requirement(store: Store, account: str) -> Requirement:
    title = "No open incident"
    open_ = [i for i in store.incidents(account, 20) if i.state == "open"]
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


class Readiness:
    def __init__(
        self,
        loaded: LoadedConfig,
        profile: LaunchProfile,
        store: Store,
        client: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        self.loaded, self.profile, self.store = loaded, profile, store
        self.client, self.clock = client, clock
        self.redactor = Redactor(loaded.secrets)

    def launch_account(self, account: Account) -> Account:
        """The account as the launch uses it: the profile's model, snapshot and peak."""
        return dataclasses.replace(
            account,
            models=(self.profile.model,),
            snapshots=(self.profile.snapshot,) if self.profile.snapshot else (),
            required_images_per_minute=self.profile.peak_images_per_minute,
        )

    async def account(self, account: Account, planned: list[PlannedProbe]) -> AccountReport:
        launch = self.launch_account(account)
        allowed = {p.name for p in planned if p.allowed}
        skipped = "skipped: the paid probe would pass --max-spend"
        regular = [
            Probe(launch, name, launch.snapshots[0] if name == "snapshot" else self.profile.model)
            for name in ("model_listing", "snapshot", "generation", "rate_limits", "pricing")
            if name in {p.name for p in planned} and (name in allowed or name != "generation")
        ]
        rows = await Round(self.loaded, self.client, self.clock, self.store).run(regular)
        found = {row.check: row for row in rows}
        extra: dict[str, Outcome] = {}
        for name, check, settings in (
            ("edit", Edit(), {}),
            ("transparent", Generation(), {"background": "transparent", "output_format": "png"}),
        ):
            if name in allowed:
                extra[name] = await self.probe(launch, check, settings)
        requirements = [
            from_outcome("model_listed", f"{self.profile.model} listed", found.get("model_listing"))
        ]
        if self.profile.snapshot:
            requirements.append(snapshot_requirement(self.profile, found.get("snapshot")))
        requirements.append(
            from_outcome(
                "generation",
                "Generation works (organization verified, project allowed, quota)",
                found.get("generation"),
                skipped,
            )
        )
        if self.profile.needs_edits:
            requirements.append(
                from_outcome("edits", "Edits work (image and mask)", extra.get("edit"), skipped)
            )
        if self.profile.needs_transparent_background:
            requirements.append(transparent_requirement(extra.get("transparent"), skipped))
        requirements.append(rate_requirement(self.profile, found.get("rate_limits")))
        requirements.append(cost_requirement(self.profile, found.get("pricing")))
        requirements.append(incident_requirement(self.store, account.name))
        spent = sum(r.cost_usd or 0.0 for r in rows) + sum(
            o.cost_usd or 0.0 for o in extra.values()
        )
        probes = [
            {
                "probe": r.check,
                "reason": r.reason,
                "request_id": r.request_id,
                "cost_usd": r.cost_usd,
            }
            for r in rows
        ]
        probes += [
            {"probe": name, "reason": o.reason, "request_id": o.request_id, "cost_usd": o.cost_usd}
            for name, o in extra.items()
        ]
        return AccountReport(account.name, verdict(requirements), requirements, spent, probes)

    async def probe(self, account: Account, check: Generation, extra: dict[str, Any]) -> Outcome:
        settings = settings_for(self.loaded, "generation", self.profile.model) | extra
        ctx = ProbeContext(
            client=self.client,
            account=account,
            model=self.profile.model,
            settings=settings,
            clock=self.clock,
            evidence=Evidence(),
        )
        outcome = await check.run(ctx)
        outcome.summary = self.redactor.text(outcome.summary)
        outcome.details = self.redactor.value(outcome.details)
        return outcome


def report_json(
    profile: LaunchProfile,
    reports: Sequence[AccountReport],
    planned: Sequence[PlannedProbe],
    now: datetime,
) -> dict[str, Any]:
    allowed = sum((p.cost_usd for p in planned if p.allowed), Decimal(0))
    return {
        "profile": profile.model_dump(mode="json"),
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "spend": {
            "at_most_usd": f"{allowed:.4f}",
            "spent_usd": round(sum(r.spent_usd for r in reports), 6),
        },
        "verdict": overall(reports),
        "accounts": [r.as_json() for r in reports],
    }


def overall(reports: Sequence[AccountReport]) -> str:
    return worst(r.verdict for r in reports)


def exit_code(reports: Sequence[AccountReport]) -> int:
    return {GO: 0, NO_GO: 1, INCONCLUSIVE: 3}[overall(reports)]


def to_rows(profile: LaunchProfile, document: dict[str, Any], now: datetime) -> list[LaunchReport]:
    return [
        LaunchReport(
            profile=profile.name,
            account=entry["account"],
            verdict=entry["verdict"],
            report={
                **entry,
                "profile": document["profile"],
                "generated_at": document["generated_at"],
            },
            created_at=now,
        )
        for entry in document["accounts"]
    ]


def markdown(document: dict[str, Any]) -> str:
    profile = document["profile"]
    lines = [
        f"## Launch readiness: {profile['name']}",
        "",
        f"{profile['model']}"
        + (f" (snapshot {profile['snapshot']})" if profile.get("snapshot") else "")
        + f", {profile['peak_images_per_minute']} images/min at peak, "
        f"{profile['quality']} {profile['size']}. Checked {document['generated_at']}; "
        f"spent ${document['spend']['spent_usd']:.4f} "
        f"(at most ${document['spend']['at_most_usd']}).",
        "",
        f"**Overall: {document['verdict']}**",
        "",
    ]
    for account in document["accounts"]:
        lines += [
            f"### {account['account']}: {account['verdict']}",
            "",
            "| | Requirement | Detail | What to do |",
            "|---|---|---|---|",
        ]
        for r in account["requirements"]:
            symbol = {MET: "✅", NOT_MET: "❌", UNKNOWN: "❔"}[r["state"]]
            cells = [symbol, r["title"], r["detail"], r["advice"]]
            lines.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
            )
        lines.append("")
    return "\n".join(lines)


def dry_run_text(planned: Sequence[PlannedProbe], max_spend: Decimal | None) -> str:
    lines = []
    total = Decimal(0)
    for probe in planned:
        cost = f"${probe.cost_usd:.4f}" if probe.paid else "free"
        note = "" if probe.allowed else "  (not sent: would pass --max-spend)"
        if probe.allowed:
            total += probe.cost_usd
        lines.append(f"{probe.account:<24} {probe.name:<14} {probe.model:<24} {cost}{note}")
    cap = f" (--max-spend ${max_spend})" if max_spend is not None else ""
    lines.append(f"at most ${total:.4f} in paid probes{cap}; nothing was sent (--dry-run)")
    return "\n".join(lines)
