"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

Every write transaction is serialised: on SQLite it starts with ``BEGIN IMMEDIATE``
(the database write lock is taken before anything is read), on PostgreSQL it
locks the single ledger head row first. Service functions read the state they
change *after* taking the lock, so two processes can never both compute "the next
version" or "the previous hash" from the same snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rasad.errors import ConfigError, RasadError
from rasad.store._tables import LedgerHead

SQLITE_BUSY_TIMEOUT_MS = 60_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions on its own: we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(write: bool):  # type: ignore[no-untyped-def]
    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return begin


def make_engine(url: str, *, write: bool) -> Engine:
    """Build an engine for ``url``; no connection is opened here."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"Database URL {url!r} is not a valid SQLAlchemy URL; use "
            "'sqlite:///path/to/rasad.db' or 'postgresql+psycopg://user@host:5432/db'."
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin(write))
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        f"Database backend {backend!r} is not supported; use sqlite or postgresql."
    )


class Database:
    """A pair of session factories over one database URL: reads and serialised writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._read_engine: Engine | None = None
        self._write_engine: Engine | None = None

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def read_engine(self) -> Engine:
        if self._read_engine is None:
            self._read_engine = make_engine(self.url, write=False)
        return self._read_engine

    @property
    def write_engine(self) -> Engine:
        if self._write_engine is None:
            if self.backend == "sqlite":
                self._write_engine = make_engine(self.url, write=True)
            else:
                self._write_engine = self.read_engine
        return self._write_engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; it never writes."""
        factory = sessionmaker(self.read_engine, expire_on_commit=False)
        # Closing (not rolling back) ends the transaction and keeps loaded rows readable.
        with _translate(self.url), factory() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction: committed on success, rolled back on any error."""
        factory = sessionmaker(self.write_engine, expire_on_commit=False)
        with _translate(self.url), factory() as session, session.begin():
            if self.backend == "postgresql":
                session.execute(select(LedgerHead.id).with_for_update())
            yield session

    def dispose(self) -> None:
        for engine in (self._read_engine, self._write_engine):
            if engine is not None:
                engine.dispose()
        self._read_engine = self._write_engine = None


@contextmanager
def _translate(url: str) -> Iterator[None]:
    """Turn driver connection failures into one rasad error that names the database."""
    try:
        yield
    except OperationalError as exc:
        if isinstance(exc.orig, Exception) and "connect" in str(exc.orig).lower():
            safe = make_url(url).render_as_string(hide_password=True)
            raise DatabaseUnavailable(
                f"Cannot connect to the metadata database {safe}: {exc.orig}. "
                "Check that it is running and that RASAD_DATABASE_URL is right."
            ) from exc
        raise


class DatabaseUnavailable(RasadError, ConnectionError):
    """The metadata database cannot be reached."""
