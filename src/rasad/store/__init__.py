"""The metadata store: tables, sessions and Alembic migrations (SQLite default, PostgreSQL)."""

from rasad.store import lengths, migrate
from rasad.store._engine import Database, DatabaseBusy, DatabaseUnavailable

__all__ = ["Database", "DatabaseBusy", "DatabaseUnavailable", "lengths", "migrate"]
