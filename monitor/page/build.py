"""Build the site's views in two steps: `read_page_data` is the one read of the store a
publish makes; `build` shapes what it read, purely, given the config and `now`."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from checks import REGISTRY
from checks.base import Account, Status, Verdict, as_mapping
from checks.pricing import Pricing
from checks.rate_limits import RateLimits
from checks.reasons import REASONS, words
from checks.snapshot import Snapshot
from checks.spend import Spend
from checks.usage import Usage
from monitor.config import LoadedConfig
from monitor.page.capabilities import probes_capabilities
from monitor.page.history import (
    HISTORY_DAYS,
    LATENCY_CHECKS,
    DayRollup,
    by_pair,
    charts,
    history,
    overall,
)
from monitor.page.overview import (
    SiteView,
    banner,
    groups,
    monitor_view,
    open_incidents,
    silence_view,
)
from monitor.page.panels import change_view, feed, headroom, incident_view, prices
from monitor.page.traffic import traffic_charts
from monitor.page.views import NO_DATA, AccountView, Cell, utc_text
from monitor.plan import Probe, plan, shortest_every
from monitor.sections import AccountSection
from monitor.store import Heartbeat, Incident, ProbeResult, Silence, Store
from monitor.store.page_reads import read_accounts
from monitor.traffic import spend_figures, usage_figures

CHANGES_PER_ACCOUNT = 20
INCIDENTS_PER_ACCOUNT = 20
CHANGES_ON_INDEX = 50
INCIDENTS_IN_FEED = 50
INCIDENTS_READ = 1000
"""Open incidents come first: the index lists every open one up to this many; the feed
takes the first `INCIDENTS_IN_FEED`."""
PAGE_STATE = {
    Verdict.READY: "ready",
    Verdict.NOT_READY: "not_ready",
    Verdict.INCONCLUSIVE: "unknown",
}
"""The page's (and status.json's) word for each verdict."""
READY_WORDS = {"ready": "Ready", "not_ready": "Not ready", "unknown": "Unknown"}

LatestResults = Mapping[tuple[str, str, str], ProbeResult]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountData:
    """What the store holds for one account's page (nothing, for an account never probed)."""

    spend_today: float = 0.0
    day_rollups: Sequence[DayRollup] = ()
    """Over the history window, oldest first."""
    changes: Sequence[ProbeResult] = ()
    """The newest state changes, newest first."""
    incidents: Sequence[Incident] = ()
    """Open incidents first, then the most recently opened."""
    launch: dict[str, Any] | None = None
    """The latest `imagewatch readiness` report."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PageData:
    """Everything the site shows, as read from the store at one moment."""

    latest: Sequence[ProbeResult] = ()
    """The newest result of every (account, check, model)."""
    accounts: Mapping[str, AccountData] = dataclasses.field(default_factory=dict)
    changes: Sequence[ProbeResult] = ()
    """The newest state changes of every account, newest first."""
    incidents: Sequence[Incident] = ()
    """Open incidents of every account first, then the most recently opened."""
    heartbeats: Sequence[Heartbeat] = ()
    silences: Sequence[Silence] = ()
    """The silences in force, the first to end first."""


def read_page_data(store: Store, loaded: LoadedConfig, now: datetime) -> PageData:
    """Read what the site shows: the latest-result table, day rollups, the kept state
    changes, incidents, heartbeats and launch reports, never a scan of raw results, and a
    fixed number of queries whatever the number of accounts."""
    return dataclasses.replace(
        read_site_data(store, now), accounts=read_account_data(store, loaded, now)
    )


def read_site_data(store: Store, now: datetime) -> PageData:
    """What every page shares: `read_page_data` without the accounts' own rows."""
    return PageData(
        latest=store.latest_per_pair(),
        changes=store.state_changes(None, CHANGES_ON_INDEX),
        incidents=store.incidents(None, INCIDENTS_READ),
        heartbeats=store.heartbeats(),
        silences=store.silences_in_force(now),
    )


