"""What ``audit verify`` can find wrong, as typed values.

>>> Problem(ProblemKind.EDITED, "event 3 was edited", seq=3, checkpoint=10).to_dict()
{'kind': 'edited', 'message': 'event 3 was edited', 'seq': 3, 'checkpoint': 10, 'row': None}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class ProblemKind(enum.StrEnum):
    """The kinds of damage, from the stored chain to the state tables."""

    CHAIN = "chain"          # the stored chain does not link or hash (a naive edit)
    HEAD = "head"            # the ledger head row is missing or disagrees with the chain
    EDITED = "edited"        # a checkpointed event's content changed, chain recomputed
    DELETED = "deleted"      # a checkpointed event is gone, later events renumbered
    INSERTED = "inserted"    # an event not in any checkpoint sits among checkpointed ones
    REORDERED = "reordered"  # checkpointed events are in a different order
    TRUNCATED = "truncated"  # the newest checkpointed events are gone and the head moved back
    APPENDED = "appended"    # an event after the last checkpoint is dated before it was signed
    REWRITTEN = "rewritten"  # a checkpoint's head hash is not reproduced (no finer detail)
    CHECKPOINT = "checkpoint"  # a checkpoint file is unreadable, missing or for another project
    SIGNATURE = "signature"  # a checkpoint's signature is wrong or its key is not trusted
    STATE = "state"          # a state table disagrees with what the ledger implies


@dataclass(frozen=True)
class Problem:
    """One finding: its kind, a sentence naming it, and where it is."""

    kind: ProblemKind
    message: str
    seq: int | None = None
    checkpoint: int | None = None
    row: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "message": self.message, "seq": self.seq,
                "checkpoint": self.checkpoint, "row": self.row}
