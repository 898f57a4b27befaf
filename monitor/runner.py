"""One round of probes: the same code under `imagewatch check`, the daemon and the demo.

Accounts run concurrently under one bound in all and one per upstream host; within an
account the free evidence and the paid probe go first, then `rate_limits` and `pricing`,
which read what those probes recorded, then `usage`, which reads what `rate_limits` found
(handed over in memory; what earlier rounds recorded is read once, for every pair of the
round, when it starts).

Results are stored in batches, one transaction each: every `FLUSH_ROWS` results, at least
every `FLUSH_SECONDS` while any wait, and always when the round ends, is stopped or fails;
a crash loses at most the last fraction of a second. Per-result transactions were the
round's largest cost at a thousand accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from checks.base import Clock, Evidence, Outcome, ProbeContext, Sleep, Status, Verdict
from checks.providers import not_supported
from checks.reasons import REASONS
from monitor.config import LoadedConfig
from monitor.plan import Probe, evidence_waves, settings_for
from monitor.redact import Redactor
from monitor.store import ProbeResult, Store, StoreError
from monitor.transport import Gates, ShardedTransport

ProgressCallback = Callable[[Probe, ProbeResult | None], None]
"""Called with (probe, None) when a probe starts and (probe, result) when it ends."""
SettingsFor = Callable[[Probe], Mapping[str, Any]]
"""What a probe runs with; by default its check's section (`plan.settings_for`)."""
Pair = tuple[str, str, str]

FLUSH_ROWS = 250
FLUSH_SECONDS = 0.5


def make_gates(loaded: LoadedConfig) -> Gates:
    monitor = loaded.config.monitor
    return Gates(monitor.concurrency, monitor.per_host_concurrency)


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
        gates: Gates | None = None,
        redactor: Redactor | None = None,
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
        self.redactor = redactor or Redactor(loaded.secrets)
        self.shared: dict[str, Any] = {}
        # What each probe of this round recorded, for the checks that read it.
        self.recorded: dict[str, dict[str, Any]] = {}
        self.results: dict[int, ProbeResult] = {}
        self.gates = gates or make_gates(loaded)
        # Once set (Ctrl-C), no probe starts; those started finish and are stored.
        self.stop = stop
        # The newest stored result of each pair of the round, read once when it starts.
        self.previous: dict[Pair, ProbeResult] = {}
        self.pending: list[ProbeResult] = []
        self.flushed_at = time.monotonic()
        # Spent per account of the round per day: the store's when first asked, plus this
        # round's. Only the round's accounts: the daemon runs a round per probe, and each
        # held every account's spend (a thousand entries, times the rounds in flight).
        self.spent: dict[date, dict[str, Decimal]] = {}
        self.accounts: list[str] = []

    async def run(self, probes: Sequence[Probe]) -> list[ProbeResult]:
        """Results in the order of `probes`, whatever order they finished in; without
        those `stop` kept from starting."""
        by_account: dict[str, list[tuple[int, Probe]]] = {}
        for index, probe in enumerate(probes):
            by_account.setdefault(probe.account.name, []).append((index, probe))
        self.accounts = list(by_account)
        if self.store is not None:
            self.previous = self.store.latest_for(by_account)
        flusher = asyncio.create_task(self._flush_while_waiting())
        try:
            await asyncio.gather(*(self._account(group) for group in by_account.values()))
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            self.flush()
        return [self.results[i] for i in sorted(self.results)]

    def flush(self) -> None:
        """Store the results not stored yet, in one transaction (StoreError when the
        database fails; they stay pending, for the next flush to try again)."""
        self.flushed_at = time.monotonic()
        if self.store is None or not self.pending:
            return
        self.store.add_results(self.pending)
        self.pending = []

    async def _flush_while_waiting(self) -> None:
        """Results finished while the rest wait on slow answers are stored within
        `FLUSH_SECONDS`; ends when the round cancels it."""
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            if self.pending and time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
                self.flush()

    async def _account(self, probes: list[tuple[int, Probe]]) -> None:
        # each wave reads what the one before recorded
        for wave in evidence_waves(probes, lambda item: item[1].check):
            await asyncio.gather(*(self._probe(i, p) for i, p in wave))

    def _evidence(self, probe: Probe) -> Evidence:
        source = probe.kind.reads_evidence
        recorded = None
        if source is not None:
            recorded = self.recorded.get(Probe(probe.account, source, probe.model).key)
        if self.store is None:
            return Evidence(generation=recorded)
        name = probe.account.name
        previous = evidence_of(self.previous.get((name, probe.check, probe.model)))
        if source is None:
            return Evidence(previous=previous)
        if recorded is None:
            recorded = evidence_of(self.previous.get((name, source, probe.model)))
        return Evidence(generation=recorded, previous=previous)

    def _spent(self, account: str, day: date) -> Decimal:
        """What `account` spent on `day`: the ledger's (read once for the round's accounts), plus
        this round's results not stored yet."""
        assert self.store is not None
        by_account = self.spent.get(day)
        if by_account is None:
            stored = self.store.spend_on(day, self.accounts)
            by_account = self.spent[day] = {a: Decimal(str(usd)) for a, usd in stored.items()}
            for row in self.pending:
                self._count(by_account, row, day)
        return by_account.get(account, Decimal(0))

    def _count(self, by_account: dict[str, Decimal], row: ProbeResult, day: date) -> None:
        if row.cost_usd and row.finished_at.date() == day:
            by_account[row.account] = by_account.get(row.account, Decimal(0)) + Decimal(
                str(row.cost_usd)
            )

    def _over_budget(self, probe: Probe, ctx: ProbeContext) -> Outcome | None:
        """A paid probe that would take the account past its daily budget is not sent."""
        if not probe.kind.paid or self.store is None:
            return None
        budget = self.loaded.budget(probe.account.name)
        estimate = probe.kind.expected_cost(probe.model, ctx.settings) or Decimal(0)
        spent = self._spent(probe.account.name, self.clock.now().date())
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
        async with self.gates.enter(probe.account.base_url):
            if self.stop is not None and self.stop.is_set():
                return
            if self.progress:
                self.progress(probe, None)
            started = self.clock.now()
            try:
                outcome = (
                    not_supported(check, probe.account)
                    or self._over_budget(probe, ctx)
                    or charged(probe, ctx, await check.run(ctx))
                )
            except StoreError:
                raise  # the store is down: no probe can be recorded, the caller says so
            except Exception as exc:  # a bug or a hostile answer must not sink the round
                outcome = charged(probe, ctx, monitor_error(exc))
            finished = self.clock.now()
        row = to_row(probe, outcome, started, finished, self.redactor)
        self.recorded[probe.key] = evidence_of(row) or {}
        self.results[index] = row
        if self.store is not None:
            self.pending.append(row)
            for day, by_account in self.spent.items():
                self._count(by_account, row, day)
            if len(self.pending) >= FLUSH_ROWS:
                self.flush()
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
    """One round of `probes` (on `client`, or a client of the config's own)."""
    if client is not None:
        return await Round(loaded, client, clock, store, progress, sleep, stop=stop).run(probes)
    async with make_client(loaded) as owned:
        return await Round(loaded, owned, clock, store, progress, sleep, stop=stop).run(probes)


def exit_code(results: Sequence[ProbeResult]) -> int:
    """0 ready (pass/warn), 1 not ready (any fail), 3 inconclusive (unknowns, or a probe
    skipped for budget: what was not asked was not proven)."""
    return Verdict.of(r.status for r in results).exit_code
