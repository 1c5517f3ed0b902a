"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

Every write transaction is serialised: on SQLite it starts with ``BEGIN IMMEDIATE``
(the database write lock is taken before anything is read), on PostgreSQL it
locks the single ledger head row first. Service functions read the state they
change *after* taking the lock, so two processes can never both compute "the next
version" or "the previous hash" from the same snapshot.

Waiting for that lock is bounded: after ``NOTICE_AFTER_S`` a warning is logged on
the ``rasad.store`` logger (the CLI prints it on stderr), and after the lock
timeout (``RASAD_LOCK_TIMEOUT`` seconds, default 60) the write is refused with
:class:`DatabaseBusy`. A database that cannot be reached raises
:class:`DatabaseUnavailable`. Both are translated here, once, from whatever the
driver raised, in a ``handle_error`` hook every engine carries; their messages
never hold the URL's password.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from rasad.config import redact_url
from rasad.errors import ConfigError, RasadError
from rasad.store._tables import LedgerHead
from rasad.store.lengths import check_row

LOCK_TIMEOUT_ENV = "RASAD_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 60.0
NOTICE_AFTER_S = 1.0

log = logging.getLogger("rasad.store")


class DatabaseUnavailable(RasadError, ConnectionError):
    """The metadata database cannot be reached (server down, wrong host, no such database)."""


class DatabaseBusy(RasadError, TimeoutError):
    """Another writer held the database write lock for longer than the lock timeout."""


def lock_timeout() -> float:
    """Seconds a write waits for the lock: ``RASAD_LOCK_TIMEOUT``, else 60.

    >>> import os
    >>> os.environ["RASAD_LOCK_TIMEOUT"] = "2.5"
    >>> lock_timeout()
    2.5
    >>> del os.environ["RASAD_LOCK_TIMEOUT"]
    >>> lock_timeout()
    60.0
    """
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise ConfigError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not allowed: use a number of seconds "
                          "between 0 and 86400 (for example 60), or unset it.")
    return value


def _sqlite_pragmas(timeout_s: float):  # type: ignore[no-untyped-def]
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions on its own: we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        cursor.close()

    return connect


def _sqlite_begin(write: bool, timeout_s: float, where: str):  # type: ignore[no-untyped-def]
    def begin(conn: Any) -> None:
        if not write:
            conn.exec_driver_sql("BEGIN")
            return
        # First wait briefly, so a blocked writer can say why it is waiting, then wait
        # out the rest of the timeout. SQLite cannot tell who holds the lock.
        raw = conn.connection.driver_connection
        first = min(NOTICE_AFTER_S, timeout_s)
        try:
            if _begin_immediate(raw, first):
                return
            if timeout_s <= first:
                raise _busy(where, timeout_s)
            log.warning("Waiting for the database write lock on %s: another rasad process "
                        "is writing (up to %gs; RASAD_LOCK_TIMEOUT sets the limit).",
                        where, timeout_s)
            if _begin_immediate(raw, timeout_s - first):
                return
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        raise _busy(where, timeout_s)

    return begin


def _begin_immediate(raw: sqlite3.Connection, wait_s: float) -> bool:
    raw.execute(f"PRAGMA busy_timeout={max(1, int(wait_s * 1000))}")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _sqlite_locked(exc):
            return False
        raise
    return True


