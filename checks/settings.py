"""The typed `[checks.<name>]` sections: each check declares its own, so what a check can be
told lives beside the check. Unknown keys are errors, so a typo cannot pass silently."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from checks.durations import parse_duration


def _duration(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 5m or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = parse_duration(value)
    else:
        raise ValueError("expected a duration such as 90s, 5m or 1h30m")
    if seconds <= 0:
        raise ValueError("duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(_duration)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckSettings(Section):
    enabled: bool = True
    every: Duration
    timeout: Duration = 60.0


class ModelListingSettings(CheckSettings):
    every: Duration = 300.0


class SnapshotSettings(CheckSettings):
    every: Duration = 900.0


class GenerationSettings(CheckSettings):
    every: Duration = 3600.0
    every_when_failing: Duration = 300.0
    """While the probe fails with an answer that is not billed (verification, allow-list,
    key, quota…): access arriving minutes after a fix is seen within minutes."""
    quality: Literal["low", "medium", "high"] = "low"
    output_format: Literal["png", "jpeg", "webp"] = "jpeg"
    max_retry_wait: Duration = 30.0
    timeout: Duration = 120.0


class EditSettings(GenerationSettings):
    # An edit costs more than a generation and proves a rarer door: probe it daily.
    every: Duration = 86400.0
    every_when_failing: Duration = 3600.0


class TransparencySettings(GenerationSettings):
    # A rarer door, like the edit: probed daily.
    every: Duration = 86400.0
    every_when_failing: Duration = 3600.0
    background: Literal["transparent"] = "transparent"
    output_format: Literal["png", "webp"] = "png"
    """A format that carries alpha: a JPEG would flatten the transparency asked for."""


class StreamingSettings(GenerationSettings):
    # A rarer door, like the edit: probed daily.
    every: Duration = 86400.0
    every_when_failing: Duration = 3600.0
    partial_images: int = Field(default=1, ge=1, le=3)
    """Partial images asked for; each is billed as extra output tokens."""


class ResponsesToolSettings(GenerationSettings):
    # A mainline model's tokens on top of an image: probed daily.
    every: Duration = 86400.0
    every_when_failing: Duration = 3600.0
    background: Literal["auto", "opaque", "transparent"] = "auto"
    """`transparent` also asks whether the tool gives this account transparent images (PNG)."""


class RateLimitsSettings(CheckSettings):
    every: Duration = 900.0
    headroom_warn: float = Field(default=0.2, ge=0, le=1)


class PricingSettings(CheckSettings):
    every: Duration = 21600.0
    source: str = "litellm"
    tolerance_pct: Decimal = Field(default=Decimal(0), ge=0)
    token_tolerance_pct: float = Field(default=5.0, ge=0)
    timeout: Duration = 30.0

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value == "openrouter":
            raise ValueError("'openrouter' is not supported yet; use 'litellm', a URL or a path")
        if not value.strip():
            raise ValueError("must be 'litellm', a URL or a path")
        return value


class UsageSettings(CheckSettings):
    every: Duration = 900.0
    near_limit_share: float = Field(default=0.8, gt=0, le=1)
    """Warn when a minute's images passed this share of the images-per-minute limit."""


class SpendSettings(CheckSettings):
    every: Duration = 3600.0
    jump_factor: float = Field(default=3.0, gt=1)
    """Warn when today's pro-rated spend is above this multiple of the 7-day median."""
    billing_tolerance_pct: float = Field(default=5.0, ge=0)
    """Warn when the billed cost per image differs from the expected by more than this."""
    traffic_quality: Literal["low", "medium", "high"] = "medium"
    """The quality the account's own traffic asks for: the Usage API counts images per size
    but not per quality, so the expected cost per image assumes this one."""
