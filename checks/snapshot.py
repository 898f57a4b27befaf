"""`snapshot`: is the pinned, dated snapshot still there, and is a shutdown announced?"""

from __future__ import annotations

from typing import ClassVar

from checks.azure_models import judge_azure_snapshot
from checks.base import AZURE, Account, FreeCheck, Outcome, ProbeContext
from checks.generation import Generation
from checks.http import call, failure_outcome, unexpected
from checks.reasons import REASONS
from checks.settings import CheckSettings, SnapshotSettings


class Snapshot(FreeCheck):
    """Calls GET /v1/models/{snapshot} (free), for each snapshot the account pins.

    Passes `snapshot_available` when the model object comes back. Fails `snapshot_missing`
    on 404. Warns `shutdown_scheduled` when the object carries a `shutdown_date`.
    Account errors map through the shared classifier. Costs nothing.

    For an Azure account the pinned snapshot is the deployment's `model_version`, read from
    the resource's model list (`checks.azure_models`): retiring within
    `retirement_warn_days` warns `shutdown_scheduled`.
    """

    name: ClassVar[str] = "snapshot"
    confirms_with: ClassVar[str | None] = Generation.name
    settings_type: ClassVar[type[CheckSettings]] = SnapshotSettings

    def targets(self, account: Account) -> tuple[str, ...]:
        return account.snapshots

    async def run(self, ctx: ProbeContext) -> Outcome:
        if ctx.account.provider == AZURE:
            answer = await call(ctx, "GET", "models")
            return judge_azure_snapshot(ctx, answer, ctx.account.called("GET", "models"))
        what = ctx.account.called("GET", f"models/{ctx.model}")
        answer = await call(ctx, "GET", f"models/{ctx.model}")
        if answer.http_status == 404:
            error = answer.error()
            if error is not None and not error.well_formed:
                return failure_outcome(answer, what)  # a proxy's 404 page says nothing of models
            return failure_outcome(answer, what, REASONS["snapshot_missing"])
        if not answer.ok:
            return failure_outcome(answer, what)
        payload = answer.json()
        if not isinstance(payload, dict) or payload.get("id") != ctx.model:
            return unexpected(answer, what, "answer is not the requested model object")
        shutdown = payload.get("shutdown_date")
        details = {
            "model": {k: payload.get(k) for k in ("id", "created", "owned_by", "shutdown_date")},
            "headers": answer.meta.as_dict(),
        }
        if shutdown:
            return answer.outcome(
                "shutdown_scheduled",
                f"{ctx.model} available; shutdown scheduled for {str(shutdown)[:40]}",
                details,
            )
        return answer.outcome("snapshot_available", f"{ctx.model} available", details)
