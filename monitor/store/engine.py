"""Connecting: the database URL, SQLite's pragmas, transactions that fail as one line, and
the one dialect-specific statement (the upsert).

SQLite runs in WAL mode with a busy timeout so readers (the page) never block the writer
(the runner).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    InterfaceError,
    InternalError,
    OperationalError,
    SQLAlchemyError,
)
from sqlmodel import Session, SQLModel, create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
# `scheme://user:PASSWORD@host`, and libpq's `?password=…`, in any text (even a URL that
# does not parse); greedy up to the last `@`, so a password holding one is hidden whole.
_URL_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
_QUERY_PASSWORD = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


class StoreError(Exception):
    """A database problem a user can act on, as one line."""


class DatabaseFailure(StoreError):
    """The database itself failed, whatever the query: unreachable, corrupted, read-only,
    full, locked. `detail` is the driver's words and the (password-free) URL."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"database: {detail}")
        self.detail = detail


def redact_url(text: str, password: str | None = None) -> str:
    """`text` with any database password in it replaced by `***`."""
    if password:
        text = text.replace(password, "***")
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def describe(exc: BaseException) -> str:
    """One line for a database error: the driver's own words, no SQL, no traceback."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names (None for other databases and in-memory ones)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


@contextlib.contextmanager
def transaction(engine: Engine, failure: str) -> Iterator[Session]:
    """A session whose work commits when the block ends, or not at all. A database error
    becomes a StoreError saying `database: <failure>: <the driver's words>`."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    except DatabaseFailure as exc:
        raise StoreError(f"database: {failure}: {exc.detail}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database: {failure}: {describe(exc)}") from None


# The database's condition, not the query's: these become a DatabaseFailure wherever they
# happen, reads included. IntegrityError (a slot already claimed), ProgrammingError and
# DataError (bugs) keep their own types.
_FAILURES = (OperationalError, InterfaceError, InternalError)


def _database_failure(context: ExceptionContext) -> None:
    """`handle_error` hook: a database that cannot answer is one line naming it, the
    password hidden, instead of a traceback from whichever query met it first."""
    error = context.sqlalchemy_exception
    if context.is_pre_ping or error is None:
        return  # the pool's liveness check handles its own failures
    if not isinstance(error, _FAILURES) and type(error) is not DatabaseError:
        return  # plain DatabaseError: SQLite's "database disk image is malformed"
    url = context.engine.url if context.engine is not None else None
    if url is None:
        raise DatabaseFailure(redact_url(describe(error)))
    detail = redact_url(describe(error), url.password)
    raise DatabaseFailure(f"{detail} ({url.render_as_string(hide_password=True)})")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Only takes effect on a new, empty database: lets prune give pages back to the disk.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def parse_url(database_url: str) -> URL:
    """The URL, or a StoreError saying why not, with any password hidden."""
    try:
        return make_url(database_url)
    except ValueError:  # make_url's int() of the port
        why = "the port is not a number"
    except ArgumentError:
        why = "not a database URL such as sqlite:///imagewatch.db or postgresql+psycopg://…"
    raise StoreError(f"database_url: cannot parse {redact_url(database_url)!r}: {why}")


def with_password(database_url: str, password: str) -> str:
    """`database_url` with `password` put in; StoreError when the URL does not parse or
    already holds a password (two sources for one secret: which one is meant?)."""
    url = parse_url(database_url)
    if url.password is not None:
        raise StoreError("database_url already holds a password; keep only one of the two")
    return url.set(password=password).render_as_string(hide_password=False)


def make_engine(database_url: str) -> Engine:
    url = parse_url(database_url)
    database = sqlite_file(url)
    if database is not None:
        folder = database.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"database_url: cannot create {folder} ({exc.strerror or exc})"
            ) from None
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"database_url: {redact_url(str(exc), url.password)}") from None
    event.listen(engine, "handle_error", _database_failure)
    return engine


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
