"""Schema migrations: Alembic, driven through rasad's own connection.

Migrations run only through an explicit command (``rasad db upgrade``, or
``Project.init`` for a new project). Opening a project whose database is behind
the code is refused with that hint.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from rasad.errors import SchemaVersionError
from rasad.store._engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The revision this version of rasad expects."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaVersionError("rasad ships no migrations; reinstall rasad.")
    return head


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with db.read_engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to ``revision``; returns (before, after)."""
    before = current_revision(db)
    config = _config()
    with db.read_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return before, current_revision(db) or ""


def check_current(db: Database) -> None:
    """Refuse a database that is older or newer than the code."""
    current = current_revision(db)
    head = head_revision()
    if current == head:
        return
    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current is None:
        raise SchemaVersionError(
            "The metadata database has no rasad tables. Run `rasad db upgrade` to create them."
        )
    if current in known:
        raise SchemaVersionError(
            f"The metadata database is at revision {current}, older than this rasad "
            f"({head}). Run `rasad db upgrade` to migrate it."
        )
    raise SchemaVersionError(
        f"The metadata database is at revision {current}, which this rasad does not know "
        f"(newest known: {head}); it was written by a newer rasad. Upgrade rasad."
    )
