from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.base import Outcome, Status
from monitor.plan import Probe
from monitor.redact import Redactor
from monitor.runner import to_row
from monitor.store import ProbeResult, Store, StoreError
from tests.conftest import make_account

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def row(
    account: str = "prod",
    check: str = "generation",
    at: datetime = T0,
    status: str = "pass",
    **extra: object,
) -> ProbeResult:
    values: dict[str, object] = {
        "account": account,
        "check": check,
        "model": "gpt-image-2",
        "status": status,
        "reason": "ok",
        "summary": "fine",
        "details": {"usage": {"output_tokens": 54}},
        "started_at": at - timedelta(seconds=1),
        "finished_at": at,
    }
    values.update(extra)
    return ProbeResult(**values)  # type: ignore[arg-type]


def test_the_store_creates_its_schema_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "imagewatch.db"
    store = Store.open(f"sqlite:///{path}")
    store.add_result(row())
    store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT count(*) FROM probe_results").fetchone()[0] == 1


def test_timestamps_come_back_utc_and_aware(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    paris = T0.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    store.add_result(row(at=paris))
    got = store.latest("prod", "generation", "gpt-image-2")
    assert got is not None
    assert got.finished_at == T0
    assert got.finished_at.tzinfo is UTC
    assert got.details == {"usage": {"output_tokens": 54}}


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(StoreError):
        store.add_result(row(at=datetime(2026, 1, 1)))  # noqa: DTZ001


def test_latest_per_pair_returns_the_newest_of_each(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    store.add_results(
        [
            row(at=T0),
            row(at=T0 + timedelta(minutes=5), status="fail"),
            row(check="pricing", at=T0),
            row(account="eu", at=T0),
        ]
    )
    latest = {(r.account, r.check): r.status for r in store.latest_per_pair()}
    assert latest == {
        ("prod", "generation"): "fail",
        ("prod", "pricing"): "pass",
        ("eu", "generation"): "pass",
    }


def test_api_keys_never_reach_the_database(tmp_path: Path) -> None:
    secret = "sk-proj-test-secret-abcd1234"
    account = make_account(api_key=secret)
    outcome = Outcome(
        Status.FAIL,
        "invalid_api_key",
        f"HTTP 401 — Incorrect API key provided: sk-abc***wxyz; sent {secret}",
        {"error": {"message": f"key {secret}", "other": ["sk-live-9876543210zz"]}},
    )
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    store.add_result(
        to_row(Probe(account, "generation", "gpt-image-2"), outcome, T0, T0, Redactor([secret]))
    )
    store.close()
    raw = (
        (tmp_path / "x.db").read_bytes() + (tmp_path / "x.db-wal").read_bytes()
        if (tmp_path / "x.db-wal").exists()
        else (tmp_path / "x.db").read_bytes()
    )
    assert secret.encode() not in raw
    assert b"sk-live-9876543210zz" not in raw
    assert b"sk-abc***wxyz" not in raw
    stored = Store.open(f"sqlite:///{tmp_path / 'x.db'}").latest(
        "prod", "generation", "gpt-image-2"
    )
    assert stored is not None
    assert "…1234" in stored.summary
    assert "sk-…wxyz" in stored.summary


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create"):
        Store.open(f"sqlite:///{blocker / 'db.sqlite'}")
    with pytest.raises(StoreError, match="database_url"):
        Store.open("nonsense://")


def test_a_full_disk_is_one_clear_error_and_loses_no_stored_row(tmp_path: Path) -> None:
    from sqlalchemy import event

    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    store.add_result(row(summary="kept"))
    store.engine.dispose()

    def cap(connection: object, _record: object) -> None:
        connection.execute("PRAGMA max_page_count = 12")  # type: ignore[attr-defined]

    event.listen(store.engine, "connect", cap)

    def fill() -> None:
        for index in range(200):
            store.add_result(row(summary="x" * 4000, details={"n": index, "pad": "y" * 4000}))

    with pytest.raises(StoreError, match="full"):
        fill()
    event.remove(store.engine, "connect", cap)
    store.engine.dispose()
    kept = Store.open(f"sqlite:///{tmp_path / 'x.db'}").results()
    assert "kept" in [r.summary for r in kept]


def test_both_backends_keep_aware_utc_times_and_the_latest_per_pair(store: Store) -> None:
    store.add_results(
        [row(at=T0), row(at=T0 + timedelta(minutes=5), status="fail"), row(account="eu", at=T0)]
    )
    store.add_result(row(at=T0 - timedelta(hours=1), status="warn"))  # late: not the latest
    latest = {r.account: r for r in store.latest_per_pair()}
    assert latest["prod"].status == "fail"
    assert latest["prod"].finished_at == T0 + timedelta(minutes=5)
    assert latest["prod"].finished_at.tzinfo is UTC


def test_state_changes_are_marked_on_insert(store: Store) -> None:
    for status in ("pass", "pass", "fail", "fail", "pass"):
        store.add_result(row(status=status))
    changes = [r.state_change for r in sorted(store.results(), key=lambda r: r.id or 0)]
    assert changes == [True, False, True, False, True]


def test_the_spend_ledger_adds_up_per_account_and_day(store: Store) -> None:
    store.add_results(
        [
            row(cost_usd=0.00168),
            row(cost_usd=0.00168),
            row(cost_usd=0.00168, at=T0 + timedelta(days=1)),
            row(reason="budget_exhausted", status="skipped"),
            row(check="model_listing", reason="listed"),
        ]
    )
    assert store.spend("prod", T0.date()) == pytest.approx(0.00336)
    ledger = [(d.day.isoformat(), d.paid_probes, d.skipped_probes) for d in store.spend_ledger()]
    assert ledger == [("2026-11-21", 2, 1), ("2026-11-22", 1, 0)]


def test_a_slot_is_claimed_once(store: Store) -> None:
    assert store.claim("prod", "generation", "gpt-image-2", "3600s:1", "a", T0)
    assert not store.claim("prod", "generation", "gpt-image-2", "3600s:1", "b", T0)
    assert store.claim("prod", "generation", "gpt-image-2", "3600s:2", "b", T0)


def test_heartbeats_update_in_place(store: Store) -> None:
    store.beat("a", "host", 1, "0.1.0", T0, T0)
    store.beat("a", "host", 1, "0.1.0", T0, T0 + timedelta(seconds=30))
    beats = store.heartbeats()
    assert [(b.instance, b.beat_at) for b in beats] == [("a", T0 + timedelta(seconds=30))]
