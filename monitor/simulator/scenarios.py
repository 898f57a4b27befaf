"""The scenario accounts the simulator serves, and what each check should report for them."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

PINNED = "gpt-image-2-2026-04-21"
ROLLED = "gpt-image-2-2026-11-05"

# (id, created) as listed on a live account.
BASE_MODELS: tuple[tuple[str, int], ...] = (
    ("gpt-image-1", 1745517030),
    ("gpt-image-1-mini", 1758845821),
    ("gpt-image-1.5", 1764030620),
    ("chatgpt-image-latest", 1765925279),
    ("gpt-image-2", 1776399795),
    (PINNED, 1776399994),
    ("gpt-4o", 1715367049),
    ("text-embedding-3-small", 1705948997),
)
IMAGE_MODELS = ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", PINNED, ROLLED)

# Tier → (images per minute, tokens per minute) for gpt-image-2.
TIERS = {
    1: (5, 100_000),
    2: (20, 250_000),
    3: (50, 800_000),
    4: (150, 3_000_000),
    5: (250, 8_000_000),
}

DEMO_REQUIRED_IMAGES_PER_MINUTE = 20
# How an unverified organization is refused: 403 for using the model (the usual answer), or
# 400 in the streaming wording, which real accounts also get (see errors.verification_required).
UNVERIFIED_STATUSES = (403, 400)


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    api_key: str
    description: str
    expect: dict[str, str]
    organization: str
    project: str
    tier: int = 3
    verified: bool = True
    unverified_status: int = 403
    allowed_models: tuple[str, ...] | None = None
    quota_exhausted: bool = False
    billing_not_active: bool = False
    region_blocked: bool = False
    """Every call refused with 403: the caller's country is not supported."""
    images_scope_missing: bool = False
    """A restricted key without the images scope: listing works, image calls answer 401."""
    moderation_refuses: bool = False
    """The safety system refuses every image prompt, however harmless."""
    withdrawn: tuple[str, ...] = ()
    extra_models: tuple[tuple[str, int], ...] = ()
    shutdown_dates: tuple[tuple[str, str], ...] = ()
    error_share: float = 0.0
    slow_ms: int = 0
    background_images: int = 0
    admin_key: str | None = None
    registered: bool = True
    """False: the key is unknown to the simulator (a revoked key)."""
    capabilities: tuple[str, ...] = ()
    """The capability checks the demo config opts the account in to."""
    responses_model: str | None = None
    streaming_refused: bool = False
    """`stream=true` refused with a 400 on `stream` (our wording: no real one is published)."""
    image_tool_refused: bool = False
    """The account's tools lack image_generation: a forced tool_choice is refused."""
    tool_refuses_image_model: bool = False
    """The image_generation tool refuses the image model inside it."""
    opaque_backgrounds: bool = False
    """A transparent background is accepted and ignored: the image comes back opaque."""

    def listing(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "api_key": self.api_key,
            "description": self.description,
            "expect": dict(self.expect),
        }


def face_expect(**overrides: str) -> dict[str, str]:
    """What an Azure or gateway scenario account reports: the checks every such account
    runs (its provider answers no snapshot, rate-limit or Admin check unasked)."""
    return {"model_listing": "listed", "generation": "ok"} | overrides


