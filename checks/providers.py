"""Which check each kind of account can answer: the one table of per-provider decisions
(README, Providers, shows the same table to users; a test keeps the two in step).

    check           openai              azure                          openai-compatible
    model_listing   GET /v1/models      GET /openai/models?api-version GET {base_url}/models
                                        (versions, retirement)
    snapshot        GET /v1/models/{id} model_version in the model     skipped (ids are the
                                        list: retirement date          gateway's aliases)
    generation      POST images/…       deployment or v1 route         POST {base_url}/images/…
    edit            POST images/edits   deployment or v1 route         as OpenAI
    transparency    as generation       as generation                  as generation
    streaming       as generation       as generation                  as generation
    responses_tool  POST /v1/responses  skipped (needs Azure's image   as OpenAI
                                        deployment header)
    rate_limits     headers + Admin API skipped (remaining counts      headers it passes on
                                        only, no limits)
    pricing         LiteLLM gpt-image-… LiteLLM azure/…, own baseline  model_unpriced unless
                                                                       price_source is given
    usage, spend    Admin API           skipped (no Admin API)         skipped (no Admin API)

A check the provider cannot answer is not planned for the account in a round (it would hold
the account inconclusive forever for a question it cannot be asked); when the account asks
for it all the same (a pinned snapshot, a listed capability) or it is asked for by name, it
reports `skipped: not_supported_by_provider`, never a failure.
"""

from __future__ import annotations

from checks.base import AZURE, GATEWAY, Account, Check, Outcome
from checks.rate_limits import RateLimits
from checks.reasons import REASONS
from checks.responses_tool import ResponsesTool
from checks.snapshot import Snapshot
from checks.spend import Spend
from checks.usage import Usage

_NO_ADMIN = "the OpenAI Admin API is not behind it"
UNSUPPORTED: dict[tuple[str, str], str] = {
    (Snapshot.name, GATEWAY): "a gateway's model ids are its own aliases, not OpenAI's dated "
    "snapshots",
    (ResponsesTool.name, AZURE): "Azure's Responses image tool needs the image deployment "
    "named in its own header, which this probe does not send",
    (RateLimits.name, AZURE): "Azure answers carry only remaining counts, no limits; the "
    "deployment's quota lives in the control plane",
    (Usage.name, AZURE): _NO_ADMIN,
    (Usage.name, GATEWAY): _NO_ADMIN,
    (Spend.name, AZURE): _NO_ADMIN,
    (Spend.name, GATEWAY): _NO_ADMIN,
}
"""(check name, provider) → why the provider cannot answer it. Absent: supported."""


def unsupported_why(check: str, provider: str) -> str | None:
    return UNSUPPORTED.get((check, provider))


def planned_for(check: Check, account: Account) -> bool:
    """Whether a round plans `check` for the account unasked: supported, or asked for by the
    account's own config (a pinned snapshot, a listed capability), so that the pin is seen
    not to be watched."""
    if unsupported_why(check.name, account.provider) is None:
        return True
    return check.opt_in or check.name == Snapshot.name


def not_supported(check: Check, account: Account) -> Outcome | None:
    """The outcome of a probe the provider cannot answer; None when it can."""
    why = unsupported_why(check.name, account.provider)
    if why is None:
        return None
    reason = REASONS["not_supported_by_provider"]
    return Outcome(
        reason.status,
        reason.code,
        f"{check.name} is not supported for provider {account.provider}: {why}",
        {"provider": account.provider, "why": why},
    )
