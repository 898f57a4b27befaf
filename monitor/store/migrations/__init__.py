"""The store's Alembic migrations: `env.py` runs them on the connection
`monitor.store.schema` hands over, `versions/` holds one file per schema version."""
