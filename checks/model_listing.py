"""`model_listing`: is the model listed for this account, and has a new snapshot or a new GPT
image model appeared?"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from checks.azure_models import judge_azure_listing
from checks.base import AZURE, Account, FreeCheck, Outcome, ProbeContext
from checks.generation import Generation
from checks.http import call, failure_outcome, unexpected
from checks.images import family
from checks.prices import format_price, from_litellm
from checks.pricing import PriceSourceError, find_entry, load_source
from checks.settings import CheckSettings, ModelListingSettings

_DATED = re.compile(r"^(?P<family>.+)-(?P<date>\d{4}-\d{2}-\d{2})$")


def listed_ids(payload: object) -> list[str] | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return None
    return [
        item["id"]
        for item in payload["data"]
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


class ModelListing(FreeCheck):
    """Calls GET /v1/models (free).

    Passes `listed` when the model id is in the list. Fails `not_listed` when it is not.
    Warns `new_snapshot` when a dated id of the model's family is listed that the account
    does not pin in `snapshots` and that is newer than every pinned one (with no pins: that
    was absent from the previous listing). Warns `new_model` once when a GPT image model
    (`gpt-image-*`) of a family no account watches (setting `watched_models`, else the
    account's models) appears that the previous listing did not show, with its published
    prices when the price source (setting `price_source`) has them. Account errors (bad key,
    quota…) map through the shared classifier. Costs nothing.

    For an Azure account it reads the data-plane model list instead and watches the
    deployment's model version (`checks.azure_models`).
    """

    name: ClassVar[str] = "model_listing"
    confirms_with: ClassVar[str | None] = Generation.name
    settings_type: ClassVar[type[CheckSettings]] = ModelListingSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    async def run(self, ctx: ProbeContext) -> Outcome:
        answer = await call(ctx, "GET", "models")
        if ctx.account.provider == AZURE:
            return judge_azure_listing(ctx, answer, ctx.account.called("GET", "models"))
        what = ctx.account.called("GET", "models")
        if not answer.ok:
            return failure_outcome(answer, what)
        ids = listed_ids(answer.json())
        if ids is None:
            return unexpected(answer, what, "answer is not a model list")
        base = family(ctx.model)
        snapshots = sorted(
            model_id
            for model_id in set(ids)
            if (match := _DATED.match(model_id)) and match.group("family") == base
        )
        pinned = [s for s in ctx.account.snapshots if family(s) == base]
        seen_before = (ctx.evidence.previous or {}).get("family_snapshots")
        if pinned:
            newest_pinned = max(pinned)
            new = [s for s in snapshots if s not in pinned and s > newest_pinned]
        elif isinstance(seen_before, list):
            # Nothing pinned: only a snapshot that appeared since the last listing is news.
            new = [s for s in snapshots if s not in seen_before]
        else:
            new = []
        image_models = sorted({model_id for model_id in ids if model_id.startswith("gpt-image-")})
        details: dict[str, Any] = {
            "listed": ctx.model in ids,
            "models_total": len(ids),
            "family_snapshots": snapshots,
            "gpt_image_models": image_models,
            "headers": answer.meta.as_dict(),
        }
        if ctx.model not in ids:
            return answer.outcome(
                "not_listed", f"{ctx.model} is not among the {len(ids)} models listed", details
            )
        unwatched = appeared_unwatched(ctx, image_models)
        if unwatched:
            details["new_models"] = unwatched
            details.update(await published_prices(ctx, unwatched))
        if new:
            details["new_snapshots"] = new
            return answer.outcome(
                "new_snapshot",
                f"{ctx.model} listed; new snapshot {', '.join(new)} is not pinned",
                details,
            )
        if unwatched:
            return answer.outcome(
                "new_model",
                f"{ctx.model} listed; new GPT image model {', '.join(unwatched)} is available "
                "and no account watches it",
                details,
            )
        return answer.outcome("listed", f"{ctx.model} listed", details)


def appeared_unwatched(ctx: ProbeContext, image_models: list[str]) -> list[str]:
    """GPT image models of a family no account watches that the previous listing did not
    show: said once, then remembered (no previous listing: nothing is news yet)."""
    seen_before = (ctx.evidence.previous or {}).get("gpt_image_models")
    if not isinstance(seen_before, list):
        return []
    watched = ctx.settings.get("watched_models") or (*ctx.account.models, *ctx.account.snapshots)
    families = {family(str(model)) for model in watched}
    return [m for m in image_models if family(m) not in families and m not in seen_before]


async def published_prices(ctx: ProbeContext, models: list[str]) -> dict[str, Any]:
    """The new models' published prices (USD per 1M tokens) from the round's price source."""
    try:
        document = await load_source(ctx, str(ctx.settings.get("price_source", "litellm")))
    except PriceSourceError as exc:
        return {"price_source_error": str(exc)[:300]}
    prices = {}
    for model in models:
        found = find_entry(document, model)
        table = from_litellm(found[1]) if found else {}
        if table:
            prices[model] = {k: format_price(v) for k, v in sorted(table.items())}
    return {"new_model_prices": prices} if prices else {}
