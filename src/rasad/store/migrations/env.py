"""Alembic environment: rasad passes its own connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from rasad.store._tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("rasad migrations run through `rasad db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
