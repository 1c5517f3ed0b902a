"""Where the log's Parquet segments live in the artifact store, and how one is written.

Layout under the artifact store's root, beside (never inside) the content-addressed
``blobs/``::

    predictions/ENV/MODEL/date=YYYY-MM-DD/START_NS-WRITER-SEQ.parquet
    feedback/ENV/MODEL/date=YYYY-MM-DD/START_NS-WRITER-SEQ.parquet

``START_NS`` is the time of the segment's first row (nanoseconds since the epoch, 19
digits, so names sort by time), ``WRITER`` names the process that wrote it (distinct per
uvicorn worker and replica) and ``SEQ`` counts that writer's segments. The date is the UTC
day of the rows' times: a segment never spans two days.

A segment is built in a staging file and moved into place whole, so a reader never sees a
partial one: on a local store the staging file lies in the store's ``tmp/`` folder (one
filesystem, so the move is an atomic rename; ``rasad gc`` removes what a killed writer
leaves there), on an object store the upload appears whole.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rasad.artifacts import ArtifactStore

_DAY = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
SUFFIX = ".parquet"


class SegmentKind(StrEnum):
    """What a segment holds: scored requests, or feedback labels."""

    PREDICTIONS = "predictions"
    FEEDBACK = "feedback"


@dataclass(frozen=True)
class Segment:
    """One segment file: where it is, what it holds, and its size in bytes."""

    path: str
    kind: SegmentKind
    environment: str
    model: str
    day: date
    size: int


def segment_path(store: ArtifactStore, kind: SegmentKind, environment: str, model: str,
                 day: date, name: str) -> str:
    """The full path of segment ``name`` (checked names only: they become folders)."""
    return f"{store.root}/{kind.value}/{environment}/{model}/date={day.isoformat()}/{name}"


def segment_name(start_ns: int, writer_id: str, seq: int) -> str:
    """``START_NS-WRITER-SEQ.parquet``.

    >>> segment_name(1_700_000_000_000_000_000, "host-12-ab", 3)
    '1700000000000000000-host-12-ab-000003.parquet'
    """
    return f"{start_ns:019d}-{writer_id}-{seq:06d}{SUFFIX}"


def write_segment(store: ArtifactStore, path: str, table: pa.Table) -> int:
    """Write ``table`` to ``path`` whole or not at all; returns its size in bytes."""
    if store.is_local:
        with store.staging_file(SUFFIX) as staged:
            pq.write_table(table, staged, compression="zstd")
            with open(staged, "rb+") as fh:
                os.fsync(fh.fileno())  # the bytes are on disk before the name is
            size = staged.stat().st_size
            target = Path(path)
            for attempt in range(3):
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(staged, target)
                    break
                except FileNotFoundError:  # a purge removed the empty day folder just now
                    if attempt == 2:
                        raise
            return size
    fs = store.fs
    with store.staging_file(SUFFIX) as staged:
        pq.write_table(table, staged, compression="zstd")
        size = staged.stat().st_size
        tmp = f"{store.root}/tmp/{uuid.uuid4().hex}{SUFFIX}"
        fs.makedirs(f"{store.root}/tmp", exist_ok=True)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        try:
            fs.put_file(str(staged), tmp)
            fs.mv(tmp, path)
        finally:
            if fs.exists(tmp):
                fs.rm(tmp)
    return size


def list_segments(store: ArtifactStore, kind: SegmentKind, *,
                  environment: str | None = None, model: str | None = None,
                  first_day: date | None = None, last_day: date | None = None
                  ) -> list[Segment]:
    """The segments of ``kind``, of one environment and model when given, whose day lies in
    ``[first_day, last_day]``; folders outside the days are not listed (partition pruning).
    Sorted by path."""
    found: list[Segment] = []
    base = f"{store.root}/{kind.value}"
    for env_path in _children(store, base, directories=True):
        env = _leaf(env_path)
        if environment is not None and env != environment:
            continue
        for model_path in _children(store, env_path, directories=True):
            name = _leaf(model_path)
            if model is not None and name != model:
                continue
            for day_path in _children(store, model_path, directories=True):
                matched = _DAY.match(_leaf(day_path))
                if matched is None:
                    continue
                try:
                    day = date.fromisoformat(matched.group(1))
                except ValueError:
                    continue
                if (first_day is not None and day < first_day) or \
                        (last_day is not None and day > last_day):
                    continue
                for info in _entries(store, day_path):
                    leaf = _leaf(info["name"])
                    if info.get("type") != "file" or not leaf.endswith(SUFFIX) or \
                            leaf.startswith((".", "_")):
                        continue
                    found.append(Segment(info["name"].rstrip("/"), kind, env, name, day,
                                         int(info.get("size") or 0)))
    found.sort(key=lambda s: s.path)
    return found


def environments_with(store: ArtifactStore, kind: SegmentKind, model: str) -> list[str]:
    """The environments that hold segments of ``model`` (for error messages)."""
    base = f"{store.root}/{kind.value}"
    return sorted(_leaf(env) for env in _children(store, base, directories=True)
                  if any(_leaf(m) == model for m in _children(store, env, directories=True)))


def remove_empty_folders(store: ArtifactStore, segments: list[Segment]) -> None:
    """Remove the day folders (and emptied model and environment folders) of ``segments``
    once nothing is left in them; local stores only (object stores have no folders)."""
    if not store.is_local:
        return
    folders = {Path(s.path).parent for s in segments}
    for folder in sorted(folders, reverse=True):
        for level in (folder, folder.parent, folder.parent.parent):
            try:
                level.rmdir()  # only when empty
            except OSError:
                break


def _children(store: ArtifactStore, path: str, *, directories: bool) -> Iterator[str]:
    for info in _entries(store, path):
        if (info.get("type") == "directory") == directories:
            yield info["name"].rstrip("/")


def _entries(store: ArtifactStore, path: str) -> list[dict[str, Any]]:
    try:
        entries: list[dict[str, Any]] = store.fs.ls(path, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return entries


def _leaf(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
