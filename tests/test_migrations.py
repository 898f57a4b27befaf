"""Versioned schema: Alembic migrations on SQLite and PostgreSQL, from an empty database and
from one that imagewatch 0.1's `create_all` made (its DDL is kept in
tests/fixtures/schema/), a newer schema refused untouched, a failed upgrade undone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, inspect, select, text
from sqlmodel import Session, SQLModel, col

from monitor.alerts import Channel, deliver
from monitor.clock import FrozenClock
from monitor.config import ChannelTarget, parse
from monitor.store import OutboxMessage, ProbeResult, Store, StoreError, make_engine
from monitor.store.schema import FIRST, HEAD, MIGRATIONS, alembic_config, first_schema
from tests.conftest import PG_URL, drop_every_table, open_store
from tests.receivers import http_receiver

FIXTURES = Path(__file__).parent / "fixtures" / "schema"
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PAIR = {"account": "prod", "check": "generation", "model": "gpt-image-2"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'imagewatch.db'}"
        return
    open_store("postgresql", tmp_path).close()  # skips, or fails under CI, without a server
    assert PG_URL is not None
    engine = make_engine(PG_URL)
    drop_every_table(engine)
    try:
        yield PG_URL
    finally:  # a schema left "newer" here would be refused by the next test on this database
        drop_every_table(engine)
        engine.dispose()


def run_script(engine: Engine, path: Path) -> None:
    with engine.begin() as connection:
        for statement in path.read_text(encoding="utf-8").split(";"):
            lines = [line for line in statement.splitlines() if not line.startswith("--")]
            if "".join(lines).strip():
                connection.exec_driver_sql("\n".join(lines))


def make_release_0_1(url: str) -> Engine:
    """A database exactly as imagewatch 0.1 left it: its tables, no version."""
    engine = make_engine(url)
    run_script(engine, FIXTURES / f"imagewatch-0.1.{engine.dialect.name}.sql")
    return engine


def shape(engine: Engine) -> dict[str, Any]:
    """Tables, columns (name, type, nullable), keys and indexes, as the database reports."""
    found = inspect(engine)
    return {
        name: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(name)],
            found.get_pk_constraint(name)["constrained_columns"],
            sorted((i["name"], i["column_names"], i["unique"]) for i in found.get_indexes(name)),
        )
        for name in found.get_table_names()
        if name != "alembic_version"
    }


def version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_head_is_the_newest_revision_and_the_module_says_so() -> None:
    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == HEAD


def test_an_empty_database_is_migrated_to_exactly_the_models(empty: str) -> None:
    store = Store.open(empty)
    assert version(store.engine) == HEAD
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    store.close()


def test_revision_0001_builds_what_imagewatch_0_1_built(empty: str) -> None:
    engine = make_release_0_1(empty)
    made_by_0_1 = shape(engine)
    assert set(made_by_0_1) == set(first_schema())
    drop_every_table(engine)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), FIRST)
        connection.commit()
    assert shape(engine) == made_by_0_1
    engine.dispose()


def release_0_1_rows(naive: bool) -> dict[str, list[dict[str, Any]]]:
    """A row or two in every table, as 0.1 wrote them (SQLite kept naive UTC)."""

    def at(moment: datetime) -> datetime:
        return moment.replace(tzinfo=None) if naive else moment

    counts = dict.fromkeys(("total", "passed", "warned", "failed", "unknown", "skipped"), 0)
    outbox = {
        "channel": "hook",
        "kind": "opened",
        "incident_id": 1,
        "title": "[imagewatch] OPENED prod · generation · gpt-image-2",
        "body": "Organization not verified",
        "payload": {"version": 1, "event": "opened", "incident": {"id": 1}},
        "attempts": 0,
        "next_attempt_at": at(T0),
        "created_at": at(T0),
    }
    return {
        "probe_results": [
            {
                **PAIR,
                "status": "fail",
                "reason": "org_verification_required",
                "summary": "HTTP 403 — verify the organization",
                "http_status": 403,
                "request_id": "req_1",
                "latency_ms": 120.0,
                "details": {"error": {"code": "organization_must_be_verified"}},
                "started_at": at(T0 - timedelta(seconds=1)),
                "finished_at": at(T0),
                "state_change": True,
                "rolled_up": False,
            }
        ],
        "latest_results": [
            {
                **PAIR,
                "result_id": 1,
                "status": "fail",
                "reason": "org_verification_required",
                "finished_at": at(T0),
            }
        ],
        "daily_spend": [
            {
                "account": "prod",
                "day": T0.date(),
                "usd": 0.00168,
                "paid_probes": 1,
                "skipped_probes": 0,
            }
        ],
        "probe_slots": [{**PAIR, "slot": "3600s:494236", "instance": "old", "claimed_at": at(T0)}],
        "rollups": [
            {
                "period": "day",
                "bucket": at(T0.replace(hour=0)),
                **PAIR,
                **counts,
                "total": 1,
                "failed": 1,
                "cost_usd": 0.0,
                "latency_count": 1,
                **{f"h{i}": int(i == 1) for i in range(12)},
            }
        ],
        "heartbeats": [
            {
                "instance": "old",
                "host": "box",
                "pid": 4242,
                "version": "0.1.0",
                "started_at": at(T0 - timedelta(hours=1)),
                "beat_at": at(T0),
            }
        ],
        "alert_states": [
            {**PAIR, "failures": 1, "successes": 0, "incident_id": 1, "last_result_id": 1}
        ],
        "incidents": [
            {
                **PAIR,
                "reason": "org_verification_required",
                "summary": "HTTP 403 — verify the organization",
                "request_id": "req_1",
                "http_status": 403,
                "state": "open",
                "opened_at": at(T0),
                "updated_at": at(T0),
                "last_notified_at": at(T0),
            }
        ],
        "alert_outbox": [
            {**outbox, "dedupe_key": "incident:1:opened:1", "state": "sent", "sent_at": at(T0)},
            {
                **outbox,
                "kind": "reminder",
                "dedupe_key": "incident:1:reminder:2",
                "state": "pending",
                "sent_at": None,
            },
        ],
        "silences": [
            {
                "account": "prod",
                "check": None,
                "reason": "rotating keys",
                "created_at": at(T0),
                "until": at(T0 + timedelta(days=365)),
            }
        ],
        "launch_reports": [
            {
                "profile": "launch.toml",
                "account": "prod",
                "verdict": "go",
                "report": {"verdict": "go"},
                "created_at": at(T0),
            }
        ],
    }


def every_row(engine: Engine, tables: dict[str, frozenset[str]]) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows, in key order, restricted to the given columns."""
    found = MetaData()
    found.reflect(engine, only=list(tables))
    with engine.connect() as connection:
        return {
            name: [
                {k: v for k, v in row._mapping.items() if k in columns}
                for row in connection.execute(
                    select(found.tables[name]).order_by(*found.tables[name].primary_key.columns)
                )
            ]
            for name, columns in tables.items()
        }


