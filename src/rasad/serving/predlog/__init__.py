"""The prediction log: every prediction the server answers, and the feedback sent for it.

The server submits each scored request to a :class:`PredictionLog` (a
:class:`rasad.serving.records.PredictionSink`), which queues it without blocking and
writes Parquet segments from a background thread into the artifact store
(``predictions/ENV/MODEL/date=YYYY-MM-DD/...``, ``feedback/...``). Columns marked as
personal data in ``serving.log.personal_data`` are masked (a keyed hash) or dropped
before anything is written. docs/prediction-log.md has the layout, the back-pressure
rule and the crash window.

Reading: :func:`read_log` gives a window of one model's predictions joined with their
latest labels; :class:`LogWindow` names such a window as the current data of
``rasad performance track --from-log`` and ``rasad drift --from-log``
(:func:`track_performance`, :func:`check_drift`). Retention: :func:`purge`. A data
subject's predictions: :func:`scan_subject` finds them, :func:`apply_redaction` rewrites
their segments without them (``rasad subject erase``, docs/subjects.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rasad.serving.predlog._reader import MASKED_ATTR
from rasad.serving.predlog._redact import (
    LogHit,
    Redaction,
    apply_redaction,
    keyed_hash,
    matches,
    scan_subject,
    subject_key,
)
from rasad.serving.predlog._retention import PurgeReport, purge
from rasad.serving.predlog._segments import Segment, SegmentKind
from rasad.serving.predlog._sources import (
    check_drift,
    read_log_window,
    track_performance,
    training_data,
)
from rasad.serving.predlog._window import LogWindow, parse_moment
from rasad.serving.predlog._writer import PredictionLog, default_writer_id

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from rasad.core import Context
    from rasad.serving.records import Role


def read_log(ctx: Context, model: str, *, environment: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             with_feedback: bool = True, role: Role | None = "primary") -> pd.DataFrame:
    """The predictions of ``model`` logged in ``[since, until)``, oldest first.

    Parameters
    ----------
    ctx : Context
    model : str
    environment : str, optional
        Every environment's log when None.
    since, until : datetime, optional
        The window (``until`` excluded); naive times are UTC. The whole log when None.
    with_feedback : bool, default True
        Add a ``label`` column: the latest feedback label of each prediction, NaN where
        none arrived.
    role : {"primary", "canary", "shadow"} or None, default "primary"
        Only predictions of that deployment role; every role when None.

    Returns
    -------
    pandas.DataFrame
        ``request_id, row, time, model, version, role, environment, latency_ms,
        prediction, score``, the ``input.`` columns, and ``label``. ``frame.attrs
        ["masked_columns"]`` names the masked inputs.

    Raises
    ------
    InputError
        No prediction of the model in that window (the message says what the log holds
        and how to get one), or a bad model name, role or window.
    """
    window = LogWindow(model, environment, since, until, role)
    return read_log_window(ctx, window, with_feedback=with_feedback)


def mask_value(ctx: Context, value: object) -> str:
    """The hash a masked column holds for ``value`` (to find a person's rows, e.g. for an
    erasure request); needs the project's masking key.

    Raises
    ------
    InputError
        No masking key exists (nothing was masked yet).
    """
    import os

    from rasad.serving.predlog._masking import mask_text, masking_key, text_form

    return mask_text(masking_key(ctx.root, os.environ, create=False), text_form(value))


__all__ = [
    "MASKED_ATTR",
    "LogHit",
    "LogWindow",
    "PredictionLog",
    "PurgeReport",
    "Redaction",
    "Segment",
    "SegmentKind",
    "apply_redaction",
    "check_drift",
    "default_writer_id",
    "keyed_hash",
    "mask_value",
    "matches",
    "parse_moment",
    "purge",
    "read_log",
    "read_log_window",
    "scan_subject",
    "subject_key",
    "track_performance",
    "training_data",
]
