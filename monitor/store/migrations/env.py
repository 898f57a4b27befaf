"""Alembic's environment. `monitor.store.schema` hands over a connection that already holds
the migration lock inside an open transaction: the migrations run in that transaction (DDL
is transactional on PostgreSQL and SQLite), so an upgrade that fails leaves nothing done."""

from alembic import context
from sqlmodel import SQLModel

from monitor.store import tables  # noqa: F401  (the models: what the head must match)

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=SQLModel.metadata,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
