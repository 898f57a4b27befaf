"""The launch profile: what a launch needs (model, snapshot, peak images per minute, quality
and size, the capabilities — edits, transparency, streaming, the Responses image tool —, cost
per image), read from its TOML file."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from checks import CAPABILITIES, known_capabilities
from checks.edit import Edit
from checks.images import FIXED_SIZES, flexible_size_error, has_flexible_sizes, parse_size
from checks.transparency import Transparency
from monitor.config import ConfigError, key_path


class LaunchProfile(BaseModel):
    """The `[launch]` table of a profile; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    model: str = "gpt-image-2"
    snapshot: str | None = None
    launch_date: date | None = None
    """Launch day: a snapshot shutting down on or before it is not ready."""
    peak_images_per_minute: int = Field(ge=1)
    quality: str = "medium"
    size: str = "1024x1024"
    needs_edits: bool = False
    """The same as listing `edit` in `capabilities` (kept from before the list)."""
    needs_transparent_background: bool = False
    """The same as listing `transparency` in `capabilities`."""
    capabilities: list[str] = Field(default_factory=list)
    """The capability checks the launch needs (`edit`, `transparency`, `streaming`,
    `responses_tool`), run through the runner like every probe."""
    responses_model: str | None = None
    """The mainline model the launch calls the Responses image tool behind; by default
    each account's own `responses_model`."""
    max_cost_per_image_usd: Decimal = Field(gt=0)
    monthly_images: int = Field(default=0, ge=0)

    _capabilities = field_validator("capabilities")(known_capabilities)

    def needed(self) -> list[str]:
        """Every capability the launch needs, in round order."""
        wanted = set(self.capabilities)
        if self.needs_edits:
            wanted.add(Edit.name)
        if self.needs_transparent_background:
            wanted.add(Transparency.name)
        return [name for name in CAPABILITIES if name in wanted]

    @field_validator("quality")
    @classmethod
    def _quality(cls, value: str) -> str:
        if value not in ("low", "medium", "high"):
            raise ValueError(f"{value!r} must be low, medium or high")
        return value

    @field_validator("size")
    @classmethod
    def _size(cls, value: str, info: Any) -> str:
        model = str(info.data.get("model", "gpt-image-2"))
        parsed = parse_size(value)
        if parsed is None:
            raise ValueError(f"{value!r} must be WIDTHxHEIGHT, e.g. 1024x1024")
        if has_flexible_sizes(model):
            problem = flexible_size_error(*parsed)
            if problem:
                raise ValueError(problem)
        elif value not in FIXED_SIZES:
            raise ValueError(f"{value!r} is not a size {model} accepts ({', '.join(FIXED_SIZES)})")
        return value


def load_profile(path: str) -> LaunchProfile:
    """The profile at `path`, or a ConfigError with one line per problem."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{file}: profile not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot read the profile ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{file}: invalid TOML: {exc}"]) from None
    problems = [f"{key}: unknown key" for key in data if key != "launch"]
    if "launch" not in data:
        problems.append("launch: required table is missing")
    if problems:
        raise ConfigError(problems)
    try:
        return LaunchProfile.model_validate(data["launch"])
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = "unknown key"
            elif error.get("type") == "missing":
                message = "required key is missing"
            lines.append(
                f"{key_path(('launch', *error['loc']))}: {message[:1].lower() + message[1:]}"
            )
        raise ConfigError(lines) from None
