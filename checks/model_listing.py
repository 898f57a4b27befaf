"""`model_listing`: is the model listed for this account, and has a new snapshot appeared?"""

from __future__ import annotations

import re
from typing import ClassVar

from checks.base import Account, FreeCheck, Outcome, ProbeContext
from checks.generation import Generation
from checks.http import call, failure_outcome, unexpected
from checks.images import family
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
    was absent from the previous listing). Account errors
    (bad key, quota…) map through the shared classifier. Costs nothing.
    """

    name: ClassVar[str] = "model_listing"
    confirms_with: ClassVar[str | None] = Generation.name
    settings_type: ClassVar[type[CheckSettings]] = ModelListingSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.models

    async def run(self, ctx: ProbeContext) -> Outcome:
        answer = await call(ctx, "GET", "models")
        what = "GET /v1/models"
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
        details = {
            "listed": ctx.model in ids,
            "models_total": len(ids),
            "family_snapshots": snapshots,
            "headers": answer.meta.as_dict(),
        }
        if ctx.model not in ids:
            return answer.outcome(
                "not_listed", f"{ctx.model} is not among the {len(ids)} models listed", details
            )
        if new:
            details["new_snapshots"] = new
            return answer.outcome(
                "new_snapshot",
                f"{ctx.model} listed; new snapshot {', '.join(new)} is not pinned",
                details,
            )
        return answer.outcome("listed", f"{ctx.model} listed", details)
