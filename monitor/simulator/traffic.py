"""The scenario accounts' own traffic, minute by minute: what the Admin API's usage and
costs endpoints report for them.

Pure functions of the scenario and the minute (and of the simulator's clock for "today"),
so every answer is the same whenever it is asked, and a read split in two adds up to one.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from checks.images import output_tokens
from checks.prices import MILLION, PUBLISHED
from monitor.simulator.scenarios import NUMBERED_NAME

MODEL = "gpt-image-2"
SIZE = "1024x1024"
QUALITY = "medium"
SOURCE = "image.generation"
PROMPT_TOKENS = 40
"""Text input tokens of one production request (its prompt)."""
PROBE_MINUTE = 7
"""The minute of each hour in which the monitor's probe key sends its one image."""


@dataclasses.dataclass(frozen=True)
class Profile:
    """How many images a minute an account's production traffic makes, and how it is billed."""

    base: int
    """Images in a quiet minute; a wave of `wave` more rises and falls over 7 minutes."""
    wave: int = 0
    burst_every: int = 0
    """Every this many minutes, a minute at `burst` images (0: no bursts)."""
    burst: int = 0
    jump_factor: int = 1
    """From the UTC day the simulator started on, its minutes make this many times the
    images (a jump that stays put once it is read, whenever the day turns)."""
    billed_factor: Decimal = Decimal(1)
    """The billed price per image over the published one."""
    other_project: int = 2
    """Images a minute of another project of the same organization: a filter must drop them."""


PROFILES: dict[str, Profile] = {
    "verified": Profile(base=5, wave=6),
    "traffic-burst": Profile(base=8, wave=4, burst_every=20, burst=50),
    "spend-jump": Profile(base=1, jump_factor=30),
    "billing-drift": Profile(base=5, wave=6, billed_factor=Decimal("1.2")),
}


def profile_for(name: str) -> Profile | None:
    """The scenario account's profile; a numbered copy (`verified-0001`) has its base's."""
    found = PROFILES.get(name)
    if found is None and (match := NUMBERED_NAME.fullmatch(name)) is not None:
        found = PROFILES.get(match["scenario"])
    return found


def production_images(profile: Profile, minute: int, jump_from: int) -> int:
    """Images of the account's production traffic in the minute starting at `minute`
    (seconds since the epoch); `jump_from` is the start of the simulator's first UTC day."""
    index = minute // 60
    images = profile.base + profile.wave * (index % 7) // 6
    if profile.burst_every and index % profile.burst_every == 0:
        images = profile.burst
    if minute >= jump_from:
        images *= profile.jump_factor
    return images


def probe_images(minute: int) -> int:
    """The monitor's probe key sends one image an hour."""
    return 1 if (minute // 60) % 60 == PROBE_MINUTE else 0


def key_id(api_key: str) -> str:
    """A stable `key_…` id for a key, as the Admin API names keys."""
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def redacted(api_key: str) -> str:
    """How the Admin API shows a key: its first and last characters (`sk-abc...def`)."""
    return f"{api_key[:6]}...{api_key[-4:]}"


def image_price(billed_factor: Decimal = Decimal(1)) -> Decimal:
    """The image-output price of one production image, as billed."""
    tokens = output_tokens(MODEL, SIZE, QUALITY) or 0
    return tokens * PUBLISHED[MODEL]["image_output"] / MILLION * billed_factor


def text_price() -> Decimal:
    return PROMPT_TOKENS * PUBLISHED[MODEL]["text_input"] / MILLION


def day_start(moment: datetime) -> int:
    day = moment.astimezone(UTC).date()
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
