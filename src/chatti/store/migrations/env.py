"""Alembic environment: migrations run on the connection chatti.store.migrate hands in."""

from __future__ import annotations

from alembic import context

from chatti.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `chatti db upgrade`, which opens the database")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
