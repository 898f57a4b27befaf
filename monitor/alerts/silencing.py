"""Whether an incident's messages go out: a pure function of the incident, the silences and
maintenance windows, the account's other open incidents, and `now`. The caller reads them
from the store; nothing here does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from checks.base import Status
from checks.reasons import REASONS, is_account_level, is_structural
from monitor.config import DAYS, MaintenanceSection
from monitor.store import Incident, Silence


def silences_it(silence: Silence, incident: Incident, now: datetime) -> bool:
    """A silence covers its account, every check or the one it names, until it ends."""
    return (
        silence.account == incident.account
        and silence.check in (None, incident.check)
        and now < silence.until
    )


def window_covers(window: MaintenanceSection, account: str, check: str, now: datetime) -> bool:
    """A window covers its accounts and checks (all of them when it names none) from its
    start, on each of its days, for its duration."""
    if window.accounts and account not in window.accounts:
        return False
    if window.checks and check not in window.checks:
        return False
    hour, minute = (int(part) for part in window.start.split(":"))
    utc = now.astimezone(UTC)
    for back in range(0, 8):  # a window may start on an earlier day and run past midnight
        day = utc - timedelta(days=back)
        if DAYS[day.weekday()] not in window.days:
            continue
        start = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if start <= utc < start + timedelta(seconds=window.duration):
            return True
    return False


def silence_reason(
    incident: Incident,
    silences: Sequence[Silence],
    maintenance: Sequence[MaintenanceSection],
    open_incidents: Sequence[Incident],
    now: datetime,
) -> str | None:
    """Why this incident's messages must not be sent, or None. `open_incidents` may hold
    the incident itself and other accounts' incidents: only the account's others count."""
    silence = next((s for s in silences if silences_it(s, incident, now)), None)
    if silence is not None:
        return f"silenced until {silence.until:%Y-%m-%d %H:%M} UTC: {silence.reason}"
    for window in maintenance:
        if window_covers(window, incident.account, incident.check, now):
            return f"maintenance window {window.name!r}"
    others = sorted(
        (
            other
            for other in open_incidents
            if other.account == incident.account
            and other.state == "open"
            and other.id != incident.id
        ),
        key=lambda other: other.id or 0,
    )
    # Of two account-level incidents, the older one speaks for the account.
    muting = next(
        (
            other
            for other in others
            if is_account_level(other.reason)
            and ((other.id or 0) < (incident.id or 0) or not is_account_level(incident.reason))
        ),
        None,
    )
    if muting is not None:
        return f"muted: account-level incident #{muting.id} ({muting.reason}) is open"
    known = REASONS.get(incident.reason)
    if known is not None and known.status == Status.UNKNOWN:
        # "Could not tell" on an account already known broken is a symptom, not news:
        # no generation headers means no rate limits while verification is missing.
        explaining = next((other for other in others if is_structural(other.reason)), None)
        if explaining is not None:
            return f"muted: incident #{explaining.id} ({explaining.reason}) explains it"
    return None
