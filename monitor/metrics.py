"""`/metrics`: a prometheus_client collector that reads the latest state from the store on
every scrape, instead of gauges mutated all over the code.

Labels stay bounded: accounts, checks and models come from the config (a model the API
lists but no account watches never becomes a label), statuses and reasons from their
closed sets, rate-limit resources from a fixed list. No API text, no key, no summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from checks import REGISTRY
from checks.base import Clock, Status
from checks.prices import CATEGORIES
from checks.pricing import Pricing
from checks.rate_limits import RateLimits
from checks.reasons import REASONS
from checks.snapshot import Snapshot
from monitor.config import LoadedConfig
from monitor.heartbeat import package_version
from monitor.plan import plan
from monitor.store import ProbeResult, Store
from monitor.store.rollups import LATENCY_BOUNDS, STATUS_COLUMN
from monitor.store.scrape import PairTotals, Scrape, read_scrape
from monitor.traffic_metrics import TRAFFIC_FAMILIES, traffic_families

PREFIX = "imagewatch_"
# x-ratelimit-{limit,remaining}-<resource>: the header's tail is API text, so only these
# become label values.
RESOURCES = ("requests", "tokens", "images")
OTHER_REASON = "other"  # a stored reason this version does not know (older or newer code)

# Every metric family the collector can expose; the dashboard and the rules may use only
# these (tests/test_metrics.py checks both).
FAMILIES = (
    "imagewatch_check_status",
    "imagewatch_check_reason_info",
    "imagewatch_last_result_timestamp_seconds",
    "imagewatch_probe_duration_seconds",
    "imagewatch_probes_total",
    "imagewatch_probe_cost_usd_total",
    "imagewatch_budget_usd",
    "imagewatch_budget_remaining_usd",
    "imagewatch_ratelimit_limit",
    "imagewatch_ratelimit_remaining",
    "imagewatch_price_usd_per_million_tokens",
    "imagewatch_model_shutdown_timestamp_seconds",
    "imagewatch_incidents_open",
    "imagewatch_outbox_pending",
    "imagewatch_daemon_up",
    "imagewatch_daemon_probing",
    "imagewatch_build_info",
    *TRAFFIC_FAMILIES,
)

Pair = tuple[str, str, str]


@dataclasses.dataclass(frozen=True)
class Known:
    """The label values a config allows: its accounts, and every (account, check, model)
    it could probe."""

    accounts: tuple[str, ...]
    pairs: frozenset[Pair]
    budgets: Mapping[str, Decimal]
    models: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Each account's watched models (the usage and spend figures' label values)."""

    @classmethod
    def of(cls, loaded: LoadedConfig) -> Known:
        probes = plan(loaded, checks=list(REGISTRY))
        return cls(
            accounts=tuple(a.name for a in loaded.config.accounts),
            pairs=frozenset((p.account.name, p.check, p.model) for p in probes),
            budgets={a.name: a.daily_probe_budget_usd for a in loaded.config.accounts},
            models={a.name: tuple(a.models) for a in loaded.accounts},
        )


def families(scrape: Scrape, known: Known, probing: bool, version: str) -> list[Metric]:
    """Every metric family of one scrape. Pure: the store's rows and the config in."""
    latest = sorted(
        (r for r in scrape.latest if (r.account, r.check, r.model) in known.pairs),
        key=lambda r: (r.account, r.check, r.model),
    )
    totals = [t for t in scrape.totals if (t.account, t.check, t.model) in known.pairs]
    return [
        *_latest_families(latest),
        *_total_families(totals),
        _gauge(
            "budget_usd",
            "The account's daily probe budget.",
            ["account"],
            (([a], float(usd)) for a, usd in sorted(known.budgets.items())),
        ),
        _budget(scrape.spent_today, known),
        *_rate_limits(latest),
        _prices(latest),
        _shutdowns(latest),
        _gauge(
            "incidents_open",
            "Open incidents of the account.",
            ["account"],
            (([a], scrape.open_incidents.get(a, 0)) for a in known.accounts),
        ),
        _gauge("outbox_pending", "Alert messages not sent yet.", [], [([], scrape.outbox_pending)]),
        _gauge("daemon_up", "1 while the daemon serves this endpoint.", [], [([], 1)]),
        _gauge(
            "daemon_probing",
            "1 while results are being stored, 0 when the daemon runs but has stored no "
            "result for twice the shortest probe interval.",
            [],
            [([], int(probing))],
        ),
        _info("build", "The running imagewatch.", {"version": version}),
        *traffic_families(scrape.latest, known.models),
    ]


