"""A write transaction that carries who acts and how they authenticated, so every change
is recorded with its event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from rasad.ledger.chain import AuditEvent, append

AUTH_KEY: Final = "auth"
"""The key :meth:`Tx.record` adds to every event's details: how the actor authenticated
(``os-user``, or ``token:<id>``). Inside the details, the hash chain covers it without a
new column or a new hash formula, so ledgers written before it still verify."""


@dataclass
class Tx:
    """The session of one serialised write transaction, who acts in it, and how they
    authenticated (see :data:`AUTH_KEY`).

    >>> import tempfile
    >>> from rasad.store import Database, migrate
    >>> db = Database(f"sqlite:///{tempfile.mkdtemp()}/rasad.db")
    >>> _ = migrate.upgrade(db)
    >>> with db.write() as session:
    ...     event = Tx(session, "amal", "os-user").record("dataset.add", "dataset:loans@1")
    >>> event.actor, event.auth, dict(event.details)
    ('amal', 'os-user', {'auth': 'os-user'})
    """

    session: Session
    actor: str
    auth: str

    def record(self, action: str, subject: str,
               details: Mapping[str, Any] | None = None) -> AuditEvent:
        """Append the audit event for a change made in this transaction, with
        ``details`` and how the actor authenticated."""
        recorded = dict(details or {})
        if AUTH_KEY in recorded:  # a caller's own "auth" would pass for the actor's
            raise ValueError(f"Audit details may not carry the key {AUTH_KEY!r}: the "
                             "transaction records how its actor authenticated.")
        recorded[AUTH_KEY] = self.auth
        return append(self.session, actor=self.actor, action=action, subject=subject,
                      details=recorded)