def read_account_data(
    store: Store, loaded: LoadedConfig, now: datetime, names: Collection[str] | None = None
) -> dict[str, AccountData]:
    """The configured accounts' own rows (only those in `names`, when given), by name."""
    reads = read_accounts(
        store,
        (now - timedelta(days=HISTORY_DAYS)).date(),
        now.date(),
        CHANGES_PER_ACCOUNT,
        INCIDENTS_PER_ACCOUNT,
        LATENCY_CHECKS,
        names,
    )
    accounts = {}
    for account in loaded.accounts:
        if names is not None and account.name not in names:
            continue
        report = reads.launch.get(account.name)
        accounts[account.name] = AccountData(
            spend_today=reads.spend_today.get(account.name, 0.0),
            day_rollups=reads.day_rollups.get(account.name, ()),
            changes=reads.changes.get(account.name, ()),
            incidents=reads.incidents.get(account.name, ()),
            launch=dict(report.report) if report is not None else None,
        )
    return accounts


def build(data: PageData, loaded: LoadedConfig, now: datetime) -> SiteView:
    """The site's views, as of `now`, from what `read_page_data` read."""
    return site_view(account_views(data, loaded, now), data, loaded, now)


def account_views(
    data: PageData, loaded: LoadedConfig, now: datetime, names: Collection[str] | None = None
) -> list[AccountView]:
    """The configured accounts' views (only those in `names`, when given), in the config's
    order."""
    results = {(r.account, r.check, r.model): r for r in data.latest}
    probes: dict[str, list[Probe]] = {}
    for probe in plan(loaded):
        probes.setdefault(probe.account.name, []).append(probe)
    sections = {section.name: section for section in loaded.config.accounts}
    return [
        account_view(
            account,
            probes.get(account.name, []),
            results,
            data.accounts.get(account.name, AccountData()),
            sections[account.name],
            loaded,
            now,
        )
        for account in loaded.accounts
        if names is None or account.name in names
    ]


def site_view(
    accounts: list[AccountView], data: PageData, loaded: LoadedConfig, now: datetime
) -> SiteView:
    """The site around `accounts` (all of them for the index; some, for their own pages)."""
    newest = max((r.finished_at for r in data.latest), default=None)
    incidents = [incident_view(i, now) for i in data.incidents]
    changes = [change_view(r) for r in data.changes]
    return SiteView(
        title=loaded.config.monitor.title,
        generated_at=now,
        verdict=verdict_sentence(accounts),
        banner=banner(accounts, newest),
        heartbeat=monitor_view(data.heartbeats, newest, shortest_every(loaded), now),
        # the capabilities have their own matrix (monitor/page/capabilities.py)
        checks=[name for name, c in REGISTRY.items() if c.scheduled and not c.opt_in],
        accounts=accounts,
        groups=groups(accounts),
        open_incidents=open_incidents(incidents),
        silences=[silence_view(s) for s in data.silences],
        public_url=loaded.config.monitor.public_url,
        changes=changes,
        feed=feed(incidents[:INCIDENTS_IN_FEED], changes),
        # from the plan, not `accounts`: the pages of some accounts show the matrix as all do
        capabilities_probed=probes_capabilities(p.check for p in plan(loaded)),
    )


