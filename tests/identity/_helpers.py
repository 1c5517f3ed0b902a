"""Shared helpers for the identity tests: whole-database snapshots and a settable clock."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from rasad import Project
from rasad.core import Context
from rasad.identity import Principal, local_principal
from rasad.store._tables import Base


def snapshot(project: Project) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every rasad table, in a stable order: equal snapshots, nothing changed."""
    found = {}
    with project.db.read_engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def database_text(project: Project) -> str:
    """Every stored value of every table as text, to search for what must not be stored."""
    return repr(snapshot(project))


def at(ctx: Context, now: str) -> Context:
    """The same project, with a clock that says ``now``."""
    return dataclasses.replace(ctx, clock=lambda: now)


def local_as(ctx: Context, name: str) -> Principal:
    """The local principal of a user called ``name`` on the same project."""
    other = Context.build(ctx.root, ctx.config, actor=name)
    try:
        return local_principal(other)
    finally:
        other.close()