def _expect(**overrides: str) -> dict[str, str]:
    base = {
        "model_listing": "listed",
        "snapshot": "snapshot_available",
        "generation": "ok",
        "rate_limits": "headroom_ok",
        "pricing": "price_unchanged",
    }
    return base | overrides


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="verified",
        api_key="sk-sim-verified-7c1e9a4b2d",
        description="Verified organization on tier 3 (50 images/min): every check passes; "
        "the Admin API lists its project's limits, and its usage is steady and far below them.",
        expect=_expect(usage="traffic_ok", spend="spend_ok"),
        organization="org-sim-verified",
        project="proj_sim_verified",
        admin_key="sk-admin-sim-verified-5e8f3c",
    ),
    Scenario(
        name="unverified",
        api_key="sk-sim-unverified-3b7d0f1a6c",
        description="Organization not verified: models are listed, generation answers 403 "
        "within a second and is not billed.",
        expect=_expect(generation="org_verification_required", rate_limits="generation_failed"),
        organization="org-sim-unverified",
        project="proj_sim_unverified",
        verified=False,
    ),
    Scenario(
        name="tier1",
        api_key="sk-sim-tier1-9a2c4e6b8d",
        description="Tier 1 (5 images/min) with other traffic using 3 of them: headers count "
        "down, 429 with retry-after when the window is full.",
        expect=_expect(rate_limits="below_required"),
        organization="org-sim-tier1",
        project="proj_sim_tier1",
        tier=1,
        background_images=3,
    ),
    Scenario(
        name="project-without-model",
        api_key="sk-sim-noproject-1f3e5d7c9b",
        description="The project's allowed models exclude gpt-image-2: listed, but generation "
        "answers 403 model_not_found.",
        expect=_expect(generation="project_model_not_allowed", rate_limits="generation_failed"),
        organization="org-sim-noproject",
        project="proj_sim_noproject",
        allowed_models=("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"),
    ),
    Scenario(
        name="no-quota",
        api_key="sk-sim-noquota-8e6c4a2f0d",
        description="Out of quota: generation answers 429 insufficient_quota (not transient).",
        expect=_expect(generation="insufficient_quota", rate_limits="generation_failed"),
        organization="org-sim-noquota",
        project="proj_sim_noquota",
        quota_exhausted=True,
    ),
    Scenario(
        name="snapshot-withdrawn",
        api_key="sk-sim-withdrawn-2d4f6b8a0c",
        description=f"The pinned snapshot {PINNED} is gone: 404 and absent from the listing.",
        expect=_expect(snapshot="snapshot_missing"),
        organization="org-sim-withdrawn",
        project="proj_sim_withdrawn",
        withdrawn=(PINNED,),
    ),
    Scenario(
        name="alias-rolled",
        api_key="sk-sim-rolled-5a7c9e1b3d",
        description=f"The alias rolled: {ROLLED} is listed, and the pinned snapshot has a "
        "shutdown date.",
        expect=_expect(model_listing="new_snapshot", snapshot="shutdown_scheduled"),
        organization="org-sim-rolled",
        project="proj_sim_rolled",
        extra_models=((ROLLED, 1793145600),),
        shutdown_dates=((PINNED, "2027-05-05"),),
    ),
    Scenario(
        name="flaky",
        api_key="sk-sim-flaky-0e2a4c6e8f",
        description="Flaky: image requests answer 500/503 (share settable, 100% by default) "
        "and every answer is slow.",
        expect=_expect(generation="server_error", rate_limits="generation_failed"),
        organization="org-sim-flaky",
        project="proj_sim_flaky",
        error_share=1.0,
        slow_ms=300,
    ),
    Scenario(
        name="revoked-key",
        api_key="sk-sim-revoked-6b8d0f2a4c",
        description="A revoked key: every API call answers 401 invalid_api_key.",
        expect=_expect(
            model_listing="invalid_api_key",
            snapshot="invalid_api_key",
            generation="invalid_api_key",
            rate_limits="generation_failed",
        ),
        organization="org-sim-revoked",
        project="proj_sim_revoked",
        registered=False,
    ),
    Scenario(
        name="region-blocked",
        api_key="sk-sim-region-4c6e8a0b2d",
        description="Called from an unsupported country: every API call answers 403 "
        "unsupported_country_region_territory.",
        expect=_expect(
            model_listing="region_blocked",
            snapshot="region_blocked",
            generation="region_blocked",
            rate_limits="generation_failed",
        ),
        organization="org-sim-region",
        project="proj_sim_region",
        region_blocked=True,
    ),
    Scenario(
        name="moderation-refusal",
        api_key="sk-sim-moderation-7e9a1c3b5d",
        description="The safety system refuses the probe's harmless prompt: 400 "
        "moderation_blocked, which says nothing about access (could not tell).",
        expect=_expect(generation="moderation_blocked", rate_limits="generation_failed"),
        organization="org-sim-moderation",
        project="proj_sim_moderation",
        moderation_refuses=True,
    ),
    Scenario(
        name="billing-not-active",
        api_key="sk-sim-billing-1b3d5f7a9c",
        description="Billing not active: generation answers 429 billing_not_active, which looks "
        "like a rate limit but is never retried.",
        expect=_expect(generation="billing_not_active", rate_limits="generation_failed"),
        organization="org-sim-billing",
        project="proj_sim_billing",
        billing_not_active=True,
    ),
    Scenario(
        name="scope-missing",
        api_key="sk-sim-scope-8d0f2b4c6e",
        description="A restricted key without the images scope: models are listed, image calls "
        "answer 401 Missing scopes: api.model.images.request (the key itself is valid).",
        expect=_expect(generation="key_scope_missing", rate_limits="generation_failed"),
        organization="org-sim-scope",
        project="proj_sim_scope",
        images_scope_missing=True,
    ),
    Scenario(
        name="unverified-400",
        api_key="sk-sim-unverified400-5f7b9d1e3a",
        description="Organization not verified, refused with 400 in the streaming wording "
        "(param stream) rather than 403.",
        expect=_expect(generation="org_verification_required", rate_limits="generation_failed"),
        organization="org-sim-unverified400",
        project="proj_sim_unverified400",
        verified=False,
        unverified_status=400,
    ),
)