def account_view(
    account: Account,
    probes: Sequence[Probe],
    results: LatestResults,
    data: AccountData,
    section: AccountSection,
    loaded: LoadedConfig,
    now: datetime,
) -> AccountView:
    """One account's matrix row and page, from its probes' latest results and its data."""
    cells = [
        cell_for(
            results.get((account.name, p.check, p.model)),
            p,
            loaded.config.check_settings(p.check).every,
            now,
        )
        for p in probes
    ]
    # A pinned snapshot (a dated id of the model's family) is part of that model's readiness.
    models = {
        model: page_state(
            c
            for c in cells
            if c.model == model or (c.check == Snapshot.name and c.model.startswith(model))
        )
        for model in account.models
    }
    state = page_state(cells)
    problems = sorted(
        (c for c in cells if c.status in (Status.FAIL, Status.UNKNOWN)),
        key=lambda c: -Status(c.status).severity,
    )
    daily = by_pair(data.day_rollups)
    today = now.date()
    histories = [history(daily, p.check, p.model, today) for p in probes]
    rooms = (headroom(results.get((account.name, RateLimits.name, m)), m) for m in account.models)
    tables = (prices(results.get((account.name, Pricing.name, m)), m) for m in account.models)
    usage_rows = [results.get((account.name, Usage.name, m)) for m in account.models]
    usage = [usage_figures(row) if row is not None else None for row in usage_rows]
    # spend has one result per account, under the account's first model
    spend_row = next(
        (r for m in account.models if (r := results.get((account.name, Spend.name, m)))), None
    )
    spend = spend_figures(spend_row) if spend_row is not None else None
    watched = account.admin_key is not None or spend is not None or any(usage)
    return AccountView(
        name=account.name,
        ready=state,
        ready_words=READY_WORDS[state],
        tags=list(section.tags),
        models=models,
        cells=cells,
        problems=problems,
        overall=overall(histories, today),
        histories=histories,
        charts=charts(daily, models, today),
        headroom=[room for room in rooms if room],
        traffic=traffic_charts(account.models, usage, spend) if watched else [],
        usage=[figures for figures in usage if figures is not None],
        spend=spend,
        prices=[table for table in tables if table],
        changes=[change_view(r) for r in data.changes],
        incidents=[incident_view(i, now) for i in data.incidents],
        launch=data.launch,
        spend_today=data.spend_today,
        budget=str(section.daily_probe_budget_usd),
    )


def cell_for(row: ProbeResult | None, probe: Probe, interval: float, now: datetime) -> Cell:
    """The probe's latest result; stale when older than two of its intervals."""
    if row is None:
        return Cell(
            account=probe.account.name,
            check=probe.check,
            model=probe.model,
            status=NO_DATA,
            reason="no_data",
            words="Not checked yet",
            advice="",
            summary="",
            checked_at=None,
            checked_text="never",
            stale=False,
        )
    reason = REASONS.get(row.reason)
    return Cell(
        account=probe.account.name,
        check=probe.check,
        model=probe.model,
        status=row.status,
        reason=row.reason,
        words=words(row.reason),
        advice=reason.advice if reason else "",
        summary=row.summary,
        checked_at=row.finished_at,
        checked_text=utc_text(row.finished_at),
        stale=(now - row.finished_at).total_seconds() > 2 * interval,
        http_status=row.http_status,
        request_id=row.request_id,
        azure=azure_evidence(row.details),
    )


def azure_evidence(details: Mapping[str, Any] | None) -> str | None:
    """`region · apim-request-id` from a result's stored headers (untrusted JSON)."""
    headers = as_mapping(as_mapping(details).get("headers"))
    parts = [
        f"{label} {str(headers[key])[:200]}"
        for key, label in (("region", "region"), ("apim_request_id", "apim-request-id"))
        if isinstance(headers.get(key), str)
    ]
    return " · ".join(parts) or None


def page_state(cells: Iterable[Cell]) -> str:
    """`Verdict.of` the cells, with the page's own nuance: a probe without a result is not
    known, and a stale result proves nothing ready (a stale failure still fails)."""
    counted = list(cells)
    verdict = Verdict.of(Status.UNKNOWN if c.status == NO_DATA else c.status for c in counted)
    if verdict is Verdict.READY and any(c.stale for c in counted):
        verdict = Verdict.INCONCLUSIVE
    return PAGE_STATE[verdict]


def verdict_sentence(accounts: Sequence[AccountView]) -> str:
    """How many accounts are ready for each model, in one sentence."""
    models: dict[str, list[str]] = {}
    for account in accounts:
        for model, state in account.models.items():
            models.setdefault(model, []).append(state)
    parts = []
    for model, states in models.items():
        ready = states.count(PAGE_STATE[Verdict.READY])
        parts.append(
            f"{ready} of {len(states)} account{'s' if len(states) != 1 else ''} ready for {model}"
        )
    return "; ".join(parts) + "." if parts else "No accounts configured."
