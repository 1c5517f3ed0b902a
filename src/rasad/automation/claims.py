"""Lease-based claims on the agent's work, so that several agents never do one thing twice.

A piece of work (a file to ingest, a monitor run, a retraining step) has a key, such as
``file:incoming:<sha256>``. An agent :func:`claim` s it for a lease; while the lease
runs, no other agent gets it. An agent killed mid-work stops renewing, its lease
expires, and the next agent to ask takes the work over. :func:`finish` marks the work
done for good: it is never claimed again. :func:`release` gives it up unfinished.

Why a claim cannot be won twice
-------------------------------
Every call runs in a serialised write transaction (:meth:`Context.transaction`: SQLite's
writer lock, PostgreSQL's ledger-head row lock), and the statements are race-free even
without it: a new claim is one ``INSERT ... ON CONFLICT DO NOTHING`` on the primary key,
which only one agent can win; a takeover is one ``UPDATE`` guarded by "not finished, and
held by me or expired" (``lease_until < now``), whose row count says who won. Times are
ISO 8601 UTC text from ``ctx.clock()``, which compares in time order as text.

Claims are operational rows, not audit events: they record who is busy with what, not
a change of the project's domain.

>>> import tempfile
>>> from pathlib import Path
>>> from rasad.config import ProjectConfig
>>> from rasad.core import Context
>>> from rasad.store import migrate
>>> root = Path(tempfile.mkdtemp())
>>> (root / ".rasad").mkdir()
>>> ctx = Context.build(root, ProjectConfig(name="demo"), actor="agent")
>>> _ = migrate.upgrade(ctx.db)
>>> claim(ctx, "file:incoming:ab12", owner="agent-1", lease_seconds=60)
True
>>> claim(ctx, "file:incoming:ab12", owner="agent-2", lease_seconds=60)
False
>>> finish(ctx, "file:incoming:ab12", owner="agent-1", outcome="ingested")
>>> is_finished(ctx, "file:incoming:ab12"), claim(ctx, "file:incoming:ab12", owner="agent-1",
...                                               lease_seconds=60)
(True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from rasad.errors import ConflictError, InputError
from rasad.store._tables import WorkClaimRow
from rasad.store.lengths import check_length

if TYPE_CHECKING:
    from rasad.core import Context

RELEASED: Final = "0001-01-01T00:00:00.000000Z"
"""The ``lease_until`` of released work: earlier than any clock, so anyone may claim it."""

_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"  # as rasad.ledger.utc_now writes it


@dataclass(frozen=True)
class Claim:
    """Who holds a piece of work, until when, and how it ended (when it did).

    ``attempts`` counts the owners that took it: 1 for work claimed once, more after
    takeovers of expired leases.
    """

    key: str
    owner: str
    lease_until: str
    claimed_at: str
    attempts: int
    finished_at: str | None
    outcome: str | None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @classmethod
    def from_row(cls, row: WorkClaimRow) -> Claim:
        return cls(key=row.key, owner=row.owner, lease_until=row.lease_until,
                   claimed_at=row.claimed_at, attempts=row.attempts,
                   finished_at=row.finished_at, outcome=row.outcome)


def claim(ctx: Context, key: str, *, owner: str, lease_seconds: float) -> bool:
    """Take ``key`` for ``owner`` for ``lease_seconds``; True when ``owner`` now holds it.

    True for new work, for a takeover of an expired lease held by another owner, and
    for work ``owner`` holds already (its lease is renewed). False while another owner's
    lease runs, and for finished work.

    Raises
    ------
    InputError
        An empty or over-long key or owner, or a lease that is not a positive number.
    """
    _check(key, owner, lease_seconds)
    now = ctx.clock()
    until = lease_end(now, lease_seconds)
    with ctx.transaction() as tx:
        return _take_over(tx.session, key, owner, now, until) or _insert_new(
            tx.session, key, owner, now, until)


def renew(ctx: Context, key: str, *, owner: str, lease_seconds: float) -> bool:
    """Extend ``owner``'s lease on unfinished work to ``lease_seconds`` from now.

    False when ``owner`` does not hold it (another agent took it over, or it finished):
    the caller has lost the work and should stop.
    """
    _check(key, owner, lease_seconds)
    until = lease_end(ctx.clock(), lease_seconds)
    with ctx.transaction() as tx:
        return _update(tx.session, key, owner, lease_until=until) == 1


def finish(ctx: Context, key: str, *, owner: str, outcome: str) -> None:
    """Mark ``key`` done for good with ``outcome`` (a word such as ``ingested``).

    Finishing twice by the same owner is harmless.

    Raises
    ------
    ConflictError
        ``owner`` does not hold the work: it never claimed it, or its lease expired and
        another agent took it over (that agent finishes it).
    """
    _check(key, owner, 1.0)
    with ctx.transaction() as tx:
        if _update(tx.session, key, owner, finished_at=ctx.clock(), outcome=outcome) == 1:
            return
        row = tx.session.get(WorkClaimRow, key)
    if row is not None and row.owner == owner and row.finished_at is not None:
        return
    holder = "nobody" if row is None else repr(row.owner)
    raise ConflictError(f"{owner!r} cannot finish {key!r}: it does not hold that work "
                        f"({holder} does). Its lease ran out and the work was taken over; "
                        "renew the lease more often than it lasts.")


def release(ctx: Context, key: str, *, owner: str) -> None:
    """Give up unfinished work: any agent may claim it at once. No-op unless held by
    ``owner``."""
    _check(key, owner, 1.0)
    with ctx.transaction() as tx:
        _update(tx.session, key, owner, lease_until=RELEASED)


def is_finished(ctx: Context, key: str) -> bool:
    """True when the work ``key`` was finished (by anyone)."""
    found = get_claim(ctx, key)
    return found is not None and found.finished


def get_claim(ctx: Context, key: str) -> Claim | None:
    """The claim on ``key``, or None when nobody ever claimed it."""
    with ctx.read() as session:
        row = session.execute(select(WorkClaimRow).where(WorkClaimRow.key == key)
                              ).scalar_one_or_none()
        return None if row is None else Claim.from_row(row)


def lease_end(now: str, seconds: float) -> str:
    """The time ``seconds`` after ``now``, in the clock's text form.

    >>> lease_end("2026-12-06T19:00:00.000000Z", 90.5)
    '2026-12-06T19:01:30.500000Z'
    """
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    return (moment + timedelta(seconds=seconds)).astimezone(UTC).strftime(_TIME_FORMAT)


def _check(key: str, owner: str, lease_seconds: float) -> None:
    if not key.strip():
        raise InputError("A work claim needs a key (such as 'file:SOURCE:SHA256').")
    if not owner.strip():
        raise InputError("A work claim needs an owner: name the agent (--owner NAME).")
    check_length(key, "work_claims.key", "Claim key")
    check_length(owner, "work_claims.owner", "Claim owner")
    if not (isinstance(lease_seconds, (int, float)) and math.isfinite(lease_seconds)
            and lease_seconds > 0):
        raise InputError(f"A lease of {lease_seconds!r} seconds is not allowed: give a "
                         "positive number of seconds (for example 300).")


def _take_over(session: Session, key: str, owner: str, now: str, until: str) -> bool:
    """Renew our own lease or take an expired one over, in one guarded UPDATE."""
    mine = WorkClaimRow.owner == owner
    statement = (
        update(WorkClaimRow)
        .where(WorkClaimRow.key == key, WorkClaimRow.finished_at.is_(None),
               or_(mine, WorkClaimRow.lease_until < now))
        .values(owner=owner, lease_until=until,
                claimed_at=case((mine, WorkClaimRow.claimed_at), else_=now),
                attempts=case((mine, WorkClaimRow.attempts), else_=WorkClaimRow.attempts + 1)))
    return _rowcount(session, statement) == 1


def _insert_new(session: Session, key: str, owner: str, now: str, until: str) -> bool:
    """Claim work nobody claimed yet: an INSERT that yields to an existing row."""
    from sqlalchemy.dialects import postgresql, sqlite

    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    statement = insert(WorkClaimRow).values(
        key=key, owner=owner, lease_until=until, claimed_at=now, attempts=1,
    ).on_conflict_do_nothing(index_elements=["key"]).returning(WorkClaimRow.key)
    # RETURNING, not the row count: psycopg reports -1 for this statement.
    return session.connection().execute(statement).first() is not None


def _update(session: Session, key: str, owner: str, **values: str) -> int:
    """Change unfinished work held by ``owner``; the number of rows changed (0 or 1)."""
    statement = (
        update(WorkClaimRow)
        .where(WorkClaimRow.key == key, WorkClaimRow.owner == owner,
               WorkClaimRow.finished_at.is_(None))
        .values(**values))
    return _rowcount(session, statement)


def _rowcount(session: Session, statement: Executable) -> int:
    """Run a Core statement on the session's connection: how many rows it changed."""
    # Through the connection, not the ORM: the driver's row count is what decides.
    return int(session.connection().execute(statement).rowcount)
