from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from monitor.config import LoadedConfig, parse
from monitor.page import read_page_data
from monitor.store import Incident, LaunchReport, ProbeResult, Store
from monitor.store.page_reads import DayCounts, DayLatency, read_accounts

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CHECKS = ("generation", "pricing")


def config(count: int) -> LoadedConfig:
    accounts = [{"name": f"acct-{a}", "api_key_env": "KEY"} for a in range(count)]
    return parse({"accounts": accounts}, {"KEY": "sk-test-0000000011112222"})


def fill(store: Store, count: int, results: int = 6) -> None:
    """Per account: `results` hourly results of each check alternating pass/fail (each a
    state change, spread over days), an incident per check (one open), two launch
    reports, a paid probe today."""
    rows = []
    for a in range(count):
        for check in CHECKS:
            for n in range(results):
                at = NOW - timedelta(hours=7 * n, minutes=a)
                rows.append(
                    ProbeResult(
                        account=f"acct-{a}",
                        check=check,
                        model="gpt-image-2",
                        status="pass" if n % 2 else "fail",
                        reason="ok",
                        summary=f"{check} {n}",
                        latency_ms=300.0 + n,
                        cost_usd=0.01 if check == "generation" else None,
                        started_at=at - timedelta(seconds=1),
                        finished_at=at,
                        state_change=True,
                    )
                )
    store.add_results(rows)
    for a in range(count):
        for index, check in enumerate(CHECKS):
            with store.alert_work("test") as work:
                work.add_incident(
                    Incident(
                        account=f"acct-{a}",
                        check=check,
                        model="gpt-image-2",
                        reason="ok",
                        summary="s",
                        state="open" if index else "resolved",
                        opened_at=NOW - timedelta(hours=index + a),
                        updated_at=NOW,
                    )
                )
        store.add_launch_reports(
            LaunchReport(
                profile="p",
                account=f"acct-{a}",
                verdict="go",
                report={"n": n},
                created_at=NOW - timedelta(days=n),
            )
            for n in range(2)
        )


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_a_publish_reads_the_store_in_as_many_queries_for_six_accounts_as_for_two(
    store: Store,
) -> None:
    fill(store, 6)
    with counted(store) as few:
        read_page_data(store, config(2), NOW)
    with counted(store) as many:
        data = read_page_data(store, config(6), NOW)
    assert len(many) == len(few)
    assert [r.id for r in data.accounts["acct-5"].changes] == [
        r.id for r in store.state_changes("acct-5", 20)
    ]


def test_the_read_of_every_account_matches_each_account_s_own_queries_latency_only_where_charted(
    store: Store,
) -> None:
    fill(store, 3, results=30)
    since = (NOW - timedelta(days=90)).date()
    reads = read_accounts(store, since, NOW.date(), 20, 1, latency_checks=["generation"])
    for a in range(3):
        name = f"acct-{a}"
        assert [r.id for r in reads.changes[name]] == [r.id for r in store.state_changes(name, 20)]
        assert [i.id for i in reads.incidents[name]] == [i.id for i in store.incidents(name, 1)]
        latest = store.latest_launch_report(name)
        assert latest is not None
        assert reads.launch[name].id == latest.id
        assert reads.spend_today[name] == store.spend(name, NOW.date())
        expected = [
            tuple(
                getattr(row, field)
                for field in (DayLatency if row.check == "generation" else DayCounts)._fields
            )
            for row in store.rollups_for(name, since)
        ]
        assert sorted(tuple(r) for r in reads.day_rollups[name]) == sorted(expected)
        assert any(isinstance(r, DayLatency) and r.h2 for r in reads.day_rollups[name])


def test_the_read_of_some_accounts_holds_their_rows_as_the_read_of_every_account_does(
    store: Store,
) -> None:
    fill(store, 4, results=10)
    since = (NOW - timedelta(days=90)).date()
    every = read_accounts(store, since, NOW.date(), 20, 20, latency_checks=["generation"])
    some = read_accounts(
        store, since, NOW.date(), 20, 20, latency_checks=["generation"], names={"a", "acct-3"}
    )
    name = "acct-3"  # "a" names no account
    assert some.spend_today[name] == every.spend_today[name]
    assert some.day_rollups[name] == every.day_rollups[name]
    assert [r.id for r in some.changes[name]] == [r.id for r in every.changes[name]]
    assert [i.id for i in some.incidents[name]] == [i.id for i in every.incidents[name]]
    assert some.launch[name].id == every.launch[name].id
    for kind in (some.spend_today, some.day_rollups, some.changes, some.incidents, some.launch):
        assert set(kind) == {"acct-3"}
