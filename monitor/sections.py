"""The config's sections: what each TOML table may hold, with its defaults and limits.

`monitor.config` validates a file against `Config` and resolves its secrets; the shapes live
here so that each new key is one field in one place.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from checks import known_capabilities
from checks.base import AZURE, OPENAI
from checks.images import family, image_family
from checks.prices import CATEGORIES, PUBLISHED, PriceTable
from checks.settings import (
    CheckSettings,
    Duration,
    EditSettings,
    GenerationSettings,
    ModelListingSettings,
    PricingSettings,
    RateLimitsSettings,
    ResponsesToolSettings,
    Section,
    SnapshotSettings,
    SpendSettings,
    StreamingSettings,
    TransparencySettings,
    UsageSettings,
)
from monitor.urls import url_problem

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


def listen_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9464` for IPv6) as a host and a port; ValueError otherwise."""
    host, colon, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} must be HOST:PORT, e.g. 127.0.0.1:9464")
    return host, int(port)


class MonitorSection(Section):
    database_url: str = "sqlite:///imagewatch.db"
    database_password_env: EnvName | None = None  # put into database_url at load time
    site_dir: str = "public"
    title: str = "GPT Image readiness"
    public_url: str | None = None
    retention_days: int = Field(default=30, ge=1)
    concurrency: int = Field(default=64, ge=1, le=1000)
    # Probes in flight against one upstream host (api.openai.com for most accounts).
    per_host_concurrency: int = Field(default=64, ge=1, le=1000)
    request_timeout: Duration = 60.0
    workers: int = Field(default=0, ge=0, le=16)
    """Processes sharing a `check` round (`monitor.workers`): 0 is one per CPU; a round
    of fewer than 50 accounts a process runs in one."""
    listen: str | None = None
    """HOST:PORT for `/metrics`, `/healthz`, `/readyz` and the site (`monitor.listener`);
    off when unset."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            listen_address(value)
        return value


class AccountSection(Section):
    name: str
    provider: Literal["openai", "azure", "openai-compatible"] = "openai"
    """Which API the account speaks (README, Providers); the keys below it name which
    provider they belong to, and `monitor.providers` refuses them on any other."""
    base_url: str = "https://api.openai.com/v1"
    api_key_env: EnvName | None = None  # required, except for Azure with auth = "entra"
    endpoint: str | None = None  # azure: https://<resource>.openai.azure.com
    deployment: str | None = Field(default=None, min_length=1, max_length=64)  # azure
    api_version: str | None = None  # azure, required: no silent default
    route: Literal["deployment", "v1"] | None = None  # azure; "deployment" when unset
    auth: Literal["api-key", "entra"] | None = None  # azure; "api-key" when unset
    model_version: str | None = Field(default=None, min_length=1, max_length=40)  # azure
    price_source: str | None = Field(default=None, min_length=1)  # openai-compatible
    organization: str | None = None
    project: str | None = None
    admin_key_env: EnvName | None = None
    models: list[str] = Field(default_factory=lambda: ["gpt-image-2"], min_length=1)
    snapshots: list[str] = Field(default_factory=list)
    daily_probe_budget_usd: Decimal = Field(default=Decimal("0.25"), ge=0)
    required_images_per_minute: int | None = Field(default=None, ge=1)
    monthly_budget_usd: Decimal | None = Field(default=None, gt=0)
    """What the account's image spend may reach in a calendar month; the `spend` check
    fails when the month's forecast is above it (needs admin_key_env)."""
    capabilities: list[str] = Field(default_factory=list)
    """The capability checks this account opts in to; the others never run for it."""
    responses_model: str | None = Field(default=None, min_length=1)
    """The mainline model the Responses image tool is probed behind; required with the
    `responses_tool` capability, never defaulted (a default would silently go stale)."""

    _capabilities = field_validator("capabilities")(known_capabilities)

    @field_validator("responses_model")
    @classmethod
    def _responses_model(cls, value: str | None) -> str | None:
        if value is not None and (image_family(value) or value.startswith(("gpt-image", "dall-e"))):
            raise ValueError(
                f"{value!r} is an image model: the Responses API takes a mainline model "
                "(gpt-5, gpt-4.1…) here, and the image model goes in the tool"
            )
        return value

    tags: list[str] = Field(default_factory=list)
    """Groups on the status page ("eu", "batch"): an account with two tags is in both."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} must be lowercase letters, digits and dashes")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not _TAG.match(tag):
                raise ValueError(f"{tag!r}: a tag is 1-40 letters, digits, dashes or dots")
        return sorted(set(value))

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        why = url_problem(value, path_allowed=True)
        if why is not None:
            raise ValueError(why)
        return value.rstrip("/")


class ChecksSection(Section):
    # One key per registered check, typed by the check's own settings class; a test keeps
    # these in step with the registry.
    model_listing: ModelListingSettings = ModelListingSettings()
    snapshot: SnapshotSettings = SnapshotSettings()
    generation: GenerationSettings = GenerationSettings()
    edit: EditSettings = EditSettings()
    transparency: TransparencySettings = TransparencySettings()
    streaming: StreamingSettings = StreamingSettings()
    responses_tool: ResponsesToolSettings = ResponsesToolSettings()
    rate_limits: RateLimitsSettings = RateLimitsSettings()
    pricing: PricingSettings = PricingSettings()
    usage: UsageSettings = UsageSettings()
    spend: SpendSettings = SpendSettings()


class PriceBaseline(Section):
    text_input: Decimal | None = Field(default=None, ge=0)
    cached_text_input: Decimal | None = Field(default=None, ge=0)
    image_input: Decimal | None = Field(default=None, ge=0)
    cached_image_input: Decimal | None = Field(default=None, ge=0)
    image_output: Decimal | None = Field(default=None, ge=0)

    def table(self) -> PriceTable:
        return {c: v for c in CATEGORIES if (v := getattr(self, c)) is not None}


class PricingConfig(Section):
    baseline: dict[str, PriceBaseline] = Field(default_factory=dict)


class ChannelSection(Section):
    name: str
    kind: Literal["apprise", "webhook"] = "apprise"
    url_env: EnvName
    secret_env: EnvName | None = None


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceSection(Section):
    """A recurring window (UTC) in which incidents are recorded but not sent."""

    name: str
    accounts: list[str] = Field(default_factory=list)  # empty: every account
    checks: list[str] = Field(default_factory=list)  # empty: every check
    days: list[Day] = Field(default_factory=lambda: list(DAYS))
    start: str
    duration: Duration

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"{value!r} must be HH:MM (UTC)")
        return value


class AlertsSection(Section):
    failure_threshold: int = Field(default=2, ge=1)
    success_threshold: int = Field(default=1, ge=1)
    remind_every: Duration = 21600.0
    group_wait: Duration = 30.0
    """How long a new incident's message waits for the same reason on other accounts, to
    send one provider-wide message instead of one per account."""
    max_silence: Duration = Field(default=30 * 86400.0, gt=0)
    """The longest `imagewatch silence --for` accepts: a forgotten silence ends on its own."""
    channels: list[ChannelSection] = Field(default_factory=list)
    maintenance: list[MaintenanceSection] = Field(default_factory=list)


class Config(Section):
    monitor: MonitorSection = MonitorSection()
    accounts: list[AccountSection] = Field(min_length=1)
    checks: ChecksSection = ChecksSection()
    pricing: PricingConfig = PricingConfig()
    alerts: AlertsSection = AlertsSection()

    def check_settings(self, name: str) -> CheckSettings:
        section: CheckSettings = getattr(self.checks, name)
        return section

    def baseline(self, model: str, provider: str = OPENAI) -> PriceTable:
        """The prices a model's probes are costed and compared with: the config's baseline
        (for Azure its own, `azure/<model>`), else OpenAI's published table (Azure's Global
        Standard list has tracked it)."""
        keys: tuple[str, ...] = (model, family(model))
        if provider == AZURE:
            keys = (f"azure/{model}", f"azure/{family(model)}")
        for key in keys:
            if key in self.pricing.baseline:
                return self.pricing.baseline[key].table()
        return dict(PUBLISHED.get(family(model), {}))
