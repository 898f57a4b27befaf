"""One round of probes: the same code under `imagewatch check`, the daemon and the demo.

Accounts run concurrently under one bound; within an account the free evidence and the paid
probe go first, then `rate_limits` and `pricing`, which read what those probes recorded.
Each result is stored the moment it finishes, so a crash mid-round loses nothing done.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from checks.base import Clock, Evidence, Outcome, ProbeContext, Sleep, Status, Verdict
from checks.reasons import REASONS
from monitor.config import LoadedConfig
from monitor.plan import Probe, settings_for
from monitor.redact import Redactor
from monitor.store import ProbeResult, Store, StoreError
from monitor.transport import ShardedTransport

ProgressCallback = Callable[[Probe, ProbeResult | None], None]
"""Called with (probe, None) when a probe starts and (probe, result) when it ends."""
SettingsFor = Callable[[Probe], Mapping[str, Any]]
"""What a probe runs with; by default its check's section (`plan.settings_for`)."""


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
        request_id=redactor.text(outcome.request_id)[:200] if outcome.request_id else None,
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
        *,
        settings: SettingsFor | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.loaded = loaded
        self.client = client
        self.clock = clock
        self.store = store
        self.progress = progress
        self.sleep = sleep or asyncio.sleep
        self.settings = settings or (
            lambda probe: settings_for(loaded, probe.check, probe.model, probe.account)
        )
        self.redactor = Redactor(loaded.secrets)
        self.shared: dict[str, Any] = {}
        # What each probe of this round recorded, for the checks that read it.
        self.recorded: dict[str, dict[str, Any]] = {}
        self.results: dict[int, ProbeResult] = {}
        self.gate = asyncio.Semaphore(loaded.config.monitor.concurrency)
        # Once set (Ctrl-C), no probe starts; those started finish and are stored.
        self.stop = stop

    async def run(self, probes: Sequence[Probe]) -> list[ProbeResult]:
        """Results in the order of `probes`, whatever order they finished in; without
        those `stop` kept from starting."""
        by_account: dict[str, list[tuple[int, Probe]]] = {}
        for index, probe in enumerate(probes):
            by_account.setdefault(probe.account.name, []).append((index, probe))
        await asyncio.gather(*(self._account(group) for group in by_account.values()))
        return [self.results[i] for i in sorted(self.results)]

    async def _account(self, probes: list[tuple[int, Probe]]) -> None:
        later = [(i, p) for i, p in probes if p.kind.reads_evidence is not None]
        first = [(i, p) for i, p in probes if p.kind.reads_evidence is None]
        await asyncio.gather(*(self._probe(i, p) for i, p in first))
        await asyncio.gather(*(self._probe(i, p) for i, p in later))

    def _evidence(self, probe: Probe) -> Evidence:
        source = probe.kind.reads_evidence
        recorded = None
        if source is not None:
            recorded = self.recorded.get(Probe(probe.account, source, probe.model).key)
        if self.store is None:
            return Evidence(generation=recorded)
        previous = evidence_of(self.store.latest(probe.account.name, probe.check, probe.model))
        if source is None:
            return Evidence(previous=previous)
        if recorded is None:
            recorded = evidence_of(self.store.latest(probe.account.name, source, probe.model))
        return Evidence(generation=recorded, previous=previous)

    def _over_budget(self, probe: Probe, ctx: ProbeContext) -> Outcome | None:
        """A paid probe that would take the account past its daily budget is not sent."""
        if not probe.kind.paid or self.store is None:
            return None
        budget = self.loaded.budget(probe.account.name)
        estimate = probe.kind.expected_cost(probe.model, ctx.settings) or Decimal(0)
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
        check = probe.kind
        ctx = ProbeContext(
            client=self.client,
            account=probe.account,
            model=probe.model,
            settings=self.settings(probe),
            clock=self.clock,
            evidence=self._evidence(probe),
            shared=self.shared,
            sleep=self.sleep,
        )
        async with self.gate:
            if self.stop is not None and self.stop.is_set():
                return
            if self.progress:
                self.progress(probe, None)
            started = self.clock.now()
            try:
                outcome = self._over_budget(probe, ctx) or charged(probe, ctx, await check.run(ctx))
            except StoreError:
                raise  # the store is down: no probe can be recorded, the caller says so
            except Exception as exc:  # a bug or a hostile answer must not sink the round
                outcome = charged(probe, ctx, monitor_error(exc))
            finished = self.clock.now()
        row = to_row(probe, outcome, started, finished, self.redactor)
        self.recorded[probe.key] = evidence_of(row) or {}
        if self.store is not None:
            self.store.add_result(row)
        self.results[index] = row
        if self.progress:
            self.progress(probe, row)


def monitor_error(exc: Exception) -> Outcome:
    """The monitor itself failed on this probe: recorded, never raised. The message is
    one line; the redactor cleans it further on the way to the store."""
    reason = REASONS["monitor_error"]
    message = " ".join(str(exc).split())[:300]
    return Outcome(
        reason.status,
        reason.code,
        f"monitor error: {type(exc).__name__}: {message}",
        {"exception": type(exc).__name__, "message": message},
    )


def charged(probe: Probe, ctx: ProbeContext, outcome: Outcome) -> Outcome:
    """A paid request that was sent counts against the budget at least at its expected
    cost, unless the answer proves it was refused unbilled (an HTTP error answer). An answer
    without `usage` is not free: counting it as $0 let a $0.002 budget send four probes."""
    if not probe.kind.paid or outcome.cost_usd is not None:
        return outcome
    if outcome.status == Status.SKIPPED:
        return outcome  # never sent
    if outcome.http_status is not None and outcome.http_status >= 400:
        return outcome
    expected = probe.kind.expected_cost(probe.model, ctx.settings)
    if expected is None:
        return outcome
    return dataclasses.replace(outcome, cost_usd=float(expected)).with_details(cost_estimated=True)


async def run_once(
    loaded: LoadedConfig,
    probes: Sequence[Probe],
    *,
    clock: Clock,
    store: Store | None = None,
    client: httpx.AsyncClient | None = None,
    progress: ProgressCallback | None = None,
    sleep: Sleep | None = None,
    stop: asyncio.Event | None = None,
) -> list[ProbeResult]:
    if client is not None:
        return await Round(loaded, client, clock, store, progress, sleep, stop=stop).run(probes)
    async with make_client(loaded) as owned:
        return await Round(loaded, owned, clock, store, progress, sleep, stop=stop).run(probes)


def exit_code(results: Sequence[ProbeResult]) -> int:
    """0 ready (pass/warn), 1 not ready (any fail), 3 inconclusive (unknowns, or a probe
    skipped for budget: what was not asked was not proven)."""
    return Verdict.of(r.status for r in results).exit_code
