"""Every reason code a check can report, with its status and the words ops read.

Reason codes are stable facts (`org_verification_required`): stored, alerted on, and matched
by tooling. Add new ones here, never rename.
"""

from __future__ import annotations

import dataclasses

from checks.base import Status


@dataclasses.dataclass(frozen=True)
class Reason:
    """A reason code and every fact the monitor acts on about it; nothing outside this table
    keeps a list of reasons."""

    code: str
    status: Status
    words: str
    advice: str = ""
    transient: bool = False
    """Passing weather (a 5xx, a timeout, a rate limit): an incident opens only after
    `failure_threshold` in a row, and the probe is retried."""
    structural: bool = False
    """A fact about the account, not weather: an incident opens at once."""
    account_level: bool = False
    """About the whole account (key, quota, billing): its incident mutes the account's
    other messages."""
    dependent: bool = False
    """Says only that the check it reads evidence from failed: that check's own incident
    speaks for it, so this one opens, updates and resolves nothing."""
    billed: bool = False
    """A paid probe answered with this reason was charged. Failures that are not billed are
    probed often, so that a fix on the OpenAI side is seen within minutes."""


_P, _W, _F, _U, _S = Status.PASS, Status.WARN, Status.FAIL, Status.UNKNOWN, Status.SKIPPED

