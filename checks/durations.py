"""Go-style durations (`1s`, `6m0s`, `12ms`, `1h2m3.5s`), as OpenAI's reset headers send them
and as imagewatch's config writes intervals (`90s`, `5m`, `1h30m`; `d` for days is allowed)."""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string; raises ValueError on anything else.

    A bare number is taken as seconds, as `retry-after` and some proxies send it.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds < 0 or seconds != seconds or seconds == float("inf"):
            raise ValueError(f"invalid duration {text!r}")
        return seconds
    position, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(value) or position == 0:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 90s, 5m, 1h30m)")
    return total


def format_duration(seconds: float) -> str:
    """The shortest config-style spelling: 3600 → `1h`, 5400 → `1h30m`, 0.25 → `250ms`."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            count, whole = divmod(whole, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)
