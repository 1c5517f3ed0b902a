"""The metadata store: tables, sessions and Alembic migrations (SQLite default, PostgreSQL)."""

from rasad.store import migrate
from rasad.store._engine import Database, DatabaseUnavailable

__all__ = ["Database", "DatabaseUnavailable", "migrate"]
