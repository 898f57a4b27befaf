"""The TOML config, validated before anything runs.

Every problem becomes one line naming its key path (`accounts[2].api_key_env: environment
variable OPENAI_KEY_EU is not set`); unknown keys are errors so typos cannot pass silently.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from checks.base import OPENAI, Account, TokenProvider
from checks.images import retired_reason
from checks.responses_tool import ResponsesTool
from monitor.providers import MissingExtra, entra_token_provider, pinned, provider_problems
from monitor.providers import base_url as provider_base_url
from monitor.sections import (
    DAYS,
    AccountSection,
    AlertsSection,
    ChannelSection,
    ChecksSection,
    Config,
    Day,
    MaintenanceSection,
    MonitorSection,
    PriceBaseline,
    PricingConfig,
)

__all__ = [
    "DAYS",
    "AccountSection",
    "AlertsSection",
    "ChannelSection",
    "ChannelTarget",
    "ChecksSection",
    "Config",
    "ConfigError",
    "Day",
    "LoadedConfig",
    "MaintenanceSection",
    "MonitorSection",
    "PriceBaseline",
    "PricingConfig",
    "load",
    "parse",
]

DEFAULT_PATH = "imagewatch.toml"
ENV_CONFIG = "IMAGEWATCH_CONFIG"


class ConfigError(Exception):
    """A config that must not run; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class ChannelTarget:
    """Where an alert channel sends, resolved at load time: the URL carries a token too."""

    name: str
    kind: str
    url: str = dataclasses.field(repr=False)
    secret: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(repr=False, eq=False)
class LoadedConfig:
    """A validated config plus the secrets resolved from the environment."""

    config: Config
    accounts: list[Account]
    path: str | None
    channels: list[ChannelTarget] = dataclasses.field(default_factory=list)
    database_password: str | None = dataclasses.field(default=None, repr=False)

    @functools.cached_property
    def watched_models(self) -> list[str]:
        """Every model and snapshot any account probes, sorted; computed once, as every
        probe's settings carry it."""
        return sorted({m for a in self.accounts for m in (*a.models, *a.snapshots)})

    @property
    def secrets(self) -> list[str]:
        keys = [s for a in self.accounts for s in (a.api_key, a.admin_key) if s]
        keys += [s for c in self.channels for s in (c.url, c.secret) if s]
        return keys + ([self.database_password] if self.database_password else [])

    @functools.cached_property
    def _budgets(self) -> dict[str, Decimal]:
        # Asked once per paid probe: a scan of a thousand accounts each time was quadratic.
        return {s.name: s.daily_probe_budget_usd for s in self.config.accounts}

    def budget(self, name: str) -> Decimal:
        """The account's daily probe budget in USD."""
        return self._budgets[name]

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts)
        raise ConfigError([f"--account: no account named {name!r} (known: {known})"])


