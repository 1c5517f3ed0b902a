"""Finding a data subject in the prediction log, and rewriting its segments without them.

A logged prediction is about a subject when one of its ``input.COLUMN`` columns, for a
subject-id column ``COLUMN`` (``governance.datasets.NAME.subject_columns``), holds the
subject's id: as the id itself in a column logged as is, or as its keyed hash in a column
masked by ``serving.log.personal_data`` (the same HMAC-SHA256 under the same key, so a
masked column is matched without its values ever being read back). The feedback labels
sent for those predictions (same ``request_id`` and ``row``) are the subject's too.

Redaction (:func:`plan_redaction`, :func:`apply_redaction`) follows the purge
(:mod:`._retention`): it runs inside the erasure's write transaction, so a purge cannot
race it. Each segment holding the subject is rewritten whole without those rows, its schema
and metadata kept, or deleted when nothing else is left. The original is first moved aside
(into the store's ``tmp/``); :meth:`Redaction.rollback` moves every original back if the
transaction fails, :meth:`Redaction.commit` deletes them once it has committed. A process
killed between the two leaves the originals in ``tmp/``, where ``rasad gc`` removes them.

Segments are written by new names only, never rewritten by the writer, so a server logging
meanwhile is not disturbed; a prediction about the subject logged after the scan is new
data, found (and erased) by the next request.

>>> import pyarrow as pa
>>> matches(pa.chunked_array([["C-1", "C-2", None]]), "C-2").to_pylist()
[False, True, False]
>>> matches(pa.chunked_array([[7, 42]]), "42").to_pylist()
[False, True]
>>> matches(pa.chunked_array([[1.5, 42.0]]), "42").to_pylist()
[False, True]
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rasad.serving.predlog._masking import mask_text, masking_key, text_form
from rasad.serving.predlog._segments import (
    Segment,
    SegmentKind,
    list_segments,
    remove_empty_folders,
    write_segment,
)
from rasad.serving.predlog._tables import INPUT_PREFIX, MASKED_METADATA

if TYPE_CHECKING:
    from rasad.artifacts import ArtifactStore
    from rasad.core import Context

MAX_REQUEST_IDS = 1000
"""How many request ids a hit lists at most (the count is always exact)."""


def subject_key(ctx: Context) -> bytes:
    """The key subjects are hashed under: the prediction log's masking key (made on first
    use, as the log makes it), so a masked log column holds the very same hash."""
    return masking_key(ctx.root, os.environ, create=True)


def keyed_hash(key: bytes, value: object) -> str:
    """The hex HMAC-SHA256 of ``value``'s text form: what a masked column holds for it.

    >>> keyed_hash(b"k" * 32, 123) == keyed_hash(b"k" * 32, "123")
    True
    """
    return mask_text(key, text_form(value))


def matches(column: pa.ChunkedArray | pa.Array, text: str) -> pa.ChunkedArray | pa.Array:
    """Where ``column`` holds a value whose text form is ``text`` (nulls never match).

    Strings compare as they are; whole numbers match their digits (``42`` and ``42.0``
    both match ``"42"``), other numbers their Python repr, booleans ``true``/``false``:
    the text form a masked column is hashed from, so a raw and a masked column agree.
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.fill_null(pc.equal(column, pa.scalar(text, type=kind)), False)
    if pa.types.is_integer(kind):
        try:
            number = int(text)
        except ValueError:
            return _none(column)
        if str(number) != text:
            return _none(column)
        try:
            return pc.fill_null(pc.equal(column, pa.scalar(number, type=kind)), False)
        except (pa.ArrowInvalid, OverflowError):
            return _none(column)  # outside the column's range: no value can equal it
    if pa.types.is_floating(kind):
        try:
            number_f = float(text)
        except ValueError:
            return _none(column)
        if text_form(number_f) != text:
            return _none(column)
        return pc.fill_null(pc.equal(column, pa.scalar(number_f, type=pa.float64())), False)
    values = column.to_pylist()  # rare types (dates, booleans, binary): value by value
    return pa.array([v is not None and text_form(v) == text for v in values], type=pa.bool_())