# --- Capability doors: an account per door that is closed, and one with every door -------
# Kept apart from the generation scenarios above. The expectations name capability checks,
# which run only for the accounts that opt in (the demo config lists `capabilities`).
DOORS = ("edit", "transparency", "streaming", "responses_tool")
DOORS_MAINLINE = "gpt-5-mini"
CAPABILITY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="open-doors",
        api_key="sk-sim-doors-3e5a7c9b1d",
        description="Verified, and every door it opts in to is open: edits with a mask, "
        "streaming and the Responses image tool. It does not list transparency, which "
        "gpt-image-2 refuses (400 'Transparent background is not supported for this model.'; "
        "probed directly, the account answers so).",
        expect=_expect(edit="ok", streaming="ok", responses_tool="ok"),
        organization="org-sim-doors",
        project="proj_sim_doors",
        capabilities=("edit", "streaming", "responses_tool"),
        responses_model=DOORS_MAINLINE,
    ),
    Scenario(
        name="no-streaming",
        api_key="sk-sim-nostream-6c8e0a2b4d",
        description="Generates, but `stream=true` is refused with a 400 on `stream`.",
        expect=_expect(streaming="streaming_unsupported"),
        organization="org-sim-nostream",
        project="proj_sim_nostream",
        capabilities=("streaming",),
        streaming_refused=True,
    ),
    Scenario(
        name="no-image-tool",
        api_key="sk-sim-notool-9d1f3b5c7e",
        description="Generates through the Images API, but its Responses tools lack "
        "image_generation: 400 \"Tool choice 'image_generation' not found in 'tools' "
        'parameter."',
        expect=_expect(responses_tool="responses_tool_unsupported"),
        organization="org-sim-notool",
        project="proj_sim_notool",
        capabilities=("responses_tool",),
        responses_model=DOORS_MAINLINE,
        image_tool_refused=True,
    ),
    Scenario(
        name="tool-model-refused",
        api_key="sk-sim-toolmodel-2b4d6f8a0c",
        description="The Responses image tool refuses gpt-image-2 inside it: 400 "
        "image_generation_user_error \"The model 'gpt-image-2' does not exist.\" (param tools).",
        expect=_expect(responses_tool="tool_image_model_refused"),
        organization="org-sim-toolmodel",
        project="proj_sim_toolmodel",
        capabilities=("responses_tool",),
        responses_model=DOORS_MAINLINE,
        tool_refuses_image_model=True,
    ),
    Scenario(
        name="opaque-background",
        api_key="sk-sim-opaque-4d6f8b0c2e",
        description="Accepts background=transparent (gpt-image-1.5 and older) and answers an "
        "opaque image anyway; gpt-image-2 refuses the parameter outright.",
        expect=_expect(transparency="transparency_unsupported"),
        organization="org-sim-opaque",
        project="proj_sim_opaque",
        capabilities=("transparency",),
        opaque_backgrounds=True,
    ),
)
SCENARIOS += CAPABILITY_SCENARIOS

