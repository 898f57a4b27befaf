"""Time as a parameter: code reads `now` from an injected clock, once per round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from checks.base import Clock, SystemClock

__all__ = ["Clock", "FrozenClock", "SystemClock"]


class FrozenClock:
    """A clock tests set and move by hand."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = now.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
