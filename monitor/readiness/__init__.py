"""`imagewatch readiness`: a go/no-go report before a launch.

For each account it runs what the launch profile needs right now (free checks, then the paid
probes within `--max-spend`), and answers GO, NO-GO or INCONCLUSIVE, listing every
requirement as met, not met (why, and what to do) or could not tell.

profile (the TOML) → plan (probes and costs) → probe (through the runner) → requirements
(pure judgement) → report (JSON, Markdown, stored rows, dry run).
"""

from __future__ import annotations

from monitor.readiness.plan import PlannedProbe, plan
from monitor.readiness.probe import Readiness
from monitor.readiness.profile import LaunchProfile, load_profile
from monitor.readiness.report import (
    AccountReport,
    dry_run_text,
    exit_code,
    markdown,
    overall,
    report_json,
    to_rows,
)

__all__ = [
    "AccountReport",
    "LaunchProfile",
    "PlannedProbe",
    "Readiness",
    "dry_run_text",
    "exit_code",
    "load_profile",
    "markdown",
    "overall",
    "plan",
    "report_json",
    "to_rows",
]
