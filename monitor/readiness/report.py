"""A launch report as ops read it: the JSON document, the stored rows, the Markdown to paste
into a launch document, the dry run's listing, and the exit code."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from checks.base import Verdict
from monitor.readiness.plan import PlannedProbe
from monitor.readiness.profile import LaunchProfile
from monitor.readiness.requirements import MET, NOT_MET, SAID, UNKNOWN, Requirement
from monitor.store import LaunchReport


@dataclasses.dataclass
class AccountReport:
    """One account's answer: its verdict, every requirement, what its probes cost."""

    account: str
    verdict: str
    requirements: list[Requirement]
    spent_usd: float
    probes: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "verdict": self.verdict,
            "requirements": [r.as_json() for r in self.requirements],
            "spent_usd": round(self.spent_usd, 6),
            "probes": self.probes,
        }


def overall_verdict(reports: Sequence[AccountReport]) -> Verdict:
    """`Verdict.of` every requirement of every account: one NO-GO account makes the launch
    NO-GO, and no report at all is GO, as for one account."""
    return Verdict.of(r.status for report in reports for r in report.requirements)


def overall(reports: Sequence[AccountReport]) -> str:
    """GO, NO-GO or INCONCLUSIVE for the whole launch."""
    return SAID[overall_verdict(reports)]


def exit_code(reports: Sequence[AccountReport]) -> int:
    """0 GO, 1 NO-GO, 3 INCONCLUSIVE."""
    return overall_verdict(reports).exit_code


def report_json(
    profile: LaunchProfile,
    reports: Sequence[AccountReport],
    planned: Sequence[PlannedProbe],
    now: datetime,
) -> dict[str, Any]:
    """The report `--json` prints, and the content of the stored rows and the Markdown."""
    allowed = sum((p.cost_usd for p in planned if p.allowed), Decimal(0))
    return {
        "profile": profile.model_dump(mode="json"),
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "spend": {
            "at_most_usd": f"{allowed:.4f}",
            "spent_usd": round(sum(r.spent_usd for r in reports), 6),
        },
        "verdict": overall(reports),
        "accounts": [r.as_json() for r in reports],
    }


def to_rows(profile: LaunchProfile, document: dict[str, Any], now: datetime) -> list[LaunchReport]:
    """One stored report per account, each carrying the profile: the status page shows the
    latest per account."""
    return [
        LaunchReport(
            profile=profile.name,
            account=entry["account"],
            verdict=entry["verdict"],
            report={
                **entry,
                "profile": document["profile"],
                "generated_at": document["generated_at"],
            },
            created_at=now,
        )
        for entry in document["accounts"]
    ]


def markdown(document: dict[str, Any]) -> str:
    """The report as Markdown, one table per account."""
    profile = LaunchProfile.model_validate(document["profile"])
    lines = [
        f"## Launch readiness: {profile.name}",
        "",
        f"{profile.model}"
        + (f" (snapshot {profile.snapshot})" if profile.snapshot else "")
        + f", {profile.peak_images_per_minute} images/min at peak, "
        f"{profile.quality} {profile.size}. Checked {document['generated_at']}; "
        f"spent ${document['spend']['spent_usd']:.4f} "
        f"(at most ${document['spend']['at_most_usd']}).",
        "",
        f"**Overall: {document['verdict']}**",
        "",
    ]
    for account in document["accounts"]:
        lines += [
            f"### {account['account']}: {account['verdict']}",
            "",
            "| | Requirement | Detail | What to do |",
            "|---|---|---|---|",
        ]
        for r in account["requirements"]:
            symbol = {MET: "✅", NOT_MET: "❌", UNKNOWN: "❔"}[r["state"]]
            cells = [symbol, r["title"], r["detail"], r["advice"]]
            lines.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
            )
        lines.append("")
    return "\n".join(lines)


def dry_run_text(planned: Sequence[PlannedProbe], max_spend: Decimal | None) -> str:
    """Every probe and its cost, and the most the run would spend; nothing is sent."""
    lines = []
    total = Decimal(0)
    for probe in planned:
        cost = f"${probe.cost_usd:.4f}" if probe.paid else "free"
        note = "" if probe.allowed else "  (not sent: would pass --max-spend)"
        if probe.allowed:
            total += probe.cost_usd
        lines.append(f"{probe.account:<24} {probe.name:<14} {probe.model:<24} {cost}{note}")
    cap = f" (--max-spend ${max_spend})" if max_spend is not None else ""
    lines.append(f"at most ${total:.4f} in paid probes{cap}; nothing was sent (--dry-run)")
    return "\n".join(lines)
