"""Runs a launch's probes through the runner's Round, the one probe path (its crash guard,
its budget guard, its storage), and judges the account's requirements from the results."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

import httpx

from checks.base import Account, Clock
from checks.usage import Usage
from monitor.config import LoadedConfig
from monitor.plan import Probe
from monitor.readiness.plan import PlannedProbe, label, launch_account, probe_settings
from monitor.readiness.profile import LaunchProfile
from monitor.readiness.report import AccountReport
from monitor.readiness.requirements import requirements, verdict
from monitor.runner import Round
from monitor.store import ProbeResult, Store

RECENT_INCIDENTS = 20


class Readiness:
    """One launch profile, checked account by account."""

    def __init__(
        self,
        loaded: LoadedConfig,
        profile: LaunchProfile,
        store: Store,
        client: httpx.AsyncClient,
        clock: Clock,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.loaded, self.profile, self.store = loaded, profile, store
        self.client, self.clock = client, clock
        self.stop = stop  # once set (Ctrl-C), no probe starts

    async def account(self, account: Account, planned: Sequence[PlannedProbe]) -> AccountReport:
        """Send the account's allowed probes, then judge every requirement."""
        launch = launch_account(account, self.profile)
        sent = [Probe(launch, p.check, p.model) for p in planned if p.allowed]
        rows = await self.run([p for p in sent if not p.kind.opt_in])
        # The capability probes follow, one at a time, as they always have: on an account
        # near its images-per-minute limit, which image is refused must not depend on timing.
        for probe in sent:
            if probe.kind.opt_in:
                rows += await self.run([probe])
        results = {row.check: row for row in rows}
        # The account's real traffic, as the daemon's usage check last read it (readiness
        # does not read it itself: the check reads on from where its last read ended).
        traffic = self.store.latest(account.name, Usage.name, self.profile.model)
        if traffic is not None:
            results.setdefault(Usage.name, traffic)
        judged = requirements(
            self.profile, results, self.store.incidents(account.name, RECENT_INCIDENTS)
        )
        probes = [
            {
                "probe": label(r.check),
                "reason": r.reason,
                "request_id": r.request_id,
                "cost_usd": r.cost_usd,
            }
            for r in rows
        ]
        spent = sum(r.cost_usd or 0.0 for r in rows)
        return AccountReport(account.name, verdict(judged), judged, spent, probes)

    async def run(self, probes: Sequence[Probe]) -> list[ProbeResult]:
        """One round of `probes`, with the settings the plan priced them with."""
        settings = functools.partial(probe_settings, self.loaded)
        return await Round(
            self.loaded, self.client, self.clock, self.store, settings=settings, stop=self.stop
        ).run(probes)
