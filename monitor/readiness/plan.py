"""Which probes a launch needs, what each should cost, and which fit within `--max-spend`.
Pure: the profile, the config and the accounts in, planned probes out; nothing is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from checks import REGISTRY
from checks.base import Account
from checks.generation import Generation
from checks.model_listing import ModelListing
from checks.pricing import Pricing
from checks.rate_limits import RateLimits
from checks.snapshot import Snapshot
from checks.transparency import Transparency
from monitor.config import LoadedConfig
from monitor.plan import Probe, settings_for
from monitor.readiness.profile import LaunchProfile

UNPRICED_PROBE_USD = Decimal("0.01")
"""What a paid probe of a model without a price is planned at, so `--max-spend` still holds."""
TRANSPARENT = "transparent"
"""The transparency probe's name in the dry run and the reports, from before it was a check."""


def label(check: str) -> str:
    """A probe's name in the dry run and the reports."""
    return TRANSPARENT if check == Transparency.name else check


@dataclasses.dataclass
class PlannedProbe:
    """One probe of the plan and what it should cost; not `allowed` when sending it would
    pass `--max-spend`."""

    account: str
    name: str
    """The check's name, or `transparent` for the transparency probe (see `label`)."""
    model: str
    cost_usd: Decimal
    allowed: bool = True

    @property
    def paid(self) -> bool:
        return self.cost_usd > 0

    @property
    def check(self) -> str:
        """The registered check this probe runs."""
        return Transparency.name if self.name == TRANSPARENT else self.name


def launch_account(account: Account, profile: LaunchProfile) -> Account:
    """The account as the launch uses it: the profile's model, snapshot, peak and
    capabilities (with the profile's mainline model for the Responses tool, if it names one)."""
    return dataclasses.replace(
        account,
        models=(profile.model,),
        snapshots=(profile.snapshot,) if profile.snapshot else (),
        required_images_per_minute=profile.peak_images_per_minute,
        capabilities=tuple(profile.needed()),
        responses_model=profile.responses_model or account.responses_model,
    )


def launch_checks(profile: LaunchProfile) -> list[str]:
    """The checks a launch needs, in the order they are listed: the listing, the pinned
    snapshot, a real generation, the capabilities the profile asks for, then the checks that
    read what the generation recorded."""
    return [
        ModelListing.name,
        Snapshot.name,
        Generation.name,
        *profile.needed(),
        RateLimits.name,
        Pricing.name,
    ]


def launch_probes(profile: LaunchProfile, account: Account) -> list[Probe]:
    """The launch's probes for one account (the snapshot only when the profile pins one)."""
    launch = launch_account(account, profile)
    return [
        Probe(launch, name, model)
        for name in launch_checks(profile)
        for model in REGISTRY[name].targets(launch)
    ]


def probe_settings(loaded: LoadedConfig, probe: Probe) -> dict[str, Any]:
    """What a launch probe runs with. The image probes take the account's
    `[checks.generation]` settings (quality, format, retry wait, timeout), as readiness
    always has: the launch asks whether the account generates as it is configured to."""
    section = Generation.name if probe.kind.paid else probe.check
    return settings_for(loaded, section, probe.model, probe.account)


def probe_cost(loaded: LoadedConfig, probe: Probe) -> Decimal:
    """The check's own estimate, with the settings the probe will run with: the figure the
    runner's budget guard uses too."""
    if not probe.kind.paid:
        return Decimal(0)
    return (
        probe.kind.expected_cost(probe.model, probe_settings(loaded, probe)) or UNPRICED_PROBE_USD
    )


def plan(
    profile: LaunchProfile,
    loaded: LoadedConfig,
    accounts: Sequence[Account],
    max_spend: Decimal | None,
) -> list[PlannedProbe]:
    """Every probe for every account, in order; paid ones past `max_spend` are not allowed."""
    planned: list[PlannedProbe] = []
    committed = Decimal(0)
    for account in accounts:
        for probe in launch_probes(profile, account):
            cost = probe_cost(loaded, probe)
            allowed = not cost or max_spend is None or committed + cost <= max_spend
            if cost and allowed:
                committed += cost
            planned.append(
                PlannedProbe(account.name, label(probe.check), probe.model, cost, allowed)
            )
    return planned
