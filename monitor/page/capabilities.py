"""The capability matrix: which doors to each model an account's latest results prove open
(generate, edit, transparency, streaming, the Responses image tool). Pure: the site's views
in, plain view objects out, for the index and account pages and `status.json`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from checks.edit import Edit
from checks.generation import Generation
from checks.responses_tool import ResponsesTool
from checks.streaming import Streaming
from checks.transparency import Transparency
from monitor.page.overview import SiteView
from monitor.page.views import NO_DATA, AccountView, Cell, Marked

DOORS: tuple[tuple[str, str], ...] = (
    (Generation.name, "Generate"),
    (Edit.name, "Edit"),
    (Transparency.name, "Transparency"),
    (Streaming.name, "Streaming"),
    (ResponsesTool.name, "Responses tool"),
)
"""The matrix's columns: the check that proves each door, and its heading."""
NOT_PROBED = "not_probed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Door(Marked):
    """One door of one (account, model): its check's latest result, or why there is none."""

    check: str
    title: str
    status: str
    reason: str
    words: str
    summary: str
    checked_at: datetime | None

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "reason": self.reason}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapabilityRow:
    account: str
    model: str
    doors: list[Door]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapabilityMatrix:
    """Rows per (account, model); empty when no account opts in to any capability."""

    titles: list[str]
    rows: list[CapabilityRow]

    def for_account(self, name: str) -> list[CapabilityRow]:
        return [row for row in self.rows if row.account == name]

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "account": row.account,
                "model": row.model,
                "doors": {door.check: door.as_json() for door in row.doors},
            }
            for row in self.rows
        ]


def door(check: str, title: str, cell: Cell | None) -> Door:
    if cell is None:
        return Door(
            check=check,
            title=title,
            status=NO_DATA,
            reason=NOT_PROBED,
            words="Not probed: not in the account's capabilities",
            summary="",
            checked_at=None,
        )
    return Door(
        check=check,
        title=title,
        status=cell.status,
        reason=cell.reason,
        words=cell.words,
        summary=cell.summary,
        checked_at=cell.checked_at,
    )


def account_rows(account: AccountView) -> list[CapabilityRow]:
    cells = {(c.check, c.model): c for c in account.cells}
    return [
        CapabilityRow(
            account=account.name,
            model=model,
            doors=[door(check, title, cells.get((check, model))) for check, title in DOORS],
        )
        for model in account.models
    ]


def probes_capabilities(checks: Iterable[str]) -> bool:
    """Whether any of `checks` (the site's probes' or cells') proves a door beyond generation."""
    capability_checks = {check for check, _ in DOORS[1:]}
    return any(check in capability_checks for check in checks)


def capability_matrix(site: SiteView) -> CapabilityMatrix:
    """Every account's models by door, from the latest result of each door's check; none
    when no account probes any door beyond generation."""
    probed = site.capabilities_probed
    if probed is None:
        probed = probes_capabilities(c.check for a in site.accounts for c in a.cells)
    rows: Sequence[CapabilityRow] = (
        [row for account in site.accounts for row in account_rows(account)] if probed else []
    )
    return CapabilityMatrix(titles=[title for _, title in DOORS], rows=list(rows))
