"""What a reason code carries: its status, the words ops read, and the flags the monitor acts
on. The codes themselves are listed in `checks.reasons` (and, by kind, in modules it reads)."""

from __future__ import annotations

import dataclasses

from checks.base import Status


@dataclasses.dataclass(frozen=True)
class Reason:
    """A reason code and every fact the monitor acts on about it; nothing outside this table
    keeps a list of reasons."""

    code: str
    status: Status
    words: str
    advice: str = ""
    transient: bool = False
    """Passing weather (a 5xx, a timeout, a rate limit): an incident opens only after
    `failure_threshold` in a row, and the probe is retried."""
    structural: bool = False
    """A fact about the account, not weather: an incident opens at once."""
    account_level: bool = False
    """About the whole account (key, quota, billing): its incident mutes the account's
    other messages."""
    dependent: bool = False
    """Says only that the check it reads evidence from failed: that check's own incident
    speaks for it, so this one opens, updates and resolves nothing."""
    billed: bool = False
    """A paid probe answered with this reason was charged. Failures that are not billed are
    probed often, so that a fix on the OpenAI side is seen within minutes."""
