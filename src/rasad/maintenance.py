"""Upkeep: garbage-collecting artifact blobs nothing refers to, and stale temporary files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.artifacts import BlobInfo, TempFile
from rasad.config import STATE_DIR
from rasad.errors import InputError
from rasad.identity import Permission
from rasad.store._tables import (
    DatasetVersionRow,
    ModelVersionRow,
    MonitorResultRow,
    PromotionRequestRow,
    ReferenceProfileRow,
    RunRow,
    ValidationRow,
)

if TYPE_CHECKING:
    from rasad.core import Context

#: Every column that holds a blob digest. A new table that stores blobs adds itself here.
BLOB_REFERENCES = (
    DatasetVersionRow.blob,
    RunRow.model_blob,
    ModelVersionRow.blob,
    MonitorResultRow.blob,
    ValidationRow.blob,
    ReferenceProfileRow.blob,
    PromotionRequestRow.gates_blob,
)


@dataclass(frozen=True)
class GcReport:
    """Blobs nothing refers to and stale temporary files; removed unless it was a dry run."""

    unreferenced: list[BlobInfo]
    removed: bool
    kept_young: int
    temporary: list[TempFile] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.unreferenced)

    @property
    def temporary_bytes(self) -> int:
        return sum(t.size for t in self.temporary)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``rasad gc --json``, and the API's answer); ``modified`` is epoch
        seconds."""
        return {"removed": self.removed, "bytes": self.bytes, "kept_young": self.kept_young,
                "blobs": [{"sha256": b.digest, "size": b.size, "modified": b.modified}
                          for b in self.unreferenced],
                "temporary_bytes": self.temporary_bytes,
                "temporary": [{"path": t.path, "size": t.size, "modified": t.modified}
                              for t in self.temporary]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GcReport:
        """A report read back from its JSON form.

        >>> report = GcReport([BlobInfo("ab" * 32, 5, 1.5)], removed=False, kept_young=2)
        >>> GcReport.from_dict(report.to_dict()) == report
        True
        """
        return cls([BlobInfo(b["sha256"], b["size"], b["modified"]) for b in data["blobs"]],
                   removed=data["removed"], kept_young=data["kept_young"],
                   temporary=[TempFile(t["path"], t["size"], t["modified"])
                              for t in data["temporary"]])


def referenced(session: Session) -> set[str]:
    found: set[str] = set()
    for column in BLOB_REFERENCES:
        found.update(d for d in session.execute(select(column).distinct()).scalars() if d)
    return found


def gc(ctx: Context, *, dry_run: bool = True, min_age_s: float = 3600.0) -> GcReport:
    """List (and unless ``dry_run``, delete) unreferenced blobs and stale temporary files.

    Blobs and temporary files younger than ``min_age_s`` are kept, and so is a local
    temporary file a live process still holds locked (a write in progress). Why a blob a writer
    is about to record can never be deleted is explained in ``rasad.artifacts.store``:
    the references are read and the blobs listed and deleted under the write lock, and
    the writer's own transaction re-checks its blobs once it holds that lock.

    Needs ``project.maintain`` (admin), a dry run too: it holds the write lock while it
    lists the store, and deleting is not undone.

    >>> import tempfile
    >>> from rasad import Project
    >>> project = Project.init(tempfile.mkdtemp())
    >>> orphan = project.artifacts.put_bytes(b"never referenced")
    >>> report = gc(Project.open(project.root).context, dry_run=True, min_age_s=0)
    >>> [b.digest == orphan for b in report.unreferenced], report.removed, report.temporary
    ([True], False, [])
    """
    if min_age_s < 0:
        raise InputError(f"--min-age must be 0 or more seconds, not {min_age_s:g}.")
    action = "list unreferenced artifacts" if dry_run else "delete unreferenced artifacts"
    ctx.require(Permission.PROJECT_MAINTAIN, action)
    store = ctx.artifacts
    # This thread's own blobs awaiting their transaction: gc's transaction settles them,
    # and a caller may still record them.
    in_flight = store.unsettled()
    now = time.time()
    # The transaction holds the write lock: no new reference lands meanwhile.
    with ctx.transaction(Permission.PROJECT_MAINTAIN, action) as tx:
        refs = referenced(tx.session) | in_flight
        orphans, young = [], 0
        for blob in store.list_blobs():
            if blob.digest in refs:
                continue
            if now - blob.modified < min_age_s:
                young += 1
                continue
            orphans.append(blob)
        orphans.sort(key=lambda b: b.digest)
        temporary = [t for t in _temporary(ctx)
                     if now - t.modified >= min_age_s and not store.in_use(t)]
        temporary.sort(key=lambda t: t.path)
        if not dry_run and (orphans or temporary):
            tx.record("artifacts.gc", "artifacts", {
                "removed": [b.digest for b in orphans], "bytes": sum(b.size for b in orphans),
                "temporary": len(temporary),
                "temporary_bytes": sum(t.size for t in temporary)})
            for blob in orphans:
                store.delete(blob.digest)
            for temp in temporary:
                _delete_temporary(ctx, temp)
            store.prune_temporary()
    return GcReport(orphans, removed=not dry_run, kept_young=young, temporary=temporary)


def _temporary(ctx: Context) -> list[TempFile]:
    """The store's ``tmp/`` files, plus ``.rasad/tmp/`` where older versions staged data."""
    found = list(ctx.artifacts.list_temporary())
    legacy = ctx.root / STATE_DIR / "tmp"
    if legacy.is_dir():
        for path in legacy.rglob("*"):
            if path.is_file():
                stat = path.stat()
                found.append(TempFile(str(path), stat.st_size, stat.st_mtime))
    return found


def _delete_temporary(ctx: Context, temp: TempFile) -> None:
    legacy = ctx.root / STATE_DIR / "tmp"
    if Path(temp.path).is_relative_to(legacy):
        Path(temp.path).unlink(missing_ok=True)
    else:
        ctx.artifacts.delete_temporary(temp.path)
