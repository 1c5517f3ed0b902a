"""The audit ledger: append-only, hash-chained, verifiable."""

from rasad.ledger._canonical import canonical_json
from rasad.ledger.chain import (
    GENESIS_HASH,
    AuditEvent,
    Verification,
    append,
    event_hash,
    events,
    utc_now,
    verify,
)
from rasad.ledger.transaction import Tx

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "Tx",
    "Verification",
    "append",
    "canonical_json",
    "event_hash",
    "events",
    "utc_now",
    "verify",
]