def test_a_database_made_by_imagewatch_0_1_is_upgraded_and_keeps_every_row(empty: str) -> None:
    engine = make_release_0_1(empty)
    found = MetaData()
    found.reflect(engine)
    with engine.begin() as connection:
        for name, rows in release_0_1_rows(engine.dialect.name == "sqlite").items():
            connection.execute(found.tables[name].insert(), rows)
    before = every_row(engine, first_schema())
    assert all(before.values())
    engine.dispose()

    store = Store.open(empty)
    assert version(store.engine) == HEAD
    assert every_row(store.engine, first_schema()) == before
    [heartbeat] = store.heartbeats()
    assert (heartbeat.instance, heartbeat.last_result_at) == ("old", None)
    assert heartbeat.stopped_at is None  # 0003: an instance of before counts until its beats stop
    with Session(store.engine) as session:
        messages = list(session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id))))
    ids = [uuid.UUID(m.message_id) for m in messages]
    assert len(set(ids)) == 2
    [old] = store.results()
    assert (old.finished_at, old.reason) == (T0, "org_verification_required")

    # The upgraded store works as a new one: results, heartbeats, and the message 0.1 left
    # pending goes out with the id the upgrade gave it.
    later = T0 + timedelta(minutes=5)
    store.add_result(
        ProbeResult(
            **PAIR,
            status="pass",
            reason="ok",
            summary="ok",
            details={},
            started_at=T0,
            finished_at=later,
        )
    )
    store.beat("old", "box", 4242, "0.2", T0, later, last_result_at=later)
    assert store.heartbeats()[0].last_result_at == later
    loaded = parse(
        {
            "accounts": [{"name": "prod", "api_key_env": "KEY"}],
            "alerts": {
                "channels": [{"name": "hook", "kind": "webhook", "url_env": "U", "secret_env": "S"}]
            },
        },
        {"KEY": "sk-test-abcd1234", "U": "http://127.0.0.1:9/", "S": "whsec-test-secret"},
    )
    with http_receiver() as receiver, httpx.Client() as client:
        target = ChannelTarget("hook", "webhook", receiver.url, "whsec-test-secret")
        clock = FrozenClock(T0)
        report = deliver(store, loaded, {"hook": Channel(target, client, clock)}, T0, "new")
    assert report.sent == 1
    [request] = receiver.requests
    assert json.loads(request["body"])["id"] == request["headers"]["Idempotency-Key"]
    assert request["headers"]["Idempotency-Key"] == messages[1].message_id
    store.close()


