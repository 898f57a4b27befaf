from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from monitor.retention import cutoff_for, prune
from monitor.store import ProbeResult, Store
from monitor.store.rollups import percentile, rollup_percentile, rollup_percentiles

NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


def result(
    at: datetime,
    status: str = "pass",
    latency: float = 100.0,
    cost: float | None = None,
    check: str = "generation",
) -> ProbeResult:
    return ProbeResult(
        account="prod",
        check=check,
        model="gpt-image-2",
        status=status,
        reason="ok",
        summary="s",
        details={},
        latency_ms=latency,
        cost_usd=cost,
        started_at=at,
        finished_at=at,
    )


def test_cutoff_is_a_whole_utc_day() -> None:
    assert cutoff_for(NOW, 30) == datetime(2026, 10, 22, tzinfo=UTC)


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)
    assert percentile([], 0.5) is None


def test_old_results_roll_up_and_go_but_state_changes_stay(store: Store) -> None:
    old = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    rows = [result(old + timedelta(minutes=m), latency=float(m + 1), cost=0.001) for m in range(20)]
    rows.append(result(old + timedelta(hours=1), status="fail"))  # a change: kept
    rows.append(result(old + timedelta(hours=2)))  # and back: kept
    rows.append(result(NOW - timedelta(days=1)))  # recent: untouched
    store.add_results(rows)

    report = prune(store, NOW, retention_days=30)
    assert (report.rolled_up, report.deleted, report.kept_state_changes) == (22, 19, 3)
    hours = {
        (r.bucket.hour, r.total, r.passed, r.failed)
        for r in store.rollups("hour")
        if r.bucket < report.cutoff
    }
    assert hours == {(10, 20, 20, 0), (11, 1, 0, 1), (12, 1, 1, 0)}
    ten = next(r for r in store.rollups("hour") if r.bucket.hour == 10)
    assert (ten.latency_p50_ms, ten.latency_p95_ms) == (10.0, 19.0)
    assert ten.cost_usd == pytest.approx(0.02)
    days = store.rollups("day")
    assert [(d.bucket, d.total, d.failed) for d in days] == [
        (datetime(2026, 10, 1, tzinfo=UTC), 22, 1),
        (datetime(2026, 11, 20, tzinfo=UTC), 1, 0),
    ]
    assert days[0].latency_p50_ms is not None  # pruned: exact
    assert days[1].latency_p50_ms is None  # not pruned yet: from the histogram
    remaining = store.results()
    assert len(remaining) == 4
    assert sum(1 for r in remaining if r.finished_at < report.cutoff) == 3


def test_pruning_twice_counts_nothing_twice(store: Store) -> None:
    old = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    store.add_results([result(old), result(old + timedelta(minutes=1), status="fail")])
    prune(store, NOW, 30)
    again = prune(store, NOW, 30)
    assert (again.rolled_up, again.deleted) == (0, 0)
    assert [r.total for r in store.rollups("day")] == [2]


def test_old_slot_claims_are_freed(store: Store) -> None:
    store.claim("prod", "generation", "gpt-image-2", "old", "a", NOW - timedelta(days=3))
    store.claim("prod", "generation", "gpt-image-2", "new", "a", NOW - timedelta(hours=3))
    assert prune(store, NOW, 30).slots_deleted == 1


def test_rollups_are_kept_up_to_date_as_results_arrive(store: Store) -> None:
    day = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    store.add_results(
        [
            result(day, latency=150.0, cost=0.00168),
            result(day + timedelta(minutes=5), status="fail", latency=90.0),
            result(day + timedelta(hours=2), latency=3000.0),
        ]
    )
    [rollup] = store.rollups("day")
    assert (rollup.total, rollup.passed, rollup.failed) == (3, 2, 1)
    assert rollup.cost_usd == pytest.approx(0.00168)
    assert rollup.histogram()[:6] == [1, 1, 0, 0, 0, 1]
    assert [r.total for r in store.rollups("hour")] == [2, 1]


def test_histogram_percentiles_interpolate_within_a_bucket(store: Store) -> None:
    day = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    store.add_results(
        [result(day + timedelta(seconds=i), latency=float(120 + i)) for i in range(10)]
    )
    [rollup] = store.rollups("day")
    p50 = rollup.percentile(0.5)
    assert p50 is not None
    assert 100 <= p50 <= 200


def test_both_percentiles_at_once_equal_each_read_alone() -> None:
    histograms = [(0,) * 12, (0, 0, 40, 40, 16, *(0,) * 7), (3, *(0,) * 10, 2), (0, 1, *(0,) * 10)]
    rng = random.Random(5)
    histograms += [tuple(rng.choice([0, 0, 1, 2, 7, 30]) for _ in range(12)) for _ in range(200)]
    for counts in histograms:
        for exact in ((None, None), (150.0, None), (None, 900.0), (150.0, 900.0)):
            rollup = SimpleNamespace(
                latency_p50_ms=exact[0],
                latency_p95_ms=exact[1],
                **{f"h{i}": count for i, count in enumerate(counts)},
            )
            assert rollup_percentiles(rollup) == (
                rollup_percentile(rollup, 0.5),
                rollup_percentile(rollup, 0.95),
            )
