"""Which probes a config asks for: every (account, check, model), in round order, and the
settings each one runs with. Pure: config and the check registry in, probes out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from checks import REGISTRY, evidence_depth
from checks.base import OPENAI, Account, Check
from checks.providers import planned_for
from monitor.config import LoadedConfig

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Probe:
    account: Account
    check: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.account.name} · {self.check} · {self.model}"

    @property
    def kind(self) -> Check:
        return REGISTRY[self.check]

    @property
    def key(self) -> str:
        """The probe's stable identity: its schedule's jitter and its slot claims hang on it."""
        return probe_key(self.account.name, self.check, self.model)


def probe_key(account: str, check: str, model: str) -> str:
    """`Probe.key` of the probe of (account, check, model): also the key of its results."""
    return f"{account}/{check}/{model}"


def evidence_waves(items: Sequence[T], check: Callable[[T], str]) -> list[list[T]]:
    """`items` (probes, or anything `check` names a check of) in waves, each after the one
    whose evidence it reads: those that read none, then those reading them, and so on
    (`usage` reads what `rate_limits` read)."""
    waves: dict[int, list[T]] = {}
    for item in items:
        waves.setdefault(evidence_depth(check(item)), []).append(item)
    return [waves[depth] for depth in sorted(waves)]


def scheduled(loaded: LoadedConfig) -> list[str]:
    """The checks a round runs unless told otherwise: scheduled by their class, enabled by
    the config."""
    return [
        name
        for name, check in REGISTRY.items()
        if check.scheduled and loaded.config.check_settings(name).enabled
    ]


def plan(
    loaded: LoadedConfig,
    accounts: Sequence[str] = (),
    checks: Sequence[str] = (),
    models: Sequence[str] = (),
) -> list[Probe]:
    """Every (account, check, model) the selection asks for, in round order."""
    selected = [loaded.account(name) for name in accounts] if accounts else loaded.accounts
    names = [name for name in REGISTRY if name in checks] if checks else scheduled(loaded)
    probes = []
    for account in selected:
        for name in names:
            if not runs_for(REGISTRY[name], account):
                continue
            if not checks and not planned_for(REGISTRY[name], account):
                continue  # the provider cannot answer it (checks.providers)
            for model in REGISTRY[name].targets(account):
                if models and model not in models:
                    continue
                probes.append(Probe(account, name, model))
    return probes


def runs_for(check: Check, account: Account) -> bool:
    """A capability check runs only for the accounts that list it (asked for by name or
    not: each costs money and needs what only such an account configures); every other
    check runs for every account."""
    return not check.opt_in or check.name in account.capabilities


def settings_for(
    loaded: LoadedConfig, check: str, model: str, account: Account | None = None
) -> dict[str, Any]:
    """The check's section, plus what any check may need from the rest of the config: the
    model's price baseline (paid checks estimate and record their cost with it, `pricing`
    compares the published prices against it), every watched model and the price source
    (a listing that shows a model nobody watches names it once, with its published prices)."""
    settings: dict[str, Any] = loaded.config.check_settings(check).model_dump()
    prices = loaded.config.baseline(model, account.provider if account else OPENAI)
    settings["prices"] = prices
    settings["baseline"] = {model: prices}
    settings["watched_models"] = loaded.watched_models
    settings["price_source"] = loaded.config.checks.pricing.source
    if account is not None and account.responses_model:
        # the Responses probe's mainline model: its cost is known before it is sent
        settings["responses_model"] = account.responses_model
    return settings


def shortest_every(loaded: LoadedConfig) -> float:
    """The shortest `every` of any check a round runs: the daemon stores at least one
    result that often while it probes."""
    return min((loaded.config.check_settings(n).every for n in scheduled(loaded)), default=3600.0)