# --- Real traffic: accounts with an admin key whose usage and costs tell a story ----------
# Their traffic, minute by minute, is `monitor/simulator/traffic.py`'s profile of the name.
SCENARIOS += tuple(
    Scenario(
        name=name,
        api_key=f"sk-sim-{name}-{suffix}",
        description=description,
        expect=_expect(usage=usage, spend=spend),
        organization=f"org-sim-{name}",
        project=f"proj_sim_{name.replace('-', '_')}",
        admin_key=f"sk-admin-sim-{name}-{suffix}",
    )
    for name, suffix, usage, spend, description in (
        ("traffic-burst", "3c5e7a9d1f", "traffic_at_limit", "spend_ok",
         "Bursts reach its 50 images/min limit every 20 minutes; steady in between."),
        ("spend-jump", "6f8b0d2a4c", "traffic_ok", "spend_jump",
         "Today's image traffic, and so its spend, runs at six times the days before."),
        ("billing-drift", "9b1d3f5a7e", "traffic_ok", "billing_drift",
         "Steady traffic billed 20% above the published price per image."),
    )
)  # fmt: skip

PRICE_FILES = {
    "published": "The LiteLLM cost map as published (gpt-image-2 image output $30/1M).",
    "moved": "The same map with gpt-image-2's image output moved to $35/1M.",
}
MOVED_IMAGE_OUTPUT_PER_MILLION = "35"


def scenario(name: str) -> Scenario:
    for item in SCENARIOS:
        if item.name == name:
            return item
    raise KeyError(name)


# Numbered copies of a scenario, for runs with many accounts and no hand-made config:
# `sk-sim-verified-0001` opens account `verified-0001`, a fresh copy of `verified` with its
# own rate-limit window, organization and project (admin key `sk-admin-sim-verified-0001`).
NUMBERED_KEY = re.compile(r"sk-(?P<admin>admin-)?sim-(?P<scenario>[a-z0-9-]+)-(?P<number>\d{4,6})")
NUMBERED_NAME = re.compile(r"(?P<scenario>[a-z0-9-]+)-(?P<number>\d{4,6})")


def numbered(base: Scenario, number: int) -> Scenario:
    """Copy `number` of scenario `base`: same behaviour, its own keys and project."""
    suffix = f"{number:04d}"
    return dataclasses.replace(
        base,
        name=f"{base.name}-{suffix}",
        api_key=f"sk-sim-{base.name}-{suffix}",
        organization=f"{base.organization}-{suffix}",
        project=f"{base.project}_{suffix}",
        admin_key=f"sk-admin-sim-{base.name}-{suffix}" if base.admin_key else None,
    )


def numbered_for(text: str, *, key: bool = True) -> tuple[Scenario, bool] | None:
    """The numbered scenario a key (or, with `key=False`, an account name) names, and
    whether the key is an admin key; None when it names none."""
    match = (NUMBERED_KEY if key else NUMBERED_NAME).fullmatch(text)
    if match is None:
        return None
    try:
        base = scenario(match["scenario"])
    except KeyError:
        return None
    admin = key and match["admin"] is not None
    return numbered(base, int(match["number"])), admin
