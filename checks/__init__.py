"""What imagewatch probes: one module per check, registered here by name.

Nothing in this package imports `monitor`: checks are pure async functions over an injected
httpx client, so they run the same under the CLI, the daemon and the tests.
"""

from __future__ import annotations

from checks.base import Account, Check, Clock, Evidence, Outcome, ProbeContext, Status
from checks.edit import Edit
from checks.generation import Generation
from checks.model_listing import ModelListing
from checks.pricing import Pricing
from checks.rate_limits import RateLimits
from checks.responses_tool import ResponsesTool
from checks.snapshot import Snapshot
from checks.spend import Spend
from checks.streaming import Streaming
from checks.transparency import Transparency
from checks.usage import Usage

# Order is the order of a round for one account: free evidence first, then the paid probes,
# then the checks that read what the probes recorded.
REGISTRY: dict[str, Check] = {
    check.name: check
    for check in (
        ModelListing(),
        Snapshot(),
        Generation(),
        Edit(),
        Transparency(),
        Streaming(),
        ResponsesTool(),
        RateLimits(),
        Pricing(),
        Usage(),
        Spend(),
    )
}

CAPABILITIES: tuple[str, ...] = tuple(name for name, check in REGISTRY.items() if check.opt_in)
"""The checks an account opts in to with `capabilities = [...]`, in round order."""


def evidence_depth(name: str) -> int:
    """How many checks come before this one in its chain of evidence (`generation` →
    `rate_limits` → `usage`: 0, 1, 2); a round runs each depth after the one before."""
    depth, source = 0, REGISTRY[name].reads_evidence
    while source is not None and depth < len(REGISTRY):
        depth, source = depth + 1, REGISTRY[source].reads_evidence
    return depth


def known_capabilities(names: list[str]) -> list[str]:
    """`names` when each is a capability, once (a config or profile validator)."""
    for name in names:
        if name not in CAPABILITIES:
            raise ValueError(f"{name!r} is not a capability (one of {', '.join(CAPABILITIES)})")
    if len(set(names)) != len(names):
        raise ValueError("lists a capability twice")
    return names


__all__ = [
    "CAPABILITIES",
    "REGISTRY",
    "Account",
    "Check",
    "Clock",
    "Evidence",
    "Outcome",
    "ProbeContext",
    "Status",
    "evidence_depth",
    "known_capabilities",
]
