"""Whole rounds (runner, real SQLite store) against the hostile server: nothing from outside
stops a round, overspends or leaks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from checks.generation import Generation
from monitor.clock import FrozenClock
from monitor.config import parse
from monitor.plan import plan
from monitor.runner import run_once
from monitor.store import Store
from tests.hostile.server import HostileServer

KEY = "sk-proj-CANARYround0123456789abcdWXYZ"


def test_answers_without_usage_are_charged_their_expected_cost(
    hostile: HostileServer, tmp_path: Path
) -> None:
    # $0.002 pays for one probe at about $0.0019 (54 output tokens at $30/1M plus a prompt
    # margin); an answer without `usage` must not be recorded as free.
    loaded = parse(
        {
            "monitor": {"database_url": f"sqlite:///{tmp_path / 'iw.db'}"},
            "accounts": [
                {
                    "name": "a",
                    "base_url": hostile.url("no-usage"),
                    "api_key_env": "K",
                    "daily_probe_budget_usd": "0.002",
                }
            ],
            "checks": {"generation": {"timeout": "5s"}},
        },
        {"K": KEY},
    )
    store = Store.open(loaded.config.monitor.database_url)
    clock = FrozenClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    probes = plan(loaded, checks=[Generation.name])
    already = len(hostile.requests)
    reasons = []
    for _ in range(4):
        results = asyncio.run(run_once(loaded, probes, clock=clock, store=store))
        reasons.append(results[0].reason)
        clock.advance(60)
    sent = [r for r in hostile.requests[already:] if r[0] == "no-usage"]
    assert reasons == ["ok", "budget_exhausted", "budget_exhausted", "budget_exhausted"]
    assert len(sent) == 1
    assert Decimal(str(store.spend("a", clock.now().date()))) > 0
    store.close()
