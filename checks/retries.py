r"""Whether a paid probe tries again: the official SDK's retry rules, less what a probe must
never retry.

From openai-python, src/openai/_base_client.py (`_should_retry`, as of 2026-08-21):

    retry_after = self._parse_retry_after_header(response.headers)
    if retry_after is not None and math.isfinite(retry_after) and \
            retry_after > MAX_RETRY_AFTER_DELAY:    # (one line in the source)
        return False
    should_retry_header = response.headers.get("x-should-retry")
    if should_retry_header == "true":
        return True
    if should_retry_header == "false":
        return False
    if response.status_code == 408: ...  return True    # request timeouts
    if response.status_code == 409: ...  return True    # lock timeouts
    if response.status_code == 429: ...  return True    # rate limits
    if response.status_code >= 500: ...  return True    # internal errors
    return False

and `_parse_retry_after_header`: "First, try the non-standard `retry-after-ms` header for
milliseconds", then `retry-after` as seconds, then as an HTTP date (checks.headers does the
same). `_calculate_retry_timeout` waits what the server asks when 0 < wait <= 120 s, else
backs off from INITIAL_RETRY_DELAY = 0.5 s (src/openai/_constants.py). Timeouts and
connection errors are retried too.

What a probe does differently: a structural reason (quota, billing, a missing scope…) is
never retried — the SDK retries `insufficient_quota` and `billing_not_active` because they
come as 429, and waiting cannot change them; the server's wait is capped by the probe's
`max_retry_wait` (30 s) rather than two minutes; and the probe retries once, not twice.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from checks.durations import parse_duration
from checks.headers import MAX_WAIT_SECONDS, ResponseMeta
from checks.reasons import Reason

RETRIED_STATUSES = frozenset({408, 409, 429})  # and every status >= 500
INITIAL_RETRY_DELAY = 0.5


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    retry: bool
    wait: float
    why: str


def _no(why: str) -> RetryDecision:
    return RetryDecision(retry=False, wait=0.0, why=why)


def decide_retry(
    http_status: int | None, meta: ResponseMeta, reason: Reason, max_wait: float
) -> RetryDecision:
    """Whether to send the request again after this answer, and after how long."""
    if reason.structural:
        return _no(f"{reason.code} is a fact about the account: waiting does not change it")
    asked = meta.retry_after_seconds
    wait = asked if asked is not None and asked > 0 else INITIAL_RETRY_DELAY
    if wait > max_wait:
        return _no(f"the wait ({wait:g} s) is longer than max_retry_wait ({max_wait:g} s)")
    if http_status is None:  # no answer: the SDK retries timeouts and connection errors
        if reason.transient:
            return RetryDecision(True, wait, f"{reason.code}: no answer came")
        return _no(f"{reason.code}: nothing to retry")
    if meta.should_retry is not None:
        verdict = "true" if meta.should_retry else "false"
        return RetryDecision(meta.should_retry, wait, f"x-should-retry: {verdict}")
    if http_status in RETRIED_STATUSES or http_status >= 500:
        return RetryDecision(True, wait, f"HTTP {http_status} is retried, as the SDK does")
    return _no(f"HTTP {http_status} is not retried")


# "Please try again in 20s." / "in 644ms" (OpenAI, tests/fixtures/openai_answers/
# rate-limit-rpm-429-chatdev-26.json and others); "Please retry after 86400 seconds."
# (Azure, azure-rate-limit-429-dbchatprov2-2.json); "Try again in 2 seconds." (Azure,
# azure-rate-limit-headers-429-copilot-camp-551.json).
_TRY_AGAIN = re.compile(r"try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)\b", re.IGNORECASE)
_RETRY_AFTER = re.compile(r"(?:retry after|try again in) (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


def wait_hint(message: str | None) -> float | None:
    """Seconds an error message asks to wait, when it says so in words."""
    if not message:
        return None
    seconds: float | None = None
    if found := _TRY_AGAIN.search(message):
        try:
            seconds = parse_duration(found.group(1))
        except ValueError:
            seconds = None
    elif found := _RETRY_AFTER.search(message):
        seconds = float(found.group(1))
    return seconds if seconds is not None and 0 <= seconds <= MAX_WAIT_SECONDS else None


def requested_wait(details: Mapping[str, Any]) -> float | None:
    """How long the API asked this account to wait, from a stored result's details: the
    `retry-after(-ms)` headers, a wait the error message names, and the reset time of a
    rate-limit window the answer left exhausted. The longest counts: sending earlier is
    refused again."""
    waits: list[float] = []
    headers = details.get("headers")
    if isinstance(headers, Mapping):
        value = headers.get("retry_after_seconds")
        if isinstance(value, int | float) and value > 0:
            waits.append(float(value))
        windows = headers.get("rate_limits")
        if isinstance(windows, Mapping):
            for window in windows.values():
                if not isinstance(window, Mapping) or window.get("remaining") != 0:
                    continue
                reset = window.get("reset_seconds")
                if isinstance(reset, int | float) and reset > 0:
                    waits.append(float(reset))
    error = details.get("error")
    if isinstance(error, Mapping):
        hint = wait_hint(error.get("message") if isinstance(error.get("message"), str) else None)
        if hint:
            waits.append(hint)
    return min(max(waits), MAX_WAIT_SECONDS) if waits else None