_ALL = [
    # passes
    Reason("listed", _P, "Model listed by GET /v1/models"),
    Reason("snapshot_available", _P, "Pinned snapshot available"),
    Reason("ok", _P, "Generation works — a real image came back", billed=True),
    Reason("headroom_ok", _P, "Rate limits leave enough headroom"),
    Reason("price_unchanged", _P, "Published prices match the baseline"),
    # model listing and snapshots
    Reason(
        "not_listed",
        _F,
        "Model not listed for this account",
        "Check the project's allowed models and the organization's access to the model.",
        structural=True,
    ),
    Reason(
        "new_snapshot",
        _W,
        "A new dated snapshot of the model is listed",
        "The alias may roll to it; test it and decide whether to pin it.",
    ),
    Reason(
        "snapshot_missing",
        _F,
        "Pinned snapshot is gone",
        "Move the pin to an available snapshot before traffic fails.",
        structural=True,
    ),
    Reason(
        "new_model",
        _W,
        "A GPT image model no account watches became available",
        "Decide whether to try it: add it to an account's models to probe it, or ignore this "
        "warning (it is given once).",
    ),
    Reason(
        "shutdown_scheduled",
        _W,
        "Pinned snapshot has a shutdown date",
        "Plan the move to a newer snapshot before the shutdown date.",
    ),
    # generation and account-level errors
    Reason(
        "org_verification_required",
        _F,
        "Organization not verified — generation refused with 403",
        "Verify the organization at https://platform.openai.com/settings/organization/general; "
        "access can take up to 15 minutes to propagate.",
        structural=True,
    ),
    Reason(
        "project_model_not_allowed",
        _F,
        "Project's allowed models exclude this model — generation refused with 403",
        "Add the model to the project's allowed models in the project settings.",
        structural=True,
    ),
    Reason(
        "region_blocked",
        _F,
        "Requests refused from this country, region or territory",
        "Call the API from a supported region.",
        structural=True,
    ),
    Reason(
        "permission_denied",
        _F,
        "Permission denied (403)",
        "Check the key's permissions and the project's settings.",
    ),
    Reason(
        "model_not_found",
        _F,
        "Model does not exist or this account has no access to it",
        "Check the model id and the organization's access.",
        structural=True,
    ),
    Reason(
        "invalid_api_key",
        _F,
        "API key rejected (401)",
        "Replace the key in the environment variable the config names.",
        structural=True,
        account_level=True,
    ),
    Reason(
        "insufficient_quota",
        _F,
        "Out of quota — requests refused with 429",
        "Add credit or raise the usage limit under Billing; retrying does not help.",
        structural=True,
        account_level=True,
    ),
    Reason(
        "billing_hard_limit",
        _F,
        "Billing hard limit reached",
        "Raise the hard limit under Billing.",
        structural=True,
        account_level=True,
    ),
    Reason(
        "billing_not_active",
        _F,
        "Billing not active — requests refused, often with 429",
        "Set up or renew billing (a payment method or prepaid credit) under Settings → Billing; "
        "the answer looks like a rate limit but waiting never helps.",
        structural=True,
        account_level=True,
    ),
    Reason(
        "key_scope_missing",
        _F,
        "API key lacks a permission the probe needs (401 Missing scopes)",
        "Give the key the scope the details name. For the image probes a restricted key needs "
        "Write on Model capabilities → Images (the /v1/images endpoints, scope model.request), "
        "set under API keys; or use a key with All permissions. Also check the member's role "
        "in the organization and project.",
        structural=True,
    ),
    Reason(
        "credits_exhausted",
        _F,
        "Gateway credits exhausted (402)",
        "Add credits at the gateway (e.g. OpenRouter's settings → credits); retrying does not "
        "help.",
        structural=True,
        account_level=True,
    ),
    Reason(
        "deployment_not_found",
        _F,
        "Azure deployment not found (404 DeploymentNotFound)",
        "Check the deployment name in the config (a deployment name, not the model or resource "
        "name); a deployment created in the last 5 minutes may not answer yet.",
        structural=True,
    ),
    Reason(
        "rate_limited",
        _W,
        "Rate limited (429) — transient",
        "Wait; probes back off.",
        transient=True,
    ),
    Reason(
        "moderation_blocked",
        _U,
        "Probe prompt refused by the safety system",
        "Report it: the probe prompt needs changing.",
    ),
    Reason(
        "invalid_request",
        _U,
        "Probe request refused as invalid (400)",
        "The API contract may have changed; see the message in the details.",
    ),
    Reason(
        "server_error",
        _U,
        "OpenAI server error (5xx) — could not tell",
        "Usually transient; see status.openai.com.",
        transient=True,
    ),
    Reason("timeout", _U, "No answer in time — could not tell", transient=True),
    Reason(
        "network_error",
        _U,
        "Network error — could not tell",
        "Check DNS, proxy and egress from the monitor.",
        transient=True,
    ),
    Reason(
        "unexpected_response",
        _U,
        "Unexpected answer (not the OpenAI contract)",
        "A proxy or gateway may be in the way; see the evidence.",
    ),
    Reason(
        "monitor_error",
        _U,
        "The monitor itself failed on this probe — see the details",
        "A fault in imagewatch, not an answer from the API: report it with the details.",
    ),
    # capabilities: the doors beyond a plain generation (a refusal is a fact, not weather)
    Reason(
        "transparency_unsupported",
        _F,
        "Transparent background refused, or the image came back opaque",
        "Use a model whose transparent backgrounds work on this account (the GPT image "
        "models' support varies; gpt-image-2's is a preview), or cut the background out "
        "after generation.",
        structural=True,
    ),
    Reason(
        "streaming_unsupported",
        _F,
        "Streaming image generation refused (stream=true)",
        "Generate without streaming (no partial previews), or use a model and account that "
        "stream; an unverified organization is told so by its own reason.",
        structural=True,
    ),
    Reason(
        "responses_tool_unsupported",
        _F,
        "The Responses API refused the image_generation tool for this mainline model",
        "Set responses_model to a mainline model that takes the image_generation tool "
        "(gpt-5, gpt-4.1…), or call the Images API directly.",
        structural=True,
    ),
    Reason(
        "tool_image_model_refused",
        _F,
        "The image_generation tool refused the image model",
        "Check the tool's model (it goes in the tool, not in the request's `model`) and "
        "the organization's access to it; OpenAI has answered this during incidents too.",
    ),
    Reason(
        "tool_transparency_unsupported",
        _F,
        "Transparent background refused through the Responses image tool",
        "Ask for an opaque background through the tool, or generate transparent images "
        "with the Images API where the model supports it.",
        structural=True,
    ),
    # rate limits
    Reason(
        "headroom_low",
        _W,
        "Little rate-limit headroom left",
        "Other traffic is close to the limit; raise the tier or spread the load.",
    ),
    Reason(
        "limit_decreased",
        _W,
        "Rate limit lower than last seen",
        "Check the project's rate limits and the organization's tier.",
    ),
    Reason(
        "below_required",
        _F,
        "Images-per-minute limit below the configured need",
        "Raise the usage tier or the project's limit.",
        structural=True,
    ),
    Reason(
        "rate_limit_unavailable",
        _U,
        "No rate-limit information available",
        "Set admin_key_env for the Admin API, or let a generation probe record headers.",
    ),
    Reason(
        "generation_failed",
        _U,
        "No rate-limit headers because generation failed",
        "Fix what generation reports; its headers then tell the limits.",
        dependent=True,
    ),
    # pricing
    Reason(
        "price_changed",
        _F,
        "Published price differs from the baseline",
        "Review the new price and update the baseline once budgets are adjusted.",
        structural=True,
    ),
    Reason(
        "token_usage_drift",
        _W,
        "Observed output tokens differ from the expected count",
        "The size or quality may be billed differently than expected.",
    ),
    Reason("model_unpriced", _W, "Model not found in the price source"),
    Reason(
        "price_source_unavailable",
        _U,
        "Price source could not be read",
        "Check the pricing source URL or file.",
    ),
    # real traffic and spend (the Admin API's Usage and Costs endpoints)
    Reason("traffic_ok", _P, "Real traffic stays below the images-per-minute limit"),
    Reason(
        "traffic_near_limit",
        _W,
        "Real traffic came near the images-per-minute limit",
        "Raise the tier or the project's limit, or spread the load, before minutes hit it.",
    ),
    Reason(
        "traffic_at_limit",
        _F,
        "Real traffic reached the images-per-minute limit in the last hour",
        "Requests beyond the limit were refused with 429: raise the tier or the project's "
        "limit, or queue the load.",
    ),
    Reason(
        "usage_unavailable",
        _U,
        "The Admin API's usage or costs could not be read",
        "Check the admin key (admin_key_env: an Admin key with read access to usage) and the "
        "project id; see the details for the answer.",
    ),
    Reason("spend_ok", _P, "Image spend as usual, within budget and billed as priced"),
    Reason(
        "spend_jump",
        _W,
        "Today's image spend jumped above the recent days' level",
        "Look for a runaway job or a new caller (usage by API key shows who).",
    ),
    Reason(
        "billing_drift",
        _W,
        "Billed cost per image differs from the published price",
        "The price may have changed before the price lists say so, or the traffic's quality "
        "differs from the one assumed (traffic_quality); compare with the invoice.",
    ),
    Reason(
        "spend_over_budget",
        _F,
        "This month's image spend is forecast above the monthly budget",
        "Raise monthly_budget_usd, or slow the traffic before the month ends.",
    ),
    # scheduling
    Reason(
        "budget_exhausted",
        _S,
        "Skipped: the account's daily probe budget is spent",
        "Raise daily_probe_budget_usd or lower the paid probe's cadence.",
    ),
]

REASONS: dict[str, Reason] = {reason.code: reason for reason in _ALL}


def reason(code: str) -> Reason:
    return REASONS[code]


def words(code: str) -> str:
    known = REASONS.get(code)
    return known.words if known else code.replace("_", " ")


def is_structural(code: str) -> bool:
    """A stored code may predate this table: an unknown code is not a fact about anything."""
    known = REASONS.get(code)
    return known is not None and known.structural


def is_account_level(code: str) -> bool:
    known = REASONS.get(code)
    return known is not None and known.account_level


def is_dependent(code: str) -> bool:
    known = REASONS.get(code)
    return known is not None and known.dependent