def key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def parse(
    data: Mapping[str, Any],
    environ: Mapping[str, str],
    path: str | None = None,
    *,
    today: date | None = None,
    entra: Callable[[], TokenProvider] | None = None,
) -> LoadedConfig:
    """The validated config with its secrets resolved, or ConfigError with every problem.
    `today` (UTC, by default the real one) decides which models are already retired;
    `entra` makes the token source of an account with `auth = "entra"` (by default over
    azure-identity; tests hand in a fake)."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [f"{key_path(tuple(e['loc']))}: {_message(e)}" for e in exc.errors()]
        ) from None
    problems: list[str] = []
    seen: dict[str, int] = {}
    accounts: list[Account] = []
    for index, section in enumerate(config.accounts):
        where = f"accounts[{index}]"
        if section.name in seen:
            problems.append(
                f"{where}.name: duplicate account name {section.name!r} "
                f"(also accounts[{seen[section.name]}])"
            )
        seen.setdefault(section.name, index)
        problems.extend(provider_problems(where, section))
        api_key = None
        if section.api_key_env is not None:
            api_key = _read_env(environ, f"{where}.api_key_env", section.api_key_env, problems)
        token_provider = None
        if section.auth == "entra":
            try:
                token_provider = (entra or entra_token_provider)()
            except MissingExtra as exc:
                problems.append(f"{where}.auth: {exc}")
        admin_key = None
        if section.admin_key_env:
            admin_key = _read_env(
                environ, f"{where}.admin_key_env", section.admin_key_env, problems
            )
            if not section.project and section.provider == OPENAI:
                problems.append(
                    f"{where}.project: required when admin_key_env is set "
                    "(the Admin API lists rate limits per project)"
                )
        elif section.monthly_budget_usd is not None:
            problems.append(
                f"{where}.monthly_budget_usd: needs admin_key_env (the spend is read from "
                "the Admin API's costs)"
            )
        if len(set(section.models)) != len(section.models):
            problems.append(f"{where}.models: lists a model twice")
        problems.extend(_retired(where, section, today or datetime.now(UTC).date()))
        if ResponsesTool.name in section.capabilities and not section.responses_model:
            problems.append(
                f"{where}.responses_model: required when capabilities lists "
                f"{ResponsesTool.name} (the mainline model the image tool runs behind; there "
                "is no default, which would silently go stale)"
            )
        accounts.append(
            Account(
                name=section.name,
                base_url=provider_base_url(section),
                api_key=api_key or "",
                organization=section.organization,
                project=section.project,
                admin_key=admin_key,
                models=tuple(section.models),
                snapshots=pinned(section),
                required_images_per_minute=section.required_images_per_minute,
                capabilities=tuple(section.capabilities),
                responses_model=section.responses_model,
                provider=section.provider,
                deployment=section.deployment,
                api_version=section.api_version,
                route=section.route or "deployment",
                token_provider=token_provider,
                model_version=section.model_version,
                price_source=section.price_source,
                monthly_budget_usd=section.monthly_budget_usd,
            )
        )
    channels: list[ChannelTarget] = []
    for index, channel in enumerate(config.alerts.channels):
        where = f"alerts.channels[{index}]"
        url = _read_env(environ, f"{where}.url_env", channel.url_env, problems)
        secret = None
        if channel.secret_env:
            secret = _read_env(environ, f"{where}.secret_env", channel.secret_env, problems)
        elif channel.kind == "webhook":
            problems.append(f"{where}.secret_env: a webhook needs a signing secret")
        if channel.name in {c.name for c in channels}:
            problems.append(f"{where}.name: duplicate channel name {channel.name!r}")
        channels.append(ChannelTarget(channel.name, channel.kind, url or "", secret))
    password = None
    if config.monitor.database_password_env:
        where = "monitor.database_password_env"
        password = _read_env(environ, where, config.monitor.database_password_env, problems)
        if password:
            from monitor.store.engine import StoreError, with_password

            try:
                url = with_password(config.monitor.database_url, password)
            except StoreError as exc:
                problems.append(f"{where}: {exc}")
            else:
                monitor = config.monitor.model_copy(update={"database_url": url})
                config = config.model_copy(update={"monitor": monitor})
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(config, accounts, path, channels, password or None)


def _retired(where: str, section: AccountSection, today: date) -> list[str]:
    """A retired model cannot be probed at all: every probe would fail on a fact the config
    already shows, so it is refused before anything runs, with the shutdown's source."""
    problems = []
    for field, models in (("models", section.models), ("snapshots", section.snapshots)):
        for index, model in enumerate(models):
            reason = retired_reason(model, today)
            if reason is not None:
                problems.append(f"{where}.{field}[{index}]: {reason}")
    return problems


def _read_env(environ: Mapping[str, str], where: str, name: str, problems: list[str]) -> str | None:
    """The variable's value, stripped; None, with a problem naming `where`, when unset."""
    value = environ.get(name, "").strip() or None
    if value is None:
        problems.append(f"{where}: environment variable {name} is not set")
    return value


def resolve_path(path: str | None, environ: Mapping[str, str]) -> Path:
    return Path(path or environ.get(ENV_CONFIG) or DEFAULT_PATH)


def load(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    today: date | None = None,
    entra: Callable[[], TokenProvider] | None = None,
) -> LoadedConfig:
    env = os.environ if environ is None else environ
    file = resolve_path(path, env)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"{file}: config file not found (write one with `imagewatch init`)"]
        ) from None
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read config ({exc.strerror or exc})"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: config is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{file}: invalid TOML: {exc}"]) from None
    return parse(data, env, str(file), today=today, entra=entra)


def example_text() -> str:
    return (Path(__file__).parent / "example.toml").read_text(encoding="utf-8")
