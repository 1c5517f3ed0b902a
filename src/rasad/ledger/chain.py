"""The audit ledger: an append-only, hash-chained list of events.

Each event's hash is the sha256 of the canonical JSON of its sequence number,
time, actor, action, subject, details and the previous event's hash. Editing,
deleting, inserting or reordering any stored event breaks the chain, and
:func:`verify` names the first event where it breaks. The single ``ledger_head``
row holds the last sequence number and hash: appends lock it, so concurrent
writers queue instead of forking the chain, and deleting the newest events is
caught too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rasad.errors import RasadError
from rasad.ledger._canonical import canonical_json, sha256_hex
from rasad.ledger.problems import Problem
from rasad.store._tables import AuditEventRow, LedgerHead

GENESIS_HASH = "0" * 64
HEAD_MISSING = (
    "The ledger head row is missing (table ledger_head is empty): the metadata database is "
    "damaged or was edited by hand, so rasad writes nothing more to it. Restore the database "
    "from a backup, then run `rasad audit verify --checkpoints URL`.")


class LedgerDamaged(RasadError):
    """The ledger's own bookkeeping (the head row) is gone; nothing can be appended."""


def read_head(session: Session) -> LedgerHead:
    """The ledger head row; :class:`LedgerDamaged` when it is missing."""
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1)).scalar_one_or_none()
    if head is None:
        raise LedgerDamaged(HEAD_MISSING)
    return head


def utc_now() -> str:
    """The current UTC time as stored: ISO-8601 with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEvent:
    """One ledger entry."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    @property
    def auth(self) -> str | None:
        """How the actor authenticated (``os-user`` or ``token:<id>``); None on events
        recorded before identities existed (see :data:`rasad.ledger.transaction.AUTH_KEY`)."""
        value = self.details.get("auth")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        return cls(row.seq, row.occurred_at, row.actor, row.action, row.subject,
                   json.loads(row.details), row.prev_hash, row.hash)


def event_hash(seq: int, occurred_at: str, actor: str, action: str, subject: str,
               details_json: str, prev_hash: str) -> str:
    """The hash of one event over its canonical serialisation.

    >>> event_hash(1, "2026-01-01T00:00:00.000000Z", "amal", "dataset.add", "dataset:loans@1",
    ...            "{}", GENESIS_HASH)[:16]
    'f4300b5459c068b6'
    """
    # Every field is a str or an int, so this is exactly canonical_json's output; its
    # cleaning pass would change nothing here and costs half of a full verification.
    payload = json.dumps({
        "seq": int(seq),
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details_json,
        "prev_hash": prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(payload)


def append(session: Session, *, actor: str, action: str, subject: str,
           details: Mapping[str, Any] | None = None) -> AuditEvent:
    """Append one event inside the caller's write transaction.

    The caller's transaction must be a serialised write (``Database.write``): the
    head row is read and advanced here, and it commits or rolls back together
    with the change the event describes.
    """
    head = read_head(session)
    seq = head.seq + 1
    occurred_at = utc_now()
    details_json = canonical_json(dict(details or {}))
    digest = event_hash(seq, occurred_at, actor, action, subject, details_json, head.hash)
    row = AuditEventRow(seq=seq, occurred_at=occurred_at, actor=actor, action=action,
                        subject=subject, details=details_json, prev_hash=head.hash, hash=digest)
    session.add(row)
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=seq, hash=digest))
    session.flush()
    return AuditEvent.from_row(row)


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify` (the stored chain) or of a full verification
    (:func:`rasad.ledger.verification.verify_all`: chain, checkpoints and state)."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str | None = None
    problems: tuple[Problem, ...] = ()
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    trusted_keys: tuple[str, ...] = ()
    key_source: str | None = None
    state: Mapping[str, int] | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "first_bad_seq": self.first_bad_seq,
                "reason": self.reason, "problems": [p.to_dict() for p in self.problems],
                "checkpoints": {"verified": self.checkpoints, "latest": self.latest_checkpoint,
                                "trusted_keys": list(self.trusted_keys),
                                "key_source": self.key_source},
                "state": dict(self.state) if self.state is not None else None,
                "notes": list(self.notes)}


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the whole chain and report the first event that does not fit."""
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    for row in _rows(session, batch):
        count += 1
        if row.seq != expected_seq:
            missing = "deleted or renumbered" if row.seq > expected_seq else "duplicated"
            return Verification(False, count, expected_seq,
                                f"event {expected_seq} is missing ({missing}); next stored is "
                                f"{row.seq}")
        if row.prev_hash != prev:
            return Verification(False, count, row.seq,
                                f"event {row.seq} does not link to event {row.seq - 1} "
                                "(an event was deleted, inserted or reordered before it)")
        digest = event_hash(row.seq, row.occurred_at, row.actor, row.action, row.subject,
                            row.details, row.prev_hash)
        if digest != row.hash:
            return Verification(False, count, row.seq,
                                f"event {row.seq} ({row.action} {row.subject}) was edited: its "
                                "content does not match its hash")
        prev = row.hash
        expected_seq += 1
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1)).scalar_one_or_none()
    if head is None:
        return Verification(False, count, count + 1, HEAD_MISSING)
    if head.seq != count or head.hash != prev:
        return Verification(False, count, count + 1 if head.seq > count else head.seq,
                            f"the ledger head records event {head.seq} but the chain ends at "
                            f"event {count} (the newest events were deleted or the head edited)")
    return Verification(True, count)


def _rows(session: Session, batch: int) -> Iterator[AuditEventRow]:
    last = 0
    while True:
        rows = session.execute(
            select(AuditEventRow).where(AuditEventRow.seq > last)
            .order_by(AuditEventRow.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def events(session: Session, subject: str | None = None, action: str | None = None,
           limit: int | None = None) -> list[AuditEvent]:
    """Events in sequence order, optionally for one subject.

    ``subject`` is exact (``model:credit@2``), a prefix (``model:*``), or a thing
    without a version (``model:credit``), which also matches all of its versions
    (``model:credit@1``, ``model:credit@2``...) but not ``model:credit2``.
    """
    query = select(AuditEventRow).order_by(AuditEventRow.seq)
    if subject:
        if subject.endswith("*"):
            query = query.where(AuditEventRow.subject.startswith(subject[:-1],
                                                                 autoescape=True))
        elif "@" in subject:
            query = query.where(AuditEventRow.subject == subject)
        else:
            query = query.where(or_(AuditEventRow.subject == subject,
                                    AuditEventRow.subject.startswith(subject + "@",
                                                                     autoescape=True)))
    if action:
        query = query.where(AuditEventRow.action == action)
    if limit:
        query = query.limit(limit)
    return [AuditEvent.from_row(r) for r in session.execute(query).scalars()]