def _sqlite_locked(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in str(
        exc)


def _busy(where: str, timeout_s: float) -> DatabaseBusy:
    return DatabaseBusy(
        f"The metadata database {where} stayed locked for {timeout_s:g}s: another rasad "
        "process (or a tool with the database open) is writing. Wait for it to finish and "
        f"retry, or raise {LOCK_TIMEOUT_ENV} (seconds).")


def _translate_errors(safe_url: str, timeout_s: float):  # type: ignore[no-untyped-def]
    """The ``handle_error`` hook: driver failures become rasad errors, without the password."""

    def handle(context: ExceptionContext) -> None:
        if context.is_pre_ping:  # the pool reconnects on its own
            return
        original = context.original_exception
        if isinstance(original, sqlite3.OperationalError) and _sqlite_locked(original):
            raise _busy(safe_url, timeout_s) from context.sqlalchemy_exception
        sqlstate = getattr(original, "sqlstate", None)
        if sqlstate == "55P03":  # lock_not_available: the ledger head wait timed out
            raise _busy(safe_url, timeout_s) from context.sqlalchemy_exception
        if context.connection is None or context.is_disconnect or _connect_failure(original):
            text = str(original).strip()
            first = redact_url(text.splitlines()[0] if text else type(original).__name__)
            raise DatabaseUnavailable(
                f"Cannot connect to the metadata database {safe_url}: {first}. "
                f"{_connect_hint(original)}") from context.sqlalchemy_exception

    return handle


def _connect_hint(original: BaseException) -> str:
    sqlstate = getattr(original, "sqlstate", None) or ""
    where = "RASAD_DATABASE_URL (or storage.database_url in rasad.yaml)"
    message = str(original)
    if sqlstate.startswith("28") or "authentication failed" in message or (
            'role "' in message and "does not exist" in message):
        return f"Check the user name and password in {where}."
    if sqlstate == "3D000" or ('database "' in message and "does not exist" in message):
        return f"Create the database (e.g. `createdb NAME`), or correct its name in {where}."
    return f"Check that the server is running and reachable, and that {where} is right."


def _connect_failure(original: BaseException) -> bool:
    sqlstate = getattr(original, "sqlstate", None) or ""
    # 08: connection exception; 3D000: no such database; 28: authorization failed.
    return sqlstate.startswith(("08", "28")) or sqlstate == "3D000" or (
        isinstance(original, sqlite3.OperationalError)
        and "unable to open database" in str(original))


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"Database URL {redact_url(url)!r} is not a valid SQLAlchemy URL; use "
            "'sqlite:///path/to/rasad.db' or 'postgresql+psycopg://user@host:5432/db'."
        ) from exc


def make_engine(url: str, *, write: bool, timeout_s: float | None = None) -> Engine:
    """Build an engine for ``url``; no connection is opened here."""
    timeout_s = lock_timeout() if timeout_s is None else timeout_s
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    safe = redact_url(parsed.render_as_string(hide_password=True))
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": timeout_s})
        event.listen(engine, "connect", _sqlite_pragmas(timeout_s))
        event.listen(engine, "begin", _sqlite_begin(write, timeout_s, safe))
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True)
    else:
        raise ConfigError(
            f"Database backend {backend!r} is not supported; use sqlite or postgresql."
        )
    event.listen(engine, "handle_error", _translate_errors(safe, timeout_s))
    return engine


class Database:
    """A pair of session factories over one database URL: reads and serialised writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._read_engine: Engine | None = None
        self._write_engine: Engine | None = None

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"

    @property
    def safe_url(self) -> str:
        """The URL with its password replaced by ``***``: the only form rasad prints."""
        return redact_url(self.url)

    @property
    def backend(self) -> str:
        return _parse(self.url).get_backend_name()

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
        with factory() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction: committed on success, rolled back on any error."""
        factory = sessionmaker(self.write_engine, class_=_WriteSession, expire_on_commit=False)
        if self.backend == "postgresql":
            session = _locked_pg_session(factory, self.safe_url)
        else:
            session = factory()
            session.begin()  # BEGIN IMMEDIATE: the write lock, see _sqlite_begin
        with session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()

    def dispose(self) -> None:
        for engine in (self._read_engine, self._write_engine):
            if engine is not None:
                engine.dispose()
        self._read_engine = self._write_engine = None


class _WriteSession(Session):
    """The session of a write transaction: rows are length-checked before each flush."""


@event.listens_for(_WriteSession, "before_flush")
def _check_lengths(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty):
        check_row(row)


def _locked_pg_session(factory: sessionmaker[_WriteSession], where: str) -> Session:
    """A PostgreSQL session in a transaction that holds the ledger head row lock."""
    timeout_s = lock_timeout()
    first = min(NOTICE_AFTER_S, timeout_s)
    for attempt, wait_s in enumerate((first, timeout_s - first)):
        session = factory()
        try:
            session.begin()
            # One round trip: the bounded wait applies to this lock only.
            session.connection().exec_driver_sql(
                f"SET LOCAL lock_timeout = '{max(1, int(wait_s * 1000))}ms'; "
                f"SELECT id FROM {LedgerHead.__tablename__} FOR UPDATE; "
                "SET LOCAL lock_timeout = DEFAULT")
        except DatabaseBusy:
            session.close()
            if attempt or timeout_s <= first:
                raise _busy(where, timeout_s) from None
            log.warning("Waiting for the database write lock on %s: another rasad process is "
                        "writing (up to %gs; RASAD_LOCK_TIMEOUT sets the limit).",
                        where, timeout_s)
            continue
        except BaseException:
            session.close()
            raise
        return session
    raise _busy(where, timeout_s)  # pragma: no cover - the loop returns or raises
