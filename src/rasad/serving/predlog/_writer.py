"""The prediction log writer: a bounded queue the server appends to, a thread that writes it.

Rules, fixed once (docs/prediction-log.md):

- **Never blocks the request.** :meth:`PredictionLog.submit` appends a reference to the
  item (no copy, no conversion) under a lock held for a few instructions.
- **Back-pressure: drop, count, answer.** The queue holds at most ``queue_rows`` rows
  (waiting or being written). A submission that does not fit is dropped whole, its rows
  added to :attr:`PredictionLog.dropped`, and ``submit`` returns False: the prediction is
  still answered, only not logged. The server exports :attr:`~PredictionLog.depth` and
  :attr:`~PredictionLog.dropped` as metrics.
- **Flushing.** A daemon thread writes segments ``flush_seconds`` after its last write, or
  as soon as ``min(flush_rows, queue_rows)`` rows wait, whichever comes first; one segment
  per model and UTC day (predictions and feedback apart).
- **Crash window.** A segment is complete in its final place or absent. A process killed
  (``kill -9``) loses what was queued and not yet written: at most ``flush_seconds`` of
  traffic (less when ``flush_rows`` filled first), plus the segment being written at that
  instant. Everything written before stays readable.
- **Store errors.** A segment that cannot be written (a full disk, an object store that
  is down) is kept and tried again every ``flush_seconds``; its rows keep counting in the
  depth, so a long outage fills the queue and new submissions are dropped, never the
  memory exhausted. :meth:`~PredictionLog.close` tries once more; what still cannot be
  written is counted as dropped and logged.
- **Bad items.** An item whose shape is wrong (rows and outputs of different lengths) is
  dropped and counted when the thread meets it, without affecting the rest.
- ``close()`` writes everything queued and stops the thread; the server calls it on
  shutdown. Nothing global is registered (no ``atexit``, no signal handler).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from rasad.errors import InputError
from rasad.names import NAME_PATTERN, check_name
from rasad.serving.predlog._masking import masking_key
from rasad.serving.predlog._segments import (
    SegmentKind,
    segment_name,
    segment_path,
    write_segment,
)
from rasad.serving.predlog._tables import feedback_table, prediction_table, problem
from rasad.serving.records import Feedback, Scored

if TYPE_CHECKING:
    from rasad.artifacts import ArtifactStore
    from rasad.config import PredictionLogConfig
    from rasad.core import Context
    from rasad.serving.records import PredictionSink

log = logging.getLogger("rasad.serving.predlog")


@dataclass(frozen=True)
class _Pending:
    """A converted segment waiting to be written (again, after a store error)."""

    path: str
    table: pa.Table
    rows: int


class PredictionLog:
    """Writes scored requests and feedback to Parquet segments in the artifact store.

    Build it with :meth:`open`; it implements
    :class:`rasad.serving.records.PredictionSink`. See the module docstring for the
    back-pressure rule and the crash window.

    Parameters
    ----------
    store : ArtifactStore
        Where segments go (under ``predictions/`` and ``feedback/``).
    environment : str
        The environment the server serves; part of every segment's path.
    config : PredictionLogConfig
        ``serving.log``: personal data, flush interval and size, queue size.
    writer_id : str
        Distinct per process writing the same log (part of every segment name).
    key : bytes or None
        The masking key; needed when ``config.personal_data`` masks a column.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from rasad.artifacts import ArtifactStore
    >>> from rasad.config import PredictionLogConfig
    >>> from rasad.serving.records import Scored
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> plog = PredictionLog(store, "dev", PredictionLogConfig(queue_rows=3), writer_id="w1")
    >>> def scored(rows):
    ...     return Scored(request_id="r", received_at=0.0, model="credit", version=1,
    ...                   role="primary", inputs=pd.DataFrame({"x": np.ones(rows)}),
    ...                   outputs=np.zeros(rows), scores=None, latency_ms=0.1)
    >>> plog.submit(scored(2)), plog.submit(scored(2)), plog.dropped
    (True, False, 2)
    >>> plog.close()
    >>> plog.depth, plog.written, plog.submit(scored(1))
    (0, 2, False)
    """

    def __init__(self, store: ArtifactStore, environment: str, config: PredictionLogConfig,
                 *, writer_id: str, key: bytes | None = None) -> None:
        self.store = store
        self.environment = environment
        self.config = config
        self.writer_id = writer_id
        self._key = key
        self._capacity = config.queue_rows
        self._trigger = min(config.flush_rows, config.queue_rows)
        self._lock = threading.Lock()
        self._queue: deque[tuple[Scored | Feedback, int]] = deque()
        self._depth = 0
        self._dropped = 0
        self._written = 0
        self._write_errors = 0
        self._closed = False
        self._due = False
        self._wake = threading.Event()
        self._seq = 0
        self._pending: list[_Pending] = []
        self._thread = threading.Thread(target=self._run, name=f"prediction-log-{writer_id}",
                                        daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, ctx: Context, environment: str, config: PredictionLogConfig, *,
             writer_id: str | None = None) -> PredictionLog:
        """The log of ``environment`` in the project's artifact store, its writer started.

        The masking key is loaded (or created) here when a column is masked, so a server
        that cannot mask fails at startup rather than log a raw value. ``writer_id`` must
        be distinct per process writing the log (two writers with one id could name two
        segments alike); the default (host, process id, random) is. ``config.enabled`` is
        the server's to honour: a log opened here logs.

        Raises
        ------
        InputError
            A bad environment name or ``writer_id``, or no masking key can be had.
        ConfigError
            The masking key given is too short or unreadable.
        """
        check_name(environment, "Environment")
        chosen = writer_id if writer_id is not None else default_writer_id()
        if not NAME_PATTERN.fullmatch(chosen):
            raise InputError(f"Writer id {chosen!r} is not allowed: use letters, digits, '.', "
                             "'_' and '-' (it becomes part of segment file names).")
        key = None
        if "mask" in config.personal_data.values():
            key = masking_key(ctx.root, os.environ)
        return cls(ctx.artifacts, environment, config, writer_id=chosen, key=key)

    # -- the request side ------------------------------------------------------------------

    def submit(self, item: Scored) -> bool:
        """Queue a scored request; False (and counted as dropped) when it does not fit."""
        return self._put(item, item.rows)

    def submit_feedback(self, item: Feedback) -> bool:
        """Queue feedback labels; False (and counted as dropped) when they do not fit."""
        return self._put(item, len(item.rows))

    def _put(self, item: Scored | Feedback, rows: int) -> bool:
        with self._lock:
            if self._closed or self._depth + rows > self._capacity:
                self._dropped += rows
                return False
            self._queue.append((item, rows))  # the rows as counted now, released once written
            self._depth += rows
            wake = self._depth >= self._trigger and not self._due
            if wake:
                self._due = True
        if wake:
            self._wake.set()
        return True

    @property
    def depth(self) -> int:
        """Rows queued or being written."""
        return self._depth

    @property
    def dropped(self) -> int:
        """Rows not logged: refused by a full queue (or after close), malformed, or left
        unwritten by a store error at close."""
        return self._dropped

    @property
    def written(self) -> int:
        """Rows written to segments so far."""
        return self._written

    @property
    def write_errors(self) -> int:
        """Failed segment writes so far (each is retried)."""
        return self._write_errors

    def flush(self, timeout: float | None = None) -> bool:
        """Ask the thread to write now and wait until the queue is empty (True), or until
        ``timeout`` seconds have passed (False). For tests and tools; the server does not
        need it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._due = True
        self._wake.set()
        while self._depth > 0 and self._thread.is_alive():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return self._depth == 0

    def close(self) -> None:
        """Write everything queued, then stop the thread. Idempotent."""
        with self._lock:
            self._closed = True
        self._wake.set()
        self._thread.join()

    # -- the writing thread ----------------------------------------------------------------

    def _run(self) -> None:
        interval = self.config.flush_seconds
        next_write = time.monotonic() + interval
        failing = False
        while True:
            self._wake.wait(max(0.0, next_write - time.monotonic()))
            self._wake.clear()
            with self._lock:
                closing = self._closed
                if failing and not closing and time.monotonic() < next_write:
                    continue  # after a store error, wait the interval out before retrying
                self._due = False
                batch = list(self._queue)
                self._queue.clear()
            try:
                self._convert(batch)
                written = self._write_pending()
                if closing and not written:
                    written = self._write_pending()  # one more try, then give up on the rest
            except Exception as exc:  # the thread must outlive any surprise
                log.error("prediction log: the writer hit %s; continuing", type(exc).__name__)
                written = False
            if closing:  # no submission is accepted once closed: the queue is empty
                self._abandon()
                return
            failing = not written
            next_write = time.monotonic() + interval

    def _convert(self, batch: list[tuple[Scored | Feedback, int]]) -> None:
        """Group ``batch`` by kind, model and UTC day, and convert each group to a table."""
        groups: dict[tuple[SegmentKind, str, date], list[Scored | Feedback]] = {}
        counted: dict[tuple[SegmentKind, str, date], int] = {}
        for item, rows in batch:
            try:
                reason = problem(item)
                if reason is None:
                    kind = (SegmentKind.FEEDBACK if isinstance(item, Feedback)
                            else SegmentKind.PREDICTIONS)
                    day = datetime.fromtimestamp(item.received_at, UTC).date()
            except Exception as exc:
                reason = f"a malformed item ({type(exc).__name__})"
            if reason is not None:
                self._drop(rows, f"dropped one item: {reason}")
                continue
            groups.setdefault((kind, item.model, day), []).append(item)
            counted[kind, item.model, day] = counted.get((kind, item.model, day), 0) + rows
        for (kind, model, day), items in groups.items():
            rows = counted[kind, model, day]
            try:
                if kind is SegmentKind.FEEDBACK:
                    table = feedback_table([i for i in items if isinstance(i, Feedback)])
                else:
                    table = prediction_table([i for i in items if isinstance(i, Scored)],
                                             self.environment, self.config.personal_data,
                                             self._key)
            except Exception as exc:  # never let one bad group stop the log
                self._drop(rows, f"could not convert {rows} {kind.value} rows of model "
                                 f"{model!r} ({type(exc).__name__})")
                continue
            start = min(item.received_at for item in items)
            self._seq += 1
            name = segment_name(round(start * 1e9), self.writer_id, self._seq)
            path = segment_path(self.store, kind, self.environment, model, day, name)
            self._pending.append(_Pending(path, table, rows))

    def _write_pending(self) -> bool:
        """Write the pending segments in order; False at the first that fails."""
        while self._pending:
            segment = self._pending[0]
            try:
                write_segment(self.store, segment.path, segment.table)
            except Exception as exc:  # a store error: keep the segment, try again later
                self._write_errors += 1
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else ""
                log.warning("prediction log: writing a segment of %d rows failed (%s%s); "
                            "retrying in %gs", segment.rows, type(exc).__name__,
                            f": {reason}" if reason else "", self.config.flush_seconds)
                return False
            self._pending.pop(0)
            with self._lock:
                self._depth -= segment.rows
                self._written += segment.rows
        return True

    def _abandon(self) -> None:
        for segment in self._pending:
            self._drop(segment.rows, f"gave up on a segment of {segment.rows} rows at close "
                                     "after store errors")
        self._pending.clear()

    def _drop(self, rows: int, why: str) -> None:
        with self._lock:
            self._depth -= rows
            self._dropped += rows
        log.warning("prediction log: %s", why)


def default_writer_id() -> str:
    """``HOST-PID-RANDOM``: distinct per process, readable in a file name.

    >>> NAME_PATTERN.fullmatch(default_writer_id()) is not None
    True
    """
    host = "".join(c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())
    host = host.strip("-._")[:60] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


if TYPE_CHECKING:
    def _implements(log: PredictionLog) -> PredictionSink:
        return log  # mypy checks here that the log is what the server submits to
