"""What the prediction server hands to the prediction log: one scored request.

The server builds a :class:`Scored` per request and submits it to a
:class:`PredictionSink` (the log writer in :mod:`rasad.serving.predlog`), which never
blocks the request: it queues, and a background thread writes Parquet segments.

>>> import numpy as np, pandas as pd
>>> item = Scored(request_id="r1", received_at=1.5, model="credit", version=2,
...               role="primary", inputs=pd.DataFrame({"income": [1.0, 2.0]}),
...               outputs=np.array([0, 1]), scores=np.array([0.2, 0.9]), latency_ms=0.4)
>>> item.rows
2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import pandas as pd

Role = Literal["primary", "canary", "shadow"]
"""Which deployment of a model scored: the one answering (primary), the canary answering a
share of the traffic, or the shadow scoring without answering."""


@dataclass(frozen=True, slots=True)
class Scored:
    """One request's predictions, as the server hands them to the log.

    Rows are numbered by their position in the request: feedback names a prediction by
    ``(request_id, row)``.
    """

    request_id: str
    received_at: float
    """When the request arrived (seconds since the epoch, ``time.time()``)."""
    model: str
    version: int
    role: Role
    inputs: pd.DataFrame
    """The decoded inputs, one row per prediction, columns as the model's signature names
    them (before any masking: the log applies ``serving.log.personal_data``)."""
    outputs: np.ndarray
    """The predictions (labels or values), one per row."""
    scores: np.ndarray | None
    """The probability of the positive class (binary classifiers), else None."""
    latency_ms: float

    @property
    def rows(self) -> int:
        """How many predictions the request held."""
        return len(self.outputs)


@dataclass(frozen=True, slots=True)
class Feedback:
    """True labels for a request's predictions, sent after the fact.

    ``labels[i]`` is the label of row ``rows[i]`` of request ``request_id``.
    """

    request_id: str
    received_at: float
    model: str
    rows: tuple[int, ...]
    labels: tuple[bool | int | float | str, ...]


class PredictionSink(Protocol):
    """Where the server submits scored requests (the prediction log writer)."""

    def submit(self, item: Scored) -> bool:
        """Queue ``item`` without blocking; False when the queue is full and it was dropped."""

    def submit_feedback(self, item: Feedback) -> bool:
        """Queue feedback labels the same way; False when dropped."""

    @property
    def depth(self) -> int:
        """Rows waiting to be written."""

    def close(self) -> None:
        """Write what is queued and stop (on shutdown)."""


__all__ = ["Feedback", "PredictionSink", "Role", "Scored"]
