"""Retention: deleting log segments older than ``serving.log.retention_days``.

A segment is deleted whole, when every row in it is older than the cutoff: segments in
a day folder before the cutoff's day are (by the layout, their rows all fall on that
day); in the cutoff's own day, a segment goes when the latest ``time`` its footer records
is before the cutoff. A segment straddling the cutoff is kept until the next purge after
it has aged out, so a row outlives its retention by at most one segment's span.

The purge lists and deletes under the metadata write lock and records one
``prediction_log.purge`` audit event naming what it deleted (counts, bytes and the
cutoff per model; no row of the log), in the same transaction. Two purges cannot race:
the second waits for the lock and finds nothing left to delete.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from rasad.errors import InputError
from rasad.identity import Permission
from rasad.serving.predlog._segments import (
    Segment,
    SegmentKind,
    list_segments,
    remove_empty_folders,
)

if TYPE_CHECKING:
    from rasad.artifacts import ArtifactStore
    from rasad.core import Context

ACTION = "prediction_log.purge"
SUBJECT = "prediction_log"


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete).

    ``segments`` are the segments older than ``cutoff``; ``failed`` those that could not
    be deleted (their paths), which stay and are tried again by the next purge.
    """

    cutoff: datetime
    older_than_days: float
    segments: list[Segment]
    removed: bool
    failed: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(segment.size for segment in self.segments)

    def by_model(self) -> dict[str, int]:
        """Segments per ``KIND/ENV/MODEL``."""
        counts = Counter(f"{s.kind.value}/{s.environment}/{s.model}" for s in self.segments)
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``cutoff`` in ISO 8601 UTC.

        >>> report = PurgeReport(datetime(2026, 1, 1, tzinfo=UTC), 90.0, [], removed=True)
        >>> report.to_dict()["cutoff"], report.to_dict()["segments"]
        ('2026-01-01T00:00:00Z', 0)
        """
        return {"cutoff": _iso(self.cutoff), "older_than_days": self.older_than_days,
                "removed": self.removed, "segments": len(self.segments), "bytes": self.bytes,
                "by_model": self.by_model(), "failed": list(self.failed)}


def purge(ctx: Context, *, older_than_days: float | None = None, now: datetime | None = None,
          dry_run: bool = False) -> PurgeReport:
    """Delete the log segments (predictions and feedback) older than the retention.

    Parameters
    ----------
    ctx : Context
    older_than_days : float, optional
        Default ``serving.log.retention_days`` from ``rasad.yaml``.
    now : datetime, optional
        Default the current time (a naive value is read as UTC).
    dry_run : bool, default False
        List what would go, delete nothing, record nothing.

    Returns
    -------
    PurgeReport

    Raises
    ------
    InputError
        ``older_than_days`` is negative or not a number.
    PermissionDenied
        The principal lacks ``project.maintain`` (as for ``rasad gc``).
    """
    days = ctx.config.serving.log.retention_days if older_than_days is None \
        else older_than_days
    if not isinstance(days, int | float) or not days >= 0 or days == float("inf"):
        raise InputError(f"older_than_days must be 0 or more days, not {days!r}.")
    moment = now if now is not None else datetime.now(UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    cutoff = moment - timedelta(days=float(days))
    action = ("list prediction log segments to purge" if dry_run
              else "purge old prediction log segments")
    ctx.require(Permission.PROJECT_MAINTAIN, action)
    with ctx.transaction(Permission.PROJECT_MAINTAIN, action) as tx:
        old = expired(ctx.artifacts, cutoff)
        if dry_run or not old:
            return PurgeReport(cutoff, float(days), old, removed=False)
        deleted, failed = [], []
        for segment in old:
            try:
                ctx.artifacts.fs.rm(segment.path)
            except FileNotFoundError:
                pass  # gone already: nothing to keep
            except OSError:
                failed.append(segment.path)
                continue
            deleted.append(segment)
        remove_empty_folders(ctx.artifacts, deleted)
        report = PurgeReport(cutoff, float(days), deleted, removed=True, failed=failed)
        if deleted or failed:
            tx.record(ACTION, SUBJECT, report.to_dict())
    return report


def expired(store: ArtifactStore, cutoff: datetime) -> list[Segment]:
    """The segments whose rows are all older than ``cutoff``."""
    day = cutoff.date()
    found = []
    for kind in SegmentKind:
        for segment in list_segments(store, kind, last_day=day):
            if segment.day < day or _latest(store, segment) < cutoff:
                found.append(segment)
    return found


def _latest(store: ArtifactStore, segment: Segment) -> datetime:
    """The latest ``time`` in a segment, from its footer's statistics (else its rows)."""
    with store.fs.open(segment.path, "rb") as fh:
        parquet = pq.ParquetFile(fh)
        index = parquet.schema_arrow.get_field_index("time")
        latest: datetime | None = None
        for group in range(parquet.metadata.num_row_groups):
            stats = parquet.metadata.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                latest = None
                break
            value = _as_datetime(stats.max)
            latest = value if latest is None or value > latest else latest
        if latest is None:
            column = parquet.read(columns=["time"]).column("time")
            latest = max((_as_datetime(v) for v in column.to_pylist() if v is not None),
                         default=datetime.max.replace(tzinfo=UTC))
    return latest


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromtimestamp(int(value) / 1_000_000, UTC)  # type: ignore[call-overload]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