def _gauge(
    name: str, documentation: str, labels: list[str], samples: Iterable[tuple[list[str], float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric(values, float(value))
    return family


def _info(name: str, documentation: str, value: dict[str, str]) -> InfoMetricFamily:
    family = InfoMetricFamily(PREFIX + name, documentation, labels=[])
    family.add_metric([], value)
    return family


def _latest_families(latest: list[ProbeResult]) -> list[Metric]:
    pair = ["account", "check", "model"]
    status = GaugeMetricFamily(
        PREFIX + "check_status",
        "1 for the current status of the pair, 0 for the others.",
        labels=[*pair, "status"],
    )
    reason = InfoMetricFamily(
        PREFIX + "check_reason", "The reason code of the pair's latest result.", labels=pair
    )
    finished = GaugeMetricFamily(
        PREFIX + "last_result_timestamp_seconds",
        "When the pair's latest result was stored (Unix time).",
        labels=pair,
    )
    for row in latest:
        values = [row.account, row.check, row.model]
        for each in Status:
            status.add_metric([*values, each.value], float(row.status == each.value))
        code = row.reason if row.reason in REASONS else OTHER_REASON
        reason.add_metric(values, {"reason": code})
        finished.add_metric(values, row.finished_at.timestamp())
    return [status, reason, finished]


def _total_families(totals: list[PairTotals]) -> list[Metric]:
    # Rollups keep bucket counts, not a latency sum, so the histogram has buckets only
    # (histogram_quantile needs nothing else).
    duration = HistogramMetricFamily(
        PREFIX + "probe_duration_seconds",
        "Probe latency, all time, from the daily rollups' histogram.",
        labels=["account", "check", "model"],
    )
    probes: dict[tuple[str, str, str], float] = {}
    cost: dict[str, float] = {}
    for row in sorted(totals, key=lambda t: (t.account, t.check, t.model)):
        seen, buckets = 0.0, []
        for index, bound in enumerate((*LATENCY_BOUNDS, None)):
            seen += row.counts[f"h{index}"]
            buckets.append(("+Inf" if bound is None else str(bound / 1000), seen))
        duration.add_metric([row.account, row.check, row.model], buckets, None)
        for status, column in STATUS_COLUMN.items():
            key = (row.account, row.check, status)
            probes[key] = probes.get(key, 0.0) + row.counts[column]
        cost[row.account] = cost.get(row.account, 0.0) + row.counts["cost_usd"]
    probes_total = CounterMetricFamily(
        PREFIX + "probes",
        "Probes stored, all time, by status.",
        labels=["account", "check", "status"],
    )
    for (account, check, status), count in sorted(probes.items()):
        probes_total.add_metric([account, check, status], count)
    cost_total = CounterMetricFamily(
        PREFIX + "probe_cost_usd", "USD spent by paid probes, all time.", labels=["account"]
    )
    for account, usd in sorted(cost.items()):
        cost_total.add_metric([account], usd)
    return [duration, probes_total, cost_total]


def _budget(spent_today: Mapping[str, float], known: Known) -> GaugeMetricFamily:
    return _gauge(
        "budget_remaining_usd",
        "USD left of the account's daily probe budget (UTC day); below 0 when overspent.",
        ["account"],
        (
            ([a], float(known.budgets[a]) - spent_today.get(a, 0.0))
            for a in known.accounts
            if a in known.budgets
        ),
    )


def _rate_limits(latest: list[ProbeResult]) -> list[Metric]:
    labels = ["account", "model", "resource"]
    limit = GaugeMetricFamily(
        PREFIX + "ratelimit_limit",
        "The per-minute limit from the latest x-ratelimit-limit-* headers.",
        labels=labels,
    )
    remaining = GaugeMetricFamily(
        PREFIX + "ratelimit_remaining",
        "What was left of the limit in the latest x-ratelimit-remaining-* headers.",
        labels=labels,
    )
    for row in latest:
        if row.check != RateLimits.name:
            continue
        windows = (row.details or {}).get("headers")
        if not isinstance(windows, dict):
            continue
        for resource in RESOURCES:
            window = windows.get(resource)
            if not isinstance(window, dict):
                continue
            for family, key in ((limit, "limit"), (remaining, "remaining")):
                value = window.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    family.add_metric([row.account, row.model, resource], float(value))
    return [limit, remaining]


def _prices(latest: list[ProbeResult]) -> GaugeMetricFamily:
    """The published price of each watched model, from its newest price check."""
    family = GaugeMetricFamily(
        PREFIX + "price_usd_per_million_tokens",
        "The published price in USD per 1M tokens, by category, from the price source.",
        labels=["model", "category"],
    )
    newest: dict[str, ProbeResult] = {}
    for row in latest:
        if row.check == Pricing.name and isinstance((row.details or {}).get("published"), dict):
            held = newest.get(row.model)
            if held is None or row.finished_at > held.finished_at:
                newest[row.model] = row
    for model, row in sorted(newest.items()):
        published = row.details["published"]
        for category in CATEGORIES:
            price = _decimal(published.get(category))
            if price is not None:
                family.add_metric([model, category], float(price))
    return family


def _shutdowns(latest: list[ProbeResult]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        PREFIX + "model_shutdown_timestamp_seconds",
        "The shutdown date the API announces for a pinned model (Unix time).",
        labels=["account", "model"],
    )
    for row in latest:
        if row.check != Snapshot.name:
            continue
        model = (row.details or {}).get("model")
        when = shutdown_time(model.get("shutdown_date") if isinstance(model, dict) else None)
        if when is not None:
            family.add_metric([row.account, row.model], when.timestamp())
    return family


def shutdown_time(value: Any) -> datetime | None:
    """A model object's `shutdown_date` (a date, an ISO time or Unix seconds) as a UTC
    time; None when absent or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip()[:40])
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if isinstance(value, str | int | float) else None
    except InvalidOperation:
        return None


class Collector:
    """Registered in a `CollectorRegistry`: each scrape reads the store once, at the clock's
    `now`. `probing` says whether results are being stored (`Daemon.not_probing`)."""

    def __init__(
        self, store: Store, loaded: LoadedConfig, clock: Clock, probing: Callable[[], bool]
    ) -> None:
        self.store = store
        self.known = Known.of(loaded)
        self.clock = clock
        self.probing = probing
        self.version = package_version()

    def collect(self) -> Iterator[Metric]:
        today: date = self.clock.now().astimezone(UTC).date()
        scrape = read_scrape(self.store, today)
        yield from families(scrape, self.known, self.probing(), self.version)