def test_heartbeats_keep_the_last_result_time_when_none_is_given(empty: str) -> None:
    store = Store.open(empty)
    store.beat("a", "host", 1, "0.2", T0, T0, last_result_at=T0)
    store.beat("a", "host", 1, "0.2", T0, T0 + timedelta(seconds=30))
    store.beat("b", "host", 2, "0.2", T0, T0)
    beats = {b.instance: b.last_result_at for b in store.heartbeats()}
    assert beats == {"a": T0, "b": None}
    store.close()


def set_version(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})


def test_a_database_with_a_newer_schema_is_refused_and_left_untouched(empty: str) -> None:
    Store.open(empty).close()
    engine = make_engine(empty)
    set_version(engine, "0099")
    before = shape(engine)
    with pytest.raises(StoreError) as refused:
        Store.open(empty)
    assert str(refused.value) == (
        f"database schema 0099 is newer than this imagewatch ({HEAD}); upgrade imagewatch"
    )
    assert version(engine) == "0099"
    assert shape(engine) == before
    engine.dispose()


def test_tables_that_match_no_known_schema_are_refused_and_left_untouched(empty: str) -> None:
    engine = make_release_0_1(empty)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE heartbeats ADD COLUMN mood VARCHAR(10)")
    before = shape(engine)
    with pytest.raises(StoreError, match=r"table heartbeats has columns \['mood'\] apart"):
        Store.open(empty)
    assert shape(engine) == before
    assert version(engine) is None
    engine.dispose()


def test_a_failed_upgrade_changes_nothing_and_says_so_in_one_line(empty: str) -> None:
    engine = make_release_0_1(empty)
    # Someone added the column 0002 adds: the upgrade fails half-way and must undo it all.
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE alert_outbox ADD COLUMN message_id VARCHAR(36)")
        connection.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"
        )
        connection.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{FIRST}')")
    before = shape(engine)
    with pytest.raises(StoreError) as failed:
        Store.open(empty)
    message = str(failed.value)
    assert message.startswith(f"database: schema upgrade to {HEAD} failed, nothing was changed: ")
    assert "\n" not in message
    assert version(engine) == FIRST
    assert shape(engine) == before
    engine.dispose()


def imagewatch(*args: str, folder: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    config = folder / "imagewatch.toml"
    config.write_text(
        f'[monitor]\ndatabase_url = "{database_url}"\n'
        '[[accounts]]\nname = "prod"\napi_key_env = "KEY"\n',
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KEY": "sk-test-abcd1234"},
        cwd=folder,
    )


def test_db_current_and_db_upgrade_say_where_the_schema_stands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'imagewatch.db'}"
    make_release_0_1(url).dispose()
    steps = [
        (
            "current",
            f"database schema none (an empty database, or one made by imagewatch 0.1): "
            f"this imagewatch upgrades it to {HEAD}",
        ),
        ("upgrade", f"database schema upgraded from {FIRST} to {HEAD}"),
        ("current", f"database schema {HEAD}: up to date"),
        ("upgrade", f"database schema {HEAD}: up to date"),
    ]
    for step, said in steps:
        done = imagewatch("db", step, folder=tmp_path, database_url=url)
        assert (done.returncode, done.stdout.strip(), done.stderr) == (0, said, "")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = imagewatch("db", "upgrade", folder=tmp_path, database_url=fresh)
    assert done.stdout.strip() == f"database schema {HEAD}: created"


def test_every_command_refuses_a_newer_schema_in_one_line_with_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'imagewatch.db'}"
    Store.open(url).close()
    engine = create_engine(url)
    set_version(engine, "0099")
    engine.dispose()
    refusal = (
        f"error: database schema 0099 is newer than this imagewatch ({HEAD}); upgrade imagewatch"
    )
    for args in (("db", "upgrade"), ("db", "current"), ("check",), ("publish",)):
        done = imagewatch(*args, folder=tmp_path, database_url=url)
        assert (done.returncode, done.stderr.strip()) == (2, refusal), args
    engine = create_engine(url)
    assert version(engine) == "0099"
    engine.dispose()
