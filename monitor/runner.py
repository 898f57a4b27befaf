"""One round of probes: the same code under `imagewatch check`, the daemon and the demo.

Accounts run concurrently under one bound; within an account the free evidence and the paid
probe go first, then `rate_limits` and `pricing`, which read what those probes recorded.
Each result is stored the moment it finishes, so a crash mid-round loses nothing done.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from checks import REGISTRY
from checks.base import Account, Clock, Evidence, Outcome, ProbeContext, Sleep, Status
from checks.generation import estimated_cost
from checks.reasons import REASONS
from monitor.config import LoadedConfig
from monitor.redact import Redactor
from monitor.store import ProbeResult, Store
from monitor.transport import ShardedTransport

# Checks that read other probes' evidence run after them.
LATER = ("rate_limits", "pricing")


@dataclasses.dataclass(frozen=True)
class Probe:
    account: Account
    check: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.account.name} · {self.check} · {self.model}"


ProgressCallback = Callable[[Probe, ProbeResult | None], None]
"""Called with (probe, None) when a probe starts and (probe, result) when it ends."""


def plan(
    loaded: LoadedConfig,
    accounts: Sequence[str] = (),
    checks: Sequence[str] = (),
    models: Sequence[str] = (),
) -> list[Probe]:
    """Every (account, check, model) the selection asks for, in round order."""
    selected = [loaded.account(name) for name in accounts] if accounts else loaded.accounts
    probes = []
    for account in selected:
        for name, check in REGISTRY.items():
            if checks and name not in checks:
                continue
            if not checks and not loaded.config.check_settings(name).enabled:
                continue
            for model in check.targets(account):
                if models and model not in models:
                    continue
                probes.append(Probe(account, name, model))
    return probes


def settings_for(loaded: LoadedConfig, check: str, model: str) -> dict[str, Any]:
    settings: dict[str, Any] = loaded.config.check_settings(check).model_dump()
    if check == "generation":
        settings["prices"] = loaded.config.baseline(model)
    if check == "pricing":
        settings["baseline"] = {model: loaded.config.baseline(model)}
    return settings


def make_client(loaded: LoadedConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=loaded.config.monitor.request_timeout,
        transport=ShardedTransport(loaded.config.monitor.concurrency),
        headers={"User-Agent": "imagewatch/0.1"},
        follow_redirects=False,
    )


def to_row(
    probe: Probe, outcome: Outcome, started: datetime, finished: datetime, redactor: Redactor
) -> ProbeResult:
    return ProbeResult(
        account=probe.account.name,
        check=probe.check,
        model=probe.model,
        status=str(outcome.status),
        reason=outcome.reason,
        summary=redactor.text(outcome.summary)[:1000],
        http_status=outcome.http_status,
        request_id=outcome.request_id,
        latency_ms=outcome.latency_ms,
        cost_usd=outcome.cost_usd,
        details=redactor.value(outcome.details),
        started_at=started,
        finished_at=finished,
    )


def evidence_of(row: ProbeResult | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {**(row.details or {}), "finished_at": row.finished_at.isoformat()}


class Round:
    def __init__(
        self,
        loaded: LoadedConfig,
        client: httpx.AsyncClient,
        clock: Clock,
        store: Store | None = None,
        progress: ProgressCallback | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.loaded = loaded
        self.client = client
        self.clock = clock
        self.store = store
        self.progress = progress
        self.sleep = sleep or asyncio.sleep
        self.redactor = Redactor(loaded.secrets)
        self.shared: dict[str, Any] = {}
        self.generation: dict[tuple[str, str], dict[str, Any]] = {}
        self.results: dict[int, ProbeResult] = {}
        self.gate = asyncio.Semaphore(loaded.config.monitor.concurrency)

    async def run(self, probes: Sequence[Probe]) -> list[ProbeResult]:
        """Results in the order of `probes`, whatever order they finished in."""
        by_account: dict[str, list[tuple[int, Probe]]] = {}
        for index, probe in enumerate(probes):
            by_account.setdefault(probe.account.name, []).append((index, probe))
        await asyncio.gather(*(self._account(group) for group in by_account.values()))
        return [self.results[i] for i in sorted(self.results)]

    async def _account(self, probes: list[tuple[int, Probe]]) -> None:
        first = [(i, p) for i, p in probes if p.check not in LATER]
        later = [(i, p) for i, p in probes if p.check in LATER]
        await asyncio.gather(*(self._probe(i, p) for i, p in first))
        await asyncio.gather(*(self._probe(i, p) for i, p in later))

    def _evidence(self, probe: Probe) -> Evidence:
        if self.store is None:
            return Evidence(generation=self.generation.get((probe.account.name, probe.model)))
        previous = evidence_of(self.store.latest(probe.account.name, probe.check, probe.model))
        if probe.check not in LATER:
            return Evidence(previous=previous)
        generation = self.generation.get((probe.account.name, probe.model))
        if generation is None:
            generation = evidence_of(
                self.store.latest(probe.account.name, "generation", probe.model)
            )
        return Evidence(generation=generation, previous=previous)

    def _over_budget(self, probe: Probe, ctx: ProbeContext) -> Outcome | None:
        """A paid probe that would take the account past its daily budget is not sent."""
        if not REGISTRY[probe.check].paid or self.store is None:
            return None
        budget = self.loaded.budget(probe.account.name)
        estimate = estimated_cost(
            probe.model, str(ctx.settings.get("quality", "low")), ctx.settings.get("prices")
        ) or Decimal(0)
        spent = Decimal(str(self.store.spend(probe.account.name, self.clock.now().date())))
        if spent + estimate <= budget:
            return None
        reason = REASONS["budget_exhausted"]
        return Outcome(
            reason.status,
            reason.code,
            f"Daily probe budget ${budget} reached: ${spent:.4f} spent today, this probe "
            f"would cost about ${estimate:.4f}",
            {"budget_usd": str(budget), "spent_usd": str(spent), "estimate_usd": str(estimate)},
        )

    async def _probe(self, index: int, probe: Probe) -> None:
        check = REGISTRY[probe.check]
        ctx = ProbeContext(
            client=self.client,
            account=probe.account,
            model=probe.model,
            settings=settings_for(self.loaded, probe.check, probe.model),
            clock=self.clock,
            evidence=self._evidence(probe),
            shared=self.shared,
            sleep=self.sleep,
        )
        async with self.gate:
            if self.progress:
                self.progress(probe, None)
            started = self.clock.now()
            try:
                outcome = self._over_budget(probe, ctx) or await check.run(ctx)
            except Exception as exc:  # a check bug must not sink the round; it is recorded
                reason = REASONS["unexpected_response"]
                outcome = Outcome(
                    reason.status,
                    reason.code,
                    f"check crashed: {type(exc).__name__}: {exc}"[:300],
                    {"crash": type(exc).__name__},
                )
            finished = self.clock.now()
        row = to_row(probe, outcome, started, finished, self.redactor)
        if probe.check == "generation":
            self.generation[(probe.account.name, probe.model)] = evidence_of(row) or {}
        if self.store is not None:
            self.store.add_result(row)
        self.results[index] = row
        if self.progress:
            self.progress(probe, row)


async def run_once(
    loaded: LoadedConfig,
    probes: Sequence[Probe],
    *,
    clock: Clock,
    store: Store | None = None,
    client: httpx.AsyncClient | None = None,
    progress: ProgressCallback | None = None,
    sleep: Sleep | None = None,
) -> list[ProbeResult]:
    if client is not None:
        return await Round(loaded, client, clock, store, progress, sleep).run(probes)
    async with make_client(loaded) as owned:
        return await Round(loaded, owned, clock, store, progress, sleep).run(probes)


def exit_code(results: Sequence[ProbeResult]) -> int:
    """0 ready (pass/warn), 1 not ready (any fail), 3 inconclusive (unknowns, or a probe
    skipped for budget: what was not asked was not proven)."""
    statuses = {r.status for r in results}
    if Status.FAIL in statuses:
        return 1
    if Status.UNKNOWN in statuses or Status.SKIPPED in statuses:
        return 3
    return 0