def _none(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pa.array(np.zeros(len(column), dtype=bool))


@dataclass(frozen=True)
class LogHit:
    """The subject's rows in one prediction segment (and the feedback sent for them)."""

    segment: Segment
    rows: int
    request_ids: tuple[str, ...]
    versions: tuple[int, ...]
    first_time: str
    last_time: str
    feedback_rows: int = 0


@dataclass
class _Rewrite:
    path: str
    keep: pa.Table | None  # None: nothing is left, the segment is deleted
    segment: Segment


@dataclass
class Redaction:
    """What redacting the log will change (from :func:`plan_redaction`), and once applied,
    how to undo or finish it."""

    hits: list[LogHit]
    rewrites: list[_Rewrite] = field(default_factory=list)
    _moved: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(h.rows for h in self.hits)

    @property
    def feedback_rows(self) -> int:
        return sum(h.feedback_rows for h in self.hits)

    @property
    def segments(self) -> int:
        return len(self.rewrites)

    def rollback(self, store: ArtifactStore) -> None:
        """Put every original segment back where it was (after a failed transaction)."""
        for path, aside in reversed(self._moved):
            try:
                if store.fs.exists(path):
                    store.fs.rm(path)
                store.fs.mv(aside, path)
            except OSError:
                continue  # the original stays in tmp/; nothing better can be done here
        self._moved.clear()

    def commit(self, store: ArtifactStore) -> None:
        """Delete the originals moved aside (after the transaction committed)."""
        for _, aside in self._moved:
            try:
                store.fs.rm(aside)
            except OSError:
                continue  # left in tmp/: `rasad gc` removes it
        self._moved.clear()
        remove_empty_folders(store, [r.segment for r in self.rewrites if r.keep is None])


def scan_subject(store: ArtifactStore, columns: Sequence[str], key: bytes, text: str,
         *, plan: bool = False) -> Redaction:
    """The prediction segments holding the subject whose id's text form is ``text``, with
    the feedback sent for those predictions; with ``plan``, the rewrites that remove them.
    """
    hashed = mask_text(key, text)
    wanted = [INPUT_PREFIX + c for c in dict.fromkeys(columns)]
    hits: list[LogHit] = []
    rewrites: list[_Rewrite] = []
    removed: dict[tuple[str, str], set[tuple[str, int]]] = {}
    for segment in list_segments(store, SegmentKind.PREDICTIONS):
        with store.fs.open(segment.path, "rb") as fh:
            parquet = pq.ParquetFile(fh)
            names = parquet.schema_arrow.names
            present = [c for c in wanted if c in names]
            if not present:
                continue
            metadata = parquet.schema_arrow.metadata or {}
            masked = set(json.loads(metadata.get(MASKED_METADATA, b"[]")))
            table = parquet.read(columns=[*present, "request_id", "row", "version", "time"])
        mask = _none(table)
        for name in present:
            column = table.column(name)
            if name.removeprefix(INPUT_PREFIX) in masked:
                found = pc.fill_null(pc.equal(column, pa.scalar(hashed, type=column.type)),
                                     False) if pa.types.is_string(column.type) else None
            else:
                found = matches(column, text)
            if found is not None:
                mask = pc.or_(mask, found)
        count = int(pc.sum(mask).as_py() or 0)
        if not count:
            continue
        chosen = table.filter(mask)
        ids = chosen.column("request_id").to_pylist()
        rows = chosen.column("row").to_pylist()
        pairs = removed.setdefault((segment.environment, segment.model), set())
        pairs.update(zip(ids, rows, strict=True))
        times = chosen.column("time")
        hits.append(LogHit(
            segment=segment, rows=count,
            request_ids=tuple(sorted(set(ids)))[:MAX_REQUEST_IDS],
            versions=tuple(sorted(set(chosen.column("version").to_pylist()))),
            first_time=_iso(pc.min(times).as_py()), last_time=_iso(pc.max(times).as_py())))
        if plan:
            with store.fs.open(segment.path, "rb") as fh:
                whole = pq.read_table(fh)
            keep = whole.filter(pc.invert(mask))
            rewrites.append(_Rewrite(segment.path, keep if keep.num_rows else None, segment))
    feedback = _feedback(store, removed, plan=plan)
    if feedback:
        counted = {k: sum(n for _, n, _ in v) for k, v in feedback.items()}
        hits = [_with_feedback(h, counted) for h in hits]
        for found in feedback.values():
            rewrites.extend(r for _, _, r in found if r is not None)
    return Redaction(hits, rewrites)


def _with_feedback(hit: LogHit, counted: dict[tuple[str, str], int]) -> LogHit:
    key = (hit.segment.environment, hit.segment.model)
    total = counted.pop(key, 0)  # counted once per model, on its first hit
    return LogHit(hit.segment, hit.rows, hit.request_ids, hit.versions, hit.first_time,
                  hit.last_time, feedback_rows=total)


def _feedback(store: ArtifactStore, removed: dict[tuple[str, str], set[tuple[str, int]]],
              *, plan: bool) -> dict[tuple[str, str], list[tuple[Segment, int, _Rewrite | None]]]:
    """The feedback rows sent for the removed predictions, per (environment, model)."""
    found: dict[tuple[str, str], list[tuple[Segment, int, _Rewrite | None]]] = {}
    for (environment, model), pairs in removed.items():
        ids = pa.array(sorted({request for request, _ in pairs}), type=pa.string())
        for segment in list_segments(store, SegmentKind.FEEDBACK, environment=environment,
                                     model=model):
            with store.fs.open(segment.path, "rb") as fh:
                whole = pq.read_table(fh)
            candidates = pc.is_in(whole.column("request_id"), value_set=ids)
            if not pc.any(candidates).as_py():
                continue
            request_ids = whole.column("request_id").to_pylist()
            rows = whole.column("row").to_pylist()
            mask = pa.array([(r, n) in pairs for r, n in zip(request_ids, rows, strict=True)],
                            type=pa.bool_())
            count = int(pc.sum(mask).as_py() or 0)
            if not count:
                continue
            rewrite = None
            if plan:
                keep = whole.filter(pc.invert(mask))
                rewrite = _Rewrite(segment.path, keep if keep.num_rows else None, segment)
            found.setdefault((environment, model), []).append((segment, count, rewrite))
    return found


def apply_redaction(store: ArtifactStore, redaction: Redaction) -> None:
    """Replace every planned segment: the original moved into ``tmp/``, the rows kept
    written in its place (nothing when none is left). On an error, what was done is undone
    and the error raised."""
    tmp = f"{store.root}/tmp"
    store.fs.makedirs(tmp, exist_ok=True)
    try:
        for rewrite in redaction.rewrites:
            aside = f"{tmp}/redact-{uuid.uuid4().hex}.parquet"
            store.fs.mv(rewrite.path, aside)
            redaction._moved.append((rewrite.path, aside))
            if rewrite.keep is not None:
                write_segment(store, rewrite.path, rewrite.keep)
    except BaseException:
        redaction.rollback(store)
        raise


def _iso(moment: object) -> str:
    from datetime import datetime

    if isinstance(moment, datetime):
        stamp = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return stamp.isoformat().replace("+00:00", "Z")
    return str(moment)
