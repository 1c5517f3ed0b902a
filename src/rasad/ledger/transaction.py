"""A write transaction that carries its actor, so every change is recorded with its event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from rasad.ledger.chain import AuditEvent, append


@dataclass
class Tx:
    """The session of one serialised write transaction, and who is acting in it."""

    session: Session
    actor: str

    def record(self, action: str, subject: str,
               details: Mapping[str, Any] | None = None) -> AuditEvent:
        """Append the audit event for a change made in this transaction."""
        return append(self.session, actor=self.actor, action=action, subject=subject,
                      details=details)
