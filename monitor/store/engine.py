"""Connecting: the database URL, SQLite's pragmas, transactions that fail as one line, and
the one dialect-specific statement (the upsert).

SQLite runs in WAL mode with a busy timeout so readers (the page) never block the writer
(the runner).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """A database problem a user can act on, as one line."""


def describe(exc: BaseException) -> str:
    """One line for a database error: the driver's own words, no SQL, no traceback."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]


@contextlib.contextmanager
def transaction(engine: Engine, failure: str) -> Iterator[Session]:
    """A session whose work commits when the block ends, or not at all. A database error
    becomes a StoreError saying `database: <failure>: <the driver's words>`."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"database: {failure}: {describe(exc)}") from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Only takes effect on a new, empty database: lets prune give pages back to the disk.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StoreError(f"database_url: cannot parse {database_url!r}") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            folder = Path(url.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"database_url: cannot create {folder} ({exc.strerror or exc})"
                ) from None
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"database_url: {exc}") from None


@functools.lru_cache(maxsize=64)
def _upsert_statement(
    table: type[SQLModel],
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    update: Callable[[Any], dict[str, Any]] | None,
    only_if_newer: str | None,
    dialect: str,
) -> Any:
    """Built once per shape: constructing an upsert costs more than running it."""
    target = table.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(target)
    excluded = statement.excluded
    changes = (
        update(excluded)
        if update is not None
        else {name: excluded[name] for name in columns if name not in keys}
    )
    where = None if only_if_newer is None else target.c[only_if_newer] <= excluded[only_if_newer]
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changes, where=where)


def upsert(
    session: Session,
    table: type[SQLModel],
    rows: list[dict[str, Any]],
    keys: list[str],
    update: Callable[[Any], dict[str, Any]] | None = None,
    only_if_newer: str | None = None,
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE for many rows in one executemany, on SQLite and
    PostgreSQL alike. `update` gets the `excluded` (incoming) row and returns the columns to
    set; without it every other column takes the incoming value. `only_if_newer` names a
    column that must not go back in time. Pass module-level functions as `update`: the
    statement is cached per shape."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = _upsert_statement(
        table, tuple(rows[0]), tuple(keys), update, only_if_newer, dialect
    )
    session.connection().execute(statement, rows)


def insert_missing(
    session: Session, table: type[SQLModel], rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """INSERT … ON CONFLICT (keys) DO NOTHING, on SQLite and PostgreSQL alike: rows another
    transaction (another instance) wrote first are left as they are."""
    if not rows:
        return
    target = table.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.connection().execute(insert(target).on_conflict_do_nothing(index_elements=keys), rows)
