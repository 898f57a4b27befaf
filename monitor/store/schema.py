"""The schema's version: Alembic migrations (`migrations/versions/`), run when a store opens
and by `imagewatch db upgrade`.

Several instances may start at once on an empty database, so an upgrade runs under one lock
per database, taken as its transaction begins: PostgreSQL's transaction-level advisory lock
on a fixed key, SQLite's write lock (`BEGIN IMMEDIATE`). The others wait, then find the work
done. DDL is transactional on both, so a failed upgrade leaves nothing changed, and a lock
dies with its transaction, a killed process's included.

A database made by imagewatch 0.1 (`create_all`, no `alembic_version`) is recognised by its
tables and columns and recorded as revision 0001 before upgrading. A database whose
version this imagewatch does not know was upgraded by a newer one: it is refused, untouched.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.store.engine import StoreError, describe

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0003"
"""The newest revision in `migrations/versions/` (tests/test_migrations.py keeps them equal)."""
FIRST = "0001"
"""imagewatch 0.1's schema, made by `create_all` before there were migrations."""
VERSION_TABLE = "alembic_version"
LOCK_KEY = 0x69_6D_61_67_65_77_63_68
"""The advisory lock every imagewatch takes to migrate a PostgreSQL database ("imagewch")."""
MIGRATIONS = Path(__file__).with_name("migrations")


@dataclasses.dataclass(frozen=True)
class SchemaChange:
    """What an upgrade did: the revision found (None: an empty database) and the one left."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


class NewerSchema(StoreError):
    """The database was made by a newer imagewatch: refused, never touched."""


def newer(found: str) -> StoreError:
    return NewerSchema(
        f"database schema {found} is newer than this imagewatch ({HEAD}); upgrade imagewatch"
    )


def _version(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def current(engine: Engine) -> str | None:
    """The database's revision; None when it has none (empty, or made by imagewatch 0.1)."""
    try:
        with engine.connect() as connection:
            return _version(connection)
    except SQLAlchemyError as exc:
        raise StoreError(f"database: {describe(exc)}") from None


def upgrade(engine: Engine) -> SchemaChange:
    """Bring the database to HEAD (StoreError, as one line, when it cannot be)."""
    found = current(engine)
    if found == HEAD:  # the common case: no lock, no Alembic import
        return SchemaChange(HEAD, HEAD)
    if found is not None and not known(found):
        raise newer(found)
    try:
        with engine.connect() as connection:
            _lock(connection)
            before = _version(connection)  # another instance may have upgraded meanwhile
            if before is None and _recognise_first(connection):
                _alembic(connection, "stamp", FIRST)
                before = FIRST
            elif before is not None and not known(before):
                raise newer(before)
            if before != HEAD:
                _alembic(connection, "upgrade", HEAD)
            connection.commit()
    except NewerSchema:
        raise
    except Exception as exc:  # the store's, SQLAlchemy's and Alembic's errors: one line
        raise StoreError(
            f"database: schema upgrade to {HEAD} failed, nothing was changed: {describe(exc)}"
        ) from None
    return SchemaChange(before, HEAD)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # The driver leaves DDL outside any transaction unless one is begun explicitly; an
        # immediate one also takes the write lock now (waiting out the busy timeout).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Connection) -> Config:
    """Alembic's config for this store's migrations, run on `connection` (in its
    transaction: the caller commits)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def _alembic(connection: Connection, command: str, revision: str) -> None:
    from alembic import command as commands

    getattr(commands, command)(alembic_config(connection), revision)


def known(revision: str) -> bool:
    """True for a revision of this imagewatch's migrations: any other came from a newer one."""
    return revision in _revisions()


@functools.cache
def _revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return frozenset(r.revision for r in script.walk_revisions())


@functools.cache
def first_schema() -> dict[str, frozenset[str]]:
    """Revision 0001's tables and their columns, read from a scratch in-memory database
    migrated to it: the migration is the one description of that schema."""
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        _alembic(connection, "upgrade", FIRST)
        found = inspect(connection)
        tables = {
            name: frozenset(c["name"] for c in found.get_columns(name))
            for name in found.get_table_names()
            if name != VERSION_TABLE
        }
    engine.dispose()
    return tables


def _recognise_first(connection: Connection) -> bool:
    """True for a database made by imagewatch 0.1; False for one with none of its tables.
    Anything between is refused rather than guessed at."""
    found = inspect(connection)
    present = set(found.get_table_names()) & set(first_schema())
    if not present:
        return False
    for name, columns in sorted(first_schema().items()):
        have = frozenset(c["name"] for c in found.get_columns(name)) if name in present else None
        if have != columns:
            problem = "missing" if have is None else f"has columns {sorted(have ^ columns)} apart"
            raise StoreError(
                f"database: has imagewatch tables but no schema version, and table {name} "
                f"{problem} from version {FIRST}; nothing was changed"
            )
    return True
