"""The audit ledger: append-only, hash-chained, verifiable.

Signed checkpoints (:mod:`rasad.ledger.checkpoint`, keys in :mod:`rasad.ledger.keys`),
state replay (:mod:`rasad.ledger.replay`) and full verification
(:mod:`rasad.ledger.verification`) are imported on use: they load ``cryptography``
and ``fsspec``, which commands that only append events do not need.
"""

from rasad.ledger._canonical import canonical_json
from rasad.ledger.chain import (
    GENESIS_HASH,
    AuditEvent,
    LedgerDamaged,
    Verification,
    append,
    event_hash,
    events,
    utc_now,
    verify,
)
from rasad.ledger.problems import Problem, ProblemKind
from rasad.ledger.transaction import Tx

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "LedgerDamaged",
    "Problem",
    "ProblemKind",
    "Tx",
    "Verification",
    "append",
    "canonical_json",
    "event_hash",
    "events",
    "utc_now",
    "verify",
]
