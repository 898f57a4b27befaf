"""One file per schema version, oldest first. A revision is never edited once released:
a change of schema is a new revision (and `monitor.store.schema.HEAD` moves to it)."""
